"""Filling of empty (NaN) raster cells from their surroundings (numba).

Each empty cell looks along the 8 compass directions (4 axis-parallel, 4 diagonal) for the first
filled cell within ``max_distance`` cells and takes the inverse-distance-squared weighted mean of
the values found (the same idea as GDAL's FillNodata, searched along lines). A filled value is a
convex combination of existing values, so it never leaves their range. Cells that find nothing
stay NaN. Only original values are used as sources, so the result does not depend on scan order.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

_STEPS = np.array([(-1, 0), (1, 0), (0, -1), (0, 1), (-1, -1), (-1, 1), (1, -1), (1, 1)], dtype=np.int64)


@njit(cache=True, nogil=True, parallel=True)
def _fill(values: np.ndarray, max_distance: int, steps: np.ndarray) -> np.ndarray:
    rows, cols = values.shape
    out = values.copy()
    for r in prange(rows):
        for c in range(cols):
            if not np.isnan(values[r, c]):
                continue
            weight_sum = 0.0
            value_sum = 0.0
            for k in range(steps.shape[0]):
                dr = steps[k, 0]
                dc = steps[k, 1]
                unit = np.sqrt(float(dr * dr + dc * dc))
                for n in range(1, max_distance + 1):
                    rr = r + n * dr
                    cc = c + n * dc
                    if rr < 0 or rr >= rows or cc < 0 or cc >= cols:
                        break
                    v = values[rr, cc]
                    if not np.isnan(v):
                        distance = n * unit
                        w = 1.0 / (distance * distance)
                        weight_sum += w
                        value_sum += w * v
                        break
            if weight_sum > 0.0:
                out[r, c] = value_sum / weight_sum
    return out


def fill_gaps(values: np.ndarray, max_distance: int | None = None) -> np.ndarray:
    """A copy of the 2D float array ``values`` with NaN cells filled; ``max_distance`` in cells (default: unlimited)."""
    if values.ndim != 2:
        raise ValueError(f"fill_gaps needs a 2D array, got shape {values.shape}")
    limit = max(values.shape) if max_distance is None else int(max_distance)
    if limit < 1:
        raise ValueError(f"max_distance must be at least 1 cell, got {max_distance}")
    return _fill(np.ascontiguousarray(values, dtype=np.float64), limit, _STEPS)
