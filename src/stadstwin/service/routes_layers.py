"""A variant's twin as GLB layers (glTF y-up, local to an RD/NAP origin that the root node's extras hold), and as
an OGC 3D Tiles 1.1 tileset for streaming viewers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from stadstwin.service.auth import Reader
from stadstwin.service.catalog import NotFound
from stadstwin.service.context import Service, Svc
from stadstwin.service.http_cache import Prepared, answer, file_answer, prepare_json
from stadstwin.service.layers import layer_files, layer_kind, scene_origin, tileset_folder
from stadstwin.service.store import Principal, StoredVariant

router = APIRouter(prefix="/api/scenes/{scene}/variants/{vid}/layers")
tiles_router = APIRouter(prefix="/api/scenes/{scene}/variants/{vid}/tiles")


def _layers(svc: Service, who: Principal, scene: str, vid: str,
            stored: StoredVariant | None) -> tuple[Prepared, dict[str, Path], Path]:
    """(the layer list answer, layer name → GLB file, their folder) of a variant version as ``who`` may see
    it (exported on first use)."""
    variant = svc.variant_of(scene, stored)
    twin = svc.catalog.twin(scene, variant)
    files = layer_files(twin, svc.catalog.key(scene, variant), svc.visibility(who), svc.catalog.rules(scene),
                        svc.files / "layers")
    listed = []
    for name in files:
        kind, utility = layer_kind(name)
        listed.append({"name": name, "kind": kind, "utility": utility,
                       "url": f"/api/scenes/{scene}/variants/{vid}/layers/{name}.glb"})
    folder = next(iter(files.values())).parent if files else svc.files / "layers"
    return prepare_json({"origin": list(scene_origin(twin)), "layers": listed}), files, folder


async def _layer_files(svc: Service, who: Principal, scene: str,
                       vid: str) -> tuple[Prepared, dict[str, Path], Path]:
    """:func:`_layers` once per (variant version, visibility); again when its export folder went missing."""
    version, stored = svc.variant_version(scene, vid)
    key = ("layers", scene, vid, version, svc.visibility(who).hidden)
    return await svc.responses.get_or_compute(key, lambda: _layers(svc, who, scene, vid, stored), _exported)


def _exported(found: tuple[Prepared, dict[str, Path], Path]) -> bool:
    """Whether the export folder of a kept layer list is still there (a clean-up removes whole folders)."""
    return found[2].is_dir()


@router.get("", response_model=dict[str, Any])
async def layers(scene: str, vid: str, who: Reader, svc: Svc, request: Request) -> Response:
    """The variant's layers with their kind, utility and URL, and the local origin of their vertices
    (ETag / 304, gzip)."""
    listing, _, _ = await _layer_files(svc, who, scene, vid)
    return answer(request, listing)


@router.get("/{name}.glb", response_class=Response)
async def layer(scene: str, vid: str, name: str, who: Reader, svc: Svc, request: Request) -> Response:
    """One layer as binary glTF (ETag / 304, gzip; ``http_cache``)."""
    _, files, _ = await _layer_files(svc, who, scene, vid)
    if name not in files:
        raise NotFound(f"unknown layer {name!r}", hint=f"layers: {', '.join(files)}")
    return await file_answer(request, files[name], "model/gltf-binary")


def _tiles(svc: Service, scene: str, stored: StoredVariant | None) -> Path:
    variant = svc.variant_of(scene, stored)
    return tileset_folder(svc.catalog.twin(scene, variant), svc.catalog.key(scene, variant), svc.files / "tiles")


@tiles_router.get("/{path:path}", response_class=Response)
async def tile(scene: str, vid: str, path: str, who: Reader, svc: Svc, request: Request) -> Response:
    """A file of the variant's 3D Tiles tileset: ``tileset.json`` or a tile's GLB (ETag / 304, gzip)."""
    version, stored = svc.variant_version(scene, vid)
    key = ("tiles", scene, vid, version)
    folder = await svc.responses.get_or_compute(key, lambda: _tiles(svc, scene, stored).resolve(), Path.is_dir)
    file = (folder / path).resolve()
    if not file.is_file() or not file.is_relative_to(folder):
        raise NotFound(f"no tileset file {path!r}", hint="start at tileset.json")
    media = "application/json" if file.suffix == ".json" else "model/gltf-binary"
    return await file_answer(request, file, media)
