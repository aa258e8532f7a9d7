"""Run a study on Dask: each finished task is written at once, so an interrupted study resumes.

Every task runs its analyses through ``scenario.pipeline`` (the settings are resolved once on the
client: the scene's, the study's on top, the plan area of all the study's variants), so a row holds
the numbers the CLI and the service give for that variant. Tasks are keyed by content (variant twin,
each analysis's code and settings, the rule tables): a task whose result file holds a finished row
is not recomputed; a failed one is tried again on the next run. The scene's site (base twin, rules)
is opened once on the client and scattered to the workers; on a local cluster they share the
scene's result cache. ``scheduler=None`` starts a local cluster; an address uses an existing
cluster (whose workers have stadstwin installed) with the same code.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from dask.distributed import Client, LocalCluster, as_completed

from stadstwin.analyses.registry import ANALYSES, PLANNING
from stadstwin.analyses.result import Analysis
from stadstwin.batch.study import PLAN_FIELD, Study, plan_shifts, study_variants
from stadstwin.batch.tasks import run_task
from stadstwin.build.cache import content_key
from stadstwin.errors import SceneError
from stadstwin.rules.usage import TABLES, tables_digest
from stadstwin.scenario.pipeline import Prepared, ResultCache, Site, prepare

#: Local clusters use worker threads by default. Measured with ``benchmarks/bench_study.py`` (demo
#: district, 2 vCPUs, one numba thread per worker, 2026-12-04): 8 heat tasks of ~3.3 s took 26.5 s on
#: one thread worker and 14.2 s on two (efficiency 0.93), against 34.3 s and 20.1 s on processes
#: (0.85; start-up 2.5–2.9 s, and each worker compiles or loads the numba kernels again); 8 clash tasks
#: of ~0.15 s took 1.2 s on two threads and 4.4 s on two processes; 100 near-free tasks cost 7–20 ms
#: each beyond a plain loop on threads and 15–26 ms on processes (two runs). The numba kernels release the GIL,
#: and since analyses no longer draw (no pyplot) nothing in a task is thread-unsafe.
#: ``--processes`` remains for analyses that hold the GIL for long in pure Python.
PROCESSES_BY_DEFAULT = False

#: ``progress(done, total)`` after every task computed in this run (tasks resumed from an earlier
#: run are not counted, so the rate and ETA reflect real work).
Progress = Callable[[int, int], None]


@dataclass
class StudyRun:
    """What a run did and the combined results table (one row per task, in study order)."""

    results: pd.DataFrame
    computed: int
    resumed: int
    failed: int
    folder: Path


def task_folder(study: Study) -> Path:
    """Where each finished task's row lies as ``<task key>.parquet``."""
    return study.output_folder / "tasks"


def run_study(
    study: Study,
    *,
    scheduler: str | None = None,
    workers: int = 2,
    processes: bool = PROCESSES_BY_DEFAULT,
    analyses: Mapping[str, Analysis] | None = None,
    progress: Progress | None = None,
) -> StudyRun:
    """Run every unfinished task of ``study`` and return the combined results.

    ``analyses`` replaces the registries (default: ``ANALYSES`` and ``PLANNING``; a separate worker
    process can only run functions it can import); ``workers`` and ``processes`` shape the local cluster and are ignored with ``scheduler``.
    """
    analyses = {**ANALYSES, **PLANNING} if analyses is None else analyses
    unknown = [name for name in study.analyses if name not in analyses]
    if unknown:
        raise SceneError(f"analyses: unknown analysis {', '.join(map(repr, unknown))}", path=study.path,
                         hint=f"available: {', '.join(sorted(analyses)) or 'none'}")
    chosen = {name: analyses[name] for name in study.analyses}
    scene = study.load_scene()
    variants, parameters = study_variants(study, scene)
    site = Site.open(scene, analyses=chosen)
    if scheduler:  # remote workers may not see the scene's folder
        site.results = ResultCache(None)
    prepared = [prepare(site, name, variants, study.settings.get(name)) for name in study.analyses]
    shifts = plan_shifts(study, scene)
    by_variant = {v.id: _shifted(site, study, variants, prepared, shifts.get(v.id)) for v in variants}
    folder = task_folder(study)
    folder.mkdir(parents=True, exist_ok=True)
    rules_key = tables_digest(site.rules, TABLES)
    tasks = {content_key(site.key(v), *(p.key for p in by_variant[v.id]), rules_key): v for v in variants}
    rows = {key: _read_row(folder / f"{key}.parquet") for key in tasks}
    todo = {key: v for key, v in tasks.items() if not (rows[key] and rows[key].get("status") == "ok")}
    failed = done = 0
    if todo:
        with cluster_client(scheduler, workers, processes) as client:
            site_future, prepared_future = client.scatter([site, prepared], broadcast=True)
            futures = {client.submit(run_task, key, site_future, v,
                                     by_variant[v.id] if v.id in shifts else prepared_future,
                                     key=f"stadstwin-study-{key}"): (key, v) for key, v in todo.items()}
            if progress is not None:
                progress(0, len(todo))
            for future in as_completed(futures):
                key, variant = futures[future]
                row = future.result() if future.status == "finished" else _lost(key, variant, future)
                row.update({f"param.{k}": v for k, v in parameters.get(variant.id, {}).items()})
                _write_row(folder / f"{key}.parquet", row)
                rows[key] = row
                failed += row["status"] != "ok"
                done += 1
                if progress is not None:
                    progress(done, len(todo))
    results = pd.DataFrame([rows[key] for key in tasks if rows[key] is not None])
    return StudyRun(results, len(todo), len(tasks) - len(todo), failed, study.output_folder)


def _shifted(site: Site, study: Study, variants: list, prepared: list[Prepared],
             shift: dict[str, int] | None) -> list[Prepared]:
    """The prepared analyses of one variant: the plan register's analyses with its plan shifts (if any)."""
    if not shift:
        return prepared
    return [prepare(site, p.name, variants, {**study.settings.get(p.name, {}), PLAN_FIELD: shift})
            if p.name in PLANNING else p for p in prepared]


@contextmanager
def cluster_client(scheduler: str | None, workers: int, processes: bool) -> Iterator[Client]:
    """A client of the cluster at ``scheduler``, or of a new local cluster closed on exit."""
    if scheduler:
        with Client(scheduler) as client:
            yield client
        return
    # no dashboard; the scheduler's HTTP endpoints on a free port (not the shared default 8787)
    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=processes, dashboard_address=":0",
                      scheduler_kwargs={"dashboard": False}) as cluster, Client(cluster) as client:
        yield client


def _lost(key: str, variant: Any, future: Any) -> dict[str, Any]:
    """The error row of a task the cluster could not finish (a killed worker, a lost connection)."""
    try:
        exc = future.exception()
    except Exception as cancelled:  # noqa: BLE001 - a cancelled future raises instead of returning
        exc = cancelled
    return {"task": key, "variant": variant.id, "name": variant.name, "status": "error",
            "error": f"{type(exc).__name__}: {exc}", "seconds": float("nan")}


def _read_row(path: Path) -> dict[str, Any] | None:
    """The task row written at ``path``; None when there is none (or it cannot be read)."""
    if not path.is_file():
        return None
    try:
        return pq.read_table(path).to_pylist()[0]
    except (OSError, IndexError, pa.ArrowException):
        return None


def _write_row(path: Path, row: dict[str, Any]) -> None:
    """Write one task row atomically (temp file + rename)."""
    temporary = path.with_suffix(".tmp")
    pq.write_table(pa.Table.from_pylist([row]), temporary)
    temporary.replace(path)
