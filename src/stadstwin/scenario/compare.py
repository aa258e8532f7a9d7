"""Run analyses on a base and its plan variants, cache the results by content, and compare them.

A variant's twin is the base twin with its edits applied; its key hashes the base twin's key and the
variant's definition. A result's key hashes the twin key, the analysis name and its settings, so an
analysis on an unchanged twin with unchanged settings is loaded, not recomputed.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import shapely

from stadstwin.analyses.registry import ANALYSES
from stadstwin.analyses.result import Analysis, AnalysisResult
from stadstwin.analyses.water_warming import scene_settings as thermal_settings
from stadstwin.build.cache import CACHE_FOLDER, content_key, read_pickle, twin_key, write_pickle
from stadstwin.build.twin_builder import build_twin
from stadstwin.errors import SceneError
from stadstwin.model.assessment import Criterion
from stadstwin.model.scene import Scene
from stadstwin.model.twin import Twin
from stadstwin.model.variant import Variant
from stadstwin.rules import Rules
from stadstwin.scenario.apply import apply_variant
from stadstwin.scenario.assessment import Verdict, default_frame, rank, verdict
from stadstwin.scenario.variants import BASE, base_variant, find_variant

#: ``progress(message, done, total)`` over the analysis runs of a comparison.
Progress = Callable[[str, int, int], None]


@dataclass(eq=False)
class VariantRun:
    """One variant's twin and the results of every analysis on it."""

    variant: Variant
    twin: Twin
    key: str
    results: dict[str, AnalysisResult] = field(default_factory=dict)

    def metric(self, name: str) -> float | None:
        """A metric as ``<analysis>.<metric>``, or None when that analysis did not report it."""
        analysis, metric = name.split(".", 1)
        result = self.results.get(analysis)
        return None if result is None else result.metrics.get(metric)


@dataclass(eq=False)
class Comparison:
    """Variants compared with the first one (the reference) on an assessment frame.

    ``changes[variant][analysis]`` holds the findings that are new in the variant and those of the
    reference that it resolves (matched by check and the assets involved).
    """

    scene: str
    frame: list[Criterion]
    runs: list[VariantRun]
    verdicts: dict[str, list[Verdict]]
    ranking: list[tuple[str, float]]
    computed: int
    reused: int
    changes: dict[str, dict[str, dict[str, list[dict[str, Any]]]]] = field(default_factory=dict)

    @property
    def reference(self) -> VariantRun:
        return self.runs[0]


class ResultCache:
    """Analysis results pickled under their content key in a folder."""

    def __init__(self, folder: Path | None) -> None:
        self.folder = folder

    def get(self, key: str) -> AnalysisResult | None:
        if self.folder is None:
            return None
        return read_pickle(self.folder / f"{key}.pickle", AnalysisResult)  # type: ignore[return-value]

    def put(self, key: str, result: AnalysisResult) -> None:
        if self.folder is not None:
            write_pickle(self.folder / f"{key}.pickle", result)


def variant_key(base_key: str, variant: Variant) -> str:
    """Content key of a variant's twin."""
    if variant.id == BASE and not variant.edits:
        return base_key
    return content_key(base_key, variant.model_dump_json())


