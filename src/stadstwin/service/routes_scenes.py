"""Health, the scene list, one scene's description, and the audit log."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from stadstwin import __version__
from stadstwin.service.auth import Editor, Reader
from stadstwin.service.context import Service, Svc
from stadstwin.service.http_cache import Prepared, answer, json_answer, prepare_json
from stadstwin.service.layers import scene_origin
from stadstwin.service.redact import bodies_in
from stadstwin.service.store import Principal

router = APIRouter(prefix="/api")


@router.get("/health")
def health() -> dict[str, str]:
    """Liveness; needs no token."""
    return {"status": "ok", "version": __version__}


@router.get("/scenes", response_model=list[dict[str, Any]])
async def scenes(who: Reader, svc: Svc, request: Request) -> Response:
    """Every scene with its extent and variant ids (ETag / 304, gzip)."""
    return json_answer(request, [{"name": name, "extent": list(scene.extent.bounds), "variants": svc.variant_ids(name)}
                                 for name, scene in svc.catalog.scenes.items()])


def _scene(svc: Service, who: Principal, scene: str) -> Prepared:
    loaded = svc.catalog.scene(scene)
    _, twin = svc.catalog.base(scene)
    visibility = svc.visibility(who)
    summary = visibility.summary(twin) if visibility.hidden else svc.catalog.summary(scene)
    body = {"name": scene, "extent": list(loaded.extent.bounds), "origin": list(scene_origin(twin)), "summary": summary}
    return prepare_json(body)


@router.get("/scenes/{scene}", response_model=dict[str, Any])
async def scene(scene: str, who: Reader, svc: Svc, request: Request) -> Response:
    """A scene's extent, the local origin of its GLB layers and the twin summary (ETag / 304, gzip);
    worked out once per scene and visibility."""
    svc.catalog.scene(scene)
    key = ("scene", scene, svc.visibility(who).hidden)
    return answer(request, await svc.responses.get_or_compute(key, lambda: _scene(svc, who, scene)))


@router.get("/audit")
def audit(who: Editor, svc: Svc, limit: Annotated[int, Query(ge=1, le=10_000)] = 1000) -> list[dict[str, Any]]:
    """Every change: who (organisation and token name), what and when; newest first. Edit tokens only.
    A confidential owner's assets (and its name) read ``confidential`` to other organisations."""
    entries = svc.store.audit(limit)
    visibility = svc.visibility(who)
    if not visibility.hidden:
        return entries
    withheld = svc.withheld_anywhere(who, [body for entry in entries for body in bodies_in(entry["detail"])],
                                     every_scene=True)
    return visibility.audit(entries, withheld)
