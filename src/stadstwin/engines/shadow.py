"""Shadow casting on a raster surface model, per cell toward the sun (numba).

Definition (the one of UMEP's ``shadowingfunction_20``, Lindberg & Grimmond 2011, so results are
comparable cell by cell): from each cell the ray toward the sun is sampled at steps k = 0, 1, ...
of one cell along the dominant axis of the sun azimuth; the other axis offset is the rounded
(half-to-even) k·tan(azimuth) or k/tan(azimuth); the ray height above the cell at step k is
dz_k = k·ds·cell_size·tan(altitude), ds the step length in cells.

- Building shadow: some step k has ``dsm[k] - dz_k > dsm[cell]``.
- Vegetation shadow: the ray segment [dz_{k-1}, dz_k] over step k meets the crown slab
  (trunk top, canopy top] of that cell, i.e. of the four tests canopy/trunk top above the ray at
  dz_k and at dz_{k-1}, at least one but not all four hold (all four: the ray passes through the
  leafless trunk zone).
- Result: 0 in building shadow, ``transmissivity`` in vegetation shadow only, 1 sunlit.

Rasters are north-up (row 0 north), azimuth from north clockwise, heights in metres. Cells
without vegetation carry -inf as canopy and trunk top.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

BLOCK = 32
"""Cells per side of the blocks the kernels walk one at a time: neighbouring cells cast nearly the
same rays, so a block's rays stay in cache and the cost per cell does not grow with the raster."""


@njit(cache=True, nogil=True)
def ray_steps(azimuth: float, altitude: float, cell_size: float, n_steps: int):
    """Row/column offsets [cells] and ray rise dz [m] of steps 0..n_steps-1 toward the sun.

    ``azimuth`` and ``altitude`` in radians; offsets follow UMEP's rounding so that the cells
    visited are the same as in ``shadowingfunction_20``.
    """
    d_row = np.empty(n_steps, np.int64)
    d_col = np.empty(n_steps, np.int64)
    rise = np.empty(n_steps, np.float64)
    sin_az = np.sin(azimuth)
    cos_az = np.cos(azimuth)
    tan_az = np.tan(azimuth)
    quarter = np.pi / 4.0
    east_west = (quarter <= azimuth < 3.0 * quarter) or (5.0 * quarter <= azimuth < 7.0 * quarter)
    ds = abs(1.0 / sin_az) if east_west else abs(1.0 / cos_az)
    tan_alt = np.tan(altitude)
    for k in range(n_steps):
        if east_west:
            d_col[k] = int(np.sign(sin_az) * k)
            d_row[k] = int(-np.sign(cos_az) * abs(np.rint(k / tan_az)))
        else:
            d_col[k] = int(np.sign(sin_az) * abs(np.rint(k * tan_az)))
            d_row[k] = int(-np.sign(cos_az) * k)
        rise[k] = ds * k * cell_size * tan_alt
    return d_row, d_col, rise


