"""A synthetic district of many box buildings on a flat plain, for scale tests of exports and the viewer."""

from __future__ import annotations

import numpy as np
import shapely

from stadstwin.model.buildings import Buildings
from stadstwin.model.raster import Raster
from stadstwin.model.twin import Twin


def block_district(count: int, *, x0: float = 84_000.0, y0: float = 446_000.0, pitch: float = 12.0,
                   size: float = 8.0, ground: float = 0.5, cell: float = 2.0, seed: int = 1) -> Twin:
    """``count`` square buildings ``size`` m wide on a square grid every ``pitch`` m from (x0, y0) [m RD], flat
    ground at ``ground`` [m NAP], roofs 3-30 m above it (seeded); ids ``NL.IMBAG.Pand.SYN<k>``."""
    side = int(np.ceil(np.sqrt(count)))
    k = np.arange(count)
    x = x0 + pitch * (k % side) + (pitch - size) / 2
    y = y0 + pitch * (k // side) + (pitch - size) / 2
    footprints = shapely.box(x, y, x + size, y + size)
    heights = np.random.default_rng(seed).uniform(3.0, 30.0, count)
    extent = side * pitch
    grid = Raster.from_bounds(x0, y0, x0 + extent, y0 + extent, cell)
    dtm = Raster(np.full(grid.shape, ground), grid.transform)
    buildings = Buildings(np.asarray(footprints, dtype=object), np.full(count, ground), ground + heights,
                          np.array([f"NL.IMBAG.Pand.SYN{i:06d}" for i in k]))
    return Twin(f"blocks-{count}", dtm, buildings)
