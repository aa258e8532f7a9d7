"""Heat stress on the street: mean radiant temperature, UTCI and PET over rasters.

Thin, documented wrappers around the numba kernels in ``stadstwin.engines`` (``radiation``,
``utci``, ``pet``): they broadcast and check inputs and convert degrees to radians. Shadow and sky
view factor come from :mod:`stadstwin.shade`, sun altitude from :mod:`stadstwin.sun`.

Surface, wall and person parameters are rule values (``rules.surfaces``, ``rules.climate.person``):
the analyses pass them from their ``Rules``; left out, the *shipped* rule tables apply
(``shipped_rules().surface_radiation()``, ``shipped_rules().surfaces.wall``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from datetime import datetime

import numpy as np
import pandas as pd
from pvlib import irradiance

from stadstwin.engines import pet as pet_engine
from stadstwin.engines.radiation import mean_radiant_temperature_grid, surface_temperature_excess
from stadstwin.engines.utci import utci_flat
from stadstwin.errors import InputError
from stadstwin.model.enums import Surface
from stadstwin.rules import shipped_rules
from stadstwin.rules.tables import SurfaceRadiation

STANDING_F_UP = 0.06  # angular factor up and down, standing person (SOLWEIG)
STANDING_F_SIDE = 0.22  # angular factor for each of the four sides
STANDING_F_CYL = 0.28  # projected area factor of the upright cylinder for the direct beam


_POSTURES = {
    "sitting": pet_engine.POSTURE_SITTING,
    "standing": pet_engine.POSTURE_STANDING,
    "standing, forced convection": pet_engine.POSTURE_STANDING_FORCED_CONVECTION,
}


def _broadcast(**arrays: np.ndarray | float) -> tuple[tuple[int, ...], list[np.ndarray]]:
    """Broadcast named inputs to one shape; return it and the flattened float64 copies."""
    try:
        parts = np.broadcast_arrays(*(np.asarray(a, dtype=np.float64) for a in arrays.values()))
    except ValueError as exc:
        shapes = {k: np.shape(a) for k, a in arrays.items()}
        raise InputError(f"inputs do not broadcast to one shape: {shapes}",
                         hint="give scalars or arrays of broadcastable shapes") from exc
    shape = parts[0].shape
    return shape, [np.ascontiguousarray(p).ravel() for p in parts]


def _shaped(values: np.ndarray, shape: tuple[int, ...]) -> np.ndarray | float:
    return float(values[0]) if shape == () else values.reshape(shape)


def utci(
    ta: np.ndarray | float,
    tmrt: np.ndarray | float,
    va10: np.ndarray | float,
    rh: np.ndarray | float,
) -> np.ndarray | float:
    """Universal Thermal Climate Index [°C] (Bröde et al. 2012, operational polynomial).

    ``ta`` air and ``tmrt`` mean radiant temperature [°C], ``va10`` wind speed at 10 m [m/s],
    ``rh`` relative humidity [%]; arrays of any broadcastable shapes or scalars. NaN where the
    inputs leave the procedure's limits (as pythermalcomfort): −50 ≤ Ta ≤ 50 °C,
    −30 ≤ Tmrt − Ta ≤ 70 K, 0.5 ≤ va10 ≤ 17 m/s, 0 ≤ RH ≤ 100 %, vapour pressure ≤ 5 kPa.
    """
    shape, (t, r, v, h) = _broadcast(ta=ta, tmrt=tmrt, va10=va10, rh=rh)
    return _shaped(utci_flat(t, r, v, h), shape)


def pet(
    ta: np.ndarray | float,
    tmrt: np.ndarray | float,
    va: np.ndarray | float,
    rh: np.ndarray | float,
    *,
    activity: float = pet_engine.REFERENCE_ACTIVITY,
    clo: float = pet_engine.REFERENCE_CLOTHING,
    age: float = 23.0,
    sex: str = "male",
    weight: float = 75.0,
    height: float = 1.8,
    posture: str = "sitting",
    pressure: float = 101325.0,
) -> np.ndarray | float:
    """Physiological equivalent temperature [°C] by the MEMI model (pythermalcomfort ``pet_steady``).

    ``ta``, ``tmrt`` [°C], ``va`` wind speed at body height [m/s], ``rh`` [%]: broadcastable arrays
    or scalars. The person defaults are ``pet_steady``'s (23-year-old man, 75 kg, 1.80 m, sitting,
    no external work) with the PET standard activity of 80 W above basal metabolism (``pet_steady``
    ``met`` = activity / 58.2) and 0.9 clo. ``posture`` is "sitting", "standing" or "standing,
    forced convection"; ``pressure`` in Pa. NaN for non-finite inputs, RH outside 0–100 %,
    negative wind or where the heat balance has no solution. Valid range: air vapour pressure
    below about 50 hPa; above it MEMI itself has no steady solution (see ``engines.pet``).
    """
    if posture not in _POSTURES:
        raise InputError(f"unknown posture {posture!r}; use one of {sorted(_POSTURES)}", feature="posture")
    if sex not in ("male", "female"):
        raise InputError(f"unknown sex {sex!r}; use 'male' or 'female'", feature="sex")
    for name, value, low, high in (
        ("activity", activity, 0.0, 1000.0),
        ("clo", clo, 0.0, 5.0),
        ("age", age, 0.0, 120.0),
        ("weight", weight, 1.0, 300.0),
        ("height", height, 0.5, 2.5),
        ("pressure", pressure, 5.0e4, 1.2e5),
    ):
        if not low < value <= high:
            raise InputError(f"PET person/air parameter {name}={value} outside ({low}, {high}]", feature=name)
    person = pet_engine.person_parameters(
        float(age),
        sex == "male",
        float(weight),
        float(height),
        _POSTURES[posture],
        pressure / 100.0,
    )
    shape, (t, r, v, h) = _broadcast(ta=ta, tmrt=tmrt, va=va, rh=rh)
    return _shaped(pet_engine.pet_flat(t, r, v, h, float(activity), float(clo), person), shape)


def split_global_radiation(
    ghi: np.ndarray | float,
    zenith: np.ndarray | float,
    times: pd.DatetimeIndex | Iterable[datetime] | datetime,
) -> tuple[np.ndarray, np.ndarray]:
    """Split global horizontal irradiance [W/m²] into direct normal and diffuse horizontal [W/m²].

    Erbs et al. (1982) diffuse-fraction correlation through ``pvlib.irradiance.erbs``; ``zenith``
    is the sun's true (not refraction-corrected) zenith [deg] at ``times`` (one value each). Returns
    (direct_normal, diffuse_horizontal) as float64 arrays.
    """
    index = pd.DatetimeIndex([times] if isinstance(times, datetime) else times)
    ghi_a = np.atleast_1d(np.asarray(ghi, dtype=np.float64))
    zenith_a = np.atleast_1d(np.asarray(zenith, dtype=np.float64))
    if not (ghi_a.shape == zenith_a.shape == (len(index),)):
        raise InputError(
            f"ghi {ghi_a.shape}, zenith {zenith_a.shape} and times ({len(index)}) must match", feature="ghi"
        )
    if np.any(ghi_a < 0.0) or not np.all(np.isfinite(ghi_a)):
        raise InputError("global radiation must be finite and ≥ 0 W/m²", feature="ghi")
    split = irradiance.erbs(ghi_a, zenith_a, index.day_of_year.to_numpy())
    return np.asarray(split["dni"], dtype=np.float64), np.asarray(split["dhi"], dtype=np.float64)


def surface_heating(
    properties: SurfaceRadiation,
    sun_altitude_max: float,
    solar_hour: float,
    sunrise_hour: float,
    clearness_correction: float = 1.0,
) -> float:
    """Temperature of a sunlit surface above air temperature [K], SOLWEIG's ground-heating wave.

    ``sun_altitude_max`` the day's highest sun altitude [deg]; ``solar_hour`` and ``sunrise_hour``
    in local solar time [h]; ``clearness_correction`` ≤ 1 reduces heating under cloud (SOLWEIG's
    CI_TgG; 1 for a clear day).
    """
    return surface_temperature_excess(
        properties.tg_k,
        properties.t_start,
        math.radians(sun_altitude_max),
        solar_hour / 24.0,
        sunrise_hour / 24.0,
        properties.tmax_hour / 24.0,
        clearness_correction,
    )


def surface_parameters(
    surface: np.ndarray, radiation: Mapping[Surface, SurfaceRadiation] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Albedo and emissivity rasters for a raster of :class:`Surface` codes.

    ``radiation``: parameters per surface type (``Rules.surface_radiation()``; default the shipped table).
    """
    table = shipped_rules().surface_radiation() if radiation is None else radiation
    codes = np.asarray(surface)
    known = {int(s) for s in Surface}
    unknown = set(np.unique(codes).tolist()) - known
    if unknown:
        raise InputError(
            f"unknown surface codes {sorted(unknown)}",
            feature="surface",
            hint=f"use Surface codes {sorted(known)}",
        )
    albedo = np.empty(codes.shape)
    emissivity = np.empty(codes.shape)
    missing = sorted(int(s) for s in np.unique(codes).tolist() if Surface(s) not in table)
    if missing:
        raise InputError(f"no radiation parameters for surface codes {missing}", feature="surface")
    for kind, props in table.items():
        mask = codes == int(kind)
        albedo[mask] = props.albedo
        emissivity[mask] = props.emissivity
    return albedo, emissivity


