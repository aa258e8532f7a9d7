"""Benchmark: a batch study on a local Dask cluster — threads against processes, 1 and 2 workers.

Input: the demo district (written and built once in a temporary folder) and studies generated from
its ``greening`` variant:

- *work*: ``--work`` variants (tree count 1…N) with ``--analysis`` (``clashes``: numba kernels plus
  the Python around them, variant edits and findings, ~0.15 s a task; ``heat``: shadows, sky view,
  Tmrt, UTCI and PET over the day, seconds a task). Scaling efficiency from 1 to 2 workers is
  t(1) / (2 · t(2)) per pool kind — this decides whether the numba kernels' GIL release carries a
  whole task (threads scale) or not (processes needed).
- *overhead*: 100 variants (count × sideways shift) with a cheap analysis (tree count and mean
  height), so that what a task costs beyond its work shows: wall time per task on the cluster
  against the same tasks run in a plain loop in this process (the peer: no Dask at all).

Every run starts its own cluster (start-up included in its wall time; measured alone as well) and
recomputes every task (its output folder and the scene's result cache are emptied). One numba
thread per worker, so that two workers on two cores do not oversubscribe them. Run: ``python benchmarks/bench_study.py [--work 8]``.
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("NUMBA_NUM_THREADS", "1")

import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
from harness import report

from stadstwin.analyses.registry import ANALYSES
from stadstwin.analyses.result import AnalysisResult
from stadstwin.batch.runner import cluster_client, run_study
from stadstwin.batch.study import Study, study_variants
from stadstwin.batch.tasks import run_task
from stadstwin.build.cache import CACHE_FOLDER
from stadstwin.build.twin_builder import build_twin
from stadstwin.sample import write_sample
from stadstwin.scenario.pipeline import ResultCache, Site, prepare


def tree_count(twin, rules, settings):
    """Number of trees and their mean height [m]: a near-free analysis, so task overhead shows."""
    return AnalysisResult("trees", metrics={"count": float(len(twin.trees.height)),
                                            "mean_height_m": float(np.mean(twin.trees.height))})


def study_file(folder: Path, scene: Path, name: str, analysis: str, parameters: str) -> Study:
    path = folder / f"{name}.toml"
    path.write_text(f"""name = "{name}"
scene = "{scene.as_posix()}"
analyses = ["{analysis}"]
[output]
folder = "out-{name}"
[[generate]]
from = "greening"
{parameters}
""", encoding="utf-8")
    return Study.load(path)


def timed_run(study: Study, workers: int, processes: bool, analyses) -> float:
    shutil.rmtree(study.output_folder, ignore_errors=True)
    shutil.rmtree(study.load_scene().root / CACHE_FOLDER / "results", ignore_errors=True)
    start = time.perf_counter()
    run = run_study(study, workers=workers, processes=processes, analyses=analyses)
    wall = time.perf_counter() - start
    assert run.computed == len(run.results) and run.failed == 0, run.results.get("error")
    return wall


def startup(workers: int, processes: bool) -> float:
    start = time.perf_counter()
    with cluster_client(None, workers, processes) as client:
        client.submit(sum, [1, 2]).result()
    return time.perf_counter() - start


def serial(study: Study, analyses) -> float:
    """The study's tasks in a plain loop in this process (no Dask) [s]."""
    scene = study.load_scene()
    variants, _ = study_variants(study, scene)
    site = Site.open(scene, analyses={name: analyses[name] for name in study.analyses})
    site.results = ResultCache(None)  # compute every task, as the timed runs do
    prepared = [prepare(site, name, variants, study.settings.get(name)) for name in study.analyses]
    run_task("warm-up", site, variants[0], prepared)
    start = time.perf_counter()
    for variant in variants:
        run_task(variant.id, site, variant, prepared)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=int, default=8, help="variants of the work study (1–12)")
    parser.add_argument("--analysis", default="clashes", choices=("clashes", "heat", "thermal"),
                        help="analysis of the work study")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        scene = write_sample(folder / "demo")
        build_twin(scene)
        work = study_file(folder, scene, "work", args.analysis, f"""[generate.parameters.trees]
edit = "greening-trees-1"
field = "count"
values = {list(range(1, args.work + 1))}""")
        overhead = study_file(folder, scene, "overhead", "trees", """[generate.parameters.trees]
edit = "greening-trees-1"
field = "count"
values = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]
[generate.parameters.shift]
edit = "greening-trees-1"
field = "dx"
values = [-2.25, -1.75, -1.25, -0.75, -0.25, 0.25, 0.75, 1.25, 1.75, 2.25]""")
        cheap = {"trees": tree_count}
        work_serial = serial(work, ANALYSES)
        overhead_serial = serial(overhead, cheap)
        rows = [{"study": "work", "pool": "loop", "workers": 1, "wall_s": work_serial,
                 "task_ms": 1e3 * work_serial / args.work},
                {"study": "overhead", "pool": "loop", "workers": 1, "wall_s": overhead_serial,
                 "task_ms": 10 * overhead_serial}]
        for processes in (False, True):
            pool = "processes" if processes else "threads"
            net = {}
            for workers in (1, 2):
                start_s = startup(workers, processes)
                wall = timed_run(work, workers, processes, ANALYSES)
                net[workers] = (wall, wall - start_s)
                rows.append({"study": "work", "pool": pool, "workers": workers, "start_s": start_s, "wall_s": wall,
                             "task_ms": 1e3 * (wall - start_s) / args.work * workers})
                wall = timed_run(overhead, workers, processes, cheap)
                task_ms = 10 * (wall - start_s) * workers
                rows.append({"study": "overhead", "pool": pool, "workers": workers, "start_s": start_s,
                             "wall_s": wall, "task_ms": task_ms, "overhead_ms": task_ms - 10 * overhead_serial})
            rows.append({"study": "work", "pool": pool, "workers": "1→2",
                         "efficiency": net[1][0] / (2 * net[2][0]),
                         "efficiency_net": net[1][1] / (2 * net[2][1])})
    report("study", rows, notes=(
        f"work: {args.work} {args.analysis} tasks; overhead: 100 tree-count tasks. start_s: cluster start-up alone. "
        "task_ms: worker time per task, (wall − start-up) × workers / tasks. overhead_ms: task_ms minus "
        "the plain loop's time per task. efficiency: t(1 worker) / (2 · t(2 workers)) with start-up, "
        "efficiency_net without."))


if __name__ == "__main__":
    main()
