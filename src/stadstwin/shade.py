"""Shadow, sky view factor and sun hours on a raster surface model.

Rasters are north-up (row 0 north) with square cells of ``cell_size`` metres. ``dsm`` holds ground
plus buildings [m]. Vegetation is given as in UMEP: ``canopy`` is the crown top height above the
DSM [m] (0 where there is no vegetation) and ``trunk`` the top of the leafless trunk zone above
the DSM [m], by default ``canopy`` times the shipped rules' ``climate.vegetation.trunk_fraction``
(0.25, UMEP's default trunk ratio). ``transmissivity`` is the
fraction of direct sun passing a crown (UMEP: 0.03 leaf-on, 0.5 leaf-off).

Kernels live in ``stadstwin.engines.shadow``, ``.sky_view``, ``.sun_hours`` and ``.tiling``;
this module checks input and converts degrees to radians.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta

import numba
import numpy as np
import pandas as pd

from stadstwin.crs import rd_to_wgs84
from stadstwin.engines.shadow import cast_shadow
from stadstwin.engines.sky_view import sky_view
from stadstwin.engines.sun_hours import sunlit_hours
from stadstwin.engines.tiling import map_tiles, overlap_cells
from stadstwin.errors import InputError
from stadstwin.rules import shipped_rules
from stadstwin.sun import solar_position

SVF_DIRECTIONS = 64
"""Azimuth sectors of the sky view integral (error < 0.01 against the analytic canyon)."""


def _surface(dsm: np.ndarray, cell_size: float) -> np.ndarray:
    surface = np.asarray(dsm, dtype=np.float64)
    if surface.ndim != 2 or surface.size == 0:
        raise InputError(f"dsm must be a non-empty 2-D raster, got shape {surface.shape}")
    if not np.isfinite(surface).all():
        raise InputError("dsm holds NaN or infinite heights", hint="fill nodata before shading")
    if not cell_size > 0.0:
        raise InputError(f"cell_size must be positive metres, got {cell_size}", feature="cell_size")
    return surface


def _layer(values: np.ndarray, like: np.ndarray, name: str) -> np.ndarray:
    layer = np.asarray(values, dtype=np.float64)
    if layer.shape != like.shape:
        raise InputError(f"{name} raster has shape {layer.shape}, dsm has {like.shape}")
    if not np.isfinite(layer).all() or (layer < 0.0).any():
        raise InputError(
            f"{name} holds NaN, infinite or negative heights",
            hint="heights above the DSM, 0 where absent",
        )
    return layer


def _vegetation(
    surface: np.ndarray,
    canopy: np.ndarray | None,
    trunk: np.ndarray | None,
) -> tuple[np.ndarray, np.ndarray]:
    """Absolute crown top and trunk zone top [m], -inf where there is none."""
    if canopy is None:
        if trunk is not None:
            raise InputError("trunk raster given without canopy raster")
        none = np.full(surface.shape, -np.inf)
        return none, none
    crown = _layer(canopy, surface, "canopy")
    stem = crown * shipped_rules().climate.vegetation.trunk_fraction if trunk is None else _layer(trunk, surface, "trunk")
    if (stem > crown).any():
        raise InputError(
            "trunk zone is higher than the canopy in some cells", hint="trunk must be <= canopy"
        )
    canopy_top = np.where(crown > 0.0, surface + crown, -np.inf)
    trunk_top = np.where((crown > 0.0) & (stem > 0.0), surface + stem, -np.inf)
    return canopy_top, trunk_top


def _obstacle_range(surface: np.ndarray, canopy_top: np.ndarray) -> float:
    return float(max(surface.max(), canopy_top.max()) - surface.min())


def _whole(raster: np.ndarray) -> tuple[int, int, int, int]:
    """The region (row0, row1, col0, col1) of every cell of ``raster``."""
    return (0, raster.shape[0], 0, raster.shape[1])


def _check_transmissivity(transmissivity: float) -> None:
    if not 0.0 <= transmissivity <= 1.0:
        raise InputError(f"transmissivity must be in [0, 1], got {transmissivity}", feature="transmissivity")


def shadow_mask(
    dsm: np.ndarray,
    cell_size: float,
    azimuth: float,
    altitude: float,
    canopy: np.ndarray | None = None,
    trunk: np.ndarray | None = None,
    transmissivity: float = 0.03,
    tile_size: int | None = None,
) -> np.ndarray:
    """Direct-sun fraction per cell (float32): 1 sunlit, 0 shaded, ``transmissivity`` under crowns.

    ``azimuth`` [deg from north, clockwise] and ``altitude`` [deg] of the sun; at altitude <= 0
    everything is shaded. Same definition as UMEP's ``shadowingfunction_20`` combined as SOLWEIG
    does (sh − (1 − vegsh)(1 − ψ)). With ``tile_size`` [cells] the raster is computed in tiles
    with a margin of the longest shadow; the result equals the untiled one.
    """
    surface = _surface(dsm, cell_size)
    _check_transmissivity(transmissivity)
    if altitude <= 0.0:
        return np.zeros(surface.shape, np.float32)
    canopy_top, trunk_top = _vegetation(surface, canopy, trunk)
    az = math.radians(azimuth % 360.0)
    alt = math.radians(min(altitude, 89.9999))

    def run(s: np.ndarray, c: np.ndarray, t: np.ndarray, region: tuple[int, int, int, int]) -> np.ndarray:
        return cast_shadow(s, c, t, float(cell_size), az, alt, float(transmissivity), region)

    if tile_size is None:
        return run(surface, canopy_top, trunk_top, _whole(surface))
    overlap = overlap_cells(_obstacle_range(surface, canopy_top), min(altitude, 90.0), cell_size)
    return map_tiles(run, (surface, canopy_top, trunk_top), tile_size, overlap)


def sky_view_factor(
    dsm: np.ndarray, cell_size: float, canopy: np.ndarray | None = None
) -> np.ndarray:
    """Cosine-weighted (Lambertian) sky view factor of the ground surface, in [0, 1] (float32).

    SVF = 1/(2π) ∫ cos²h(φ) dφ with h(φ) ≥ 0 the exact horizon elevation along each of
    ``SVF_DIRECTIONS`` azimuths up to the raster edge (cells near the edge see open sky beyond it).
    Crowns (``canopy`` above the DSM, m) count as opaque obstacles: with UMEP's 3 % leaf-on
    transmissivity the difference to a transmissive crown is below 0.01 of SVF; the trunk zone is
    not left open. Cells under a crown receive the crown of their neighbours as horizon.
    """
    surface = _surface(dsm, cell_size)
    canopy_top, _ = _vegetation(surface, canopy, None)
    obstacle = np.maximum(surface, canopy_top)
    return sky_view(surface, obstacle, float(cell_size), SVF_DIRECTIONS, numba.get_num_threads())


def _days(dates: date | Iterable[date]) -> list[date]:
    days = [dates] if isinstance(dates, date) else list(dates)
    if not days:
        raise InputError("sun_hours needs at least one date", feature="dates")
    return [d.date() if isinstance(d, datetime) else d for d in days]


def sun_positions(
    lat: float,
    lon: float,
    dates: date | Iterable[date],
    step_minutes: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Azimuth and altitude [deg] at the middle of each ``step_minutes`` step of each UTC day,
    only where the sun is above the horizon."""
    if not 0.0 < step_minutes <= 1440.0:
        raise InputError(f"step_minutes must be in (0, 1440], got {step_minutes}", feature="step_minutes")
    step = timedelta(minutes=step_minutes)
    n_steps = round(1440.0 / step_minutes)
    times = [
        datetime(d.year, d.month, d.day, tzinfo=UTC) + (i + 0.5) * step
        for d in _days(dates)
        for i in range(n_steps)
    ]
    zenith, azimuth = solar_position(pd.DatetimeIndex(times), lat, lon)
    altitude = 90.0 - zenith
    up = altitude > 0.0
    return azimuth[up], altitude[up]


