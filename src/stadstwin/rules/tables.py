"""Rule tables: the shipped TOML defaults, their schema, scene overrides and kernel-ready arrays.

Every entry carries ``source`` and ``practice`` (True where it is a practice value rather than a
norm). A scene overrides any value with the same keys under ``[rules.<table>]``; an override that
gives no source is recorded as coming from the scene file. Unknown keys and impossible values raise
``RuleError`` naming the table, key and file.
"""

from __future__ import annotations

import math
import tomllib
from functools import cache, cached_property
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from stadstwin.errors import RuleError
from stadstwin.model.enums import Surface
from stadstwin.model.utilities import THEMA_TO_UTILITY, Utility

RULES_DIR = Path(__file__).parent
TABLES = ("utilities", "clearances", "cover", "trees", "soil", "climate", "drinking_water", "surfaces",
          "heat_sources", "water", "programming")

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


class SurfaceRadiation(Sourced):
    """Radiative parameters of one surface type (SOLWEIG land-cover table).

    ``albedo`` and ``emissivity`` [-]; the sunlit surface heats up to ``tg_k`` · (day's highest sun
    altitude in degrees) + ``t_start`` [K] above air temperature, reached at ``tmax_hour``
    (local solar time).
    """

    albedo: float = Field(ge=0.0, le=1.0)
    emissivity: float = Field(ge=0.0, le=1.0)
    tg_k: float = Field(ge=0.0, le=2.0, description="K per degree of sun altitude")
    t_start: float = Field(ge=-50.0, le=50.0, description="K")
    tmax_hour: float = Field(ge=0.0, le=24.0, description="h, local solar time")


class Surfaces(_Strict):
    """SOLWEIG land cover per ``Surface`` type (field = lower-case enum name) and for walls."""

    unknown: SurfaceRadiation
    carriageway: SurfaceRadiation
    pavement: SurfaceRadiation
    verge: SurfaceRadiation
    water: SurfaceRadiation
    building: SurfaceRadiation
    wall: SurfaceRadiation

    def of(self, surface: Surface) -> SurfaceRadiation:
        """The parameters of one surface type."""
        return getattr(self, surface.name.lower())


class CableLoss(Sourced):
    """Default peak load of a cable kind: ``cores`` · ``current``² · ``resistance`` [W/m]."""

    cores: int = Field(ge=1, le=12, description="loaded conductors")
    current: float = Field(gt=0.0, le=5000.0, description="A, annual peak")
    resistance: float = Field(gt=0.0, le=0.1, description="ohm/m, R_ac at operating temperature")
    profile: str = Field(min_length=1, description="name in heat_sources.load_profiles")

    @property
    def peak_watts_per_m(self) -> float:
        """Joule loss at peak current [W/m]: n·I²·R."""
        return self.cores * self.current**2 * self.resistance


class LoadProfile(Sourced):
    """Cable load shape: 24 hourly fractions (maximum 1), seasonal drop, peak day of the year."""

    daily: tuple[float, ...]
    seasonal_drop: float = Field(ge=0.0, le=1.0)
    peak_day: float = Field(ge=0.0, le=366.0)

    @field_validator("daily")
    @classmethod
    def _daily(cls, v: tuple[float, ...]) -> tuple[float, ...]:
        if len(v) != 24 or min(v) < 0.0 or not math.isclose(max(v), 1.0):
            raise ValueError("daily must hold 24 non-negative values with maximum 1")
        return v


class FluidTemperatures(Sourced):
    """Default fluid temperatures of a pipe kind [degC]: winter peak and summer low per role."""

    supply_winter: float = Field(ge=0.0, le=200.0)
    supply_summer: float = Field(ge=0.0, le=200.0)
    return_winter: float = Field(ge=0.0, le=200.0)
    return_summer: float = Field(ge=0.0, le=200.0)
    peak_day: float = Field(ge=0.0, le=366.0, description="day of the year of the highest temperature")

    @model_validator(mode="after")
    def _order(self) -> FluidTemperatures:
        if not (self.supply_winter > self.return_winter and self.supply_summer >= self.return_summer):
            raise ValueError("supply must be warmer than return")
        return self

    def winter_summer(self, role: str) -> tuple[float, float]:
        """(winter, summer) of ``role`` "supply" or "return"."""
        return getattr(self, f"{role}_winter"), getattr(self, f"{role}_summer")


class PipeSeries(Sourced):
    """Pre-insulated pipe sizes: rows (steel outer diameter, steel wall, casing outer diameter,
    casing wall) [m]."""

    sizes: tuple[tuple[float, float, float, float], ...] = Field(min_length=1)

    @field_validator("sizes")
    @classmethod
    def _sizes(cls, v):
        for row, (steel, wall, casing, casing_wall) in enumerate(v):
            if not (0.0 < wall < steel / 2 and steel < casing - 2 * casing_wall and 0.0 < casing_wall < casing / 2):
                raise ValueError(f"size {row} {[steel, wall, casing, casing_wall]} is not a pipe inside a casing")
        return v

    def table(self) -> np.ndarray:
        """(n, 4) sizes [m]."""
        return np.array(self.sizes, dtype=float)


class PipeConductivity(Sourced):
    steel: float = Field(gt=0.0, le=500.0, description="W/(m.K)")
    insulation: float = Field(gt=0.0, le=5.0, description="W/(m.K)")
    casing: float = Field(gt=0.0, le=5.0, description="W/(m.K)")


