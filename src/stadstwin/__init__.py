"""stadstwin: a 3D digital twin of Dutch streets and districts, above and below ground.

``from stadstwin import Scene, Twin, build_twin`` — imported lazily, so ``import stadstwin`` stays
cheap for the command line.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = ["Scene", "Twin", "build_twin", "__version__"]

if TYPE_CHECKING:
    from stadstwin.build.twin_builder import build_twin
    from stadstwin.model.scene import Scene
    from stadstwin.model.twin import Twin

_LAZY = {
    "Scene": ("stadstwin.model.scene", "Scene"),
    "Twin": ("stadstwin.model.twin", "Twin"),
    "build_twin": ("stadstwin.build.twin_builder", "build_twin"),
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from importlib import import_module

        module, attribute = _LAZY[name]
        return getattr(import_module(module), attribute)
    raise AttributeError(f"module 'stadstwin' has no attribute {name!r}")
