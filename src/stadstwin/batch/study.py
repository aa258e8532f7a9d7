"""Study definitions (``simulations/*.toml``): a scene, variants listed or generated, analyses, output.

Generated variants start from a template variant and change one field of one of its edits per
parameter, over a full grid of values or a Latin-hypercube sample of ranges. Besides the edit's own
fields (``cover``, ``height``, ``species`` …) three derived fields exist:

- ``offset`` [m]: shift a route sideways (left of its direction is positive);
- ``dx`` / ``dy`` [m]: translate the edit's geometry (route, footprint, area or tree points);
- ``count``: keep the first N tree points of an ``add_trees`` edit.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any, Literal

import numpy as np
import shapely
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from scipy.stats import qmc

from stadstwin.errors import SceneError
from stadstwin.model.scene import Scene
from stadstwin.model.toml_file import read_toml, validation_problems
from stadstwin.model.variant import Variant
from stadstwin.scenario.variants import find_variant
from stadstwin.scenario.edits import parse_edits

_GEOMETRY_KEYS = ("route", "footprint", "area")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Parameter(_Strict):
    """One varied quantity: an edit field of the template, with values or a range to sample."""

    edit: str = Field(min_length=1, description="id of the edit in the template variant")
    field: str = Field(min_length=1)
    values: list[float | int | str] | None = None
    range: tuple[float, float] | None = None
    integer: bool = False

    @model_validator(mode="after")
    def _values_or_range(self) -> "Parameter":
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
    parameters: dict[str, Parameter] = Field(min_length=1)

    @model_validator(mode="after")
    def _mode_fits(self) -> "Generator":
        for key, p in self.parameters.items():
            if self.mode == "grid" and p.values is None:
                raise ValueError(f"parameters.{key}: a grid needs 'values'")
            if self.mode == "sample" and p.range is None:
                raise ValueError(f"parameters.{key}: a sample needs 'range'")
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
    root: Path = Field(default=Path("."), exclude=True)

    @model_validator(mode="after")
    def _something_to_run(self) -> "Study":
        if not self.variants and not self.generate:
            raise ValueError("list 'variants' or add a [[generate]] block")
        return self

    @classmethod
    def load(cls, path: str | Path) -> "Study":
        """Load a study file; relative paths are relative to it; errors name the file and key."""
        path = Path(path)
        data = read_toml(path)
        try:
            return cls.model_validate({**data, "root": path.parent.resolve()})
        except ValidationError as exc:
            raise SceneError(validation_problems(exc), path=path) from None

    @property
    def scene_path(self) -> Path:
        return (self.root / self.scene).resolve()

    @property
    def output_folder(self) -> Path:
        return (self.root / self.output.folder).resolve()


def study_variants(study: Study, scene: Scene) -> tuple[list[Variant], dict[str, dict[str, Any]]]:
    """Every variant of the study and, per generated variant id, its parameter values."""
    def load(vid: str) -> Variant:
        return find_variant(scene, vid)[0]

    variants = [load(vid) for vid in study.variants]
    parameters: dict[str, dict[str, Any]] = {}
    for number, generator in enumerate(study.generate):
        template = load(generator.template)
        edits = {edit.id: edit for edit in parse_edits(template)}
        for key, p in generator.parameters.items():
            if p.edit not in edits:
                raise SceneError(f"generate[{number}].parameters.{key}: the template {template.id!r} "
                                 f"has no edit {p.edit!r}", path=study.root)
        for i, values in enumerate(_combinations(generator)):
            variant = _generated(template, generator, values, f"{template.id}~{number}.{i}")
            parse_edits(variant)  # a generated value must still make a valid edit
            variants.append(variant)
            parameters[variant.id] = values
    ids = [v.id for v in variants]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise SceneError(f"variant(s) {duplicates} listed twice", path=study.root)
    return variants, parameters


def _combinations(generator: Generator) -> list[dict[str, Any]]:
    keys = list(generator.parameters)
    params = [generator.parameters[k] for k in keys]
    if generator.mode == "grid":
        return [dict(zip(keys, combo)) for combo in itertools.product(*(p.values for p in params))]
    unit = qmc.LatinHypercube(d=len(keys), seed=generator.seed).random(generator.samples)
    low = np.array([p.range[0] for p in params])
    high = np.array([p.range[1] for p in params])
    scaled = qmc.scale(unit, low, high)
    return [{k: (int(round(v)) if p.integer else round(float(v), 6)) for k, p, v in zip(keys, params, row)}
            for row in scaled]


def _generated(template: Variant, generator: Generator, values: dict[str, Any], vid: str) -> Variant:
    edits = [dict(edit) for edit in template.edits]
    by_id = {edit.get("id"): edit for edit in edits}
    for key, value in values.items():
        p = generator.parameters[key]
        _set_field(by_id[p.edit], p.field, value)
    label = ", ".join(f"{k}={v}" for k, v in values.items())
    name = generator.name.format(template=template.name, parameters=label, **values)
    return template.model_copy(update={"id": vid, "name": name, "edits": edits})


def _set_field(edit: dict[str, Any], field: str, value: Any) -> None:
    if field == "offset":
        route = shapely.geometry.shape(edit["route"])
        edit["route"] = shapely.geometry.mapping(shapely.offset_curve(route, float(value)))
    elif field in ("dx", "dy"):
        dx, dy = (float(value), 0.0) if field == "dx" else (0.0, float(value))
        for key in _GEOMETRY_KEYS:
            if key in edit:
                moved = shapely.affinity.translate(shapely.geometry.shape(edit[key]), dx, dy)
                edit[key] = shapely.geometry.mapping(moved)
        if "points" in edit:
            edit["points"] = [[x + dx, y + dy] for x, y in edit["points"]]
    elif field == "count":
        edit["points"] = list(edit["points"])[: int(value)]
    else:
        edit[field] = value
