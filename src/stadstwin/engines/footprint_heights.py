"""Percentiles of point heights per footprint (numba), as 3DBAG gives roof heights per building.

Points carry the index of the footprint they lie in (−1: none). The points are grouped by
footprint with a counting sort, each group is sorted by z, and the percentiles are taken with
linear interpolation between order statistics (numpy's default ``linear`` method).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange


@njit(cache=True, nogil=True)
def _group_by_footprint(footprint: np.ndarray, z: np.ndarray, n_footprints: int) -> tuple[np.ndarray, np.ndarray]:
    counts = np.zeros(n_footprints + 1, dtype=np.int64)
    for i in range(footprint.shape[0]):
        f = footprint[i]
        if f >= 0:
            counts[f + 1] += 1
    offsets = np.cumsum(counts)
    fill = offsets[:-1].copy()
    grouped = np.empty(offsets[-1], dtype=np.float64)
    for i in range(footprint.shape[0]):
        f = footprint[i]
        if f >= 0:
            grouped[fill[f]] = z[i]
            fill[f] += 1
    return grouped, offsets


@njit(cache=True, nogil=True, parallel=True)
def footprint_percentiles(
    footprint: np.ndarray, z: np.ndarray, n_footprints: int, percentiles: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Percentiles (0–100) of ``z`` [m] per footprint index and the point count per footprint.

    Returns ``(values, counts)``: values (n_footprints, len(percentiles)), NaN for footprints
    without points; counts (n_footprints,).
    """
    grouped, offsets = _group_by_footprint(footprint, z, n_footprints)
    values = np.full((n_footprints, percentiles.shape[0]), np.nan)
    counts = offsets[1:] - offsets[:-1]
    for f in prange(n_footprints):
        n = counts[f]
        if n == 0:
            continue
        group = np.sort(grouped[offsets[f]:offsets[f + 1]])
        for k in range(percentiles.shape[0]):
            position = percentiles[k] / 100.0 * (n - 1)
            lower = int(np.floor(position))
            upper = min(lower + 1, n - 1)
            fraction = position - lower
            values[f, k] = group[lower] + (group[upper] - group[lower]) * fraction
    return values, counts
