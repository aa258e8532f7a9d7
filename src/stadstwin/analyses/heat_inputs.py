"""Rasters the heat-stress analysis needs from a twin: building surface model, canopy, surface codes.

The shadow and sky-view kernels want the buildings as a surface (``dsm``) and the vegetation
separately (``canopy`` above that surface), as UMEP does. The twin's own DSM mixes both, so the
building DSM is burnt from the DTM and the LoD 1.2 blocks, and the canopy comes from the canopy
height model (or, without one, from the tree table as crown discs).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import shapely
from affine import Affine
from rasterio.features import rasterize

from stadstwin.crs import rd_to_wgs84
from stadstwin.errors import InputError
from stadstwin.model.enums import Surface
from stadstwin.model.geojson import parse_geometry
from stadstwin.model.raster import Raster
from stadstwin.model.twin import Twin
from stadstwin.rules.tables import Vegetation


def ground(twin: Twin) -> np.ndarray:
    """The DTM [m NAP] with its gaps filled by the lowest known ground (casts no false shadows)."""
    dtm = twin.dtm.values()
    known = np.isfinite(dtm)
    if not known.any():
        raise InputError("the DTM holds no heights", feature=twin.name, hint="check the scene's terrain sources")
    return np.where(known, dtm, dtm[known].min())


def building_mask(twin: Twin) -> np.ndarray:
    """True where a cell centre lies inside a building footprint."""
    if not len(twin.buildings):
        return np.zeros(twin.dtm.shape, dtype=bool)
    burnt = rasterize(((f, 1) for f in twin.buildings.footprint), out_shape=twin.dtm.shape,
                      transform=twin.dtm.transform, fill=0, dtype="uint8")
    return burnt.astype(bool)


def building_dsm(twin: Twin, terrain: np.ndarray) -> np.ndarray:
    """Terrain plus LoD 1.2 building blocks [m NAP] (the higher one where footprints overlap)."""
    b = twin.buildings
    ok = np.isfinite(b.roof_z) if len(b) else np.zeros(0, dtype=bool)
    if not ok.any():
        return terrain.copy()
    order = np.argsort(b.roof_z[ok])  # later shapes overwrite: the highest roof wins
    roofs = rasterize(zip(b.footprint[ok][order], b.roof_z[ok][order]), out_shape=terrain.shape,
                      transform=twin.dtm.transform, fill=np.nan, dtype="float64")
    return np.fmax(terrain, roofs)


@dataclass(frozen=True)
class Surroundings:
    """The shadow casters on the twin grid widened to hold the twin's context buildings.

    dsm      building surface model [m NAP]: the twin's inside ``core``, outside it the ground
             continued from the extent's edge plus the LoD 1.2 blocks of the context buildings and of
             the twin's own buildings where they reach out of the extent
    canopy   crown top above ``dsm`` [m] (0 outside ``core``: trees beyond the extent are unknown)
    origin   (x, y) of the widened grid's upper-left corner [m]
    core     (rows, cols) slices of the twin grid inside the widened one
    """

    dsm: np.ndarray
    canopy: np.ndarray
    origin: tuple[float, float]
    core: tuple[slice, slice]


def surroundings(twin: Twin, terrain: np.ndarray, dsm: np.ndarray, canopy: np.ndarray) -> Surroundings:
    """Widen the grid to the twin's context buildings (whole cells) so they cast shadow into it."""
    grid = twin.dtm
    context = twin.context
    if not len(context):
        return Surroundings(dsm, canopy, grid.origin, (slice(None), slice(None)))
    cell = grid.cell_size
    xmin, ymin, xmax, ymax = grid.bounds
    cx0, cy0, cx1, cy1 = context.bounds()
    left, right = (max(0, math.ceil((d - 1e-9) / cell)) for d in (xmin - cx0, cx1 - xmax))
    top, bottom = (max(0, math.ceil((d - 1e-9) / cell)) for d in (cy1 - ymax, ymin - cy0))
    rows, cols = grid.shape
    core = (slice(top, top + rows), slice(left, left + cols))
    origin = (xmin - left * cell, ymax + top * cell)
    casters = [b for b in (twin.buildings, context) if len(b)]  # the twin's own reach out of the extent too
    footprints = np.concatenate([b.footprint for b in casters])
    heights = np.concatenate([b.roof_z for b in casters])
    ok = np.isfinite(heights)
    order = np.argsort(heights[ok])
    roofs = rasterize(zip(footprints[ok][order], heights[ok][order]), out_shape=(rows + top + bottom, cols + left + right),
                      transform=Affine(cell, 0.0, origin[0], 0.0, -cell, origin[1]), fill=np.nan, dtype="float64")
    wide = np.fmax(np.pad(terrain, ((top, bottom), (left, right)), mode="edge"), roofs)
    wide[core] = dsm
    wide_canopy = np.zeros(wide.shape)
    wide_canopy[core] = canopy
    return Surroundings(wide, wide_canopy, origin, core)


