"""Benchmark: whole twin build (all readers, no cache) — the Delft crop and the generated district at
scale 1 and 10 — wall time and peak memory, each build in a fresh process so the peaks are its own.

Run: ``python benchmarks/bench_twin.py [--scales 1 10]``. Needs ../shared/data for the Delft crop.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

from harness import report

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "delft"

CHILD = """
import json, resource, sys, time
from stadstwin import build_twin
from stadstwin.build.summary import summarize
start = time.perf_counter()
twin = build_twin(sys.argv[1], use_cache=False)
seconds = time.perf_counter() - start
s = summarize(twin)
print(json.dumps({"seconds": seconds, "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "cells": s["terrain"]["dtm"]["shape"][0] * s["terrain"]["dtm"]["shape"][1],
                  "buildings": s["buildings"]["count"], "segments": s["networks"]["segments"]}))
"""


def delft_scene(folder: Path) -> Path:
    (folder / "scene.toml").write_text(textwrap.dedent(f"""
        name = "delft"
        cell_size = 0.5
        [extent]
        xmin = 84808
        ymin = 447413
        xmax = 85060
        ymax = 447641
        [sources]
        pointclouds = [{{ path = "{SHARED / 'ahn3_cropped_1.laz'}", crs = "EPSG:28992" }}]
        [sources.bgt]
        pand = "{SHARED / 'bgt_pand.sqlite'}"
        wegdeel = "{SHARED / 'bgt_wegdeel.sqlite'}"
        begroeidterreindeel = "{SHARED / 'bgt_begroeidterreindeel.sqlite'}"
        waterdeel = "{SHARED / 'bgt_waterdeel.sqlite'}"
    """))
    return folder


def build_in_child(scene: Path) -> dict:
    # a first build fills the numba cache, the measured one runs on a warm cache in a new process
    for _ in range(2):
        out = subprocess.run([sys.executable, "-c", CHILD, str(scene)], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scales", type=int, nargs="+", default=[1, 10])
    args = parser.parse_args()
    from stadstwin.sample import write_sample

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        cases = []
        if SHARED.is_dir():
            cases.append(("Delft crop (AHN3 + BGT)", delft_scene(Path(tmp))))
        for scale in args.scales:
            cases.append((f"demo district scale {scale}", write_sample(Path(tmp) / f"demo{scale}", scale=scale)))
        for name, scene in cases:
            r = build_in_child(scene)
            rows.append({"twin": name, "seconds": r["seconds"], "peak RSS MiB": r["peak_rss_mib"],
                         "cells": r["cells"], "buildings": r["buildings"], "segments": r["segments"],
                         "MiB per Mcell": r["peak_rss_mib"] / (r["cells"] / 1e6)})
    report("twin", rows, notes="Build without cache on a warm numba cache; peak RSS of the whole process "
                               "(Python, libraries and the twin).")


if __name__ == "__main__":
    main()
