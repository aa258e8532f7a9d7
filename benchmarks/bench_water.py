"""Water on the ground: depression filling against pysheds ``fill_depressions``, and the stress test's
fill-and-spill of a 70 mm storm, on the same DEM.

The DEM is the real AHN3 Delft crop (ground at 1 m, gap-filled) mirrored into a 1000 × 1000 tile
(1 Mpx), so kerbs, gullies and ditches repeat as real terrain does; both fill the same float32
values (as read from a GeoTIFF) and must agree exactly. Rows: time per call (best of three after a
warm-up, so numba compilation is excluded), ratio peer/project, and the number of filled cells.
The fill-and-spill row pours 70 mm on every cell (no losses) and reports the volume balance.

Run: ``python benchmarks/bench_water.py`` (``--quick`` for 500 × 500).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from harness import measure, report

from stadstwin.engines.depression_fill import fill_depressions
from stadstwin.engines.fill_spill import fill_and_spill
from stadstwin.io.pointcloud import read_pointclouds
from stadstwin.model.raster import Raster

LAZ = Path(__file__).resolve().parents[2] / "shared" / "data" / "delft" / "ahn3_cropped_1.laz"


def delft_tile(n: int, layer: str = "dtm") -> np.ndarray:
    """An n × n DTM (or ``layer="dsm"``) [m NAP] of the AHN3 crop mirrored to fill the tile (float32 values)."""
    grid = Raster.from_bounds(84_800.0, 447_410.0, 85_000.0, 447_645.0, 1.0)
    crop = getattr(read_pointclouds([LAZ], grid, assumed_crs="EPSG:28992"), layer).values().astype(np.float32)
    mirrored = np.block([[crop, crop[:, ::-1]], [crop[::-1, :], crop[::-1, ::-1]]])
    reps = (-(-n // mirrored.shape[0]), -(-n // mirrored.shape[1]))
    return np.tile(mirrored, reps)[:n, :n].astype(np.float64)


def pysheds_fill(dem: np.ndarray) -> np.ndarray:
    from affine import Affine
    from pysheds.grid import Grid
    from pysheds.sview import Raster as PyshedsRaster
    from pysheds.sview import ViewFinder

    view = ViewFinder(affine=Affine(1.0, 0.0, 0.0, 0.0, -1.0, 0.0), shape=dem.shape, nodata=np.float32(np.nan))
    raster = PyshedsRaster(dem.astype(np.float32), viewfinder=view)  # as pysheds reads a float32 GeoTIFF
    return np.asarray(Grid(viewfinder=view).fill_depressions(raster), dtype=np.float64)


def main() -> None:
    n = 500 if "--quick" in sys.argv else 1000
    dem = delft_tile(n)
    ours_s, ours = measure(lambda: fill_depressions(dem))
    peer_s, peer = measure(lambda: pysheds_fill(dem))
    same = bool(np.array_equal(ours, peer))
    rain = np.full(dem.shape, 0.070)  # m³ on 1 m² cells
    spill_s, (depth, outflow) = measure(lambda: fill_and_spill(dem, rain, 1.0, np.zeros(dem.shape, dtype=bool)))
    balance = abs(depth.sum() + outflow - rain.sum()) / rain.sum()
    rows = [
        {"case": f"{n}×{n} AHN3 Delft tile", "who": "stadstwin Priority-Flood+", "seconds": ours_s,
         "filled cells": int((ours > dem).sum())},
        {"case": f"{n}×{n} AHN3 Delft tile", "who": "pysheds fill_depressions", "seconds": peer_s,
         "filled cells": int((peer > dem).sum())},
        {"case": "ratio pysheds / stadstwin", "who": "", "seconds": peer_s / ours_s, "filled cells": ""},
        {"case": f"{n}×{n} 70 mm fill-and-spill", "who": "stadstwin", "seconds": spill_s,
         "filled cells": int((depth > 0.0).sum())},
    ]
    report("water", rows, notes=f"fills identical: {same}; fill-and-spill volume balance {balance:.1e} relative")
    if not same:
        raise SystemExit("the two fills differ")


if __name__ == "__main__":
    main()
