"""Rule tables: the shipped TOML defaults, their schema, scene overrides and kernel-ready arrays.

Every entry carries ``source`` and ``practice`` (True where it is a practice value rather than a
norm). A scene overrides any value with the same keys under ``[rules.<table>]``; an override that
gives no source is recorded as coming from the scene file. Unknown keys and impossible values raise
``RuleError`` naming the table, key and file.
"""

from __future__ import annotations

import tomllib
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from stadstwin.errors import RuleError
from stadstwin.model.enums import Surface
from stadstwin.model.utilities import Utility

RULES_DIR = Path(__file__).parent
TABLES = ("utilities", "clearances", "cover", "trees", "soil", "climate", "drinking_water")

ClearanceClass = Literal["cable", "power_hv", "gas_lp", "gas_hp", "water", "heat", "sewer", "other"]
CLEARANCE_CLASSES: tuple[str, ...] = ClearanceClass.__args__


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Sourced(_Strict):
    source: str = Field(min_length=1)
    practice: bool


class Value(Sourced):
    value: float


class Metres(Sourced):
    value: float = Field(ge=0.0, le=50.0)


class UtilityDefaults(Sourced):
    outer_diameter: float = Field(gt=0.0, le=5.0, description="m")
    colour: str = Field(pattern=r"^#[0-9a-fA-F]{6}$")
    heat_source: bool
    drinking_water: bool
    clearance_class: ClearanceClass


class PairClearance(Sourced):
    parallel: float = Field(ge=0.0, le=20.0, description="m")
    crossing: float = Field(ge=0.0, le=20.0, description="m")


class Clearances(_Strict):
    min_crossing_angle: Value
    pairs: dict[str, PairClearance]

    @field_validator("min_crossing_angle")
    @classmethod
    def _angle(cls, v: Value) -> Value:
        if not 0.0 <= v.value <= 90.0:
            raise ValueError(f"must be an angle in [0, 90] degrees (got {v.value})")
        return v

    @field_validator("pairs")
    @classmethod
    def _pair_keys(cls, pairs: dict[str, PairClearance]) -> dict[str, PairClearance]:
        if "default" not in pairs:
            raise ValueError("a 'default' pair is required")
        for key in pairs:
            if key != "default" and not _is_pair_key(key):
                raise ValueError(
                    f"unknown pair {key!r}: use 'classA-classB' with classes {', '.join(CLEARANCE_CLASSES)}"
                )
        return pairs


def _is_pair_key(key: str) -> bool:
    # class names contain underscores, never hyphens, so the split is unambiguous
    parts = key.split("-")
    return len(parts) == 2 and all(p in CLEARANCE_CLASSES for p in parts)


class CoverDepth(Sourced):
    carriageway: float = Field(ge=0.0, le=10.0, description="m")
    pavement: float = Field(ge=0.0, le=10.0, description="m")
    verge: float = Field(ge=0.0, le=10.0, description="m")


class TreeRules(_Strict):
    trunk_clearance: Metres
    crown_margin: Metres
    root_depth: Metres


class SoilProperties(Sourced):
    resistivity: float = Field(gt=0.05, le=20.0, description="K.m/W")
    diffusivity: float = Field(gt=1e-8, le=1e-5, description="m2/s")


class SoilTable(_Strict):
    default: str
    soils: dict[str, SoilProperties]

    @model_validator(mode="after")
    def _default_exists(self) -> "SoilTable":
        if self.default not in self.soils:
            raise ValueError(f"default soil {self.default!r} is not one of {sorted(self.soils)}")
        return self


class GroundClimate(Sourced):
    mean_temperature: float = Field(ge=-10.0, le=40.0, description="degC")
    amplitude: float = Field(ge=0.0, le=30.0, description="K")
    coldest_day: int = Field(ge=1, le=366)
    diffusivity: float = Field(gt=1e-8, le=1e-5, description="m2/s")
    urban_offset: float = Field(ge=0.0, le=15.0, description="K")


class HotDay(Sourced):
    air_temperature_max: float = Field(ge=-30.0, le=50.0, description="degC")
    air_temperature_min: float = Field(ge=-30.0, le=50.0, description="degC")
    relative_humidity: float = Field(ge=0.0, le=100.0, description="%")
    wind_speed_10m: float = Field(ge=0.0, le=40.0, description="m/s")
    date: str = Field(pattern=r"^\d{4}-\d{2}-\d{2}$")

    @model_validator(mode="after")
    def _order(self) -> "HotDay":
        if self.air_temperature_min > self.air_temperature_max:
            raise ValueError("air_temperature_min is above air_temperature_max")
        return self


class Vegetation(Sourced):
    transmissivity_leaf_on: float = Field(ge=0.0, le=1.0)
    transmissivity_leaf_off: float = Field(ge=0.0, le=1.0)
    trunk_fraction: float = Field(ge=0.0, le=1.0)
    leaf_on_first_day: int = Field(ge=1, le=366)
    leaf_on_last_day: int = Field(ge=1, le=366)


class Person(Sourced):
    absorptivity_shortwave: float = Field(gt=0.0, le=1.0)
    absorptivity_longwave: float = Field(gt=0.0, le=1.0)
    height: float = Field(gt=0.0, le=3.0, description="m")


class Climate(_Strict):
    ground: GroundClimate
    hot_day: HotDay
    vegetation: Vegetation
    person: Person


class DrinkingWater(_Strict):
    limit: Value
    warning: Value

    @model_validator(mode="after")
    def _order(self) -> "DrinkingWater":
        if not 0.0 < self.warning.value <= self.limit.value <= 100.0:
            raise ValueError("need 0 < warning <= limit <= 100 degC")
        return self


