"""Heat & shade on the street: sun hours, shade, sky view, Tmrt, UTCI and PET of a twin on one day.

Time resolution (all clock times Europe/Amsterdam, as the Dutch heat map and reports use):

- sun hours: shadow at the middle of every ``step_minutes`` step (default 10) of the UTC day;
- shade snapshots: the shadow at the full clock hours in ``hours`` (default 12 and 15 h; 15 h is
  always computed, it is the ``shade_fraction`` metric);
- Tmrt, UTCI and PET: hourly, at the middle of each clock hour from 12 to 18 h (12:30 … 17:30),
  with the weather interpolated to that moment; ``pet_mean_12_18`` and ``tmrt_mean_12_18`` are the
  means of the six hours, ``utci_max`` their maximum. This is the national heat map's period
  (mean PET 12–18 h on a hot day); the hours before noon add little to a daily maximum.

PET at one moment depends per cell on Tmrt alone (air temperature, humidity and wind are one
value for the area), so it is solved on a 0.05 K grid of Tmrt spanning the raster's range and
interpolated (error far below 0.01 °C), not per cell. Wind at 10 m is brought to the person's
centre of gravity (``rules.climate.person.height``) with the logarithmic profile UTCI uses
(roughness 0.01 m, Bröde et al. 2012); UTCI takes the 10 m wind clipped to its valid 0.5–17 m/s.

Public space is every cell that is neither building nor water. A cell counts as shaded when less
than half the direct sun reaches it (under a crown 3 % does, leaf-on). Tmrt, UTCI and PET are NaN
on buildings (nobody stands on a roof); sun hours, shade and SVF are kept there.

Buildings outside the extent that the sources hold (the twin's ``context``, within the scene's
``shadow_buffer``) cast shadow into it and close its sky: the shadow casters are widened to them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
from pvlib import solarposition
from pvlib.location import Location

from stadstwin.analyses import heat_inputs as inputs
from stadstwin.analyses.result import AnalysisResult, with_defaults
from stadstwin.analyses.settings import number
from stadstwin.errors import InputError
from stadstwin.heat import (
    mean_radiant_temperature,
    pet,
    split_global_radiation,
    surface_heating,
    utci,
)
from stadstwin.io.weather import LOCAL_TZ, Weather, hot_day
from stadstwin.model.enums import Surface
from stadstwin.model.raster import Raster
from stadstwin.model.twin import Twin
from stadstwin.rules import Rules
from stadstwin.rules.tables import Person, Surfaces
from stadstwin.shade import shadow_mask, sky_view_factor, sun_hours
from stadstwin.sun import solar_position

PERIOD_HOURS = (12, 18)
"""Clock hours [from, to) of the Tmrt/UTCI/PET period (Dutch heat map: mean PET 12–18 h)."""
SHADE_HOUR = 15
"""Clock hour of the ``shade_fraction`` metric."""
SHADED_BELOW = 0.5
"""A cell is shaded when its direct-sun fraction is below this."""
WIND_ROUGHNESS = 0.01
"""Roughness length [m] of UTCI's logarithmic wind profile (Bröde et al. 2012)."""
WIND_REFERENCE_HEIGHT = 10.0
UTCI_WIND_RANGE = (0.5, 17.0)
#: every cell of a raster (the default ``core`` of a grid that is not widened)
WHOLE = (slice(None), slice(None))
PET_WIND_MIN = 0.1
"""Calm is taken as 0.1 m/s at body height (PET's free-convection floor)."""
PET_TMRT_STEP = 0.05
"""Tmrt spacing [K] of the PET lookup per moment."""

#: Public surface types reported separately (metric suffix = lower-case enum name).
REPORTED_SURFACES = (Surface.CARRIAGEWAY, Surface.PAVEMENT, Surface.VERGE, Surface.UNKNOWN)

Progress = Callable[[str, int, int], None]


def _silent(step: str, done: int, total: int) -> None:
    """No progress reporting."""


@dataclass(frozen=True)
class HeatSettings:
    """Validated settings of one run (see :func:`heat_stress`)."""

    day: date
    weather: Weather
    hours: tuple[int, ...]
    step_minutes: float
    area: dict[str, Any] | None


