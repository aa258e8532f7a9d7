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
    """Content key of the twin a scene builds into."""
    definition = scene.model_dump(mode="json", exclude={"root"})
    digest = hashlib.blake2b(digest_size=20)
    digest.update(f"stadstwin {__version__}\n".encode())
    digest.update(json.dumps(definition, sort_keys=True).encode())
    for path in source_paths(scene):
        digest.update(file_digest(path).encode())
    return digest.hexdigest()


def cache_path(scene: Scene, key: str) -> Path:
    return scene.root / CACHE_FOLDER / f"twin-{key}.pickle"


def load_cached(scene: Scene, key: str) -> Twin | None:
    """The cached twin for ``key``, or None when there is none (or it cannot be read)."""
    path = cache_path(scene, key)
    if not path.is_file():
        return None
    try:
        with path.open("rb") as f:
            twin = pickle.load(f)
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError):
        return None
    return twin if isinstance(twin, Twin) else None


def store(scene: Scene, key: str, twin: Twin) -> Path:
    """Write the twin to the cache atomically and drop older entries of this scene."""
    path = cache_path(scene, key)
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=path.parent, delete=False, suffix=".tmp") as f:
        pickle.dump(twin, f, protocol=pickle.HIGHEST_PROTOCOL)
        temporary = Path(f.name)
    os.replace(temporary, path)
    for old in path.parent.glob("twin-*.pickle"):
        if old != path:
            old.unlink(missing_ok=True)
    return path
