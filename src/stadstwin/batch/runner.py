"""Run a study on Dask: each finished task is written at once, so an interrupted study resumes.

Tasks are keyed by content (base twin, variant, analyses, settings): a task whose result file
exists is not recomputed. The base twin is built once on the client and scattered to the workers.
``scheduler=None`` starts a local cluster; an address uses an existing cluster with the same code.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from dask.distributed import Client, LocalCluster, as_completed

from stadstwin.analyses.registry import ANALYSES
from stadstwin.analyses.result import Analysis
from stadstwin.batch.study import Study, study_variants
from stadstwin.batch.tasks import run_task
from stadstwin.build.cache import content_key, twin_key
from stadstwin.build.twin_builder import build_twin
from stadstwin.errors import SceneError
from stadstwin.model.scene import Scene
from stadstwin.scenario.compare import variant_key

#: ``progress(done, total)`` after every finished task (resumed tasks count as done at the start).
Progress = Callable[[int, int], None]


@dataclass
class StudyRun:
    """What a run did and the combined results table."""

    results: pd.DataFrame
    computed: int
    resumed: int
    failed: int
    folder: Path


def task_folder(study: Study) -> Path:
    return study.output_folder / "tasks"


def run_study(
    study: Study,
    *,
    scheduler: str | None = None,
    workers: int = 2,
    processes: bool = True,
    analyses: Mapping[str, Analysis] | None = None,
    progress: Progress | None = None,
) -> StudyRun:
    """Run every unfinished task of ``study`` and return the combined results."""
    analyses = dict(ANALYSES if analyses is None else analyses)
    unknown = sorted(set(study.analyses) - set(analyses))
    if unknown:
        raise SceneError(f"unknown analysis {unknown}", path=study.root,
                         hint=f"available: {', '.join(sorted(analyses)) or 'none'}")
    chosen = {name: analyses[name] for name in study.analyses}
    scene = Scene.load(study.scene_path)
    variants, parameters = study_variants(study, scene)
    rules = scene.load_rules()
    base_key = twin_key(scene)
    folder = task_folder(study)
    folder.mkdir(parents=True, exist_ok=True)
    settings_text = json.dumps(study.settings, sort_keys=True, default=str)
    tasks = {content_key(variant_key(base_key, v), *study.analyses, settings_text): v for v in variants}
    todo = {key: v for key, v in tasks.items() if not (folder / f"{key}.parquet").is_file()}
    resumed = len(tasks) - len(todo)
    done = resumed
    if progress is not None:
        progress(done, len(tasks))
    failed = 0
    if todo:
        base = build_twin(scene)
        with _client(scheduler, workers, processes) as client:
            base_future = client.scatter(base, broadcast=True)
            futures = [client.submit(run_task, key, base_future, v, rules, chosen, study.settings,
                                     key=f"study-{key}", pure=False) for key, v in todo.items()]
            for future in as_completed(futures):
                row = future.result()
                row.update({f"param.{k}": v for k, v in parameters.get(row["variant"], {}).items()})
                _write_row(folder / f"{row['task']}.parquet", row)
                failed += row["status"] != "ok"
                done += 1
                if progress is not None:
                    progress(done, len(tasks))
    results = collect(study, keys=list(tasks))
    return StudyRun(results, len(todo), resumed, failed, study.output_folder)


def _client(scheduler: str | None, workers: int, processes: bool) -> Client:
    if scheduler:
        return Client(scheduler)
    cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=processes,
                           dashboard_address=None)
    return Client(cluster)


def _write_row(path: Path, row: dict[str, Any]) -> None:
    temporary = path.with_suffix(".tmp")
    pd.DataFrame([row]).to_parquet(temporary, index=False)
    temporary.replace(path)


def collect(study: Study, keys: list[str] | None = None) -> pd.DataFrame:
    """The finished task rows of a study as one table (in task order when ``keys`` is given)."""
    folder = task_folder(study)
    paths = [folder / f"{k}.parquet" for k in keys] if keys is not None else sorted(folder.glob("*.parquet"))
    frames = [pd.read_parquet(p) for p in paths if p.is_file()]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
