"""Benchmark: a whole synthetic AHN tile (5 × 6.25 km at 0.5 m, 125 M cells) built and analysed tile by tile.

The scene is written by ``full_tile_scene.py`` (the real Delft crop repeated; ~457 M AHN3 points in
25 LAZ files, ~110 k BGT buildings). Each step runs as the CLI a user would run, in its own process:
``stadstwin build SCENE --tile-size T --no-cache`` and ``stadstwin check heat SCENE --tile-size T``
(Dask local cluster, two worker threads by default). Memory is the peak of the summed resident memory of the
whole process tree (the CLI and every Dask worker), sampled every 0.5 s; the bound the issue sets is
4 GiB. Baseline in the same run: the untiled build + heat (``--tile-size`` left out) on the first
sub-tile of 1000 × 1250 m (one LAZ file, 1/25 of the tile) — the full tile does not fit untiled —
against the tiled run of that same sub-tile; the ratios are per cell.

Run: ``python benchmarks/bench_full_tile.py FOLDER [--tile 500] [--step 30] [--workers 2]``
(FOLDER is written when it holds no scene yet; the full case takes about an hour on 2 cores).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
from full_tile_scene import write_full_tile
from harness import report

STADSTWIN = str(Path(sys.executable).with_name("stadstwin"))


def tree_rss_mib(process: psutil.Process) -> float:
    """Resident memory of ``process`` and all its descendants [MiB]."""
    total = 0
    for member in [process, *process.children(recursive=True)]:
        try:
            total += member.memory_info().rss
        except psutil.NoSuchProcess:
            continue
    return total / 2**20


def run_sampled(command: list[str]) -> tuple[float, float]:
    """Run ``command``; its wall time [s] and the peak summed RSS of its process tree [MiB]."""
    start = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    process = psutil.Process(child.pid)
    peak = 0.0
    stop = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not stop.is_set():
            try:
                peak = max(peak, tree_rss_mib(process))
            except psutil.NoSuchProcess:
                return
            stop.wait(0.5)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, errors = child.communicate()
    stop.set()
    sampler.join()
    if child.returncode:
        raise SystemExit(f"{' '.join(command)} failed ({child.returncode}):\n{errors[-3000:]}")
    return time.perf_counter() - start, peak


def case(scene: Path, label: str, tile: float | None, step: float, workers: int, cells: int) -> dict:
    """Build + heat of ``scene`` (tiled when ``tile`` is given), timed and memory-sampled."""
    tiling = [] if tile is None else ["--tile-size", str(tile)]
    build_s, build_mib = run_sampled([STADSTWIN, "build", str(scene), "--no-cache", *tiling])
    heat = ["--workers", str(workers)] if tile is not None else []
    heat_s, heat_mib = run_sampled([STADSTWIN, "check", "heat", str(scene), *tiling, *heat,
                                    "--step-minutes", str(step), "--out", str(scene / "heat-out")])
    print(f"{label}: build {build_s:.0f} s / {build_mib:.0f} MiB, heat {heat_s:.0f} s / {heat_mib:.0f} MiB",
          flush=True)
    return {"case": label, "mcells": round(cells / 1e6, 2), "build_s": round(build_s, 1),
            "build_peak_mib": round(build_mib), "heat_s": round(heat_s, 1), "heat_peak_mib": round(heat_mib),
            "us_per_cell": round((build_s + heat_s) / cells * 1e6, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--tile", type=float, default=500.0)
    parser.add_argument("--step", type=float, default=30.0, help="heat step_minutes")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--width", type=float, default=5000.0)
    parser.add_argument("--height", type=float, default=6250.0)
    args = parser.parse_args()
    full = args.folder / "full"
    if not (full / "scene.toml").is_file():
        write_full_tile(full, args.width, args.height)
    part = args.folder / "sub-tile"
    if not (part / "scene.toml").is_file():
        write_full_tile(part, 1000.0, 1250.0, files=1)
    rows = []
    part_cells = 2000 * 2500
    for tile, label in ((None, "sub-tile 1 × 1.25 km, untiled"), (args.tile, f"sub-tile, tiled {args.tile:g} m")):
        rows.append(case(part, label, tile, args.step, args.workers, part_cells))
    full_cells = round(args.width * 2) * round(args.height * 2)
    rows.append(case(full, f"full tile {args.width / 1000:g} × {args.height / 1000:g} km, tiled {args.tile:g} m",
                     args.tile, args.step, args.workers, full_cells))
    base = rows[0]
    for row in rows[1:]:
        row["us_per_cell_ratio"] = round(row["us_per_cell"] / base["us_per_cell"], 2)
    report("full_tile", rows, notes=f"heat step_minutes {args.step:g}, {args.workers} Dask workers (threads), margin "
                                    "the scene's shadow_buffer (100 m); peak = summed RSS of the process tree; "
                                    "ratios per cell against the untiled sub-tile.")


if __name__ == "__main__":
    main()
