"""Binning of points into the cells of a north-up grid, per layer (numba).

A layer is a set of point classes (e.g. ground = class 2). For every layer and cell the kernel
counts the points; for the layers that ask for it, it also keeps the minimum, maximum and/or sum
of z, so a caller can finish with min, max or mean per cell without paying memory for statistics
it does not use. Accumulators are updated in place, so a point cloud can be streamed chunk by
chunk into the same arrays.

Cell (row, col) spans x ∈ [x0 + col·s, x0 + (col+1)·s), y ∈ (y0 − (row+1)·s, y0 − row·s]; points
outside the grid are skipped.
"""

from __future__ import annotations

import numpy as np
from numba import njit


def statistic_slots(kept_layers: list[int], n_layers: int) -> np.ndarray:
    """Index of each of ``n_layers`` layers in a statistic's accumulator, −1 where it is not kept.

    ``kept_layers`` lists the layers that keep the statistic, e.g. ``[0]`` for a minimum of layer 0
    only; the accumulator then has ``len(kept_layers)`` slots.
    """
    slots = np.full(n_layers, -1, dtype=np.int64)
    slots[np.asarray(kept_layers, dtype=np.int64)] = np.arange(len(kept_layers))
    return slots


def empty_accumulators(
    n_layers: int, rows: int, cols: int, n_min: int, n_max: int, n_sum: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(z_min, z_max, z_sum, count) arrays for ``accumulate_points``: (n_slots, rows, cols) each."""
    return (np.full((n_min, rows, cols), np.inf), np.full((n_max, rows, cols), -np.inf),
            np.zeros((n_sum, rows, cols)), np.zeros((n_layers, rows, cols), dtype=np.int32))


@njit(cache=True, nogil=True)
def accumulate_points(
    x: np.ndarray, y: np.ndarray, z: np.ndarray, point_class: np.ndarray, class_layers: np.ndarray,
    min_slot: np.ndarray, max_slot: np.ndarray, sum_slot: np.ndarray,
    x0: float, y0: float, cell_size: float,
    z_min: np.ndarray, z_max: np.ndarray, z_sum: np.ndarray, count: np.ndarray,
) -> int:
    """Add points (x, y, z [m], class 0–255) to the per-layer cell accumulators; return how many fell in the grid.

    ``class_layers`` is a (256, n_layers) boolean table: point class c counts in layer l when
    ``class_layers[c, l]``. ``min_slot[l]`` is the index of layer l in ``z_min`` or −1 when its
    minimum is not kept (likewise ``max_slot``, ``sum_slot``; see ``statistic_slots``).
    (x0, y0) is the upper-left grid corner [m], ``cell_size`` [m].
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
            if not class_layers[c, layer]:
                continue
            count[layer, row, col] += 1
            if min_slot[layer] >= 0:
                s = min_slot[layer]
                z_min[s, row, col] = min(z_min[s, row, col], zi)
            if max_slot[layer] >= 0:
                s = max_slot[layer]
                z_max[s, row, col] = max(z_max[s, row, col], zi)
            if sum_slot[layer] >= 0:
                z_sum[sum_slot[layer], row, col] += zi
    return inside