def parse_settings(settings: dict[str, Any], rules: Rules, lat: float, lon: float) -> HeatSettings:
    """Check ``settings`` and load the weather (file, or the hot day of the rules)."""
    with_defaults(settings, dict.fromkeys(("date", "weather", "hours", "step_minutes", "area")), "heat")
    day = parse_day(settings.get("date"))
    weather = settings.get("weather")
    if weather is None:
        day = day or date.fromisoformat(rules.climate.hot_day.date)
        weather = hot_day(rules.climate.hot_day, day, lat, lon)
    elif isinstance(weather, Weather):
        day = day or weather.hottest_day()
    else:
        raise InputError(f"weather must be read weather data, not {type(weather).__name__}", feature="weather",
                         hint="run the analysis through stadstwin.scenario.pipeline, which reads the scene's "
                              "weather file")
    wanted = settings.get("hours", (12, 15))
    wanted = list(wanted) if isinstance(wanted, (list, tuple)) else wanted
    if not isinstance(wanted, list) or not all(isinstance(h, int) and 0 <= h <= 23 for h in wanted):
        raise InputError(f"shade hours must be whole clock hours 0–23, got {wanted}", feature="hours")
    hours = tuple(sorted(set(wanted) | {SHADE_HOUR}))
    step = number(settings.get("step_minutes", 10), "step_minutes", "heat")
    if not 0.0 < step <= 120.0:
        raise InputError(f"step_minutes must be in (0, 120], got {step}", feature="step_minutes")
    return HeatSettings(day, weather, hours, step, settings.get("area"))


def parse_day(value: Any) -> date | None:
    """The day of a ``date`` setting (ISO ``YYYY-MM-DD`` string or a date); None when not set."""
    if value is None or isinstance(value, date):
        return value.date() if isinstance(value, datetime) else value
    try:
        day = date.fromisoformat(str(value))
    except ValueError as exc:
        raise InputError(f"date {value!r} is not an ISO date (YYYY-MM-DD)", feature="date") from exc
    if not pd.Timestamp.min.year < day.year < pd.Timestamp.max.year:
        raise InputError(f"date {value!r} lies outside the years the weather series can hold", feature="date",
                         hint=f"give a date from {pd.Timestamp.min.year + 1} to {pd.Timestamp.max.year - 1}")
    return day


def local_times(day: date, hours: list[float]) -> pd.DatetimeIndex:
    """Clock times ``hours`` [h, fractional allowed] of ``day`` in Europe/Amsterdam, as UTC."""
    zone = ZoneInfo(LOCAL_TZ)
    start = datetime.combine(day, time(0), tzinfo=zone)
    return pd.DatetimeIndex([start + timedelta(hours=h) for h in hours]).tz_convert("UTC")


def period_moments(day: date) -> pd.DatetimeIndex:
    """The middles of the clock hours of ``PERIOD_HOURS`` on ``day`` (12:30 … 17:30 local)."""
    return local_times(day, [h + 0.5 for h in range(*PERIOD_HOURS)])


def body_wind(wind_10m: float, height: float) -> float:
    """Wind speed at ``height`` [m] from the 10 m wind [m/s], logarithmic profile (z0 = 0.01 m)."""
    factor = math.log(height / WIND_ROUGHNESS) / math.log(WIND_REFERENCE_HEIGHT / WIND_ROUGHNESS)
    return max(wind_10m * factor, PET_WIND_MIN)


def pet_by_lookup(tmrt: np.ndarray, ta: float, va: float, rh: float) -> np.ndarray:
    """PET [°C] of a Tmrt raster at one air state, solved on a ``PET_TMRT_STEP`` grid and interpolated."""
    finite = tmrt[np.isfinite(tmrt)]
    if finite.size == 0:
        return np.full(tmrt.shape, np.nan)
    low = math.floor(finite.min() / PET_TMRT_STEP) * PET_TMRT_STEP
    grid = np.arange(low, finite.max() + 2 * PET_TMRT_STEP, PET_TMRT_STEP)
    table = pet(ta, grid, va, rh)
    return np.interp(tmrt, grid, table)


