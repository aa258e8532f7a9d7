"""A digest of the code behind an analysis: its module and every stadstwin module it imports.

Part of a result's cache key, so editing an analysis, a kernel or a model it uses recomputes the
result, where the package version string alone would not notice.
"""

from __future__ import annotations

import ast
import hashlib
import importlib.util
import threading
from functools import lru_cache
from pathlib import Path

PACKAGE = "stadstwin"
_PARSING = threading.Lock()
"""CPython 3.11's parser is not safe to run on several threads at once ("AST constructor recursion
depth mismatch"); service jobs and batch tasks prepare analyses on threads."""


def _source(module: str) -> Path | None:
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return None
    origin = getattr(spec, "origin", None) if spec else None
    return Path(origin) if origin and origin.endswith(".py") else None


def _imports(module: str, path: Path) -> set[str]:
    """The stadstwin modules ``module`` imports (``from a import b`` counts ``a`` and ``a.b`` if it is one)."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = set()
    with _PARSING:
        tree = ast.parse(path.read_bytes(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, *([base] if base else [])])
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return {name for name in found if name == PACKAGE or name.startswith(f"{PACKAGE}.")}


def code_sources(module: str) -> dict[str, Path]:
    """Module name → source file of ``module`` and of every stadstwin module it imports, transitively."""
    seen: set[str] = set()
    todo = [module]
    sources = {}
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        path = _source(name)
        if path is None:
            continue
        sources[name] = path
        todo.extend(_imports(name, path) - seen)
    return sources


@lru_cache(maxsize=64)
def code_digest(module: str) -> str:
    """BLAKE2b of the sources of :func:`code_sources` (name and bytes, in name order)."""
    digest = hashlib.blake2b(digest_size=20)
    sources = code_sources(module)
    for name in sorted(sources):
        digest.update(name.encode())
        digest.update(sources[name].read_bytes())
    return digest.hexdigest()
