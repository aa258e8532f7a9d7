"""Running studies on Dask: local and remote clusters agree, interrupted runs resume, failures are rows.

The analyses here are cheap functions of this module; the separate worker process imports them
(``PYTHONPATH`` holds the tests folder).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from stadstwin.analyses.result import AnalysisResult
from stadstwin.batch.report import effect_plots, ranking, write_study_report
from stadstwin.batch.runner import run_study, task_folder
from stadstwin.batch.study import Study
from stadstwin.build.cache import CACHE_FOLDER
from stadstwin.build.twin_builder import build_twin
from stadstwin.cli import app
from stadstwin.model.assessment import Criterion

CALLS: list[int] = []


def trees(twin, rules, settings):
    """Tree count and summed tree height [m] — changes with every greening variant."""
    CALLS.append(len(twin.trees.height))
    return AnalysisResult("trees", metrics={"count": float(len(twin.trees.height)),
                                            "height_sum_m": float(np.sum(twin.trees.height))})


def fragile(twin, rules, settings):
    """Refuses twins with more than ``settings['most']`` trees."""
    if len(twin.trees.height) > settings["most"]:
        raise ValueError(f"{len(twin.trees.height)} trees is too many")
    return AnalysisResult("fragile", metrics={"fine": 1.0})


ANALYSES = {"trees": trees, "fragile": fragile}


def study_file(folder: Path, scene: Path, *, analyses=("trees",), settings: str = "", counts=(2, 5, 9)) -> Study:
    """base, greening (12 trees) and greening with the first ``counts`` trees."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "study.toml"
    path.write_text(f"""name = "small"
scene = "{scene.as_posix()}"
analyses = {list(analyses)!r}
variants = ["base", "greening"]
{settings}
[output]
folder = "out"
[[generate]]
from = "greening"
[generate.parameters.count]
edit = "greening-trees-1"
field = "count"
values = {list(counts)!r}
""".replace("'", '"'), encoding="utf-8")
    return Study.load(path)


