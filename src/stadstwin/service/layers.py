"""GLB layers of a variant's twin, exported once per (twin content, visibility) into a cache folder; likewise its
3D Tiles tileset (``io.tiles3d``: terrain and buildings only, nothing confidential in them).

Layers are the files ``io.glb.export_glb`` writes (terrain, buildings, trees, network_<kind>); a
request names a layer only by a name from that set. For an organisation that may not see a
confidential owner's assets, the twin is redacted before export (``Visibility.export_glb``): those
nodes' extras hold only the utility kind and ``confidential: true``.
"""

from __future__ import annotations

import hashlib
import shutil
import threading
import uuid
from collections.abc import Callable
from pathlib import Path

from stadstwin.io.glb import local_origin
from stadstwin.io.tiles3d import export_3dtiles
from stadstwin.model.twin import Twin
from stadstwin.rules import Rules
from stadstwin.service.redact import Visibility

#: Part of the cache key: bump when what a layer holds changes, so old exports are not served.
_LAYOUT = "3"
_locks: dict[Path, threading.Lock] = {}
_locks_guard = threading.Lock()


def scene_origin(twin: Twin) -> tuple[float, float, float]:
    """The local origin (x0, y0, z0) [m RD, m NAP] of every GLB of this twin (``io.glb``: RD x = x0 + x,
    RD y = y0 − z, NAP = z0 + y of a glTF y-up vertex)."""
    return tuple(float(v) for v in local_origin(twin))


def layer_kind(name: str) -> tuple[str, str | None]:
    """(kind, utility key) of a layer file name."""
    if name.startswith("network_"):
        return "network", name.removeprefix("network_")
    return name, None


def layer_files(twin: Twin, twin_key: str, visibility: Visibility, rules: Rules, cache: Path) -> dict[str, Path]:
    """Layer name → GLB file of ``twin`` as ``visibility`` may see it (exported on first use)."""
    hidden = ",".join(sorted(visibility.hidden & set(twin.networks.owners)))
    folder = cache / hashlib.sha256(f"{twin_key}|{hidden}|{_LAYOUT}".encode()).hexdigest()[:32]
    _export_once(folder, lambda staging: visibility.export_glb(twin, staging, rules=rules))
    return {path.stem: path for path in sorted(folder.glob("*.glb"))}


def tileset_folder(twin: Twin, twin_key: str, cache: Path) -> Path:
    """The folder holding ``tileset.json`` and the tile GLBs of ``twin`` (exported on first use)."""
    folder = cache / hashlib.sha256(f"{twin_key}|3dtiles|{_LAYOUT}".encode()).hexdigest()[:32]
    _export_once(folder, lambda staging: export_3dtiles(twin, staging))
    return folder


def _export_once(folder: Path, write: Callable[[Path], object]) -> None:
    """Run ``write`` into a staging folder renamed to ``folder`` when done, unless ``folder`` exists."""
    with _lock(folder):
        if not folder.is_dir():
            staging = folder.with_name(f"{folder.name}.{uuid.uuid4().hex}.tmp")
            try:
                write(staging)
                staging.rename(folder)
            finally:
                shutil.rmtree(staging, ignore_errors=True)


def _lock(folder: Path) -> threading.Lock:
    with _locks_guard:
        return _locks.setdefault(folder, threading.Lock())
