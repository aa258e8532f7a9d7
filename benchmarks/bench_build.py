"""Benchmark: LAZ → DTM/DSM/CHM (+ roof percentiles per footprint) against a plain laspy read.

Input: the real AHN3 crop of Delft (640,510 points) and, to show that streaming keeps memory flat,
a larger LAZ made by tiling that crop ``--tiles`` times side by side (written once to a temporary
folder). Peer (the floor): ``laspy.read`` of the same file with x, y, z and classification taken
as numpy arrays — every LAZ→raster step must at least decompress and scale the points. The ratio
is the project's points per second over the read's (1.0 = rasterising is free). Peak memory:
Python/numpy allocations (tracemalloc) of one call.

Run: ``python benchmarks/bench_build.py [--tiles 10] [--cell 1.0 0.5]``.
"""

from __future__ import annotations

import argparse
import tempfile
from functools import partial
from pathlib import Path

import laspy
import numpy as np
import pyogrio
import shapely
from harness import measure, peak_python_memory, report

from stadstwin.io.pointcloud import read_pointclouds
from stadstwin.model.raster import Raster

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "delft"
LAZ = DATA / "ahn3_cropped_1.laz"
CROP_WIDTH = 200.0  # m, the tiling step in x


def tiled_laz(path: Path, tiles: int, folder: Path) -> Path:
    """The crop repeated ``tiles`` times eastwards in one LAZ (chunked writes)."""
    target = folder / f"delft_x{tiles}.laz"
    with laspy.open(path) as reader:
        header = reader.header
        points = reader.read().points
    with laspy.open(target, mode="w", header=header, do_compress=True) as writer:
        for k in range(tiles):
            shifted = points.copy()
            shifted.X = points.X + round(k * CROP_WIDTH / header.scales[0])
            writer.write_points(shifted)
    return target


def plain_read(path: Path) -> int:
    las = laspy.read(path)
    arrays = (np.asarray(las.x), np.asarray(las.y), np.asarray(las.z), np.asarray(las.classification))
    return len(arrays[0])


def footprints() -> np.ndarray:
    _, _, wkb, _ = pyogrio.raw.read(DATA / "bgt_pand.sqlite", layer="buildingpart")
    return shapely.from_wkb(wkb)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiles", type=int, default=10)
    parser.add_argument("--cell", type=float, nargs="+", default=[1.0, 0.5])
    args = parser.parse_args()
    polygons = footprints()
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        inputs = [("Delft crop", LAZ, 1)]
        if args.tiles > 1:
            inputs.append((f"Delft crop ×{args.tiles}", tiled_laz(LAZ, args.tiles, Path(folder)), args.tiles))
        for name, path, tiles in inputs:
            n = laspy.open(path).header.point_count
            repeat = 3 if tiles == 1 else 1
            read_time, _ = measure(partial(plain_read, path), repeat=repeat)
            read_memory, _ = peak_python_memory(partial(plain_read, path))
            rows.append({"input": name, "step": "laspy.read (floor)", "points": n, "seconds": read_time,
                         "Mpoints/s": n / read_time / 1e6, "ratio": 1.0, "peak MiB": read_memory})
            for cell in args.cell:
                grid = Raster.from_bounds(84_800, 447_410, 84_800 + tiles * CROP_WIDTH, 447_645, cell)
                for with_footprints in (False, True):
                    run = partial(read_pointclouds, [path], grid, assumed_crs="EPSG:28992",
                                  footprints=polygons if with_footprints else None)
                    seconds, result = measure(run, repeat=repeat)
                    assert result.points_read == n
                    memory, _ = peak_python_memory(run)
                    step = f"LAZ→rasters {cell} m" + (" + roofs" if with_footprints else "")
                    rows.append({"input": name, "step": step, "points": n, "seconds": seconds,
                                 "Mpoints/s": n / seconds / 1e6, "ratio": read_time / seconds,
                                 "peak MiB": memory})
    report("build_laz_rasters", rows, notes=(
        "ratio = project points/s ÷ laspy.read points/s (1.0 is the floor: decompression only). "
        "Roof percentiles use the 160 BGT footprints of the Delft crop (inside the first tile only)."))


if __name__ == "__main__":
    main()
