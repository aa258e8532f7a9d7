"""Variants of a scene: list, create, read, update and delete, with ETag / If-Match version checks.

A variant is validated completely (model, edits, applied to the scene's twin) before it is stored;
an update or delete needs the ETag the client read (428 without one, 412 when someone else changed
the variant in between), so nobody silently overwrites another's work. Bodies are answered as the
caller may see them: an edit naming a confidential owner's feature reads ``confidential`` to others.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Header, HTTPException, Response, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from stadstwin.errors import SceneError
from stadstwin.scenario.variants import BASE
from stadstwin.service.auth import Editor, Reader
from stadstwin.service.context import Service, Svc
from stadstwin.service.store import Principal, StoredVariant, VersionConflict

router = APIRouter(prefix="/api/scenes/{scene}/variants")


def _visible(svc: Service, who: Principal, stored: StoredVariant) -> dict[str, Any]:
    """The stored body and version as ``who`` may see them (edits may name confidential assets)."""
    withheld = svc.withheld(who, stored.scene, [stored.body])
    return {**svc.visibility(who).variant(stored.body, withheld), "version": stored.version}


def _response(svc: Service, who: Principal, stored: StoredVariant, code: int = 200,
              location: str | None = None) -> JSONResponse:
    headers = {"ETag": stored.etag, "Cache-Control": "no-cache"}
    if location:
        headers["Location"] = location
    return JSONResponse(_visible(svc, who, stored), status_code=code, headers=headers)


def expected_version(if_match: str | None, stored: StoredVariant, kind: str = "variant") -> int:
    """The version the client edited, from If-Match; 428 without it, 412 when it is not current."""
    if if_match is None:
        raise HTTPException(428, f"If-Match with the {kind}'s ETag is required to change it")
    tags = [t.strip() for t in if_match.split(",")]
    if "*" in tags or stored.etag in tags:
        return stored.version
    raise HTTPException(412, f"the {kind} changed since you read it (now version {stored.version}); "
                             "read it again, apply your change and retry", headers={"ETag": stored.etag})


async def _validated(svc: Service, scene: str, body: dict[str, Any]) -> dict[str, Any]:
    body = {key: value for key, value in body.items() if key != "version"}
    variant = await run_in_threadpool(svc.catalog.validate, scene, body)
    return variant.model_dump(mode="json")


@router.get("")
def list_variants(scene: str, who: Reader, svc: Svc) -> list[dict[str, Any]]:
    """Every stored variant with its version (``base``, the unchanged scene, is implied)."""
    svc.scene_name(scene)
    return [_visible(svc, who, v) for v in svc.store.variants(scene)]


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_variant(scene: str, body: Annotated[dict[str, Any], Body()], who: Editor,
                         svc: Svc) -> JSONResponse:
    """Store a new variant; 409 when the id exists, 422 naming the invalid field or edit."""
    svc.scene_name(scene)
    vid = body.get("id")
    if vid == BASE or (isinstance(vid, str) and svc.store.variant(scene, vid) is not None):
        raise HTTPException(409, f"variant {vid!r} exists already in scene {scene!r}")
    stored = svc.store.create_variant(scene, await _validated(svc, scene, body), who)
    if stored is None:
        raise HTTPException(409, f"variant {vid!r} exists already in scene {scene!r}")
    return _response(svc, who, stored, 201, f"/api/scenes/{scene}/variants/{stored.id}")


@router.get("/{vid}")
def read_variant(scene: str, vid: str, who: Reader, svc: Svc) -> JSONResponse:
    """The variant and its ETag."""
    return _response(svc, who, svc.stored_variant(scene, vid))


@router.put("/{vid}")
async def update_variant(scene: str, vid: str, body: Annotated[dict[str, Any], Body()], who: Editor, svc: Svc,
                         if_match: Annotated[str | None, Header()] = None) -> JSONResponse:
    """Replace the variant if If-Match holds its current ETag; returns the new ETag."""
    stored = svc.stored_variant(scene, vid)
    expected = expected_version(if_match, stored)
    body = {**body, "id": body.get("id", vid)}
    body.pop("version", None)
    if body["id"] != vid:
        raise SceneError(f"the body's id {body['id']!r} differs from the variant {vid!r} in the URL",
                         path="variant", feature="id")
    validated = await _validated(svc, scene, body)
    try:
        updated = svc.store.update_variant(scene, vid, validated, expected, who)
    except VersionConflict as exc:
        raise HTTPException(412, "the variant changed while your update was checked; read it again and retry",
                            headers={"ETag": exc.current.etag} if exc.current else None) from None
    return _response(svc, who, updated)


@router.delete("/{vid}", status_code=status.HTTP_204_NO_CONTENT)
def delete_variant(scene: str, vid: str, who: Editor, svc: Svc,
                   if_match: Annotated[str | None, Header()] = None) -> Response:
    """Delete the variant if If-Match holds its current ETag (the audit log keeps its history)."""
    stored = svc.stored_variant(scene, vid)
    expected = expected_version(if_match, stored)
    try:
        svc.store.delete_variant(scene, vid, expected, who)
    except VersionConflict:
        raise HTTPException(412, "the variant changed since you read it; read it again and retry") from None
    return Response(status_code=204)
