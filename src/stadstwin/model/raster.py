"""North-up rasters with an affine transform, a CRS and a nodata value."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from affine import Affine

from stadstwin.crs import INTERNAL_CRS


@dataclass(frozen=True, eq=False)
class Raster:
    """A 2D grid: ``array[row, col]``, row 0 north; ``transform`` maps (col, row) to (x, y) corners.

    Values are metres NAP for elevation rasters. ``nodata`` cells are treated as missing.
    """

    array: np.ndarray
    transform: Affine
    crs: str = INTERNAL_CRS
    nodata: float | None = None

    def __post_init__(self) -> None:
        if self.array.ndim != 2:
            raise ValueError(f"a Raster holds a 2D array, got shape {self.array.shape}")
        if self.transform.b != 0 or self.transform.d != 0 or self.transform.e >= 0:
            raise ValueError("a Raster must be north-up (no rotation, negative y step)")

    @classmethod
    def from_bounds(
        cls, xmin: float, ymin: float, xmax: float, ymax: float, cell_size: float,
        *, fill: float = np.nan, dtype=np.float64, crs: str = INTERNAL_CRS, nodata: float | None = None,
    ) -> "Raster":
        """An empty raster covering the bounds [m]; the extent is rounded up to whole cells."""
        cols = int(np.ceil((xmax - xmin) / cell_size - 1e-9))
        rows = int(np.ceil((ymax - ymin) / cell_size - 1e-9))
        transform = Affine(cell_size, 0.0, xmin, 0.0, -cell_size, ymax)
        return cls(np.full((rows, cols), fill, dtype=dtype), transform, crs, nodata)

    @property
    def shape(self) -> tuple[int, int]:
        return self.array.shape  # type: ignore[return-value]

    @property
    def cell_size(self) -> float:
        """Cell size [m] (square cells)."""
        return float(self.transform.a)

    @property
    def origin(self) -> tuple[float, float]:
        """(x, y) of the upper-left corner [m]."""
        return float(self.transform.c), float(self.transform.f)

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """(xmin, ymin, xmax, ymax) [m]."""
        rows, cols = self.shape
        x0, y0 = self.origin
        return x0, y0 + rows * self.transform.e, x0 + cols * self.transform.a, y0

    def values(self) -> np.ndarray:
        """The array as float64 with nodata cells set to NaN."""
        out = self.array.astype(np.float64, copy=True)
        if self.nodata is not None and not np.isnan(self.nodata):
            out[self.array == self.nodata] = np.nan
        return out

    def cell_centres(self) -> tuple[np.ndarray, np.ndarray]:
        """(x, y) [m] of every cell centre, each shaped like the raster."""
        rows, cols = self.shape
        col, row = np.meshgrid(np.arange(cols) + 0.5, np.arange(rows) + 0.5)
        t = self.transform
        return t.c + t.a * col, t.f + t.e * row

    def fractional_index(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(row, col) of points as fractional cell indices; cell (0, 0) spans [0, 1)."""
        t = self.transform
        col = (np.asarray(x, dtype=np.float64) - t.c) / t.a
        row = (np.asarray(y, dtype=np.float64) - t.f) / t.e
        return row, col

    def sample(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Bilinear interpolation between cell centres at points (x, y) [m]; NaN outside or at nodata."""
        row, col = self.fractional_index(x, y)
        rows, cols = self.shape
        r = np.clip(row - 0.5, 0.0, rows - 1.0)
        c = np.clip(col - 0.5, 0.0, cols - 1.0)
        r0 = np.minimum(np.floor(r).astype(np.int64), max(rows - 2, 0))
        c0 = np.minimum(np.floor(c).astype(np.int64), max(cols - 2, 0))
        r1 = np.minimum(r0 + 1, rows - 1)
        c1 = np.minimum(c0 + 1, cols - 1)
        fr = r - r0
        fc = c - c0
        corners = [self._gather(rr, cc) for rr, cc in ((r0, c0), (r0, c1), (r1, c0), (r1, c1))]
        out = (corners[0] * (1 - fr) * (1 - fc) + corners[1] * (1 - fr) * fc
               + corners[2] * fr * (1 - fc) + corners[3] * fr * fc)
        outside = (row < 0) | (row > rows) | (col < 0) | (col > cols)
        return np.where(outside, np.nan, out)

    def _gather(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """Cell values as float64 with nodata as NaN, without copying the whole raster."""
        values = self.array[rows, cols].astype(np.float64)
        if self.nodata is not None and not np.isnan(self.nodata):
            values[self.array[rows, cols] == self.nodata] = np.nan
        return values
