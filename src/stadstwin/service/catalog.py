"""The scenes the service serves, their twins and the twins of their (stored) variants.

Scenes are the folders ``SCENES/NAME/scene.toml``; a request names a scene only by a name from
this catalogue, never by a path. Twins are built once (``build_twin`` caches them on disk) and
variant twins are kept in memory by content key.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from stadstwin.build.cache import twin_key
from stadstwin.build.summary import summarize
from stadstwin.build.twin_builder import build_twin
from stadstwin.errors import SceneError, StadstwinError
from stadstwin.model.scene import Scene
from stadstwin.model.toml_file import validation_problems
from stadstwin.model.twin import Twin
from stadstwin.model.variant import Variant
from stadstwin.rules import Rules
from stadstwin.scenario.apply import apply_variant
from stadstwin.scenario.compare import BASE, base_variant, variant_key

log = logging.getLogger(__name__)

#: How many variant twins stay in memory.
VARIANT_TWINS_KEPT = 16


class NotFound(StadstwinError):
    """A scene, variant, layer, result or job the request names does not exist (HTTP 404)."""


class SceneCatalog:
    """Scenes by name with lazily built twins; variant twins cached by content key."""

    def __init__(self, scenes_root: str | Path) -> None:
        self.root = Path(scenes_root).resolve()
        self.scenes: dict[str, Scene] = {}
        for path in sorted(self.root.glob("*/scene.toml")):
            try:
                scene = Scene.load(path)
            except StadstwinError as exc:
                log.error("scene skipped: %s", exc)
                continue
            self.scenes[scene.name] = scene
        self._lock = threading.Lock()
        self._twins: dict[str, tuple[str, Twin]] = {}
        self._rules: dict[str, Rules] = {}
        self._summaries: dict[str, dict[str, Any]] = {}
        self._variants: OrderedDict[str, Twin] = OrderedDict()

    def scene(self, name: str) -> Scene:
        """The scene called ``name``; NotFound otherwise."""
        scene = self.scenes.get(name)
        if scene is None:
            raise NotFound(f"unknown scene {name!r}", hint=f"scenes: {', '.join(self.scenes) or 'none'}")
        return scene

    def rules(self, name: str) -> Rules:
        with self._lock:
            if name not in self._rules:
                self._rules[name] = self.scene(name).load_rules()
            return self._rules[name]

    def base(self, name: str) -> tuple[str, Twin]:
        """The scene's content key and twin (built or loaded from the build cache on first use)."""
        scene = self.scene(name)
        with self._lock:
            if name not in self._twins:
                self._twins[name] = (twin_key(scene), build_twin(scene))
            return self._twins[name]

    def loaded(self) -> list[str]:
        """Names of the scenes whose base twin is loaded."""
        with self._lock:
            return list(self._twins)

    def summary(self, name: str) -> dict[str, Any]:
        """The base twin's summary (``build.summary``), computed once."""
        _, twin = self.base(name)
        with self._lock:
            if name not in self._summaries:
                self._summaries[name] = summarize(twin)
            return self._summaries[name]

    def file_variants(self, name: str) -> list[dict[str, Any]]:
        """The scene's ``variants/*.toml`` as JSON bodies; invalid files are logged and skipped."""
        bodies = []
        for path in self.scene(name).variant_paths():
            try:
                bodies.append(Variant.load(path).model_dump(mode="json"))
            except StadstwinError as exc:
                log.error("variant file skipped: %s", exc)
        return bodies

    def key(self, name: str, variant: Variant) -> str:
        """Content key of the twin of ``variant`` of scene ``name``."""
        return variant_key(self.base(name)[0], variant)

    def twin(self, name: str, variant: Variant) -> Twin:
        """The twin of ``variant`` of scene ``name`` (the base twin for ``base``)."""
        key, base = self.base(name)
        if variant.id == BASE and not variant.edits:
            return base
        vkey = variant_key(key, variant)
        with self._lock:
            if vkey in self._variants:
                self._variants.move_to_end(vkey)
                return self._variants[vkey]
        twin = apply_variant(base, variant, self.rules(name), origin=f"variant {variant.id}")
        with self._lock:
            self._variants[vkey] = twin
            while len(self._variants) > VARIANT_TWINS_KEPT:
                self._variants.popitem(last=False)
        return twin

    def validate(self, name: str, body: dict[str, Any]) -> Variant:
        """A variant body checked completely: model, edits, and applied to the scene's twin."""
        try:
            variant = Variant.model_validate(body)
        except ValidationError as exc:
            raise SceneError(validation_problems(exc), path="variant") from None
        if variant.id == BASE:
            raise SceneError(f"the id {BASE!r} names the unchanged scene", path="variant", feature="id")
        self.twin(name, variant)
        return variant

    @staticmethod
    def base_variant(name: str) -> Variant:
        return base_variant(name)
