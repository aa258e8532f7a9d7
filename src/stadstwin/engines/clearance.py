"""All capsule pairs closer than a clearance: grid broadphase plus exact segment distance.

Two passes over the segments in parallel (count, then fill), so the output is allocated once at
its exact size and comes out sorted by (i, j) without a global sort: pass one counts the pairs of
each segment i with partners j > i, a prefix sum gives each i its output slice, pass two writes
the partners and sorts the (short) slice by j.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from stadstwin.engines.broadphase import (
    boxes_overlap,
    bucket_of,
    build_grid,
    owns_pair,
    padded_boxes,
)
from stadstwin.engines.capsule_distance import capsule_distance_rows

_BOX_SLACK = 1e-6
"""Extra box padding [m] so that rounding never drops a pair from the candidates."""


@njit(cache=True, nogil=True, inline="always")
def _share_end_point(p0: np.ndarray, p1: np.ndarray, i: int, j: int) -> bool:
    for a in (p0, p1):
        for b in (p0, p1):
            if a[i, 0] == b[j, 0] and a[i, 1] == b[j, 1] and a[i, 2] == b[j, 2]:
                return True
    return False


@njit(cache=True, nogil=True, inline="always")
def _visit(i, p0, p1, radius, clearance, group, use_group, lo, hi, cell_lo, cell_hi,
           start, entry_segment, entry_cx, entry_cy, mask, out_j, out_d, at):
    """Find the partners j > i of segment i; write them from ``at`` when ``out_j`` is non-empty.

    Returns the number of partners.
    """
    found = 0
    write = out_j.shape[0] > 0
    for cx in range(cell_lo[i, 0], cell_hi[i, 0] + 1):
        for cy in range(cell_lo[i, 1], cell_hi[i, 1] + 1):
            b = bucket_of(cx, cy, mask)
            for e in range(start[b], start[b + 1]):
                j = entry_segment[e]
                if j <= i or entry_cx[e] != cx or entry_cy[e] != cy:
                    continue
                if not owns_pair(cell_lo, i, j, cx, cy) or not boxes_overlap(lo, hi, i, j):
                    continue
                if use_group and group[i] == group[j] and _share_end_point(p0, p1, i, j):
                    continue
                d = capsule_distance_rows(p0, p1, radius, i, j)
                if d < clearance:
                    if write:
                        out_j[at + found] = j
                        out_d[at + found] = d
                    found += 1
    return found


@njit(cache=True, nogil=True)
def _sort_slice(out_j: np.ndarray, out_d: np.ndarray, a: int, b: int) -> None:
    for k in range(a + 1, b):
        j = out_j[k]
        d = out_d[k]
        m = k - 1
        while m >= a and out_j[m] > j:
            out_j[m + 1] = out_j[m]
            out_d[m + 1] = out_d[m]
            m -= 1
        out_j[m + 1] = j
        out_d[m + 1] = d


@njit(cache=True, nogil=True, parallel=True)
def clearance_pairs_kernel(
    p0: np.ndarray, p1: np.ndarray, radius: np.ndarray, clearance: float,
    group: np.ndarray, use_group: bool, cell: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (K, 2) int64, i < j, sorted, and surface distances (K,) [m] below ``clearance`` [m].

    p0, p1 (N, 3) axis end points [m], radius (N,) [m], group (N,) int64 asset labels (used when
    ``use_group``: same-group pairs sharing an exactly equal end point are skipped), cell the grid
    cell side [m]. Inputs are trusted (validated by ``stadstwin.clash``).
    """
    n = p0.shape[0]
    pad = radius + 0.5 * max(clearance, 0.0) + _BOX_SLACK
    lo, hi = padded_boxes(p0, p1, pad)
    cell_lo, cell_hi, start, entry_segment, entry_cx, entry_cy, mask = build_grid(lo, hi, cell)
    none_j = np.empty(0, np.int64)
    none_d = np.empty(0)
    counts = np.empty(n, np.int64)
    for i in prange(n):
        counts[i] = _visit(i, p0, p1, radius, clearance, group, use_group, lo, hi, cell_lo, cell_hi,
                           start, entry_segment, entry_cx, entry_cy, mask, none_j, none_d, 0)
    offsets = np.zeros(n + 1, np.int64)
    for i in range(n):
        offsets[i + 1] = offsets[i] + counts[i]
    k = offsets[n]
    pairs = np.empty((k, 2), np.int64)
    out_j = pairs[:, 1]
    out_d = np.empty(k)
    for i in prange(n):
        a = offsets[i]
        _visit(i, p0, p1, radius, clearance, group, use_group, lo, hi, cell_lo, cell_hi,
               start, entry_segment, entry_cx, entry_cy, mask, out_j, out_d, a)
        _sort_slice(out_j, out_d, a, offsets[i + 1])
        pairs[a:offsets[i + 1], 0] = i
    return pairs, out_d