def compare_twins(
    base: Twin,
    base_key: str,
    variants: list[Variant],
    rules: Rules,
    *,
    analyses: Mapping[str, Analysis],
    settings: Mapping[str, dict[str, Any]] | None = None,
    frame: list[Criterion] | None = None,
    cache: ResultCache | None = None,
    origins: Mapping[str, str] | None = None,
    progress: Progress | None = None,
) -> Comparison:
    """Apply each variant to ``base``, run every analysis on each (or load it), and compare with the first."""
    if len(variants) < 2:
        raise SceneError("a comparison needs at least two variants")
    settings = settings or {}
    cache = cache or ResultCache(None)
    origins = origins or {}
    runs = []
    for variant in variants:
        twin = base if variant.id == BASE and not variant.edits else apply_variant(
            base, variant, rules, origin=origins.get(variant.id, ""))
        runs.append(VariantRun(variant, twin, variant_key(base_key, variant)))
    computed = reused = 0
    total = len(runs) * len(analyses)
    for run in runs:
        for name, analysis in analyses.items():
            options = settings.get(name, {})
            key = content_key(run.key, name, json.dumps(options, sort_keys=True, default=str))
            if progress is not None:
                progress(f"{name} on {run.variant.id}", computed + reused, total)
            result = cache.get(key)
            if result is None:
                result = analysis(run.twin, rules, options)
                cache.put(key, result)
                computed += 1
            else:
                reused += 1
            run.results[name] = result
    if progress is not None:
        progress("done", total, total)
    frame = frame if frame is not None else default_frame()
    reference = runs[0]
    verdicts = {
        run.variant.id: [verdict(c, reference.metric(c.metric), run.metric(c.metric)) for c in frame]
        for run in runs[1:]
    }
    values = {run.variant.id: {c.metric: v for c in frame if (v := run.metric(c.metric)) is not None} for run in runs}
    changes = {run.variant.id: finding_changes(reference, run) for run in runs[1:]}
    return Comparison(base.name, frame, runs, verdicts, rank(frame, values), computed, reused, changes)


def finding_identity(finding: dict[str, Any]) -> tuple[str, ...]:
    """What makes two findings the same across variants: the check and the assets involved."""
    props = finding.get("properties", {})
    assets = sorted(str(v) for k, v in props.items() if k.startswith("feature") and v)
    return (str(props.get("check", "")), *assets)


def finding_changes(reference: VariantRun, run: VariantRun) -> dict[str, dict[str, list[dict[str, Any]]]]:
    """Per analysis, the findings new in ``run`` and the reference findings it no longer has."""
    changes = {}
    for analysis, result in run.results.items():
        before = reference.results.get(analysis)
        old = {finding_identity(f): f for f in (before.findings if before else [])}
        new = {finding_identity(f): f for f in result.findings}
        changes[analysis] = {"new": [f for k, f in new.items() if k not in old],
                             "resolved": [f for k, f in old.items() if k not in new]}
    return changes


def scene_settings(scene: Scene, variants: list[Variant]) -> dict[str, dict[str, Any]]:
    """Analysis settings a scene implies: the thermal analysis uses the scene's soil; the heat analysis
    runs on the scene's day and weather and reports the plan area of the compared variants (their
    union, the same for every variant)."""
    heat: dict[str, Any] = {}
    if scene.climate.date is not None:
        heat["date"] = scene.climate.date.isoformat()
    if scene.climate.weather is not None:
        heat["weather"] = str(scene.climate.weather.path)
    areas = [v.area_geometry for v in variants if v.area is not None]
    if areas:
        heat["area"] = shapely.geometry.mapping(shapely.union_all(areas))
    settings = {"thermal": thermal_settings(scene)}
    if heat:
        settings["heat"] = heat
    return {name: options for name, options in settings.items() if options}


def compare(
    scene: Scene | str | Path,
    variant_ids: list[str],
    *,
    analyses: Mapping[str, Analysis] | None = None,
    settings: Mapping[str, dict[str, Any]] | None = None,
    use_cache: bool = True,
    progress: Progress | None = None,
) -> Comparison:
    """Compare variants of a scene (``base`` names the unchanged scene) on every available analysis.

    ``settings[analysis]`` adds to (and overrides) what the scene implies (``scene_settings``).
    """
    if not isinstance(scene, Scene):
        scene = Scene.load(scene)
    variants, origins = [], {}
    for vid in variant_ids:
        variant, origins[vid] = find_variant(scene, vid)
        variants.append(variant)
    base = build_twin(scene, use_cache=use_cache)
    cache = ResultCache(scene.root / CACHE_FOLDER / "results" if use_cache else None)
    implied = scene_settings(scene, variants)
    given = settings or {}
    settings = {name: {**implied.get(name, {}), **given.get(name, {})} for name in {*implied, *given}}
    return compare_twins(
        base, twin_key(scene), variants, scene.load_rules(), analyses=ANALYSES if analyses is None else analyses,
        settings=settings, frame=scene.assessment, cache=cache, origins=origins, progress=progress,
    )