@dataclass(frozen=True)
class SolarDay:
    """Sunrise, solar noon and highest sun altitude of a day, for SOLWEIG's ground heating."""

    sunrise: pd.Timestamp
    transit: pd.Timestamp
    altitude_max: float

    @classmethod
    def of(cls, day: date, lat: float, lon: float) -> SolarDay:
        noon = local_times(day, [12.0])
        events = solarposition.sun_rise_set_transit_spa(noon, lat, lon)
        transit = pd.Timestamp(events["transit"].iloc[0]).tz_convert("UTC")
        zenith, _ = solar_position(pd.DatetimeIndex([transit]), lat, lon)
        return cls(pd.Timestamp(events["sunrise"].iloc[0]).tz_convert("UTC"), transit, 90.0 - float(zenith[0]))

    def solar_hour(self, when: pd.Timestamp) -> float:
        """Local solar time [h] (12 at transit)."""
        return 12.0 + (when - self.transit).total_seconds() / 3600.0


@dataclass(frozen=True)
class Moment:
    """The weather and Tmrt raster [°C] at one moment."""

    time: pd.Timestamp
    ta: float
    rh: float
    wind_10m: float
    tmrt: np.ndarray


def radiant_moments(
    dsm: np.ndarray,
    cell_size: float,
    canopy: np.ndarray,
    trunk: np.ndarray,
    svf: np.ndarray,
    codes: np.ndarray,
    times: pd.DatetimeIndex,
    weather: Weather,
    lat: float,
    lon: float,
    transmissivity: float,
    person: Person,
    surfaces: Surfaces,
    core: tuple[slice, slice] = WHOLE,
    tile_size: int | None = None,
) -> Iterator[Moment]:
    """Tmrt of a standing person per cell at each of ``times`` (SOLWEIG style, ``stadstwin.heat``).

    ``dsm``, ``canopy`` and ``trunk`` may be wider than the cells asked for (``svf``, ``codes``): the
    part ``core`` of them; the rest only casts shadow. Shadow per moment from :func:`shadow_mask` (in tiles of
    ``tile_size`` cells if given, same result); direct and diffuse radiation from the weather
    (split from the global radiation by Erbs where the source has no split); sunlit ground and
    walls warmed by SOLWEIG's ground-heating wave per surface type (``surfaces``, the rules' land
    cover), scaled by the clearness (measured over Ineichen clear-sky global radiation, at most 1).
    """
    radiation = {kind: surfaces.of(kind) for kind in Surface}
    state = weather.at(times)
    zenith, azimuth = solar_position(times, lat, lon)
    altitude = 90.0 - zenith
    dni, dhi = direct_and_diffuse(state, weather.has_split, times, lat, lon)
    clear = Location(lat, lon, tz="UTC").get_clearsky(times, model="ineichen")["ghi"].to_numpy()
    clearness = np.where(clear > 1.0, np.minimum(state["ghi"].to_numpy() / np.maximum(clear, 1.0), 1.0), 1.0)
    days = {d: SolarDay.of(d, lat, lon) for d in times.tz_convert(LOCAL_TZ).date}
    for i, when in enumerate(times):
        sun = days[when.tz_convert(LOCAL_TZ).date()]
        hour, sunrise = sun.solar_hour(when), sun.solar_hour(sun.sunrise)
        lookup = np.zeros(max(int(s) for s in Surface) + 1)
        for kind, props in radiation.items():
            lookup[int(kind)] = surface_heating(props, sun.altitude_max, hour, sunrise, clearness[i])
        wall = surface_heating(surfaces.wall, sun.altitude_max, hour, sunrise, clearness[i])
        shadow = shadow_mask(dsm, cell_size, float(azimuth[i]), float(altitude[i]), canopy=canopy,
                             trunk=trunk, transmissivity=transmissivity, tile_size=tile_size)[core]
        row = state.iloc[i]
        tmrt = mean_radiant_temperature(
            shadow, svf, float(row["ta"]), float(row["rh"]), max(float(dni[i]), 0.0),
            max(float(dhi[i]), 0.0), float(altitude[i]), surface=codes, ground_excess=lookup[codes],
            wall_excess=wall, wall_albedo=surfaces.wall.albedo, wall_emissivity=surfaces.wall.emissivity,
            cloud_fraction=float(row["cloud_fraction"]),
            absorptivity_shortwave=person.absorptivity_shortwave,
            absorptivity_longwave=person.absorptivity_longwave, surface_radiation=radiation,
        )
        yield Moment(when, float(row["ta"]), float(row["rh"]), float(row["wind_10m"]), tmrt)


