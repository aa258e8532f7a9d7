"""Sky view factor of a raster surface model by horizon sweeps (numba).

Definition: the cosine-weighted (Lambertian) view factor from a horizontal surface element to
the visible sky,

    SVF = 1/(2π) ∫ cos²(h(φ)) dφ,

h(φ) ≥ 0 the horizon elevation in azimuth φ (obstacles below the horizontal plane do not count).
The integral is the midpoint rule over ``n_directions`` equal azimuth sectors; cos²h = 1/(1+tan²h).

Per direction the raster is swept along parallel digital lines (one step per cell along the
dominant axis, the other axis rounded half-up); along each line the upper convex hull of the
obstacles ahead is kept, so each cell's horizon is the exact tangent to every obstacle on its line
up to the raster edge (Dozier & Frew 1990 style, O(log n) per cell). An obstacle cell is a square
prism: its top edge is taken at the near face, half a step before its centre.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange


@njit(cache=True, nogil=True)
def _slope(p_from: float, z_from: float, p_to: float, z_to: float) -> float:
    return (z_to - z_from) / (p_to - p_from)


@njit(cache=True, nogil=True, parallel=True)
def _add_direction(
    ground: np.ndarray, obstacle: np.ndarray, cell_size: float, azimuth: float, weight: float,
    out: np.ndarray,
) -> None:
    """Add ``weight``·cos²(horizon) in ``azimuth`` [rad] to ``out`` for every cell."""
    n_rows, n_cols = ground.shape
    d_row = -np.cos(azimuth)
    d_col = np.sin(azimuth)
    columns_dominant = abs(d_col) >= abs(d_row)
    if columns_dominant:
        n_u, n_v, forward, slope, ds = n_cols, n_rows, d_col > 0, d_row / abs(d_col), 1.0 / abs(d_col)
    else:
        n_u, n_v, forward, slope, ds = n_rows, n_cols, d_row > 0, d_col / abs(d_row), 1.0 / abs(d_row)
    step = ds * cell_size
    shift_first = int(np.floor(0.5))
    shift_last = int(np.floor(slope * (n_u - 1) + 0.5))
    m_low = -max(shift_first, shift_last)
    m_high = n_v - 1 - min(shift_first, shift_last)
    for line in prange(m_high - m_low + 1):
        m = m_low + line
        hull_p = np.empty(n_u, np.float64)
        hull_z = np.empty(n_u, np.float64)
        top = 0
        for s in range(n_u):
            u = n_u - 1 - s if forward else s
            v = m + int(np.floor(slope * u + 0.5))
            if v < 0 or v >= n_v:
                continue
            if columns_dominant:
                r, c = v, u
            else:
                r, c = u, v
            p0 = -s * step  # position along the look direction: cells swept earlier lie ahead
            z0 = ground[r, c]
            tan_h = 0.0
            if top > 0:
                lo = 0
                hi = top - 1  # hull order: 0 nearest .. top-1 farthest (stack index top-1-j)
                while lo < hi:
                    mid = (lo + hi) // 2
                    a = top - 1 - mid
                    if _slope(p0, z0, hull_p[a - 1], hull_z[a - 1]) > _slope(p0, z0, hull_p[a], hull_z[a]):
                        lo = mid + 1
                    else:
                        hi = mid
                best = _slope(p0, z0, hull_p[top - 1 - lo], hull_z[top - 1 - lo])
                if best > tan_h:
                    tan_h = best
            out[r, c] += weight / (1.0 + tan_h * tan_h)
            p_new = p0 - 0.5 * step
            z_new = obstacle[r, c]
            while top >= 2 and _slope(p_new, z_new, hull_p[top - 1], hull_z[top - 1]) <= _slope(
                p_new, z_new, hull_p[top - 2], hull_z[top - 2]
            ):
                top -= 1
            hull_p[top] = p_new
            hull_z[top] = z_new
            top += 1


@njit(cache=True, nogil=True)
def sky_view(ground: np.ndarray, obstacle: np.ndarray, cell_size: float, n_directions: int) -> np.ndarray:
    """Lambertian sky view factor per cell in [0, 1] (float32).

    ``ground`` is the height of the receiving surface [m] and ``obstacle`` the height that blocks
    the sky (ground, buildings and opaque crowns) [m], both north-up; ``cell_size`` in metres.
    """
    out = np.zeros(ground.shape, np.float64)
    weight = 1.0 / n_directions
    for d in range(n_directions):
        azimuth = (d + 0.5) * 2.0 * np.pi / n_directions
        _add_direction(ground, obstacle, cell_size, azimuth, weight, out)
    return out.astype(np.float32)