class HeatSourceTable(_Strict):
    """Default loads of heat-source kinds: cables (n·I²·R and a load profile) and pipes."""

    cables: dict[str, CableLoss]
    load_profiles: dict[str, LoadProfile]
    pipes: dict[str, FluidTemperatures]
    pipe_series: PipeSeries
    pipe_conductivity: PipeConductivity

    @model_validator(mode="after")
    def _consistent(self) -> HeatSourceTable:
        known = {u.key for u in Utility}
        for table in ("cables", "pipes"):
            unknown = sorted(set(getattr(self, table)) - known)
            if unknown:
                raise ValueError(f"{table}: unknown utility kind(s) {unknown}; known: {sorted(known)}")
        both = sorted(set(self.cables) & set(self.pipes))
        if both:
            raise ValueError(f"kind(s) {both} are both in cables and pipes; give one loss model each")
        for kind, cable in self.cables.items():
            if cable.profile not in self.load_profiles:
                raise ValueError(f"cables.{kind}: unknown load profile {cable.profile!r}; "
                                 f"known: {sorted(self.load_profiles)}")
        return self


class DesignStorm(Sourced):
    """A block storm: ``total_mm`` of rain spread evenly over ``duration_h``."""

    total_mm: float = Field(gt=0.0, le=1000.0, description="mm")
    duration_h: float = Field(gt=0.0, le=72.0, description="h")


class SurfaceLoss(Sourced):
    """Rates [mm/h] at which one surface type loses rain while it rains: into the soil and the sewer."""

    infiltration_mm_h: float = Field(ge=0.0, le=1000.0)
    sewer_mm_h: float = Field(ge=0.0, le=1000.0)

    @property
    def capacity_mm_h(self) -> float:
        """Infiltration plus sewer inflow [mm/h]."""
        return self.infiltration_mm_h + self.sewer_mm_h


class WaterDepths(Sourced):
    """Water depths [m] that count: nuisance on the street, serious (blocks traffic), at an entrance."""

    nuisance_m: float = Field(gt=0.0, le=5.0)
    serious_m: float = Field(gt=0.0, le=5.0)
    entrance_m: float = Field(gt=0.0, le=5.0)

    @model_validator(mode="after")
    def _order(self) -> "WaterDepths":
        if self.serious_m < self.nuisance_m:
            raise ValueError("serious_m lies below nuisance_m")
        return self


class WaterLosses(_Strict):
    """Losses per ``Surface`` type (field = lower-case enum name)."""

    unknown: SurfaceLoss
    carriageway: SurfaceLoss
    pavement: SurfaceLoss
    verge: SurfaceLoss
    water: SurfaceLoss
    building: SurfaceLoss

    def of(self, surface: Surface) -> SurfaceLoss:
        """The losses of one surface type."""
        return getattr(self, surface.name.lower())


class CrownInterception(Sourced):
    """Rain [mm] a tree crown holds at the start of a storm (it never reaches the ground)."""

    interception_mm: float = Field(ge=0.0, le=20.0)


class WaterRules(_Strict):
    """The water-nuisance stress test: design storms, losses per surface, crowns, depth thresholds."""

    storms: dict[str, DesignStorm] = Field(min_length=1)
    losses: WaterLosses
    trees: CrownInterception
    depths: WaterDepths


class Koppelkans(Sourced):
    """Plans of different parties are a chance to combine when their works lie within ``distance_m``
    and start within ``gap_years`` of each other."""

    distance_m: float = Field(ge=0.0, le=1000.0)
    gap_years: float = Field(ge=0.0, le=30.0)


class Graafrust(Sourced):
    """Years a street part stays closed for digging after works there ended, per surface type."""

    carriageway: float = Field(ge=0.0, le=30.0)
    pavement: float = Field(ge=0.0, le=30.0)
    verge: float = Field(ge=0.0, le=30.0)
    unknown: float = Field(ge=0.0, le=30.0)

    def years(self, surface: Surface) -> float:
        """Closed years after works on ``surface`` (water and building: none)."""
        return getattr(self, surface.name.lower(), 0.0)


class PlanRoutes(Sourced):
    """The cable or pipe kind a plan's asset type lays (Dutch register names to utility keys)."""

    asset_types: dict[str, str]

    @field_validator("asset_types")
    @classmethod
    def _kinds(cls, value: dict[str, str]) -> dict[str, str]:
        known = {u.key for u in Utility}
        unknown = sorted(v for v in value.values() if v not in known)
        if unknown:
            raise ValueError(f"unknown utility kinds {unknown}; known: {sorted(known)}")
        return {k.lower(): v for k, v in value.items()}

    def utility(self, asset_type: str) -> Utility | None:
        """The kind ``asset_type`` lays: a table entry, a utility key or an IMKL thema value; None otherwise."""
        name = asset_type.strip()
        if name.lower() in self.asset_types:
            return Utility.from_key(self.asset_types[name.lower()])
        if name.lower() in {u.key for u in Utility}:
            return Utility.from_key(name.lower())
        return THEMA_TO_UTILITY.get(name)


class Programming(_Strict):
    """Koppelkansen and graafrust of the plan register; which asset types are cable or pipe routes."""

    koppelkans: Koppelkans
    graafrust: Graafrust
    routes: PlanRoutes


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
    surfaces: Surfaces
    heat_sources: HeatSourceTable
    water: WaterRules
    programming: Programming

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

    def utility_flags(self, flag: Literal["heat_source", "drinking_water"]) -> np.ndarray:
        """(n_kinds,) bool of one utility flag, indexed by ``Utility`` code."""
        return np.array([getattr(self.utilities[u.key], flag) for u in Utility], dtype=bool)

    def surface_radiation(self) -> dict[Surface, SurfaceRadiation]:
        """SOLWEIG land-cover parameters per ``Surface`` type (walls: ``surfaces.wall``)."""
        return {s: self.surfaces.of(s) for s in Surface}

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


@cache
def shipped_rules() -> Rules:
    """The shipped rule tables without overrides (read once): the defaults of the public API."""
    return load_rules()


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