def direct_and_diffuse(state: pd.DataFrame, has_split: bool, times: pd.DatetimeIndex, lat: float, lon: float
                       ) -> tuple[np.ndarray, np.ndarray]:
    """Direct normal and diffuse horizontal irradiance [W/m²] at ``times``: the weather's own split where
    it has one, else Erbs on the global radiation with the true (geometric) solar zenith, as Erbs is defined."""
    if has_split:
        return state["dni"].to_numpy(), state["dhi"].to_numpy()
    zenith, _ = solar_position(times, lat, lon, apparent=False)
    return split_global_radiation(state["ghi"].to_numpy(), zenith, times)


@dataclass(frozen=True)
class HeatGrids:
    """Result rasters of one day as arrays on the twin grid."""

    sun_hours: np.ndarray
    shade: dict[int, np.ndarray]
    svf: np.ndarray
    tmrt_mean: np.ndarray
    utci_max: np.ndarray
    pet_mean: np.ndarray


def heat_grids(
    dsm: np.ndarray,
    cell_size: float,
    origin: tuple[float, float],
    canopy: np.ndarray,
    trunk: np.ndarray,
    codes: np.ndarray,
    run: HeatSettings,
    lat: float,
    lon: float,
    transmissivity: float,
    person: Person,
    surfaces: Surfaces,
    progress: Progress = _silent,
    core: tuple[slice, slice] = WHOLE,
    tile_size: int | None = None,
) -> HeatGrids:
    """Every result raster of the analysis on plain arrays (see the module docstring).

    ``dsm``, ``canopy`` and ``trunk`` (grid corner ``origin``) may reach beyond the cells analysed,
    their part ``core`` (the shape of ``codes``): the surroundings only cast shadow and close the sky.
    ``tile_size`` [cells] runs sun hours and shadows in tiles with the margin of the longest shadow
    (``stadstwin.shade``), equal to the untiled result; the sky view factor always sees the whole raster
    (a horizon has no finite reach, so no margin makes it exact)."""
    steps = 3 + len(run.hours) + PERIOD_HOURS[1] - PERIOD_HOURS[0]
    progress("heat & shade", 0, steps)
    hours = sun_hours(dsm, cell_size, origin, run.day, run.step_minutes, canopy=canopy, trunk=trunk,
                      transmissivity=transmissivity, tile_size=tile_size)[core]
    progress("heat & shade", 1, steps)
    shade = {}
    snapshots = local_times(run.day, list(run.hours))
    zenith, azimuth = solar_position(snapshots, lat, lon)
    for k, hour in enumerate(run.hours):
        shade[hour] = shadow_mask(dsm, cell_size, float(azimuth[k]), 90.0 - float(zenith[k]), canopy=canopy,
                                  trunk=trunk, transmissivity=transmissivity, tile_size=tile_size)[core]
        progress("heat & shade", 2 + k, steps)
    svf = sky_view_factor(dsm, cell_size, canopy=canopy)[core]
    done = 2 + len(run.hours)
    progress("heat & shade", done, steps)
    tmrt_sum = np.zeros(codes.shape)
    pet_sum = np.zeros(codes.shape)
    utci_max = np.full(codes.shape, -np.inf)
    times = period_moments(run.day)
    moments = radiant_moments(dsm, cell_size, canopy, trunk, svf, codes, times, run.weather,
                              lat, lon, transmissivity, person, surfaces, core, tile_size)
    for n, moment in enumerate(moments, start=1):
        wind_utci = float(np.clip(moment.wind_10m, *UTCI_WIND_RANGE))
        tmrt_sum += moment.tmrt
        utci_max = np.fmax(utci_max, utci(moment.ta, moment.tmrt, wind_utci, moment.rh))
        pet_sum += pet_by_lookup(moment.tmrt, moment.ta, body_wind(moment.wind_10m, person.height), moment.rh)
        progress("heat & shade", done + n, steps)
    utci_max[~np.isfinite(utci_max)] = np.nan
    progress("heat & shade", steps, steps)
    return HeatGrids(hours, shade, svf, tmrt_sum / len(times), utci_max, pet_sum / len(times))


def _mean(values: np.ndarray, mask: np.ndarray) -> float | None:
    picked = values[mask]
    picked = picked[np.isfinite(picked)]
    return float(picked.mean()) if picked.size else None


