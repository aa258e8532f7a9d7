"""A synthetic whole AHN tile: the real Delft crop (``data/delft``) repeated over 5 × 6.25 km.

The AHN3 points and the BGT layers inside the crop's extent (192 × 228 m) are copied side by side,
each copy shifted by whole crop widths, and cut to a 5000 × 6250 m extent whose south-west corner
is the crop's. The points go into 5 × 5 LAZ files of 1000 × 1250 m, as AHN ships a tile in sub-tiles;
every BGT layer goes into one GeoPackage, with its identifiers made unique per copy (``.r<row>c<col>``).
The scene has the Delft scene's settings; only the extent and the sources differ.

Run: ``python benchmarks/full_tile_scene.py FOLDER [--width 5000 --height 6250 --files 5]``.
"""

from __future__ import annotations

import argparse
import math
import shutil
import sys
import time
import tomllib
from pathlib import Path

import geopandas as gpd
import laspy
import numpy as np
import pandas as pd
import shapely

ROOT = Path(__file__).resolve().parents[1]
DELFT = ROOT / "scenes" / "delft"
#: Columns that identify a feature; suffixed per copy so that every copy is its own object.
ID_COLUMNS = ("gml_id", "lokaalid", "identificatiebagpnd")


def _delft() -> tuple[dict, tuple[float, float, float, float]]:
    scene = tomllib.loads((DELFT / "scene.toml").read_text())
    extent = scene["extent"]
    return scene, (extent["xmin"], extent["ymin"], extent["xmax"], extent["ymax"])


def _copies(crop: tuple[float, float, float, float], box: tuple[float, float, float, float]):
    """(row, col, dx, dy) of every copy of ``crop`` that meets ``box`` (copy 0, 0 is the crop itself)."""
    xmin, ymin, xmax, ymax = crop
    width, height = xmax - xmin, ymax - ymin
    for row in range(max(0, math.floor((box[1] - ymin) / height)), math.ceil((box[3] - ymin) / height)):
        for col in range(max(0, math.floor((box[0] - xmin) / width)), math.ceil((box[2] - xmin) / width)):
            yield row, col, col * width, row * height


def write_pointclouds(folder: Path, crop, extent, files: int) -> list[Path]:
    """The crop's points repeated over ``extent``, in ``files`` × ``files`` LAZ files."""
    source = laspy.read(DELFT / "../../data/delft/ahn3_cropped_1.laz")
    header = source.header
    x, y = np.asarray(source.x), np.asarray(source.y)
    inside = (x >= crop[0]) & (x < crop[2]) & (y >= crop[1]) & (y < crop[3])
    points, x, y = source.points.array[inside], x[inside], y[inside]
    step_x = (extent[2] - extent[0]) / files
    step_y = (extent[3] - extent[1]) / files
    paths = []
    for i in range(files):
        for j in range(files):
            box = (extent[0] + j * step_x, extent[1] + i * step_y, extent[0] + (j + 1) * step_x,
                   extent[1] + (i + 1) * step_y)
            parts = []
            for _, _, dx, dy in _copies(crop, box):
                keep = (x + dx >= box[0]) & (x + dx < box[2]) & (y + dy >= box[1]) & (y + dy < box[3])
                part = points[keep]
                part["X"] += round(dx / header.scales[0])
                part["Y"] += round(dy / header.scales[1])
                parts.append(part)
            out = laspy.LasData(laspy.LasHeader(point_format=header.point_format, version=header.version))
            out.header.scales, out.header.offsets = header.scales, header.offsets
            out.points = laspy.ScaleAwarePointRecord(np.concatenate(parts), header.point_format, header.scales,
                                                     header.offsets)
            path = folder / f"ahn_{i}_{j}.laz"
            out.write(path, laz_backend=laspy.LazBackend.LazrsParallel)
            paths.append(path)
            print(f"  {path.name}: {len(out.points):,} points", flush=True)
    return paths


def write_bgt(folder: Path, layer: str, source: Path, crop, extent) -> Path:
    """One BGT layer cut to the crop and repeated over ``extent`` into a GeoPackage."""
    frame = gpd.read_file(source)
    frame["geometry"] = shapely.clip_by_rect(frame.geometry.values, *crop)
    frame = frame[~frame.geometry.is_empty]
    copies = []
    for row, col, dx, dy in _copies(crop, extent):
        copy = frame.copy()
        copy["geometry"] = shapely.transform(frame.geometry.values, lambda xy, d=(dx, dy): xy + d)
        for column in ID_COLUMNS:
            if column in copy:
                copy[column] = copy[column].astype(str) + f".r{row}c{col}"
        copies.append(copy)
    out = gpd.GeoDataFrame(pd.concat(copies, ignore_index=True), crs=frame.crs)
    out["geometry"] = shapely.clip_by_rect(out.geometry.values, *extent)
    out = out[~out.geometry.is_empty]
    path = folder / f"bgt_{layer}.gpkg"
    out.to_file(path, layer=layer, engine="pyogrio", use_arrow=True)
    print(f"  {path.name}: {len(out):,} features", flush=True)
    return path


def write_full_tile(folder: Path, width: float = 5000.0, height: float = 6250.0, files: int = 5) -> Path:
    """Write the synthetic scene into ``folder`` (replaced) and return its ``scene.toml``."""
    scene, crop = _delft()
    extent = (crop[0], crop[1], crop[0] + width, crop[1] + height)
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    start = time.perf_counter()
    write_pointclouds(folder, crop, extent, files)
    bgt = {layer: write_bgt(folder, layer, (DELFT / path).resolve(), crop, extent)
           for layer, path in scene["sources"]["bgt"].items()}
    lines = ['name = "full-tile"',
             f'description = "Synthetic AHN tile: the Delft crop repeated over {width:g} x {height:g} m"',
             f'crs = "{scene["crs"]}"', f'cell_size = {scene["cell_size"]}', "",
             "[extent]", *(f"{k} = {v}" for k, v in zip(("xmin", "ymin", "xmax", "ymax"), extent, strict=True)), "",
             "[sources]",
             "pointclouds = [" + ", ".join(f'{{ path = "{p.name}", crs = "EPSG:28992" }}'
                                            for p in sorted(folder.glob("*.laz"))) + "]", "",
             "[sources.bgt]", *(f'{layer} = "{path.name}"' for layer, path in bgt.items()), "",
             "[climate]", f'date = {scene["climate"]["date"]}', ""]
    path = folder / "scene.toml"
    path.write_text("\n".join(lines))
    print(f"written {path} in {time.perf_counter() - start:.0f} s", flush=True)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--width", type=float, default=5000.0)
    parser.add_argument("--height", type=float, default=6250.0)
    parser.add_argument("--files", type=int, default=5)
    args = parser.parse_args()
    write_full_tile(args.folder, args.width, args.height, args.files)


if __name__ == "__main__":
    sys.exit(main())
