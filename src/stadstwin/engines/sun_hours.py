"""Hours of direct sun: the shadow kernel summed over many sun positions in one parallel pass."""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from stadstwin.engines.shadow import (
    BLOCK,
    block_bounds,
    local_tops,
    n_blocks,
    obstacle_top,
    ray_steps,
    sunlit_fraction,
)


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
    region: tuple[int, int, int, int],
) -> np.ndarray:
    """Sum over sun positions of the sunlit fraction times ``hours_per_position`` [h] (float32).

    Inputs as for ``shadow.cast_shadow`` (only the cells of ``region`` are returned);
    ``azimuths``/``altitudes`` in radians, all above the horizon. Blocks of ``BLOCK`` × ``BLOCK``
    cells run in parallel, each walking every position for all its cells (the rays of one position
    from one block share cache), so one launch serves the day.
    """
    n_rows, n_cols = dsm.shape
    n_positions = azimuths.size
    n_steps = max(n_rows, n_cols) + 1
    highest, has_vegetation = obstacle_top(dsm, canopy_top)
    tops = local_tops(dsm, canopy_top)
    d_row = np.empty((n_positions, n_steps), np.int64)
    d_col = np.empty((n_positions, n_steps), np.int64)
    rise = np.empty((n_positions, n_steps), np.float64)
    for p in range(n_positions):
        d_row[p], d_col[p], rise[p] = ray_steps(azimuths[p], altitudes[p], cell_size, n_steps)
    row0, row1, col0, col1 = region
    out = np.empty((row1 - row0, col1 - col0), np.float32)
    for block in prange(n_blocks(region)):
        r0, r1, c0, c1 = block_bounds(block, region)
        total = np.zeros((BLOCK, BLOCK))
        for p in range(n_positions):
            for i in range(r0, r1):
                for j in range(c0, c1):
                    total[i - r0, j - c0] += sunlit_fraction(
                        dsm,
                        canopy_top,
                        trunk_top,
                        i,
                        j,
                        d_row[p],
                        d_col[p],
                        rise[p],
                        highest,
                        tops,
                        has_vegetation,
                        transmissivity,
                    )
        for i in range(r0, r1):
            for j in range(c0, c1):
                out[i - row0, j - col0] = total[i - r0, j - c0] * hours_per_position
    return out
