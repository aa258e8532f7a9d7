"""The twin cache: a built twin stored under a key made from the content of everything it came from.

The key hashes the scene definition, the content of every source file and the stadstwin version,
so an edited input or a new release rebuilds, and an unchanged scene loads in a fraction of a second.
Entries are pickles written atomically (temp file + rename), so an interrupted build never leaves a
half-written cache behind.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import tempfile
from pathlib import Path

from stadstwin import __version__
from stadstwin.model.scene import Scene
from stadstwin.model.twin import Twin

CACHE_FOLDER = ".stadstwin-cache"
_CHUNK = 1 << 20


def file_digest(path: Path) -> str:
    """BLAKE2b digest of a file's bytes (hex)."""
    digest = hashlib.blake2b(digest_size=20)
    with path.open("rb") as f:
        for block in iter(lambda: f.read(_CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def source_paths(scene: Scene) -> list[Path]:
    """Every source file of a scene, in a stable order."""
    s = scene.sources
    files = [*s.pointclouds, *s.cityjson, *s.klic, *(s.bgt[k] for k in sorted(s.bgt))]
    files += [f for f in (s.dtm, s.dsm, s.trees) if f is not None]
    return [f.path for f in files]


def twin_key(scene: Scene) -> str:
    """Content key of the twin a scene builds into: its settings and its source files' bytes, not their paths."""
    definition = scene.model_dump(mode="json", exclude={"root", "sources"})
    sources = scene.sources.model_dump(mode="json")

    def by_content(entry):
        if isinstance(entry, dict) and "path" in entry:
            return {"content": file_digest(Path(entry["path"])), "crs": entry.get("crs")}
        if isinstance(entry, dict):
            return {k: by_content(v) for k, v in entry.items()}
        if isinstance(entry, list):
            return [by_content(v) for v in entry]
        return entry

    definition["sources"] = by_content(sources)
    return content_key(json.dumps(definition, sort_keys=True))


def cache_path(scene: Scene, key: str) -> Path:
    return scene.root / CACHE_FOLDER / f"twin-{key}.pickle"


def content_key(*parts: str) -> str:
    """BLAKE2b key of text parts and the stadstwin version."""
    digest = hashlib.blake2b(digest_size=20)
    for part in (f"stadstwin {__version__}", *parts):
        digest.update(part.encode())
        digest.update(b"\0")
    return digest.hexdigest()


def read_pickle(path: Path, expected: type) -> object | None:
    """The object pickled at ``path`` if it is an ``expected``; None when absent or unreadable."""
    if not path.is_file():
        return None
    try:
        with path.open("rb") as f:
            value = pickle.load(f)
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError):
        return None
    return value if isinstance(value, expected) else None


def write_pickle(path: Path, value: object) -> Path:
    """Pickle ``value`` to ``path`` atomically (temp file + rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=path.parent, delete=False, suffix=".tmp") as f:
        pickle.dump(value, f, protocol=pickle.HIGHEST_PROTOCOL)
        temporary = Path(f.name)
    os.replace(temporary, path)
    return path


def load_cached(scene: Scene, key: str) -> Twin | None:
    """The cached twin for ``key``, or None when there is none (or it cannot be read)."""
    return read_pickle(cache_path(scene, key), Twin)  # type: ignore[return-value]


def store(scene: Scene, key: str, twin: Twin) -> Path:
    """Write the twin to the cache and drop older twins of this scene."""
    path = write_pickle(cache_path(scene, key), twin)
    for old in path.parent.glob("twin-*.pickle"):
        if old != path:
            old.unlink(missing_ok=True)
    return path
