"""The processes the service executes as jobs (OGC API – Processes): every analysis registered in
``ANALYSES`` when the app starts, ``compare`` (scenario comparison and report), ``build``, and the
plan register's analyses (``PLANNING``: koppelkansen, graafrust) on the stored plans as the caller
sees them (``plans_body``, resolved at submission; the job is its organisation's, ``plans_for``).

Inputs are validated here before a job is stored; the variant a job runs on is resolved at
submission and stored with it (id, version and body), so a rerun computes exactly the same thing.
Every analysis runs through ``scenario.pipeline`` on the scene's site: the same settings, keys and
result cache as the CLI and a batch study, so the service gives their answer and reuses their runs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
)

from stadstwin.analyses.registry import PLANNING
from stadstwin.analyses.result import Analysis
from stadstwin.build.summary import summarize
from stadstwin.errors import SceneError
from stadstwin.model.toml_file import validation_problems
from stadstwin.model.variant import Variant
from stadstwin.scenario.compare import Comparison, compare_variants
from stadstwin.scenario.pipeline import run_analysis
from stadstwin.scenario.report import report_data, write_report
from stadstwin.scenario.variants import base_variant
from stadstwin.service.artifacts import write_analysis
from stadstwin.service.catalog import SceneCatalog
from stadstwin.service.limits import ID_PATTERN

#: ``progress(percent, message)`` as a job reports it.
Progress = Callable[[int, str], None]

MAX_COMPARED_VARIANTS = 8


class _Inputs(BaseModel):
    model_config = ConfigDict(extra="forbid")
    scene: str = Field(pattern=ID_PATTERN, description="scene name")


def _no_paths(value: Any, where: str = "settings") -> Any:
    """Refuse file paths in settings: the service runs on the scene's own files only."""
    if isinstance(value, str) and ("/" in value or "\\" in value or value.startswith(("~", "."))):
        raise ValueError(f"{where}: {value!r} looks like a file path; the service uses the scene's own files")
    if isinstance(value, dict):
        for key, item in value.items():
            _no_paths(item, f"{where}.{key}")
    if isinstance(value, list):
        for i, item in enumerate(value):
            _no_paths(item, f"{where}[{i}]")
    return value


class AnalysisInputs(_Inputs):
    variant: str = Field(default="base", pattern=ID_PATTERN, description="variant id; base = unchanged scene")
    settings: dict[str, Any] = Field(default={}, description="options of the analysis (no file paths)")

    _settings = field_validator("settings")(_no_paths)


class CompareInputs(_Inputs):
    variants: list[Annotated[str, StringConstraints(pattern=ID_PATTERN)]] = Field(
        min_length=2, max_length=MAX_COMPARED_VARIANTS, description="variant ids; the first is the reference")
    settings: dict[str, dict[str, Any]] = Field(default={}, description="options per analysis name (no file paths)")

    _settings = field_validator("settings")(_no_paths)


class BuildInputs(_Inputs):
    pass


class PlanInputs(_Inputs):
    shift_years: dict[str, int] = Field(default={}, description="whole years to move a plan's phase dates, by plan id")


@dataclass(frozen=True)
class Process:
    """One executable process: its id, description, input model and what it does."""

    id: str
    title: str
    inputs: type[_Inputs]
    run: Callable[[JobContext, dict[str, Any]], dict[str, Any]]

    def validate(self, raw: Any) -> dict[str, Any]:
        """The inputs checked against the model; SceneError naming the field otherwise."""
        try:
            return self.inputs.model_validate(raw).model_dump()
        except ValidationError as exc:
            raise SceneError(validation_problems(exc), path=f"inputs of {self.id}") from None

    def describe(self) -> dict[str, Any]:
        schema = self.inputs.model_json_schema()
        return {"id": self.id, "title": self.title, "version": "1",
                "jobControlOptions": ["async-execute"], "outputTransmission": ["value"],
                "inputs": {name: {"title": spec.get("description", name), "schema": spec}
                           for name, spec in schema["properties"].items()},
                "outputs": {"result": {"title": "result JSON with links", "schema": {"type": "object"}}}}


@dataclass
class JobContext:
    """What a running job has at hand: the scenes, its own folder, and its progress reporter."""

    catalog: SceneCatalog
    folder: Path
    progress: Progress


def comparison(catalog: SceneCatalog, scene: str, bodies: list[dict[str, Any]],
               settings: Mapping[str, dict[str, Any]], progress: Progress | None = None, *,
               cached_only: bool = False) -> Comparison | None:
    """Compare variant bodies of a scene on every analysis (``cached_only``: None unless every result
    is in the result cache already)."""
    def report(step: str, done: int, total: int) -> None:
        if progress is not None:
            progress(int(5 + 90 * done / max(total, 1)), step)

    return compare_variants(catalog.site(scene), [Variant.model_validate(b) for b in bodies], settings=settings,
                            progress=report, cached_only=cached_only)


def _analysis_runner(name: str) -> Callable[[JobContext, dict[str, Any]], dict[str, Any]]:
    def run(context: JobContext, inputs: dict[str, Any]) -> dict[str, Any]:
        variant = Variant.model_validate(inputs["variant_body"])
        context.progress(5, f"twin of {variant.id}")
        site = context.catalog.site(inputs["scene"])
        context.progress(20, f"{name} on {variant.id}")

        def report(step: str, done: int, total: int) -> None:
            context.progress(int(20 + 70 * done / max(total, 1)), f"{name}: {step}")

        result = run_analysis(site, variant, name, inputs["settings"], progress=report)
        context.progress(90, "writing results")
        return write_analysis(result, context.folder)

    return run


def _plan_runner(name: str) -> Callable[[JobContext, dict[str, Any]], dict[str, Any]]:
    def run(context: JobContext, inputs: dict[str, Any]) -> dict[str, Any]:
        context.progress(5, f"{name} on the plan register")
        site = replace(context.catalog.site(inputs["scene"]), analyses=PLANNING)
        result = run_analysis(site, base_variant(inputs["scene"]), name,
                              {"plans": inputs["plans_body"], "shift_years": inputs["shift_years"]})
        context.progress(90, "writing results")
        written = write_analysis(result, context.folder)
        return {**written, "settings": {k: v for k, v in written["settings"].items() if k != "plans"}}

    return run


def _compare(context: JobContext, inputs: dict[str, Any]) -> dict[str, Any]:
    done = comparison(context.catalog, inputs["scene"], inputs["variant_bodies"], inputs["settings"],
                      context.progress)
    write_report(done, context.folder)
    return report_data(done)


def _build(context: JobContext, inputs: dict[str, Any]) -> dict[str, Any]:
    context.progress(5, f"building {inputs['scene']}")
    _, twin = context.catalog.base(inputs["scene"])
    return {"summary": summarize(twin)}


def processes(analyses: Mapping[str, Analysis]) -> dict[str, Process]:
    """The processes of a service whose registered analyses are ``analyses``."""
    table = {name: Process(name, f"{name} analysis of one variant", AnalysisInputs, _analysis_runner(name))
             for name in analyses}
    table["compare"] = Process("compare", "compare variants on every analysis; verdicts and report",
                               CompareInputs, _compare)
    table["build"] = Process("build", "build (or load) the twin of a scene", BuildInputs, _build)
    for name in PLANNING:
        table[name] = Process(name, f"{name} of the scene's plan register", PlanInputs, _plan_runner(name))
    return table
