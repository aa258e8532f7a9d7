"""Depression filling of an elevation raster: Priority-Flood (Barnes, Lehman & Mulla 2014), numba.

Water leaves the raster only over its border. The flood starts from every valid border cell and
grows inward, always from the lowest cell reached so far (a binary heap keyed on elevation). A
neighbour that lies lower than the cell it is reached from sits in a depression: it is raised to
that cell's level and flooded on at once from a plain FIFO queue, without the heap (the
"Priority-Flood+" variant of the paper, algorithm 2). The result is the lowest surface ≥ the DEM
from which every cell drains to the border without rising, with flat water surfaces in the
filled depressions; ``filled − dem`` is the depression depth.

Neighbours are the 8 cells around (D8). NaN cells are no data: walls that hold water, not outlets
(a building burnt in as NaN keeps water out; it does not drain it). A region of valid cells
enclosed by NaN with no border cell never drains; it is left as it is.
"""

from __future__ import annotations

import numpy as np
from numba import njit

_ROW = np.array([-1, -1, 0, 1, 1, 1, 0, -1], dtype=np.int64)
_COL = np.array([0, 1, 1, 1, 0, -1, -1, -1], dtype=np.int64)


@njit(cache=True, nogil=True)
def _heap_push(keys, cells, size, key, cell):
    """Push (key, cell) on the binary min-heap held in keys[:size], cells[:size]; returns the new size."""
    i = size
    keys[i] = key
    cells[i] = cell
    while i > 0:
        parent = (i - 1) // 2
        if keys[parent] <= keys[i]:
            break
        keys[parent], keys[i] = keys[i], keys[parent]
        cells[parent], cells[i] = cells[i], cells[parent]
        i = parent
    return size + 1


@njit(cache=True, nogil=True)
def _heap_pop(keys, cells, size):
    """Remove the smallest key from the heap; returns (key, cell, new size)."""
    key = keys[0]
    cell = cells[0]
    size -= 1
    keys[0] = keys[size]
    cells[0] = cells[size]
    i = 0
    while True:
        left = 2 * i + 1
        if left >= size:
            break
        child = left
        if left + 1 < size and keys[left + 1] < keys[left]:
            child = left + 1
        if keys[i] <= keys[child]:
            break
        keys[child], keys[i] = keys[i], keys[child]
        cells[child], cells[i] = cells[i], cells[child]
        i = child
    return key, cell, size


@njit(cache=True, nogil=True)
def fill_depressions(dem: np.ndarray) -> np.ndarray:
    """The DEM [m] with every depression filled to its spill level [m] (see the module doc)."""
    rows, cols = dem.shape
    filled = dem.copy()
    n = rows * cols
    closed = np.zeros(n, dtype=np.bool_)
    keys = np.empty(n)
    heap = np.empty(n, dtype=np.int64)
    queue = np.empty(n, dtype=np.int64)
    size = 0
    for r in range(rows):
        for c in range(cols):
            cell = r * cols + c
            if np.isnan(dem[r, c]):
                closed[cell] = True
            elif r == 0 or c == 0 or r == rows - 1 or c == cols - 1:
                closed[cell] = True
                size = _heap_push(keys, heap, size, dem[r, c], cell)
    head = 0
    tail = 0
    while size > 0 or head < tail:
        if head < tail:
            cell = queue[head]
            head += 1
            level = filled[cell // cols, cell % cols]
        else:
            level, cell, size = _heap_pop(keys, heap, size)
        r = cell // cols
        c = cell % cols
        for k in range(8):
            rr = r + _ROW[k]
            cc = c + _COL[k]
            if rr < 0 or rr >= rows or cc < 0 or cc >= cols:
                continue
            other = rr * cols + cc
            if closed[other]:
                continue
            closed[other] = True
            if filled[rr, cc] <= level:
                filled[rr, cc] = level
                queue[tail] = other
                tail += 1
            else:
                size = _heap_push(keys, heap, size, filled[rr, cc], other)
        if head == tail:
            head = 0
            tail = 0
    return filled
