"""Individual trees from a canopy height model (numba): variable-window local maxima and crown growing.

Tree tops: a cell is a top when its height is at least ``min_height`` and no cell within a circular
window is higher (ties go to the first cell in row-major order). The window diameter grows with
the height of the cell by the crown-width allometry of Popescu & Wynne (2004, deciduous stands),

    crown width = 2.51503 + 0.00901 · h²   [m],

so tall trees suppress nearby false tops on their own crown while small trees close together are
still separated.

Crowns: from every top, cells are claimed in order of decreasing height (a priority flood, i.e. a
marker-controlled watershed) while the height does not rise, stays at or above ``crown_floor`` and
lies within ``max_crown_radius`` of the top. The crown diameter is that of a circle with the area
of the claimed cells.
"""

from __future__ import annotations

import heapq

import numpy as np
from numba import njit, prange

WIDTH_INTERCEPT = 2.51503  # m
WIDTH_SLOPE = 0.00901  # 1/m


@njit(cache=True, nogil=True)
def window_radius(height: float, cell_size: float) -> float:
    """Half the allometric crown width of a tree of ``height`` [m], in cells."""
    return 0.5 * (WIDTH_INTERCEPT + WIDTH_SLOPE * height * height) / cell_size


@njit(cache=True, nogil=True, parallel=True)
def local_maxima(chm: np.ndarray, cell_size: float, min_height: float) -> np.ndarray:
    """Boolean mask of tree tops in the canopy height model ``chm`` [m] (NaN cells are never tops)."""
    rows, cols = chm.shape
    tops = np.zeros((rows, cols), dtype=np.bool_)
    for r in prange(rows):
        for c in range(cols):
            h = chm[r, c]
            if not h >= min_height:
                continue
            radius = window_radius(h, cell_size)
            reach = int(np.floor(radius))
            is_top = True
            for dr in range(-reach, reach + 1):
                rr = r + dr
                if rr < 0 or rr >= rows:
                    continue
                for dc in range(-reach, reach + 1):
                    cc = c + dc
                    if cc < 0 or cc >= cols or (dr == 0 and dc == 0) or dr * dr + dc * dc > radius * radius:
                        continue
                    v = chm[rr, cc]
                    if v > h or (v == h and (dr < 0 or (dr == 0 and dc < 0))):
                        is_top = False
                        break
                if not is_top:
                    break
            tops[r, c] = is_top
    return tops


@njit(cache=True, nogil=True)
def grow_crowns(
    chm: np.ndarray, top_rows: np.ndarray, top_cols: np.ndarray, cell_size: float,
    crown_floor: float, max_crown_radius: float,
) -> np.ndarray:
    """Crown label per cell (index into the tops, −1 for none) by priority flood from the tops."""
    rows, cols = chm.shape
    labels = np.full((rows, cols), -1, dtype=np.int64)
    limit = (max_crown_radius / cell_size) ** 2
    heap = [(0.0, np.int64(0))]
    heap.pop()
    for k in range(top_rows.shape[0]):
        labels[top_rows[k], top_cols[k]] = k
        heapq.heappush(heap, (-chm[top_rows[k], top_cols[k]], np.int64(top_rows[k] * cols + top_cols[k])))
    while heap:
        negative_height, index = heapq.heappop(heap)
        r = index // cols
        c = index % cols
        k = labels[r, c]
        for dr in range(-1, 2):
            for dc in range(-1, 2):
                rr = r + dr
                cc = c + dc
                if rr < 0 or rr >= rows or cc < 0 or cc >= cols or labels[rr, cc] >= 0:
                    continue
                v = chm[rr, cc]
                if not (v >= crown_floor and v <= -negative_height):
                    continue
                if (rr - top_rows[k]) ** 2 + (cc - top_cols[k]) ** 2 > limit:
                    continue
                labels[rr, cc] = k
                heapq.heappush(heap, (-v, np.int64(rr * cols + cc)))
    return labels


def detect_tree_tops(
    chm: np.ndarray, cell_size: float, min_height: float, crown_floor: float, max_crown_radius: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Tree tops and crowns of ``chm`` [m]: (rows, cols, heights [m], crown diameters [m]) per tree."""
    if chm.ndim != 2:
        raise ValueError(f"detect_tree_tops needs a 2D canopy height model, got shape {chm.shape}")
    if not (cell_size > 0 and min_height > 0 and 0 <= crown_floor <= min_height and max_crown_radius > 0):
        raise ValueError("need cell_size > 0, min_height > 0, 0 <= crown_floor <= min_height, max_crown_radius > 0")
    chm = np.ascontiguousarray(chm, dtype=np.float64)
    top_rows, top_cols = np.nonzero(local_maxima(chm, cell_size, min_height))
    labels = grow_crowns(chm, top_rows.astype(np.int64), top_cols.astype(np.int64), cell_size,
                         crown_floor, max_crown_radius)
    cells = np.bincount(labels[labels >= 0], minlength=len(top_rows))
    diameters = 2.0 * np.sqrt(cells * cell_size**2 / np.pi)
    return top_rows, top_cols, chm[top_rows, top_cols], diameters