def sun_hours(
    dsm: np.ndarray,
    cell_size: float,
    origin: tuple[float, float],
    dates: date | Iterable[date],
    step_minutes: float = 10,
    canopy: np.ndarray | None = None,
    trunk: np.ndarray | None = None,
    transmissivity: float = 0.03,
    tile_size: int | None = None,
) -> np.ndarray:
    """Hours of direct sun per cell, summed over the UTC day(s) ``dates`` (float32).

    ``origin`` is the (x, y) of the raster's upper-left corner in RD New [m]; the sun position is
    taken at the raster centre. Each ``step_minutes`` step counts its shadow mask at the middle of
    the step, so a cell under a crown earns ``transmissivity`` of the step. ``tile_size`` [cells]
    tiles with the margin of the longest shadow of the day (equal to the untiled result).
    """
    surface = _surface(dsm, cell_size)
    _check_transmissivity(transmissivity)
    n_rows, n_cols = surface.shape
    lat, lon = rd_to_wgs84(
        origin[0] + n_cols * cell_size / 2.0, origin[1] - n_rows * cell_size / 2.0
    )
    azimuths, altitudes = sun_positions(float(lat), float(lon), dates, step_minutes)
    canopy_top, trunk_top = _vegetation(surface, canopy, trunk)
    hours_per_step = step_minutes / 60.0
    az = np.radians(azimuths)
    alt = np.radians(np.minimum(altitudes, 89.9999))

    def run(s: np.ndarray, c: np.ndarray, t: np.ndarray, region: tuple[int, int, int, int]) -> np.ndarray:
        return sunlit_hours(
            s, c, t, float(cell_size), az, alt, hours_per_step, float(transmissivity), region
        )

    if tile_size is None or altitudes.size == 0:
        return run(surface, canopy_top, trunk_top, _whole(surface))
    overlap = overlap_cells(_obstacle_range(surface, canopy_top), float(altitudes.min()), cell_size)
    return map_tiles(run, (surface, canopy_top, trunk_top), tile_size, overlap)