def canopy_height(twin: Twin) -> np.ndarray:
    """Crown top above ground [m]: the CHM, or crown discs of the tree table without one."""
    if twin.chm is not None:
        chm = twin.chm.values()
        return np.clip(np.nan_to_num(chm, nan=0.0), 0.0, None)
    canopy = np.zeros(twin.dtm.shape)
    t = twin.trees
    if len(t):
        cx, cy = twin.dtm.cell_centres()
        for i in np.argsort(t.height):
            crown = (cx - t.x[i]) ** 2 + (cy - t.y[i]) ** 2 <= (t.crown_diameter[i] / 2.0) ** 2
            canopy[crown] = t.height[i]
    return canopy


def canopy_above(canopy: np.ndarray, terrain: np.ndarray, surface_model: np.ndarray) -> np.ndarray:
    """Crown top above the building surface model [m], 0 where the crown is below a roof."""
    return np.where(canopy > 0.0, np.clip(terrain + canopy - surface_model, 0.0, None), 0.0)


def surface_codes(twin: Twin, buildings: np.ndarray) -> np.ndarray:
    """:class:`Surface` code per cell (int8): the twin's surface raster, UNKNOWN where it has none,
    BUILDING inside footprints."""
    codes = np.full(twin.dtm.shape, int(Surface.UNKNOWN), dtype=np.int8)
    if twin.surface is not None:
        values = twin.surface.values()
        known = np.isfinite(values)
        codes[known] = values[known].astype(np.int8)
    codes[buildings] = int(Surface.BUILDING)
    return codes


def public_space(codes: np.ndarray) -> np.ndarray:
    """True on public space: every cell that is neither building nor water."""
    return (codes != int(Surface.BUILDING)) & (codes != int(Surface.WATER))


def area_mask(grid: Raster, area: dict[str, Any]) -> np.ndarray:
    """True where a cell centre lies inside the GeoJSON (Multi)Polygon ``area`` [RD New m]."""
    try:
        geometry = parse_geometry(area, ("Polygon", "MultiPolygon"))
    except ValueError as exc:
        raise InputError(f"the plan area is not a GeoJSON polygon: {exc}", feature="area") from exc
    cx, cy = grid.cell_centres()
    return shapely.contains_xy(geometry, cx, cy)


def leaf_on(day: date, vegetation: Vegetation) -> bool:
    """Whether trees are in leaf on ``day`` (UMEP's day-of-year window)."""
    doy = day.timetuple().tm_yday
    return vegetation.leaf_on_first_day <= doy <= vegetation.leaf_on_last_day


def transmissivity(day: date, vegetation: Vegetation) -> float:
    """Fraction of direct sun passing a crown on ``day`` (leaf-on or leaf-off value)."""
    return vegetation.transmissivity_leaf_on if leaf_on(day, vegetation) else vegetation.transmissivity_leaf_off


def centre_lat_lon(grid: Raster) -> tuple[float, float]:
    """Latitude and longitude [deg WGS84] of the raster centre."""
    xmin, ymin, xmax, ymax = grid.bounds
    lat, lon = rd_to_wgs84((xmin + xmax) / 2.0, (ymin + ymax) / 2.0)
    return float(lat), float(lon)
