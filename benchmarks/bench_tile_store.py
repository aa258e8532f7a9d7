"""Benchmark: a tile stored as a folder (COG + GeoParquet + JSON, ``io.twin_folder``) against a pickle.

Baseline (same run, same tile twins): ``build.cache.write_pickle`` / ``read_pickle``, what the tiled build
wrote before. The scene (default ``scenes/delft``, real AHN3 + BGT) is built tile by tile in a temporary
copy; for each tile, the size on disk and the best-of-5 write and read time of both forms (page cache
warm, no fsync). Ratios are folder / pickle.

Run: ``python benchmarks/bench_tile_store.py [--scene scenes/delft] [--tile 100]``.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from harness import measure, report

ROOT = Path(__file__).resolve().parents[1]


def size(path: Path) -> int:
    """Bytes of a file, or of every file under a folder."""
    return path.stat().st_size if path.is_file() else sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def time_tile(twin, work: Path, name: str) -> dict:
    """Size and best-of-5 write/read time of one tile's twin as a pickle and as a folder."""
    from stadstwin.build import cache
    from stadstwin.io.twin_folder import read_twin_folder, write_twin_folder
    from stadstwin.model.twin import Twin

    pickle_path, folder = work / f"{name}.pickle", work / name
    pickle_write, _ = measure(lambda: cache.write_pickle(pickle_path, twin), repeat=5)
    pickle_read, _ = measure(lambda: cache.read_pickle(pickle_path, Twin), repeat=5)
    folder_write, _ = measure(lambda: write_twin_folder(twin, folder), repeat=5)
    folder_read, _ = measure(lambda: read_twin_folder(folder), repeat=5)
    return {"tile": name, "cells": twin.dtm.array.size,
            "pickle MB": size(pickle_path) / 1e6, "folder MB": size(folder) / 1e6,
            "pickle write ms": pickle_write * 1e3, "folder write ms": folder_write * 1e3,
            "pickle read ms": pickle_read * 1e3, "folder read ms": folder_read * 1e3}


def main() -> None:
    from stadstwin.build.tiled import build_tiled

    parser = argparse.ArgumentParser()
    parser.add_argument("--scene", default=str(ROOT / "scenes" / "delft"))
    parser.add_argument("--tile", type=float, default=100.0)
    args = parser.parse_args()
    source = Path(args.scene).resolve()
    with tempfile.TemporaryDirectory() as temporary:
        work = Path(temporary)
        scene = work / "scene"
        scene.mkdir()
        # the scene's relative source paths, made absolute for the copy
        text = (source / "scene.toml").read_text().replace('"../', f'"{source}/../')
        (scene / "scene.toml").write_text(text)
        tiled = build_tiled(scene, args.tile)
        rows = [time_tile(tiled.load(tile), work, tile.name) for tile in tiled.tiles]
    total = {key: sum(row[key] for row in rows) for key in rows[0] if key != "tile"}
    rows.append({"tile": "all", **total})
    rows.append({"tile": "folder/pickle", "pickle MB": "", "folder MB": total["folder MB"] / total["pickle MB"],
                 "folder write ms": total["folder write ms"] / total["pickle write ms"],
                 "folder read ms": total["folder read ms"] / total["pickle read ms"]})
    report("tile_store", rows, notes=f"{source.name}, tiles of {args.tile:g} m, margin = shadow_buffer")


if __name__ == "__main__":
    main()