def comparable(results: pd.DataFrame) -> pd.DataFrame:
    return results.drop(columns=["seconds"]).reset_index(drop=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def remote_cluster():
    """``dask scheduler`` and one ``dask worker`` process on loopback; stopped at the end."""
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    dask = Path(sys.executable).with_name("dask")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(__file__).parent), os.environ.get("PYTHONPATH", "")]),
           "NUMBA_NUM_THREADS": "1"}
    scheduler = subprocess.Popen([dask, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
                                 env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    worker = subprocess.Popen([dask, "worker", address, "--nworkers", "1", "--nthreads", "1", "--no-dashboard",
                               "--host", "127.0.0.1"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        from dask.distributed import Client

        deadline = time.monotonic() + 60
        while True:  # the scheduler needs a moment before it accepts clients
            try:
                with Client(address, timeout=5) as client:
                    client.wait_for_workers(1, timeout=60)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
        yield address
    finally:
        for process in (worker, scheduler):
            process.terminate()
        for process in (worker, scheduler):
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def test_local_and_remote_cluster_give_the_same_results(tmp_path, demo_scene, remote_cluster):
    local = study_file(tmp_path / "local", demo_scene)
    remote = study_file(tmp_path / "remote", demo_scene)
    on_threads = run_study(local, workers=2, processes=False, analyses=ANALYSES)
    on_cluster = run_study(remote, scheduler=remote_cluster, analyses=ANALYSES)
    assert on_threads.computed == on_cluster.computed == 5 and on_threads.failed == on_cluster.failed == 0
    pd.testing.assert_frame_equal(comparable(on_threads.results), comparable(on_cluster.results))
    results = on_threads.results.set_index("variant")
    base = results.loc["base", "trees.count"]
    assert results.loc["greening", "trees.count"] == base + 12
    generated = results[results["param.count"].notna()]
    np.testing.assert_array_equal(generated["trees.count"], base + np.array([2, 5, 9]))
    np.testing.assert_array_equal(generated["param.count"], [2, 5, 9])


def test_interrupted_study_resumes_without_recomputing(tmp_path, demo_scene):
    study = study_file(tmp_path, demo_scene)

    def stop_after_two(done, total):
        if done == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_study(study, workers=1, processes=False, analyses=ANALYSES, progress=stop_after_two)
    written = {p: p.stat().st_mtime_ns for p in task_folder(study).glob("*.parquet")}
    assert len(written) == 2
    shutil.rmtree(demo_scene / CACHE_FOLDER / "results")  # the scene's analysis results: tasks must compute
    CALLS.clear()
    seen = []
    run = run_study(study, workers=1, processes=False, analyses=ANALYSES, progress=lambda d, t: seen.append((d, t)))
    assert (run.computed, run.resumed, run.failed) == (3, 2, 0)
    assert len(CALLS) == 3 and seen[-1] == (3, 3)
    assert {p: p.stat().st_mtime_ns for p in written} == written  # finished tasks were not rewritten
    assert len(run.results) == 5 and (run.results["status"] == "ok").all()
    again = run_study(study, workers=1, processes=False, analyses=ANALYSES)
    assert (again.computed, again.resumed) == (0, 5)
    pd.testing.assert_frame_equal(again.results, run.results)
    # a new study of the same variants shares the scene's result cache (as the CLI and the service do):
    # only the two tasks resumed above, whose results went with the cache, run the analysis again
    shutil.rmtree(task_folder(study))
    CALLS.clear()
    fresh = run_study(study, workers=1, processes=False, analyses=ANALYSES)
    assert fresh.computed == 5 and len(CALLS) == 2
    pd.testing.assert_frame_equal(comparable(fresh.results), comparable(run.results))


def test_a_failing_task_is_recorded_and_the_others_complete(tmp_path, demo_scene):
    base_trees = len(build_twin(demo_scene).trees.height)
    study = study_file(tmp_path, demo_scene, analyses=("trees", "fragile"),
                       settings=f"[settings.fragile]\nmost = {base_trees + 9}")
    run = run_study(study, workers=2, processes=False, analyses=ANALYSES)
    results = run.results.set_index("variant")
    assert run.failed == 1 and run.computed == 5
    assert results.loc["greening", "status"] == "error"
    assert results.loc["greening", "error"] == f"ValueError: {base_trees + 12} trees is too many"
    assert "fragile" in results.loc["greening", "traceback"]
    assert (results.drop(index="greening")["status"] == "ok").all()
    assert (results.drop(index="greening")["fragile.fine"] == 1.0).all()
    # a failed task is tried again on the next run, the finished ones are not
    retry = run_study(study, workers=1, processes=False, analyses=ANALYSES)
    assert (retry.computed, retry.resumed, retry.failed) == (1, 4, 1)


def test_report_ranks_on_the_frame_and_inlines_the_plots(tmp_path, demo_scene):
    study = study_file(tmp_path, demo_scene)
    run = run_study(study, workers=1, processes=False, analyses=ANALYSES)
    frame = [Criterion(metric="trees.count", label="Trees", better="higher")]
    order = ranking(run.results, frame)
    ids = list(run.results["variant"])
    assert [v for v, _ in order] == [ids[1], ids[4], ids[3], ids[2], ids[0]]  # 12, 9, 5, 2, 0 new trees
    assert order[0][1] == 1.0 and order[-1][1] == 0.0
    plots = effect_plots(run.results)
    assert set(plots) == {"trees.count vs count", "trees.height_sum_m vs count"}
    assert all(png.startswith(b"\x89PNG") for png in plots.values())
    path = write_study_report(study, run.results, frame)
    text = path.read_text(encoding="utf-8")
    assert text.count("data:image/png;base64,") == 2 and 'src="http' not in text
    assert "Trees" in text and ids[4] in text
    table = pd.read_csv(path.with_name("results.csv"))
    assert list(table["variant"]) == ids


def test_cli_names_the_bad_key_of_a_study(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text('name = "s"\nscene = "x"\nanalyses = []\nvariants = ["base"]\n', encoding="utf-8")
    result = CliRunner().invoke(app, ["study", str(path)])
    assert result.exit_code == 1
    assert "analyses: List should have at least 1 item" in result.output