def _raster(
    value: np.ndarray | float, shape: tuple[int, ...], name: str, low: float, high: float
) -> np.ndarray:
    array = np.asarray(value, dtype=np.float64)
    try:
        array = np.ascontiguousarray(np.broadcast_to(array, shape))
    except ValueError as exc:
        raise InputError(f"{name} has shape {np.shape(value)}, the rasters {shape}", feature=name) from exc
    if not np.all((array >= low) & (array <= high)):
        raise InputError(f"{name} must lie in [{low}, {high}]", feature=name)
    return array


def mean_radiant_temperature(
    shadow: np.ndarray,
    svf: np.ndarray,
    ta: float,
    rh: float,
    direct_normal: float,
    diffuse: float,
    sun_altitude: float,
    *,
    surface: np.ndarray | None = None,
    albedo: np.ndarray | float | None = None,
    emissivity: np.ndarray | float | None = None,
    ground_excess: np.ndarray | float = 0.0,
    wall_excess: float = 0.0,
    wall_albedo: float | None = None,
    wall_emissivity: float | None = None,
    wall_shaded_fraction: float = 0.5,
    cloud_fraction: float = 0.0,
    absorptivity_shortwave: float | None = None,
    absorptivity_longwave: float | None = None,
    surface_radiation: Mapping[Surface, SurfaceRadiation] | None = None,
) -> np.ndarray:
    """Mean radiant temperature [°C] of a standing person per cell, SOLWEIG style.

    ``shadow`` (1 sunlit … 0 shaded, fractional under crowns) and ``svf`` [0–1] are 2-D rasters of
    one shape (north-up). Weather is one moment: ``ta`` [°C], ``rh`` [%], ``direct_normal`` and
    ``diffuse`` horizontal irradiance [W/m²] (see :func:`split_global_radiation`),
    ``sun_altitude`` [deg]. Ground albedo/emissivity come from ``surface`` (a raster of
    :class:`Surface` codes) and ``surface_radiation`` (parameters per type,
    ``Rules.surface_radiation()``) unless given directly (scalar or raster).
    ``ground_excess`` is how much warmer sunlit ground is than the air [K] (scalar or raster, e.g.
    from :func:`surface_heating`); shaded ground is at air temperature. ``wall_excess`` [K] is the
    walls' excess, ``wall_shaded_fraction`` the shaded part of the walls seen, ``cloud_fraction``
    [0–1] raises the sky emissivity. Person: absorptivities a_k, a_l and SOLWEIG's standing
    angular factors 0.06 (up/down), 0.22 (each side), 0.28 (direct beam on the cylinder).
    Left-out wall albedo/emissivity, absorptivities and surface parameters are those of the shipped
    rule tables (``surfaces.wall``, ``climate.person``, ``surfaces``).

    The balance and every simplification against full SOLWEIG (no wall-aspect scheme, own cell as
    the ground seen, isotropic sky, instantaneous surface temperatures) are documented in
    :mod:`stadstwin.engines.radiation`.
    """
    shipped = shipped_rules()
    wall_albedo = shipped.surfaces.wall.albedo if wall_albedo is None else wall_albedo
    wall_emissivity = shipped.surfaces.wall.emissivity if wall_emissivity is None else wall_emissivity
    person = shipped.climate.person
    absorptivity_shortwave = person.absorptivity_shortwave if absorptivity_shortwave is None else absorptivity_shortwave
    absorptivity_longwave = person.absorptivity_longwave if absorptivity_longwave is None else absorptivity_longwave
    shadow_a = np.asarray(shadow, dtype=np.float64)
    if shadow_a.ndim != 2:
        raise InputError(f"shadow must be a 2-D raster, got shape {shadow_a.shape}", feature="shadow")
    shape = shadow_a.shape
    shadow_a = _raster(shadow_a, shape, "shadow", 0.0, 1.0)
    svf_a = _raster(svf, shape, "svf", 0.0, 1.0)
    if surface is not None:
        if np.shape(surface) != shape:
            raise InputError(f"surface has shape {np.shape(surface)}, the rasters {shape}", feature="surface")
        table_albedo, table_emissivity = surface_parameters(surface, surface_radiation)
        albedo = table_albedo if albedo is None else albedo
        emissivity = table_emissivity if emissivity is None else emissivity
    if albedo is None or emissivity is None:
        raise InputError("give a surface raster or both albedo and emissivity", feature="surface")
    albedo_a = _raster(albedo, shape, "albedo", 0.0, 1.0)
    emissivity_a = _raster(emissivity, shape, "emissivity", 0.0, 1.0)
    excess_a = _raster(ground_excess, shape, "ground_excess", -50.0, 80.0)
    for name, value, low, high in (
        ("ta", ta, -60.0, 60.0),
        ("rh", rh, 0.0, 100.0),
        ("direct_normal", direct_normal, 0.0, 1500.0),
        ("diffuse", diffuse, 0.0, 1000.0),
        ("sun_altitude", sun_altitude, -90.0, 90.0),
        ("wall_excess", wall_excess, -50.0, 80.0),
        ("wall_albedo", wall_albedo, 0.0, 1.0),
        ("wall_emissivity", wall_emissivity, 0.0, 1.0),
        ("wall_shaded_fraction", wall_shaded_fraction, 0.0, 1.0),
        ("cloud_fraction", cloud_fraction, 0.0, 1.0),
        ("absorptivity_shortwave", absorptivity_shortwave, 0.0, 1.0),
        ("absorptivity_longwave", absorptivity_longwave, 0.01, 1.0),
    ):
        if not (math.isfinite(value) and low <= value <= high):
            raise InputError(f"{name}={value} outside [{low}, {high}]", feature=name)
    return mean_radiant_temperature_grid(
        shadow_a,
        svf_a,
        albedo_a,
        emissivity_a,
        excess_a,
        float(ta),
        float(rh),
        float(direct_normal),
        float(diffuse),
        math.radians(sun_altitude),
        float(wall_albedo),
        float(wall_emissivity),
        float(wall_excess),
        float(wall_shaded_fraction),
        float(cloud_fraction),
        float(absorptivity_shortwave),
        float(absorptivity_longwave),
        STANDING_F_UP,
        STANDING_F_SIDE,
        STANDING_F_CYL,
    )
