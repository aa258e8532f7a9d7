"""Hours of direct sun: the shadow kernel summed over many sun positions in one parallel pass."""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from stadstwin.engines.shadow import obstacle_top, ray_steps, sunlit_fraction


@njit(cache=True, nogil=True, parallel=True)
def sunlit_hours(
    dsm: np.ndarray,
    canopy_top: np.ndarray,
    trunk_top: np.ndarray,
    cell_size: float,
    azimuths: np.ndarray,
    altitudes: np.ndarray,
    hours_per_position: float,
    transmissivity: float,
) -> np.ndarray:
    """Sum over sun positions of the sunlit fraction times ``hours_per_position`` [h] (float32).

    Inputs as for ``shadow.cast_shadow``; ``azimuths``/``altitudes`` in radians, all above the
    horizon. Rows run in parallel; each cell walks every position, so one launch serves the day.
    """
    n_rows, n_cols = dsm.shape
    n_positions = azimuths.size
    n_steps = max(n_rows, n_cols) + 1
    highest, has_vegetation = obstacle_top(dsm, canopy_top)
    d_row = np.empty((n_positions, n_steps), np.int64)
    d_col = np.empty((n_positions, n_steps), np.int64)
    rise = np.empty((n_positions, n_steps), np.float64)
    for p in range(n_positions):
        d_row[p], d_col[p], rise[p] = ray_steps(azimuths[p], altitudes[p], cell_size, n_steps)
    out = np.empty((n_rows, n_cols), np.float32)
    for i in prange(n_rows):
        for j in range(n_cols):
            total = 0.0
            for p in range(n_positions):
                total += sunlit_fraction(
                    dsm,
                    canopy_top,
                    trunk_top,
                    i,
                    j,
                    d_row[p],
                    d_col[p],
                    rise[p],
                    highest,
                    has_vegetation,
                    transmissivity,
                )
            out[i, j] = total * hours_per_position
    return out
