"""Binning of points into the cells of a north-up grid, per layer (numba).

A layer is a set of point classes (e.g. ground = class 2). For every layer and cell the kernel keeps
the minimum, maximum, sum and count of z, so a caller can finish with min, max or mean per cell;
the counts also say which cells hold points of a class at all. Accumulators are updated in place,
so a point cloud can be streamed chunk by chunk into the same arrays.

Cell (row, col) spans x ∈ [x0 + col·s, x0 + (col+1)·s), y ∈ (y0 − (row+1)·s, y0 − row·s]; points
outside the grid are skipped.
"""

from __future__ import annotations

import numpy as np
from numba import njit


def empty_accumulators(n_layers: int, rows: int, cols: int) -> tuple[np.ndarray, ...]:
    """(z_min, z_max, z_sum, count) arrays shaped (n_layers, rows, cols), ready for ``accumulate_points``."""
    shape = (n_layers, rows, cols)
    return (np.full(shape, np.inf), np.full(shape, -np.inf), np.zeros(shape), np.zeros(shape, dtype=np.int64))


@njit(cache=True, nogil=True)
def accumulate_points(
    x: np.ndarray, y: np.ndarray, z: np.ndarray, point_class: np.ndarray, class_layers: np.ndarray,
    x0: float, y0: float, cell_size: float,
    z_min: np.ndarray, z_max: np.ndarray, z_sum: np.ndarray, count: np.ndarray,
) -> int:
    """Add points (x, y, z [m], class 0–255) to the per-layer cell accumulators; return how many fell in the grid.

    ``class_layers`` is a (256, n_layers) boolean table: point class c counts in layer l when
    ``class_layers[c, l]``. (x0, y0) is the upper-left grid corner [m], ``cell_size`` [m].
    """
    n_layers, rows, cols = count.shape
    inside = 0
    for i in range(x.shape[0]):
        col = int(np.floor((x[i] - x0) / cell_size))
        row = int(np.floor((y0 - y[i]) / cell_size))
        if row < 0 or row >= rows or col < 0 or col >= cols:
            continue
        inside += 1
        c = point_class[i]
        zi = z[i]
        for layer in range(n_layers):
            if class_layers[c, layer]:
                z_min[layer, row, col] = min(z_min[layer, row, col], zi)
                z_max[layer, row, col] = max(z_max[layer, row, col], zi)
                z_sum[layer, row, col] += zi
                count[layer, row, col] += 1
    return inside
