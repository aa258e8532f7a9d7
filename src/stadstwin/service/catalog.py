"""The scenes the service serves, their twins and the twins of their (stored) variants.

Scenes are the folders ``SCENES/NAME/scene.toml``; a request names a scene only by a name from
this catalogue, never by a path. Each scene opens once as a ``scenario.pipeline.Site`` (its twin
built or loaded from the build cache, its rules, its result cache), which keeps variant twins in
memory by content key.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from stadstwin.analyses.registry import ANALYSES
from stadstwin.analyses.result import Analysis
from stadstwin.build.summary import summarize
from stadstwin.errors import SceneError, StadstwinError
from stadstwin.io.plan_register import REGISTER, plan_feature, read_plan_register
from stadstwin.model.scene import Scene
from stadstwin.model.toml_file import validation_problems
from stadstwin.model.twin import Twin
from stadstwin.model.variant import Variant
from stadstwin.rules import Rules
from stadstwin.scenario.pipeline import Site
from stadstwin.scenario.variants import BASE, base_variant

log = logging.getLogger(__name__)


class NotFound(StadstwinError):
    """A scene, variant, layer, result or job the request names does not exist (HTTP 404)."""


class SceneCatalog:
    """Scenes by name, each opened as a pipeline site on first use."""

    def __init__(self, scenes_root: str | Path, analyses: Mapping[str, Analysis] | None = None) -> None:
        self.root = Path(scenes_root).resolve()
        self.analyses = ANALYSES if analyses is None else analyses
        self.scenes: dict[str, Scene] = {}
        for path in sorted(self.root.glob("*/scene.toml")):
            try:
                scene = Scene.load(path)
            except StadstwinError as exc:
                log.error("scene skipped: %s", exc)
                continue
            self.scenes[scene.name] = scene
        self._lock = threading.Lock()
        self._sites: dict[str, Site] = {}
        self._summaries: dict[str, dict[str, Any]] = {}

    def scene(self, name: str) -> Scene:
        """The scene called ``name``; NotFound otherwise."""
        scene = self.scenes.get(name)
        if scene is None:
            raise NotFound(f"unknown scene {name!r}", hint=f"scenes: {', '.join(self.scenes) or 'none'}")
        return scene

    def site(self, name: str) -> Site:
        """The scene as a pipeline site (its twin built or loaded from the build cache on first use)."""
        scene = self.scene(name)
        with self._lock:
            if name not in self._sites:
                self._sites[name] = Site.open(scene, analyses=self.analyses)
            return self._sites[name]

    def loaded(self) -> list[str]:
        """Names of the scenes whose site (and base twin) is open."""
        with self._lock:
            return list(self._sites)

    def rules(self, name: str) -> Rules:
        return self.site(name).rules

    def base(self, name: str) -> tuple[str, Twin]:
        """The scene's content key and twin."""
        site = self.site(name)
        return site.base_key, site.base

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

    def file_plans(self, name: str) -> list[dict[str, Any]]:
        """The plans of the scene's register file (``SCENE/plans.geojson``) as GeoJSON features; an
        invalid register is logged and skipped."""
        register = self.scene(name).root / REGISTER
        if not register.is_file():
            return []
        try:
            return [plan_feature(p) for p in read_plan_register(register)]
        except StadstwinError as exc:
            log.error("plan register skipped: %s", exc)
            return []

    def key(self, name: str, variant: Variant) -> str:
        """Content key of the twin of ``variant`` of scene ``name``."""
        return self.site(name).key(variant)

    def twin(self, name: str, variant: Variant) -> Twin:
        """The twin of ``variant`` of scene ``name`` (the base twin for ``base``)."""
        return self.site(name).twin(variant)

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