def metric_arrays(grids: HeatGrids) -> dict[str, np.ndarray]:
    """The raster each metric is the mean of (over public space, a surface type or the plan area)."""
    return {
        "pet_mean_c": grids.pet_mean,
        "shade_fraction": (grids.shade[SHADE_HOUR] < SHADED_BELOW).astype(np.float64),
        "sun_hours_mean_h": grids.sun_hours,
        "utci_max_c": grids.utci_max,
        "tmrt_mean_c": grids.tmrt_mean,
        "svf_mean": grids.svf,
    }


def metric_masks(codes: np.ndarray, area: np.ndarray | None) -> dict[str, np.ndarray]:
    """Cells each metric suffix averages over: public space (""), each reported surface type
    (``_pavement`` …) and, with an ``area`` mask, public space in the plan area (``_plan_area``)."""
    public = inputs.public_space(codes)
    masks = {"": public}
    masks.update({f"_{kind.name.lower()}": public & (codes == int(kind)) for kind in REPORTED_SURFACES})
    if area is not None:
        masks["_plan_area"] = public & area
    return masks


def _statistics(grids: HeatGrids, mask: np.ndarray, suffix: str = "") -> dict[str, float]:
    values = {k: _mean(v, mask) for k, v in metric_arrays(grids).items()}
    return {f"{k}{suffix}": v for k, v in values.items() if v is not None}


def heat_stress(twin: Twin, rules: Rules, settings: dict[str, Any], *, progress: Progress = _silent) -> AnalysisResult:
    """Sun hours, shade, SVF, Tmrt, UTCI and PET of ``twin`` on one day, with public-space statistics.

    ``settings``: ``date`` (ISO; default the weather file's hottest day, else the rules' hot day),
    ``weather`` (``Weather`` read from an EPW or KNMI hourly file by the caller, or None for the
    shipped hot day), ``hours`` (clock hours
    of the shade snapshots, default [12, 15]), ``step_minutes`` (sun hours, default 10) and
    ``area`` (GeoJSON polygon of the plan area, optional). Metrics: ``pet_mean_c``,
    ``shade_fraction``, ``sun_hours_mean_h``, ``utci_max_c`` (mean over public space of the daily
    maximum), ``tmrt_mean_c``, ``svf_mean`` on public space, the same per surface type
    (``pet_mean_c_pavement`` …) and for the plan area (``pet_mean_c_plan_area`` …).
    """
    grid = twin.dtm
    lat, lon = inputs.centre_lat_lon(grid)
    run = parse_settings(settings, rules, lat, lon)
    vegetation = rules.climate.vegetation
    terrain = inputs.ground(twin)
    in_building = inputs.building_mask(twin)
    dsm = inputs.building_dsm(twin, terrain)
    casters = inputs.surroundings(twin, terrain, dsm, inputs.canopy_above(inputs.canopy_height(twin), terrain, dsm))
    codes = inputs.surface_codes(twin, in_building)
    grids = heat_grids(casters.dsm, grid.cell_size, casters.origin, casters.canopy,
                       casters.canopy * vegetation.trunk_fraction, codes, run, lat, lon,
                       inputs.transmissivity(run.day, vegetation), rules.climate.person, rules.surfaces, progress,
                       casters.core)
    for array in (grids.tmrt_mean, grids.utci_max, grids.pet_mean):
        array[in_building] = np.nan
    metrics = {}
    area = None if run.area is None else inputs.area_mask(grid, run.area)
    for suffix, mask in metric_masks(codes, area).items():
        metrics.update(_statistics(grids, mask, suffix))

    def raster(values: np.ndarray) -> Raster:
        return Raster(np.asarray(values, dtype=np.float64), grid.transform, grid.crs)

    rasters = {"sun_hours": raster(grids.sun_hours), "svf": raster(grids.svf),
               "tmrt_mean_12_18": raster(grids.tmrt_mean), "utci_max": raster(grids.utci_max),
               "pet_mean_12_18": raster(grids.pet_mean)}
    rasters.update({f"shade_{h:02d}h": raster(s) for h, s in grids.shade.items()})
    return AnalysisResult("heat", metrics=metrics, rasters=rasters, details={"day": run.day.isoformat()})
