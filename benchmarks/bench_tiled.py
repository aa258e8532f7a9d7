"""Benchmark: build + heat tile by tile (``build.tiled`` + ``batch.tiled_heat``) against the untiled run.

Baseline (same run, same scene, same settings): ``build_twin`` (no cache) + ``heat_stress`` on the whole
scene in one process. Each case runs in its own process under ``/usr/bin/time -v``, so the peak
resident memory is that of the whole case (Dask local cluster of threads included); wall time is
one cold run (numba kernels loaded from their disk cache). Ratios are tiled / untiled.

Scenes: ``scenes/delft`` (real AHN3 + BGT, 192 × 228 m at 0.5 m) and, with ``--demo-scale N``, the
demo district written at scale N (synthetic, larger).

Run: ``python benchmarks/bench_tiled.py [--tile 100] [--margin 40] [--demo-scale 10 --demo-tile 250]``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from harness import bench_scenes, report, run_child


def run_case(mode: str, scene: str, tile: float, margin: float, workers: int, step: float) -> None:
    """One case in this process (called through ``--case``)."""
    from stadstwin.analyses.heat_stress import heat_stress
    from stadstwin.batch.tiled_heat import run_tiled_heat
    from stadstwin.build.tiled import build_tiled
    from stadstwin.build.twin_builder import build_twin
    from stadstwin.model.scene import Scene
    from stadstwin.scenario.pipeline import resolve_settings

    loaded = Scene.load(scene)
    _, settings = resolve_settings(loaded, "heat", [], {"step_minutes": step})
    rules = loaded.load_rules()
    start = time.perf_counter()
    if mode == "untiled":
        twin = build_twin(loaded, use_cache=False)
        built = time.perf_counter()
        metrics = heat_stress(twin, rules, dict(settings)).metrics
    else:
        tiled = build_tiled(loaded, tile, margin=margin, use_cache=False)
        built = time.perf_counter()
        with tempfile.TemporaryDirectory() as out:
            metrics = run_tiled_heat(tiled, rules, settings, Path(out), workers=workers).metrics
    done = time.perf_counter()
    print(f"RESULT build_s={built - start:.2f} heat_s={done - built:.2f} "
          f"svf_mean={metrics['svf_mean']:.5f} shade_fraction={metrics['shade_fraction']:.5f}")


def measure_case(mode: str, scene: Path, tile: float, margin: float, workers: int, step: float) -> dict:
    """Run one case in a child process under ``/usr/bin/time -v``: its times and peak RSS."""
    fields, peak, wall = run_child([sys.executable, __file__, "--case", mode, str(scene), "--tile", str(tile),
                                    "--margin", str(margin), "--workers", str(workers), "--step", str(step)])
    return {"scene": scene.name, "mode": mode if mode == "untiled" else f"tiled {tile:g} m ±{margin:g} m, {workers} w",
            "build_s": float(fields["build_s"]), "heat_s": float(fields["heat_s"]), "process_s": round(wall, 1),
            "peak_rss_mib": round(peak), "svf_mean": float(fields["svf_mean"]),
            "shade_fraction": float(fields["shade_fraction"])}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--case", nargs=2, metavar=("MODE", "SCENE"))
    parser.add_argument("--tile", type=float, default=100.0)
    parser.add_argument("--margin", type=float, default=40.0)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--step", type=float, default=10.0)
    parser.add_argument("--demo-scale", type=int, default=0)
    parser.add_argument("--demo-tile", type=float, default=250.0)
    args = parser.parse_args()
    if args.case:
        run_case(args.case[0], args.case[1], args.tile, args.margin, args.workers, args.step)
        return
    with tempfile.TemporaryDirectory() as folder:
        scenes = bench_scenes(Path(folder), args.tile, args.demo_scale, args.demo_tile)
        rows = []
        for scene, tile in scenes:
            base = measure_case("untiled", scene, tile, args.margin, 1, args.step)
            rows.append(base)
            for workers in (1, 2):
                row = measure_case("tiled", scene, tile, args.margin, workers, args.step)
                row["time_ratio"] = round((row["build_s"] + row["heat_s"]) / (base["build_s"] + base["heat_s"]), 2)
                row["memory_ratio"] = round(row["peak_rss_mib"] / base["peak_rss_mib"], 2)
                rows.append(row)
    report("tiled", rows, notes="ratios: tiled / untiled (build + heat seconds; peak RSS of the whole process).")


if __name__ == "__main__":
    main()
