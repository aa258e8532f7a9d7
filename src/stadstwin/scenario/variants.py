"""Finding a scene's variants by id and the twin of one variant (the base twin with its edits)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from stadstwin.build.twin_builder import build_twin
from stadstwin.errors import SceneError
from stadstwin.model.scene import Scene
from stadstwin.model.twin import Twin
from stadstwin.model.variant import Variant
from stadstwin.rules import Rules
from stadstwin.scenario.apply import apply_variant

#: The id that names the unchanged scene among the variants.
BASE = "base"


def base_variant(scene_name: str) -> Variant:
    """The unchanged scene as a variant without edits."""
    return Variant(id=BASE, name=f"{scene_name} (bestaand)")


def find_variant(scene: Scene, variant_id: str) -> tuple[Variant, str]:
    """The variant with this id and the file it came from ('' for the base); unknown ids are refused."""
    if variant_id == BASE:
        return base_variant(scene.name), ""
    known = {path.stem: path for path in scene.variant_paths()}
    if variant_id not in known:
        raise SceneError(f"unknown variant {variant_id!r}", path=scene.path,
                         hint=f"variants of this scene: {', '.join([BASE, *known])}")
    return Variant.load(known[variant_id]), str(known[variant_id])


def variant_twin(
    scene: Scene | str | Path,
    variant_id: str | None = None,
    *,
    progress: Callable[[str, int, int], None] | None = None,
) -> tuple[Scene, Rules, Twin, Variant]:
    """(scene, rules, twin, variant) for a variant id (None or 'base' for the unchanged scene)."""
    if not isinstance(scene, Scene):
        scene = Scene.load(scene)
    rules = scene.load_rules()
    variant, origin = find_variant(scene, variant_id or BASE)
    twin = build_twin(scene, progress=progress)
    if variant.edits:
        twin = apply_variant(twin, variant, rules, origin=origin)
    return scene, rules, twin, variant
