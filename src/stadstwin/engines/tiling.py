"""Tiling of large rasters with an overlap that makes tiled results equal to untiled ones.

A cell's shadow depends only on cells within the longest possible shadow, L = Δh / tan(α_min)
(Δh the height range of all obstacles, α_min the lowest sun altitude used). Each tile is computed
on its core plus that margin: the margin is read, only the core is computed.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator

import numpy as np

from stadstwin.errors import InputError


def overlap_cells(height_range: float, min_altitude: float, cell_size: float) -> int:
    """Margin [cells] covering the longest shadow: ceil(Δh / tan(α_min) / cell_size) + 1.

    ``height_range`` in metres (highest obstacle − lowest ground), ``min_altitude`` in degrees
    (> 0), ``cell_size`` in metres.
    """
    if not 0.0 < min_altitude <= 90.0:
        raise InputError(f"min_altitude must be in (0, 90] degrees, got {min_altitude}", feature="altitude")
    if cell_size <= 0.0:
        raise InputError(f"cell_size must be positive, got {cell_size}", feature="cell_size")
    reach = max(height_range, 0.0) / math.tan(math.radians(min_altitude)) / cell_size
    return math.ceil(reach) + 1


def tiles(
    shape: tuple[int, int], tile_size: int, overlap: int
) -> Iterator[tuple[tuple[slice, slice], tuple[slice, slice], tuple[slice, slice]]]:
    """Yield (core, padded, core_in_padded) slice pairs covering a raster of ``shape``.

    ``core`` is the part of the raster a tile writes, ``padded`` the part it reads (core plus
    ``overlap`` cells, clipped at the raster edge) and ``core_in_padded`` the core inside the
    padded window.
    """
    if tile_size < 1 or overlap < 0:
        raise InputError(f"tile_size must be >= 1 and overlap >= 0, got {tile_size}, {overlap}",
                         feature="tile_size")
    n_rows, n_cols = shape
    for r0 in range(0, n_rows, tile_size):
        r1 = min(r0 + tile_size, n_rows)
        pr0, pr1 = max(r0 - overlap, 0), min(r1 + overlap, n_rows)
        for c0 in range(0, n_cols, tile_size):
            c1 = min(c0 + tile_size, n_cols)
            pc0, pc1 = max(c0 - overlap, 0), min(c1 + overlap, n_cols)
            yield (
                (slice(r0, r1), slice(c0, c1)),
                (slice(pr0, pr1), slice(pc0, pc1)),
                (slice(r0 - pr0, r1 - pr0), slice(c0 - pc0, c1 - pc0)),
            )


def map_tiles(
    func: Callable[..., np.ndarray],
    rasters: tuple[np.ndarray, ...],
    tile_size: int,
    overlap: int,
) -> np.ndarray:
    """Apply ``func(*padded_rasters, region)`` tile by tile and stitch the cores into one raster.

    ``region`` = (row0, row1, col0, col1) is the tile's core inside its padded window; ``func``
    returns the values of those cells only, so a tile costs its core, not its margin."""
    out: np.ndarray | None = None
    for core, padded, inner in tiles(rasters[0].shape, tile_size, overlap):
        region = (inner[0].start, inner[0].stop, inner[1].start, inner[1].stop)
        result = func(*(raster[padded] for raster in rasters), region)
        if out is None:
            out = np.empty(rasters[0].shape, result.dtype)
        out[core] = result
    assert out is not None
    return out
