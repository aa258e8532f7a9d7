"""Study definitions (``simulations/*.toml``): a scene, variants listed or generated, analyses, output.

``scene`` and ``output.folder`` are paths relative to the study file. Generated variants start from
a template variant of the scene (plus ``edits`` the study adds to it) and set one field of one or
more of its edits per parameter, over a full grid of ``values`` or a Latin-hypercube sample of
``range``s (a parameter with ``values`` in a sample draws them in equal strata). Besides an edit's
own fields (``cover``, ``height``, ``species`` …) three derived fields exist:

- ``offset`` [m]: shift a route sideways (left of its direction is positive);
- ``dx`` / ``dy`` [m]: translate the edit's geometry (route, footprint, area or tree points);
- ``count``: keep the first N tree points of an ``add_trees`` edit.

A parameter may name ``plan`` ids of the scene's plan register instead of edits, with the field
``shift_years``: every phase date of those plans moves by that many whole years for the plan register's
analyses (``koppelkansen``, ``graafrust``) of the generated variant (``plan_shifts``).
"""

from __future__ import annotations

import itertools
import math
from pathlib import Path
from typing import Any, Literal

import shapely
import shapely.affinity
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from scipy.stats import qmc

from stadstwin.errors import SceneError
from stadstwin.model.scene import Scene
from stadstwin.model.toml_file import read_toml, validation_problems
from stadstwin.model.variant import Variant
from stadstwin.scenario.edits import parse_edits
from stadstwin.scenario.variants import find_variant

_GEOMETRY_KEYS = ("route", "footprint", "area")
DERIVED_FIELDS = ("offset", "dx", "dy", "count")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


PLAN_FIELD = "shift_years"


