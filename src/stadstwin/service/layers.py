"""GLB layers of a variant's twin, exported once per (twin content, visibility) into a cache folder.

Layers are the files ``io.glb.export_glb`` writes (terrain, buildings, trees, network_<kind>); a
request names a layer only by a name from that set. For an organisation that may not see a
confidential owner's assets, the twin is exported with those attributes withheld and the nodes'
extras reduced to the utility kind.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import struct
import threading
import uuid
from pathlib import Path

import numpy as np

from stadstwin.io.glb import OFFSET_STEP, export_glb
from stadstwin.model.twin import Twin
from stadstwin.rules import Rules
from stadstwin.service.redact import WITHHELD, Visibility

_GLB_MAGIC = 0x46546C67
_JSON_CHUNK = 0x4E4F534A
_locks: dict[Path, threading.Lock] = {}
_locks_guard = threading.Lock()


def scene_origin(twin: Twin) -> tuple[float, float, float]:
    """The RD offset of every GLB of this twin: true EPSG:7415 = origin + local vertex [m]."""
    xmin, ymin, _, _ = twin.bounds
    return (float(np.floor(xmin / OFFSET_STEP) * OFFSET_STEP), float(np.floor(ymin / OFFSET_STEP) * OFFSET_STEP), 0.0)


def layer_kind(name: str) -> tuple[str, str | None]:
    """(kind, utility key) of a layer file name."""
    if name.startswith("network_"):
        return "network", name.removeprefix("network_")
    return name, None


def layer_files(twin: Twin, twin_key: str, visibility: Visibility, rules: Rules, cache: Path) -> dict[str, Path]:
    """Layer name → GLB file of ``twin`` as ``visibility`` may see it (exported on first use)."""
    hidden = ",".join(sorted(visibility.hidden & set(twin.networks.owners)))
    folder = cache / hashlib.sha256(f"{twin_key}|{hidden}".encode()).hexdigest()[:32]
    with _lock(folder):
        if not folder.is_dir():
            staging = folder.with_name(f"{folder.name}.{uuid.uuid4().hex}.tmp")
            try:
                written = export_glb(visibility.twin(twin), staging, rules=rules)
                if hidden:
                    for path in written.values():
                        _reduce_withheld_extras(path)
                staging.rename(folder)
            finally:
                shutil.rmtree(staging, ignore_errors=True)
    return {path.stem: path for path in sorted(folder.glob("*.glb"))}


def _lock(folder: Path) -> threading.Lock:
    with _locks_guard:
        return _locks.setdefault(folder, threading.Lock())


def _reduce_withheld_extras(path: Path) -> None:
    """Rewrite a GLB so nodes of withheld owners carry only their utility kind in ``extras``."""
    data = path.read_bytes()
    magic, version, _ = struct.unpack_from("<III", data, 0)
    length, kind = struct.unpack_from("<II", data, 12)
    if magic != _GLB_MAGIC or kind != _JSON_CHUNK:
        raise ValueError(f"{path} is not a GLB with a JSON chunk")
    document = json.loads(data[20:20 + length])
    for node in document.get("nodes", []):
        extras = node.get("extras")
        if isinstance(extras, dict) and extras.get("owner") == WITHHELD:
            node["extras"] = {"utility": extras.get("utility"), "confidential": True}
    text = json.dumps(document, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 4)
    rest = data[20 + length:]
    total = 12 + 8 + len(text) + len(rest)
    path.write_bytes(struct.pack("<III", _GLB_MAGIC, version, total) + struct.pack("<II", len(text), _JSON_CHUNK)
                     + text + rest)
