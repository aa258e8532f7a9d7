"""Sky view factor of a raster surface model by horizon sweeps (numba).

Definition: the cosine-weighted (Lambertian) view factor from a horizontal surface element to
the visible sky,

    SVF = 1/(2π) ∫ cos²(h(φ)) dφ,

h(φ) ≥ 0 the horizon elevation in azimuth φ (obstacles below the horizontal plane do not count).
The integral is the midpoint rule over ``n_directions`` equal azimuth sectors; cos²h = 1/(1+tan²h).

Per direction the raster is swept along parallel digital lines (one step per cell along the
dominant axis, the other axis rounded half-up); along each line the upper convex hull of the
obstacles ahead is kept, so each cell's horizon is the exact tangent to every obstacle on its line
up to the raster edge (Dozier & Frew 1990 style, O(log n) per cell); directions run in
parallel. An obstacle cell is a square prism: its top edge is taken at the near face, half a step
before its centre.

No search distance is capped: an obstacle that cannot raise any horizon behind it (below the tangent
over farther ones) is already popped from the hull, so a cap would save no work, and any fixed reach
would drop far tall obstacles (their elevation never reaches zero) and change the result.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange


@njit(cache=True, nogil=True)
def _steeper(p0: float, z0: float, pa: float, za: float, pb: float, zb: float) -> bool:
    """True when point a is seen above point b from (p0, z0); both lie ahead (p > p0)."""
    return (za - z0) * (pb - p0) > (zb - z0) * (pa - p0)


@njit(cache=True, nogil=True)
def _line_span(m: int, slope: float, n_u: int, n_v: int) -> tuple[int, int]:
    """Range of u (widened by one) where line v = m + floor(slope·u + 1/2) lies in [0, n_v)."""
    if slope == 0.0:
        return (0, n_u - 1) if 0 <= m < n_v else (0, -1)
    a = (-m - 0.5) / slope
    b = (n_v - m - 0.5) / slope
    lo, hi = (a, b) if slope > 0.0 else (b, a)
    return max(0, int(np.floor(lo)) - 1), min(n_u - 1, int(np.ceil(hi)) + 1)


@njit(cache=True, nogil=True)
def _add_direction(
    ground: np.ndarray,
    obstacle: np.ndarray,
    cell_size: float,
    d_row: float,
    d_col: float,
    weight: float,
    out: np.ndarray,
) -> None:
    """Add ``weight``·cos²(horizon) toward the unit step (d_row, d_col) to ``out`` per cell.

    The caller passes rasters oriented so that columns are the dominant axis (|d_col| >= |d_row|),
    so each line walks memory along rows.
    """
    n_v, n_u = ground.shape
    forward = d_col > 0
    slope = d_row / abs(d_col)
    step = cell_size / abs(d_col)
    shift_last = int(np.floor(slope * (n_u - 1) + 0.5))
    m_low = -max(0, shift_last)
    m_high = n_v - 1 - min(0, shift_last)
    hull_p = np.empty(n_u, np.float64)
    hull_z = np.empty(n_u, np.float64)
    for m in range(m_low, m_high + 1):
        top = 0
        u_first, u_last = _line_span(m, slope, n_u, n_v)
        s_first = n_u - 1 - u_last if forward else u_first
        s_last = n_u - 1 - u_first if forward else u_last
        for s in range(s_first, s_last + 1):
            u = n_u - 1 - s if forward else s
            v = m + int(np.floor(slope * u + 0.5))
            if v < 0 or v >= n_v:
                continue
            p0 = -s * step  # position along the look direction: cells swept earlier lie ahead
            z0 = ground[v, u]
            tan_h = 0.0
            if top > 0:
                lo = 0
                hi = top - 1  # hull order: j = 0 nearest .. top-1 farthest, stack index top-1-j
                while lo < hi:
                    mid = (lo + hi) // 2
                    a = top - 1 - mid
                    if _steeper(p0, z0, hull_p[a - 1], hull_z[a - 1], hull_p[a], hull_z[a]):
                        lo = mid + 1
                    else:
                        hi = mid
                a = top - 1 - lo
                best = (hull_z[a] - z0) / (hull_p[a] - p0)
                tan_h = max(tan_h, best)
            out[v, u] += weight / (1.0 + tan_h * tan_h)
            p_new = p0 - 0.5 * step
            z_new = obstacle[v, u]
            while top >= 2 and not _steeper(
                p_new, z_new, hull_p[top - 1], hull_z[top - 1], hull_p[top - 2], hull_z[top - 2]
            ):
                top -= 1
            hull_p[top] = p_new
            hull_z[top] = z_new
            top += 1


@njit(cache=True, nogil=True, parallel=True)
def sky_view(
    ground: np.ndarray,
    obstacle: np.ndarray,
    cell_size: float,
    n_directions: int,
    n_workers: int,
) -> np.ndarray:
    """Lambertian sky view factor per cell in [0, 1] (float32).

    ``ground`` is the height of the receiving surface [m] and ``obstacle`` the height that blocks
    the sky (ground, buildings and opaque crowns) [m], both north-up; ``cell_size`` in metres.
    Directions are shared out over ``n_workers`` parallel workers (use the number of threads),
    each summing into its own buffer; directions whose dominant axis is the rows run on
    transposed copies, so that every line walks memory along a row.
    """
    n_rows, n_cols = ground.shape
    workers = max(1, min(n_workers, n_directions))
    ground_t = np.ascontiguousarray(ground.T)
    obstacle_t = np.ascontiguousarray(obstacle.T)
    out = np.zeros((workers, n_rows, n_cols), np.float32)
    out_t = np.zeros((workers, n_cols, n_rows), np.float32)
    weight = 1.0 / n_directions
    for worker in prange(workers):
        for d in range(worker, n_directions, workers):
            azimuth = (d + 0.5) * 2.0 * np.pi / n_directions
            d_row = -np.cos(azimuth)
            d_col = np.sin(azimuth)
            if abs(d_col) >= abs(d_row):
                _add_direction(ground, obstacle, cell_size, d_row, d_col, weight, out[worker])
            else:
                _add_direction(ground_t, obstacle_t, cell_size, d_col, d_row, weight, out_t[worker])
    total = out[0] + out_t[0].T
    for worker in range(1, workers):
        total += out[worker] + out_t[worker].T
    return total