class Rules(_Strict):
    """All rule tables, validated. Build with ``load_rules``."""

    model_config = ConfigDict(extra="forbid", frozen=True, ignored_types=(cached_property,))

    utilities: dict[str, UtilityDefaults]
    clearances: Clearances
    cover: dict[str, CoverDepth]
    trees: TreeRules
    soil: SoilTable
    climate: Climate
    drinking_water: DrinkingWater

    @model_validator(mode="before")
    @classmethod
    def _every_kind(cls, data: dict[str, Any]) -> dict[str, Any]:
        known = {u.key for u in Utility}
        for table in ("utilities", "cover"):
            kinds = set(data.get(table, {}))
            unknown = sorted(kinds - known)
            if unknown:
                raise ValueError(f"rules.{table}: unknown utility kind(s) {unknown}; known: {sorted(known)}")
            missing = sorted(known - kinds)
            if missing:
                raise ValueError(f"rules.{table}: missing utility kind(s) {missing}")
        return data

    def utility(self, kind: Utility) -> UtilityDefaults:
        """Defaults of one utility kind."""
        return self.utilities[kind.key]

    def default_diameters(self) -> np.ndarray:
        """(n_kinds,) default outer diameter [m] indexed by ``Utility`` code."""
        return np.array([self.utilities[u.key].outer_diameter for u in Utility])

    def clearance_matrices(self) -> tuple[np.ndarray, np.ndarray]:
        """(parallel, crossing) clearances [m], each (n_kinds, n_kinds), indexed by ``Utility`` code."""
        n = len(Utility)
        parallel = np.empty((n, n))
        crossing = np.empty((n, n))
        for a in Utility:
            for b in Utility:
                pair = self.pair_clearance(a, b)
                parallel[a, b] = pair.parallel
                crossing[a, b] = pair.crossing
        return parallel, crossing

    def pair_clearance(self, a: Utility, b: Utility) -> PairClearance:
        """The clearance entry for two kinds: their class pair in either order, else the default."""
        ca = self.utilities[a.key].clearance_class
        cb = self.utilities[b.key].clearance_class
        pairs = self.clearances.pairs
        return pairs.get(f"{ca}-{cb}") or pairs.get(f"{cb}-{ca}") or pairs["default"]

    def cover_matrix(self) -> np.ndarray:
        """(n_kinds, n_surfaces) minimum cover [m] indexed by ``Utility`` and ``Surface`` code.

        Unknown surfaces take the strictest (largest) value; water and building take NaN (no rule).
        """
        table = np.full((len(Utility), len(Surface)), np.nan)
        for u in Utility:
            c = self.cover[u.key]
            table[u, Surface.CARRIAGEWAY] = c.carriageway
            table[u, Surface.PAVEMENT] = c.pavement
            table[u, Surface.VERGE] = c.verge
            table[u, Surface.UNKNOWN] = max(c.carriageway, c.pavement, c.verge)
        return table

    def soil_properties(self, name: str | None = None) -> SoilProperties:
        """Thermal properties of the named soil, or of the default soil."""
        key = name or self.soil.default
        try:
            return self.soil.soils[key]
        except KeyError:
            raise RuleError(
                f"unknown soil {key!r}", feature="soil", hint=f"choose one of {sorted(self.soil.soils)}"
            ) from None


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as f:
            return tomllib.load(f)
    except tomllib.TOMLDecodeError as exc:
        raise RuleError(f"invalid TOML: {exc}", path=path) from exc


def _merge(base: dict[str, Any], override: dict[str, Any], origin: str) -> dict[str, Any]:
    """Deep-merge ``override`` into ``base``.

    A sourced entry (an existing one with a ``source``, or a new leaf table of values) that the
    override changes without giving a source of its own is recorded as a practice value from ``origin``.
    """
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict):
            current = merged.get(key)
            merged[key] = _merge(current if isinstance(current, dict) else {}, value, origin)
        else:
            merged[key] = value
    is_leaf = all(not isinstance(v, dict) for v in override.values())
    if override and "source" not in override and ("source" in base or (not base and is_leaf)):
        merged["source"] = f"override in {origin}"
        merged["practice"] = True
    return merged


def load_rules(overrides: dict[str, Any] | None = None, *, origin: str = "scene.toml") -> Rules:
    """The shipped rule tables with ``overrides`` ({table: {key: ...}}) from ``origin`` applied."""
    overrides = overrides or {}
    unknown = sorted(set(overrides) - set(TABLES))
    if unknown:
        raise RuleError(
            f"unknown rule table(s) {unknown}", path=origin, feature="rules",
            hint=f"rule tables are {', '.join(TABLES)}",
        )
    data = {}
    for table in TABLES:
        base = _read_toml(RULES_DIR / f"{table}.toml")
        extra = overrides.get(table, {})
        if not isinstance(extra, dict):
            raise RuleError("must be a table of overrides", path=origin, feature=f"rules.{table}")
        data[table] = _merge(base, extra, origin) if extra else base
    try:
        return Rules.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            ".".join(["rules", *(str(p) for p in err["loc"])]).rstrip(".") + f": {_describe(err)}"
            if err["loc"] else _describe(err)
            for err in exc.errors()
        )
        raise RuleError(problems, path=origin) from None


def _describe(err: dict[str, Any]) -> str:
    if err["type"] == "extra_forbidden":
        return "unknown key"
    value = err.get("input")
    shown = "" if isinstance(value, (dict, list)) else f" (got {value!r})"
    return f"{err['msg'].removeprefix('Value error, ')}{shown}"