class Parameter(_Strict):
    """One varied quantity: a field of one or more edits of the template (or ``shift_years`` of plans of
    the register), with values or a range."""

    edit: list[str] = Field(default=[], description="id(s) of the edit(s) in the template variant")
    plan: list[str] = Field(default=[], description="id(s) of plans of the scene's register")
    field: str = Field(min_length=1)
    values: list[float | int | str] | None = None
    range: tuple[float, float] | None = None
    integer: bool = False

    @field_validator("edit", "plan", mode="before")
    @classmethod
    def _one_or_more(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @model_validator(mode="after")
    def _edits_or_plans(self) -> Parameter:
        if bool(self.edit) == bool(self.plan):
            raise ValueError("name exactly one of 'edit' and 'plan'")
        if self.plan:
            if self.field != PLAN_FIELD:
                raise ValueError(f"a plan parameter sets {PLAN_FIELD!r}, not {self.field!r}")
            whole = self.integer if self.range is not None else all(
                isinstance(v, (int, float)) and float(v).is_integer() for v in self.values or [])
            if not whole:
                raise ValueError(f"{PLAN_FIELD} is whole years: give whole numbers (with a range: integer = true)")
        return self

    @model_validator(mode="after")
    def _values_or_range(self) -> Parameter:
        if (self.values is None) == (self.range is None):
            raise ValueError("give exactly one of 'values' and 'range'")
        if self.values is not None and not self.values:
            raise ValueError("'values' is empty")
        if self.range is not None and not self.range[0] < self.range[1]:
            raise ValueError("'range' must be [low, high] with low < high")
        return self


class Generator(_Strict):
    """Variants generated from a template: a grid over ``values`` or a sample over ``range``s."""

    template: str = Field(alias="from", min_length=1)
    name: str = "{template} {parameters}"
    mode: Literal["grid", "sample"] = "grid"
    samples: int = Field(default=10, ge=1, le=100_000)
    seed: int = 0
    edits: list[dict[str, Any]] = Field(default=[], description="edits added to the template's own")
    parameters: dict[str, Parameter] = Field(min_length=1)

    @model_validator(mode="after")
    def _mode_fits(self) -> Generator:
        for key, p in self.parameters.items():
            if self.mode == "grid" and p.values is None:
                raise ValueError(f"parameters.{key}: a grid needs 'values'")
        return self


class Output(_Strict):
    folder: Path = Path("out")


class Study(_Strict):
    """A study file."""

    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    description: str = ""
    scene: Path
    analyses: list[str] = Field(min_length=1)
    settings: dict[str, dict[str, Any]] = {}
    variants: list[str] = []
    generate: list[Generator] = []
    output: Output = Output()
    path: Path = Field(default=Path("study.toml"), exclude=True, description="the study file")

    @model_validator(mode="after")
    def _something_to_run(self) -> Study:
        if not self.variants and not self.generate:
            raise ValueError("list 'variants' or add a [[generate]] block")
        return self

    @classmethod
    def load(cls, path: str | Path) -> Study:
        """Load a study file; relative paths are relative to it; errors name the file and key."""
        path = Path(path)
        data = read_toml(path)
        try:
            return cls.model_validate({**data, "path": path.resolve()})
        except ValidationError as exc:
            raise SceneError(validation_problems(exc), path=path) from None

    @property
    def root(self) -> Path:
        return self.path.parent

    @property
    def scene_path(self) -> Path:
        return (self.root / self.scene).resolve()

    @property
    def output_folder(self) -> Path:
        return (self.root / self.output.folder).resolve()

    def load_scene(self) -> Scene:
        """The study's scene; a missing one is named by the study's ``scene`` key."""
        if not self.scene_path.exists():
            raise SceneError(f"scene: {self.scene_path} does not exist", path=self.path,
                             hint="'scene' is relative to the study file; for the demo run `make demo` first")
        return Scene.load(self.scene_path)


def study_variants(study: Study, scene: Scene) -> tuple[list[Variant], dict[str, dict[str, Any]]]:
    """Every variant of the study and, per generated variant id, its parameter values."""
    variants = []
    for i, vid in enumerate(study.variants):
        variants.append(_scene_variant(study, scene, vid, f"variants[{i}]"))
    parameters: dict[str, dict[str, Any]] = {}
    for number, generator in enumerate(study.generate):
        where = f"generate[{number}]"
        template = _scene_variant(study, scene, generator.template, f"{where}.from")
        template = template.model_copy(update={"edits": [*template.edits, *generator.edits]})
        known = {edit.id for edit in _parsed(study, template, f"{where}.edits")}
        for key, p in generator.parameters.items():
            missing = [e for e in p.edit if e not in known]
            if missing:
                raise SceneError(f"{where}.parameters.{key}.edit: the template {template.id!r} has no edit "
                                 f"{', '.join(map(repr, missing))}", path=study.path,
                                 hint=f"its edits: {', '.join(sorted(known)) or 'none'}")
        for i, values in enumerate(_combinations(generator)):
            variant = _generated(study, template, generator, values, _generated_id(template, number, i), where)
            _parsed(study, variant, where)
            variants.append(variant)
            parameters[variant.id] = values
    ids = [v.id for v in variants]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise SceneError(f"variants: {', '.join(duplicates)} listed twice", path=study.path)
    return variants, parameters


def plan_shifts(study: Study, scene: Scene) -> dict[str, dict[str, int]]:
    """Per generated variant id (as ``study_variants`` names them), the whole years its plan parameters
    move each plan of the register (summed over parameters naming the same plan); only variants with a shift."""
    shifts: dict[str, dict[str, int]] = {}
    for number, generator in enumerate(study.generate):
        template = _scene_variant(study, scene, generator.template, f"generate[{number}].from")
        for i, values in enumerate(_combinations(generator)):
            moved: dict[str, int] = {}
            for key, value in values.items():
                for pid in generator.parameters[key].plan:
                    moved[pid] = moved.get(pid, 0) + int(value)
            if any(moved.values()):
                shifts[_generated_id(template, number, i)] = moved
    return shifts


def _generated_id(template: Variant, number: int, i: int) -> str:
    return f"{template.id}.g{number}.{i}"


def _scene_variant(study: Study, scene: Scene, vid: str, key: str) -> Variant:
    try:
        return find_variant(scene, vid)[0]
    except SceneError as exc:
        raise SceneError(f"{key}: {exc.message}", path=study.path, hint=exc.hint) from None


def _parsed(study: Study, variant: Variant, key: str) -> list:
    try:
        return parse_edits(variant)
    except SceneError as exc:
        raise SceneError(f"{key}: variant {variant.id} is invalid: {exc.message}", path=study.path) from None


def _combinations(generator: Generator) -> list[dict[str, Any]]:
    keys = list(generator.parameters)
    params = [generator.parameters[k] for k in keys]
    if generator.mode == "grid":
        return [dict(zip(keys, combo)) for combo in itertools.product(*(p.values for p in params))]
    unit = qmc.LatinHypercube(d=len(keys), seed=generator.seed).random(generator.samples)
    rows = []
    for u in unit:
        row = {}
        for key, p, x in zip(keys, params, u):
            if p.values is not None:
                row[key] = p.values[min(int(x * len(p.values)), len(p.values) - 1)]
            else:
                value = p.range[0] + x * (p.range[1] - p.range[0])
                row[key] = round(value) if p.integer else round(float(value), 6)
        rows.append(row)
    return rows


def _generated(study: Study, template: Variant, generator: Generator, values: dict[str, Any], vid: str,
               where: str) -> Variant:
    edits = [dict(edit) for edit in template.edits]
    by_id = {edit.get("id"): edit for edit in edits}
    for key, value in values.items():
        p = generator.parameters[key]
        for edit_id in p.edit:
            try:
                _set_field(by_id[edit_id], p.field, value)
            except (KeyError, TypeError, ValueError) as exc:
                raise SceneError(f"{where}.parameters.{key}: cannot set {p.field!r} = {value!r} on edit "
                                 f"{edit_id!r}: {exc}", path=study.path) from None
    label = ", ".join(f"{k}={v}" for k, v in values.items())
    try:
        name = generator.name.format(template=template.name, parameters=label, **values)
    except (KeyError, IndexError, ValueError) as exc:
        raise SceneError(f"{where}.name: cannot fill {generator.name!r}: {exc!r}", path=study.path,
                         hint="placeholders: {template}, {parameters} and the parameter names") from None
    return template.model_copy(update={"id": vid, "name": name, "edits": edits})


def _set_field(edit: dict[str, Any], field: str, value: Any) -> None:
    """Set ``field`` of one edit table to ``value`` (derived fields change its geometry)."""
    if field in DERIVED_FIELDS and not isinstance(value, (int, float)):
        raise ValueError("a derived field needs a number")
    if field == "offset":
        if "route" not in edit:
            raise ValueError("'offset' needs an edit with a route")
        route = shapely.geometry.shape(edit["route"])
        edit["route"] = shapely.geometry.mapping(shapely.offset_curve(route, float(value)))
    elif field in ("dx", "dy"):
        dx, dy = (float(value), 0.0) if field == "dx" else (0.0, float(value))
        moved = False
        for key in _GEOMETRY_KEYS:
            if key in edit:
                edit[key] = shapely.geometry.mapping(shapely.affinity.translate(shapely.geometry.shape(edit[key]), dx, dy))
                moved = True
        if "points" in edit:
            edit["points"] = [[x + dx, y + dy] for x, y in edit["points"]]
            moved = True
        if not moved:
            raise ValueError(f"'{field}' needs an edit with geometry")
    elif field == "count":
        points = list(edit.get("points", []))
        if not points:
            raise ValueError("'count' needs an add_trees edit with points")
        if not (float(value).is_integer() and 1 <= value <= len(points)):
            raise ValueError(f"'count' must be a whole number from 1 to {len(points)} (the template's trees)")
        edit["points"] = points[: int(value)]
    else:
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError("not a finite number")
        edit[field] = value