@njit(cache=True, nogil=True)
def n_blocks(region: tuple[int, int, int, int]) -> int:
    """Number of ``BLOCK``-sized blocks covering rows [row0, row1) × columns [col0, col1) of ``region``."""
    row0, row1, col0, col1 = region
    return ((row1 - row0 + BLOCK - 1) // BLOCK) * ((col1 - col0 + BLOCK - 1) // BLOCK)


@njit(cache=True, nogil=True)
def block_bounds(block: int, region: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
    """Rows [r0, r1) and columns [c0, c1) of block number ``block`` (row-major) of ``region``."""
    row0, row1, col0, col1 = region
    n_block_cols = (col1 - col0 + BLOCK - 1) // BLOCK
    r0 = row0 + (block // n_block_cols) * BLOCK
    c0 = col0 + (block % n_block_cols) * BLOCK
    return r0, min(r0 + BLOCK, row1), c0, min(c0 + BLOCK, col1)


@njit(cache=True, nogil=True)
def _crown_hit(canopy_top: float, trunk_top: float, z0: float, dz: float, dz_prev: float) -> bool:
    """True when the ray segment [z0+dz_prev, z0+dz] meets the crown slab.

    UMEP counts four tests (canopy and trunk top above the ray at dz and at dz_prev) and shades
    when 1-3 hold. With trunk top <= canopy top and dz_prev <= dz that is: canopy top above the
    ray at dz_prev, and trunk top not above it at dz.
    """
    return canopy_top - dz_prev > z0 and not trunk_top - dz > z0


@njit(cache=True, nogil=True)
def obstacle_top(dsm: np.ndarray, canopy_top: np.ndarray) -> tuple[float, bool]:
    """Highest obstacle [m] over DSM and crowns, and whether any crown exists."""
    highest = dsm.max()
    has_vegetation = False
    for value in canopy_top.ravel():
        highest = max(highest, value)
        if value > -np.inf:
            has_vegetation = True
    return highest, has_vegetation


SKIP = 16
"""Side [cells] of the squares whose local obstacle top lets a ray skip ``SKIP`` steps at once."""


@njit(cache=True, nogil=True)
def local_tops(dsm: np.ndarray, canopy_top: np.ndarray) -> np.ndarray:
    """Highest obstacle [m] around each ``SKIP`` square: the maximum of DSM and crowns over the
    square and its eight neighbours, so every cell within ``SKIP`` cells of a cell in the square is
    covered."""
    n_rows, n_cols = dsm.shape
    n_r = (n_rows + SKIP - 1) // SKIP
    n_c = (n_cols + SKIP - 1) // SKIP
    own = np.full((n_r, n_c), -np.inf)
    for r in range(n_rows):
        for c in range(n_cols):
            top = max(dsm[r, c], canopy_top[r, c])
            own[r // SKIP, c // SKIP] = max(own[r // SKIP, c // SKIP], top)
    around = np.empty((n_r, n_c))
    for a in range(n_r):
        for b in range(n_c):
            around[a, b] = own[max(a - 1, 0) : a + 2, max(b - 1, 0) : b + 2].max()
    return around


@njit(cache=True, nogil=True)
def sunlit_fraction(
    dsm: np.ndarray,
    canopy_top: np.ndarray,
    trunk_top: np.ndarray,
    i: int,
    j: int,
    d_row: np.ndarray,
    d_col: np.ndarray,
    rise: np.ndarray,
    highest: float,
    tops: np.ndarray,
    has_vegetation: bool,
    transmissivity: float,
) -> float:
    """Direct-sun fraction of cell (i, j) along the ray steps from ``ray_steps``.

    The ray stops once it has risen above ``highest``; every ``SKIP`` steps it jumps the next
    ``SKIP`` steps when it is above the local obstacle top ``tops`` (from ``local_tops``): over
    those steps it moves less than ``SKIP`` cells per axis and rises, so none of them could shade
    (the floating-point tests are monotone, the result is bit-identical)."""
    n_rows, n_cols = dsm.shape
    z0 = dsm[i, j]
    lit = 1.0
    if has_vegetation and _crown_hit(canopy_top[i, j], trunk_top[i, j], z0, 0.0, 0.0):
        lit = transmissivity
    k = 1
    check = 1  # the local top is looked at every SKIP steps
    while k < rise.size:
        if rise[k - 1] > highest - z0:
            break
        r = i + d_row[k]
        c = j + d_col[k]
        if r < 0 or r >= n_rows or c < 0 or c >= n_cols:
            break
        if k == check:
            check += SKIP
            if tops[r // SKIP, c // SKIP] - rise[k - 1] <= z0:
                k = check
                continue
        if dsm[r, c] - rise[k] > z0:
            return 0.0
        if (
            has_vegetation
            and lit == 1.0
            and _crown_hit(canopy_top[r, c], trunk_top[r, c], z0, rise[k], rise[k - 1])
        ):
            lit = transmissivity
        k += 1
    return lit


@njit(cache=True, nogil=True, parallel=True)
def cast_shadow(
    dsm: np.ndarray,
    canopy_top: np.ndarray,
    trunk_top: np.ndarray,
    cell_size: float,
    azimuth: float,
    altitude: float,
    transmissivity: float,
    region: tuple[int, int, int, int],
) -> np.ndarray:
    """Sunlit fraction per cell (float32): 1 sunlit, ``transmissivity`` under crowns, 0 shaded.

    ``dsm`` ground plus buildings [m]; ``canopy_top``/``trunk_top`` absolute crown top and trunk
    zone top [m] (-inf without vegetation, same shape as ``dsm``); angles in radians. Each ray
    stops at the raster edge or once it rises above the highest obstacle. Cells are walked in
    ``BLOCK``-sized blocks (in parallel). Only the cells of ``region`` (row0, row1, col0, col1) are
    computed and returned; the whole raster casts shadow on them.
    """
    n_rows, n_cols = dsm.shape
    highest, has_vegetation = obstacle_top(dsm, canopy_top)
    tops = local_tops(dsm, canopy_top)
    d_row, d_col, rise = ray_steps(azimuth, altitude, cell_size, max(n_rows, n_cols) + 1)
    row0, row1, col0, col1 = region
    out = np.empty((row1 - row0, col1 - col0), np.float32)
    for block in prange(n_blocks(region)):
        r0, r1, c0, c1 = block_bounds(block, region)
        for i in range(r0, r1):
            for j in range(c0, c1):
                out[i - row0, j - col0] = sunlit_fraction(
                    dsm,
                    canopy_top,
                    trunk_top,
                    i,
                    j,
                    d_row,
                    d_col,
                    rise,
                    highest,
                    tops,
                    has_vegetation,
                    transmissivity,
                )
    return out
