"""Finding a scene's variants by id (the twin of a variant is ``scenario.pipeline.Site.twin``)."""

from __future__ import annotations

from stadstwin.errors import SceneError
from stadstwin.model.scene import Scene
from stadstwin.model.variant import Variant

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

