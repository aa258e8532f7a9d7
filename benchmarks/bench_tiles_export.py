"""Benchmark: 3D Tiles export of the tiled twin (``export_tiled_3dtiles``, one tile in memory) against the untiled
export (``export_3dtiles`` of the whole twin) of the same scene.

Both twins are built first (not timed: the untiled twin cached, the tiles on disk). Each export runs in its own
process under ``/usr/bin/time -v``; the row gives the export's wall time (one cold run), the peak resident memory
of the process and that peak less the resident memory after the imports (what loading and exporting cost).
Ratios are tiled / untiled.

Scenes: ``scenes/delft`` (real AHN3 + BGT, 192 × 228 m at 0.5 m, tiles of ``--tile`` m) and, with
``--demo-scale N``, the demo district written at scale N (synthetic, larger; tiles of ``--demo-tile`` m).

Run: ``python benchmarks/bench_tiles_export.py [--tile 100] [--demo-scale 10 --demo-tile 200]``.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

from harness import bench_scenes, report, run_child


def run_case(mode: str, scene: str, tile: float, out: str) -> None:
    """One export in this process (called through ``--case``); prints its time and the RSS after the imports."""
    from stadstwin.build.tiled import tiled_twin
    from stadstwin.build.twin_builder import build_twin
    from stadstwin.io.tiles3d import export_3dtiles, export_tiled_3dtiles
    from stadstwin.model.scene import Scene

    loaded = Scene.load(scene)
    imported = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    start = time.perf_counter()
    if mode == "untiled":
        export_3dtiles(build_twin(loaded), out)  # the twin from its cache
    else:
        export_tiled_3dtiles(tiled_twin(loaded, tile), out)  # the tiles built before
    print(f"RESULT export_s={time.perf_counter() - start:.2f} imported_mib={imported:.0f}")


def measure_case(mode: str, scene: Path, tile: float) -> dict:
    """Run one export in a child process under ``/usr/bin/time -v``: its time, peak RSS and the GLB bytes."""
    with tempfile.TemporaryDirectory() as out:
        fields, peak, _ = run_child([sys.executable, __file__, "--case", mode, str(scene), "--tile", str(tile),
                                     "--out", out])
        size = sum(p.stat().st_size for p in Path(out).rglob("*.glb")) / 2**20
        contents = sum(1 for _ in Path(out).rglob("*.glb"))
    return {"scene": scene.name, "mode": mode if mode == "untiled" else f"tiled {tile:g} m",
            "export_s": float(fields["export_s"]), "peak_rss_mib": round(peak),
            "export_rss_mib": round(peak - float(fields["imported_mib"])), "glb_mib": round(size, 1),
            "contents": contents}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--case", nargs=2, metavar=("MODE", "SCENE"))
    parser.add_argument("--out")
    parser.add_argument("--tile", type=float, default=100.0)
    parser.add_argument("--demo-scale", type=int, default=0)
    parser.add_argument("--demo-tile", type=float, default=200.0)
    args = parser.parse_args()
    if args.case:
        run_case(args.case[0], args.case[1], args.tile, args.out)
        return
    from stadstwin.build.tiled import build_tiled
    from stadstwin.build.twin_builder import build_twin

    with tempfile.TemporaryDirectory() as folder:
        scenes = bench_scenes(Path(folder), args.tile, args.demo_scale, args.demo_tile)
        rows = []
        for scene, tile in scenes:
            build_twin(scene)
            build_tiled(scene, tile)
            base = measure_case("untiled", scene, tile)
            row = measure_case("tiled", scene, tile)
            row["time_ratio"] = round(row["export_s"] / base["export_s"], 2)
            row["memory_ratio"] = round(row["export_rss_mib"] / max(base["export_rss_mib"], 1), 2)
            rows += [base, row]
    report("tiles_export", rows, notes="ratios: tiled / untiled (export seconds; peak RSS above the imports).")


if __name__ == "__main__":
    main()
