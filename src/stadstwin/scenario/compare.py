"""Compare plan variants of a scene: every analysis on each (through ``scenario.pipeline``, so the
answer is the one the CLI, the service and a batch study give), verdicts against the first variant,
a ranking and the findings each variant adds or resolves.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stadstwin.analyses.result import Analysis, AnalysisResult
from stadstwin.errors import SceneError
from stadstwin.model.assessment import Criterion
from stadstwin.model.scene import Scene
from stadstwin.model.twin import Twin
from stadstwin.model.variant import Variant
from stadstwin.scenario.assessment import Verdict, default_frame, rank, verdict
from stadstwin.scenario.pipeline import Site, load_prepared, prepare, run_prepared
from stadstwin.scenario.variants import find_variant

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


def compare_variants(
    site: Site,
    variants: Sequence[Variant],
    *,
    settings: Mapping[str, dict[str, Any]] | None = None,
    frame: list[Criterion] | None = None,
    origins: Mapping[str, str] | None = None,
    progress: Progress | None = None,
    cached_only: bool = False,
) -> Comparison | None:
    """Run every analysis of ``site`` on each variant (or load it) and compare them with the first.

    ``settings[analysis]`` goes on top of what the scene implies; the plan area is the union of the
    compared variants' areas, the same for all of them. ``cached_only`` computes nothing: None when
    a result is not in the cache yet.
    """
    if len(variants) < 2:
        raise SceneError("a comparison needs at least two variants")
    settings = settings or {}
    origins = origins or {}
    prepared = [prepare(site, name, variants, settings.get(name)) for name in site.analyses]
    runs = [VariantRun(v, site.twin(v, origins.get(v.id, "")), site.key(v)) for v in variants]
    computed = reused = 0
    total = len(runs) * len(prepared)
    if cached_only:
        for run in runs:
            for job in prepared:
                result = load_prepared(site, run.variant, job)
                if result is None:
                    return None
                run.results[job.name] = result
        reused = total
    for run in runs:
        for job in prepared:
            if job.name in run.results:
                continue
            if progress is not None:
                progress(f"{job.name} on {run.variant.id}", computed + reused, total)
            run.results[job.name], fresh = run_prepared(site, run.variant, job, origin=origins.get(run.variant.id, ""))
            computed += fresh
            reused += not fresh
    if progress is not None:
        progress("done", total, total)
    if frame is None:
        frame = site.scene.assessment if site.scene is not None else None
    frame = frame if frame is not None else default_frame()
    reference = runs[0]
    frame = [*frame, *declared_criteria(reference, frame)]
    verdicts = {
        run.variant.id: [verdict(c, reference.metric(c.metric), run.metric(c.metric)) for c in frame]
        for run in runs[1:]
    }
    values = {run.variant.id: {c.metric: v for c in frame if (v := run.metric(c.metric)) is not None} for run in runs}
    changes = {run.variant.id: finding_changes(reference, run) for run in runs[1:]}
    return Comparison(site.base.name, frame, runs, verdicts, rank(frame, values), computed, reused, changes)


def declared_criteria(run: VariantRun, frame: list[Criterion]) -> list[Criterion]:
    """Criteria the results of ``run`` declare for their own metrics (``details["criteria"]``, e.g. the
    visible area per named viewpoint) that ``frame`` does not hold yet."""
    known = {c.metric for c in frame}
    declared = [Criterion.model_validate(c) for result in run.results.values()
                for c in result.details.get("criteria", [])]
    return [c for c in declared if c.metric not in known]


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


def compare(
    scene: Scene | str | Path,
    variant_ids: list[str],
    *,
    analyses: Mapping[str, Analysis] | None = None,
    settings: Mapping[str, dict[str, Any]] | None = None,
    use_cache: bool = True,
    progress: Progress | None = None,
) -> Comparison:
    """Compare variants of a scene (``base`` names the unchanged scene) on every available analysis."""
    if not isinstance(scene, Scene):
        scene = Scene.load(scene)
    variants, origins = [], {}
    for vid in variant_ids:
        variant, origins[vid] = find_variant(scene, vid)
        variants.append(variant)
    site = Site.open(scene, use_cache=use_cache, analyses=analyses)
    return compare_variants(site, variants, settings=settings, origins=origins, progress=progress)
