"""The plan register of a scene: list, create, read, update and delete plans, with ETag / If-Match.

A plan is a GeoJSON feature in the register's fields (``io.plan_register``, RD New); the store is
seeded from ``SCENE/plans.geojson`` and edits win over the file. Every party edits only its own plans
(403 otherwise). A confidential plan (or any plan of a confidential owner) of another party is shown
only as "a party plans works here in year Y" (``Plan.redacted``): in the list under a withheld id,
never by its own id (404), and the audit log records it so for every editor.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Header, HTTPException, Response, status
from fastapi.responses import JSONResponse

from stadstwin.analyses.programming import koppelkansen as find_koppelkansen
from stadstwin.errors import InputError
from stadstwin.io.plan_register import plan_feature, plans_from_features
from stadstwin.model.plans import Plan
from stadstwin.service.auth import Editor, Reader
from stadstwin.service.catalog import NotFound
from stadstwin.service.context import Service, Svc
from stadstwin.service.routes_variants import expected_version
from stadstwin.service.store import Principal, StoredPlan, VersionConflict

router = APIRouter(prefix="/api/scenes/{scene}/plans")


def _response(plan: Plan, stored: StoredPlan, code: int = 200, location: str | None = None) -> JSONResponse:
    headers = {"ETag": stored.etag, "Cache-Control": "no-cache"}
    if location:
        headers["Location"] = location
    return JSONResponse({**plan_feature(plan), "version": stored.version}, status_code=code, headers=headers)


def _stored(svc: Service, who: Principal, scene: str, pid: str) -> tuple[StoredPlan, Plan]:
    """A stored plan ``who`` may see in full; NotFound otherwise (also for others' confidential plans)."""
    for stored, plan in svc.stored_plans(scene):
        if stored.id == pid and not svc.plan_hidden(who, plan):
            return stored, plan
    raise NotFound(f"unknown plan {pid!r} of scene {scene!r}")


def _own(who: Principal, plan: Plan, action: str) -> None:
    if plan.party != who.organisation:
        raise HTTPException(403, f"{who.organisation} may not {action} a plan of {plan.party!r}: "
                                 "every party edits its own plans")


def _parsed(svc: Service, body: dict[str, Any]) -> tuple[Plan, dict[str, Any], dict[str, Any]]:
    """(plan, its stored feature, the feature the audit log records) of a request body; 422 naming the field."""
    body = {key: value for key, value in body.items() if key != "version"}
    (plan,) = plans_from_features([body], "plan")
    return plan, plan_feature(plan), _audited(svc, plan)


def _audited(svc: Service, plan: Plan) -> dict[str, Any]:
    """The plan as the audit log records it: as every editor may see it."""
    return plan_feature(plan.redacted() if svc.plan_hidden(None, plan) else plan)


@router.get("")
def list_plans(scene: str, who: Reader, svc: Svc, koppelkansen: bool = False) -> dict[str, Any]:
    """Every stored plan as ``who`` may see it (GeoJSON, RD New); a plan seen in full carries its version.
    With ``?koppelkansen=true`` also the koppelkansen among the plans as ``who`` sees them (the viewer's
    overlay highlights them) under the collection's ``koppelkansen`` member."""
    features, seen = [], []
    for stored, plan in svc.stored_plans(scene):
        hidden = svc.plan_hidden(who, plan)
        seen.append(plan.redacted() if hidden else plan)
        feature = plan_feature(seen[-1])
        features.append(feature if hidden else {**feature, "version": stored.version})
    collection = {"type": "FeatureCollection", "crs": {"type": "name", "properties": {
        "name": "urn:ogc:def:crs:EPSG::28992"}}, "features": features}
    if koppelkansen:
        collection["koppelkansen"] = find_koppelkansen(seen, svc.catalog.rules(scene).programming) if seen else []
    return collection


@router.post("", status_code=status.HTTP_201_CREATED)
def create_plan(scene: str, body: Annotated[dict[str, Any], Body()], who: Editor, svc: Svc) -> JSONResponse:
    """Store a new plan of the caller's own party; 409 when the id exists, 422 naming the invalid field."""
    svc.scene_name(scene)
    plan, feature, audited = _parsed(svc, body)
    _own(who, plan, "create")
    stored = svc.store.create_plan(scene, feature, who, audited)
    if stored is None:
        raise HTTPException(409, f"plan {plan.id!r} exists already in scene {scene!r}")
    return _response(plan, stored, 201, f"/api/scenes/{scene}/plans/{plan.id}")


@router.get("/{pid}")
def read_plan(scene: str, pid: str, who: Reader, svc: Svc) -> JSONResponse:
    """The plan and its ETag."""
    stored, plan = _stored(svc, who, scene, pid)
    return _response(plan, stored)


@router.put("/{pid}")
def update_plan(scene: str, pid: str, body: Annotated[dict[str, Any], Body()], who: Editor, svc: Svc,
                if_match: Annotated[str | None, Header()] = None) -> JSONResponse:
    """Replace the caller's own plan if If-Match holds its current ETag; returns the new ETag."""
    stored, old = _stored(svc, who, scene, pid)
    _own(who, old, "change")
    expected = expected_version(if_match, stored, "plan")
    properties = dict(body.get("properties") or {})
    properties.setdefault("id", pid)
    plan, feature, audited = _parsed(svc, {**body, "properties": properties})
    if plan.id != pid:
        raise InputError(f"the body's id {plan.id!r} differs from the plan {pid!r} in the URL", path="plan",
                         feature="id")
    _own(who, plan, "hand over")
    try:
        updated = svc.store.update_plan(scene, pid, feature, expected, who, audited)
    except VersionConflict as exc:
        raise HTTPException(412, "the plan changed while your update was checked; read it again and retry",
                            headers={"ETag": exc.current.etag} if exc.current else None) from None
    return _response(plan, updated)


@router.delete("/{pid}", status_code=status.HTTP_204_NO_CONTENT)
def delete_plan(scene: str, pid: str, who: Editor, svc: Svc,
                if_match: Annotated[str | None, Header()] = None) -> Response:
    """Delete the caller's own plan if If-Match holds its current ETag (the audit log keeps its history)."""
    stored, plan = _stored(svc, who, scene, pid)
    _own(who, plan, "delete")
    expected = expected_version(if_match, stored, "plan")
    try:
        svc.store.delete_plan(scene, pid, expected, who, _audited(svc, plan)["properties"]["id"])
    except VersionConflict:
        raise HTTPException(412, "the plan changed since you read it; read it again and retry") from None
    return Response(status_code=204)
