"""Viewshed and line of sight on a raster surface model (numba).

The model is the one of GRASS ``r.viewshed`` (Haverkort, Toma & Zhuang 2009), which xarray-spatial's
``viewshed`` ports, so the two answer the same question cell for cell:

- the observer stands at the centre of its cell, at ``observer_z`` [m NAP];
- every other cell is a square seen from the observer under an angular span: from the corner seen
  most clockwise to the one seen most counter-clockwise. Its elevation is known at its centre (the
  cell value) and at those two corners (the mean of the four cells sharing the corner, or the cell
  value at the raster edge or next to a gap);
- across its span the cell's elevation angle (``atan(Δz / distance)``) varies linearly with the
  horizontal angle between corner, centre and corner;
- a target cell is visible when no cell nearer to the observer (by centre distance) whose span
  strictly holds the direction of the target's centre rises above the target's elevation angle.

Instead of the radial sweep with a status tree, each target walks the cells its sight line crosses
(grid traversal, both side cells where it passes a corner) and tests them directly: O(n·r) for n
cells within radius r (less where a near blocker ends a line early), rows in parallel, and a single
line of sight costs O(r).

Earth curvature (optional) lowers a point at distance d by ``(1 − k)·d²/(2R)``, R = 6 371 000 m and
k the refraction coefficient (0 = no refraction; 0.13 is the usual value for visible light).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

EARTH_RADIUS_M = 6_371_000.0

_OFFSETS = ((-0.5, -0.5), (-0.5, 0.5), (0.5, -0.5), (0.5, 0.5))


@njit(cache=True, nogil=True)
def _angle(d_col: float, d_row: float) -> float:
    """Counter-clockwise angle from east [rad, 0..2π) of an offset in cells (rows grow southward),
    as r.viewshed computes it: from ``atan(|Δrow| / |Δcol|)`` and the quadrant, so collinear offsets
    give bit-identical angles."""
    if d_col == 0.0 and d_row == 0.0:
        return 0.0
    if d_col == 0.0:
        return math.pi / 2.0 if d_row < 0.0 else math.pi * 1.5
    if d_row == 0.0:
        return 0.0 if d_col > 0.0 else math.pi
    a = math.atan(abs(d_row) / abs(d_col))
    if d_col > 0.0 and d_row < 0.0:
        return a
    if d_col < 0.0 and d_row < 0.0:
        return math.pi - a
    if d_col < 0.0:
        return math.pi + a
    return 2.0 * math.pi - a


@njit(cache=True, nogil=True)
def _wrap(delta: float) -> float:
    """An angle difference in (−π, π] [rad]."""
    if delta > math.pi:
        return delta - 2.0 * math.pi
    if delta <= -math.pi:
        return delta + 2.0 * math.pi
    return delta


@njit(cache=True, nogil=True)
def _corner_z(surface: np.ndarray, row: int, col: int, o_row: float, o_col: float) -> float:
    """Elevation [m] at the corner (row + o_row, col + o_col): mean of its four cells, or the cell's own
    value where one of them lies outside the raster or is NaN."""
    n_rows, n_cols = surface.shape
    r2 = row + (1 if o_row > 0 else -1)
    c2 = col + (1 if o_col > 0 else -1)
    own = surface[row, col]
    if r2 < 0 or r2 >= n_rows or c2 < 0 or c2 >= n_cols:
        return own
    total = own + surface[r2, col] + surface[row, c2] + surface[r2, c2]
    return total / 4.0 if np.isfinite(total) else own


@njit(cache=True, nogil=True)
def _elevation_angle(dz: float, distance: float, drop_per_m2: float) -> float:
    """Elevation angle [rad] of a point ``dz`` [m] above the eye at ``distance`` [m], after the
    curvature drop ``drop_per_m2 · distance²``."""
    return math.atan((dz - drop_per_m2 * distance * distance) / distance)


@njit(cache=True, nogil=True)
def _spans(surface, row0, col0, observer_z, cell_size, drop_per_m2, r_lo, r_hi, c_lo, c_hi):
    """Per cell of the window [r_lo, r_hi) × [c_lo, c_hi): its angles (span start, centre, end) [rad],
    elevation angles there [rad] and squared centre distance [cells²], as a (rows, cols, 7) array
    (one cell's values side by side: a sight line reads them together)."""
    out = np.full((r_hi - r_lo, c_hi - c_lo, 7), np.nan)
    for r in range(r_lo, r_hi):
        for c in range(c_lo, c_hi):
            d_row = float(r - row0)
            d_col = float(c - col0)
            if d_row == 0.0 and d_col == 0.0:
                continue
            i, j = r - r_lo, c - c_lo
            centre = _angle(d_col, d_row)
            lo, hi = 0.0, 0.0
            k_lo, k_hi = 0, 0
            for k in range(4):
                o_row, o_col = _OFFSETS[k]
                delta = _wrap(_angle(d_col + o_col, d_row + o_row) - centre)
                if delta < lo:
                    lo, k_lo = delta, k
                if delta > hi:
                    hi, k_hi = delta, k
            key = d_row * d_row + d_col * d_col
            out[i, j, 6] = key
            out[i, j, 1] = centre
            out[i, j, 4] = _elevation_angle(surface[r, c] - observer_z, math.sqrt(key) * cell_size, drop_per_m2)
            for slot, k in ((0, k_lo), (2, k_hi)):
                o_row, o_col = _OFFSETS[k]
                out[i, j, slot] = _angle(d_col + o_col, d_row + o_row)
                distance = math.hypot(d_row + o_row, d_col + o_col) * cell_size
                z = _corner_z(surface, r, c, o_row, o_col)
                out[i, j, 3 + slot] = _elevation_angle(z - observer_z, distance, drop_per_m2)
    return out


@njit(cache=True, nogil=True)
def _blocks(spans, i, j, theta, gradient, key) -> bool:
    """Whether window cell (i, j) rises above elevation angle ``gradient`` in direction ``theta``."""
    if spans[i, j, 6] >= key:
        return False
    d0 = _wrap(spans[i, j, 0] - theta)
    d2 = _wrap(spans[i, j, 2] - theta)
    if not (d0 < 0.0 < d2):
        return False
    d1 = _wrap(spans[i, j, 1] - theta)
    g1 = spans[i, j, 4]
    if d1 > 0.0:
        g = g1 + (spans[i, j, 3] - g1) * d1 / (d1 - d0)
    elif d1 < 0.0:
        g = g1 + (spans[i, j, 5] - g1) * (-d1) / (d2 - d1)
    else:
        g = g1
    return g > gradient


@njit(cache=True, nogil=True)
def _first_blocker(spans, r_lo, c_lo, row0, col0, row, col, theta, gradient) -> int:
    """Flat window index (i·cols + j) of the first cell along the sight line from the observer to cell
    (row, col) that blocks elevation angle ``gradient``; −1 when none does."""
    n_i, n_j = spans.shape[0], spans.shape[1]
    d_row = float(row - row0)
    d_col = float(col - col0)
    key = d_row * d_row + d_col * d_col
    step_r = 1 if d_row > 0 else -1
    step_c = 1 if d_col > 0 else -1
    delta_r = 1.0 / abs(d_row) if d_row != 0.0 else np.inf
    delta_c = 1.0 / abs(d_col) if d_col != 0.0 else np.inf
    next_r = 0.5 * delta_r
    next_c = 0.5 * delta_c
    t_end = 1.0 + 1.5 / max(abs(d_row), abs(d_col))  # a little past the target: corner cells nearer than it
    i, j = row0 - r_lo, col0 - c_lo
    target_i, target_j = row - r_lo, col - c_lo
    tie = 1e-12
    while True:
        if next_c < next_r - tie:
            t = next_c
            j += step_c
            next_c += delta_c
        elif next_r < next_c - tie:
            t = next_r
            i += step_r
            next_r += delta_r
        else:  # through a corner: the two side cells too
            t = next_c
            for si, sj in ((i, j + step_c), (i + step_r, j)):
                inside = 0 <= si < n_i and 0 <= sj < n_j and not (si == target_i and sj == target_j)
                if inside and _blocks(spans, si, sj, theta, gradient, key):
                    return si * n_j + sj
            i += step_r
            j += step_c
            next_c += delta_c
            next_r += delta_r
        if t > t_end or i < 0 or i >= n_i or j < 0 or j >= n_j:
            return -1
        if i == target_i and j == target_j:
            continue
        if _blocks(spans, i, j, theta, gradient, key):
            return i * n_j + j


def _window(shape: tuple[int, int], row: int, col: int, cells: float) -> tuple[int, int, int, int]:
    """Rows and columns [lo, hi) within ``cells`` of (row, col), clipped to the raster."""
    reach = shape[0] + shape[1] if not np.isfinite(cells) else int(np.ceil(cells)) + 1
    return max(0, row - reach), min(shape[0], row + reach + 1), max(0, col - reach), min(shape[1], col + reach + 1)


def _drop(curvature: bool, refraction: float) -> float:
    """Curvature drop per squared metre [1/m] (0 without curvature)."""
    return (1.0 - refraction) / (2.0 * EARTH_RADIUS_M) if curvature else 0.0


@njit(cache=True, nogil=True, parallel=True)
def _viewshed(surface, spans, r_lo, c_lo, row0, col0, observer_z, cell_size, drop, radius_cells2, target_height):
    n_i, n_j = spans.shape[0], spans.shape[1]
    visible = np.zeros((n_i, n_j), dtype=np.uint8)
    visible[row0 - r_lo, col0 - c_lo] = 1
    for i in prange(n_i):  # every sight line on its own: rows in parallel
        for j in range(n_j):
            key = spans[i, j, 6]
            if not key <= radius_cells2:  # also the observer's own cell (NaN)
                continue
            z = surface[i + r_lo, j + c_lo]
            if not np.isfinite(z):
                continue
            gradient = _elevation_angle(z + target_height - observer_z, math.sqrt(key) * cell_size, drop)
            if _first_blocker(spans, r_lo, c_lo, row0, col0, i + r_lo, j + c_lo, spans[i, j, 1], gradient) < 0:
                visible[i, j] = 1
    return visible


def viewshed(surface: np.ndarray, row: int, col: int, observer_z: float, cell_size: float, *,
             radius: float = np.inf, target_height: float = 0.0, curvature: bool = False,
             refraction: float = 0.0) -> np.ndarray:
    """Cells of ``surface`` [m NAP] seen from the centre of cell (row, col) at ``observer_z`` [m NAP]
    (module doc): uint8, 1 = visible. Cells farther than ``radius`` [m] and NaN cells are 0; a cell
    is looked at ``target_height`` [m] above its surface."""
    surface = np.ascontiguousarray(surface, dtype=np.float64)
    if not (0 <= row < surface.shape[0] and 0 <= col < surface.shape[1]):
        raise ValueError(f"observer cell ({row}, {col}) lies outside the {surface.shape} raster")
    r_lo, r_hi, c_lo, c_hi = _window(surface.shape, row, col, radius / cell_size)
    drop = _drop(curvature, refraction)
    spans = _spans(surface, row, col, float(observer_z), float(cell_size), drop, r_lo, r_hi, c_lo, c_hi)
    radius_cells2 = (radius / cell_size) ** 2 if np.isfinite(radius) else np.inf
    seen = _viewshed(surface, spans, r_lo, c_lo, row, col, float(observer_z), float(cell_size), drop,
                     radius_cells2, float(target_height))
    visible = np.zeros(surface.shape, dtype=np.uint8)
    visible[r_lo:r_hi, c_lo:c_hi] = seen
    return visible


def line_of_sight(surface: np.ndarray, observer: tuple[int, int], observer_z: float, target: tuple[int, int],
                  target_z: float, cell_size: float, *, curvature: bool = False,
                  refraction: float = 0.0) -> tuple[int, int] | None:
    """The first cell (row, col) that blocks the sight line from the centre of cell ``observer`` at
    ``observer_z`` [m NAP] to the centre of cell ``target`` at ``target_z`` [m NAP], on ``surface``
    [m NAP] under the viewshed's model; None when the line is free."""
    surface = np.ascontiguousarray(surface, dtype=np.float64)
    (row0, col0), (row, col) = (int(v) for v in observer), (int(v) for v in target)
    for r, c in ((row0, col0), (row, col)):
        if not (0 <= r < surface.shape[0] and 0 <= c < surface.shape[1]):
            raise ValueError(f"cell ({r}, {c}) lies outside the {surface.shape} raster")
    if (row0, col0) == (row, col):
        return None
    r_lo, r_hi = min(row0, row) - 1, max(row0, row) + 2
    c_lo, c_hi = min(col0, col) - 1, max(col0, col) + 2
    r_lo, c_lo = max(r_lo, 0), max(c_lo, 0)
    r_hi, c_hi = min(r_hi, surface.shape[0]), min(c_hi, surface.shape[1])
    drop = _drop(curvature, refraction)
    spans = _spans(surface, row0, col0, float(observer_z), float(cell_size), drop, r_lo, r_hi, c_lo, c_hi)
    distance = math.hypot(row - row0, col - col0) * cell_size
    gradient = math.atan((target_z - observer_z - drop * distance * distance) / distance)
    theta = spans[row - r_lo, col - c_lo, 1]
    hit = _first_blocker(spans, r_lo, c_lo, row0, col0, row, col, theta, gradient)
    if hit < 0:
        return None
    n_j = c_hi - c_lo
    return int(hit // n_j + r_lo), int(hit % n_j + c_lo)
