"""One plan, one answer: the demo's greening plan run through the CLI (`stadstwin compare`), a
service compare job and a batch study — each on its own copy of the scene, with its own result
cache — gives the same metrics for every analysis, with the settings the scene implies (the thermal
soil, the heat day and the plan area) in all three."""

import json
import math
import shutil
import time

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from stadstwin.analyses.registry import ANALYSES
from stadstwin.batch.runner import run_study
from stadstwin.batch.study import Study
from stadstwin.build.cache import CACHE_FOLDER
from stadstwin.cli import app
from stadstwin.model.scene import Scene
from stadstwin.service import create_app

VARIANTS = ["base", "greening"]


def scene_copy(demo_scene, folder):
    """A copy of the demo district (its twin built, no analysis result); the path of its scene."""
    root = shutil.copytree(demo_scene.parent.parent, folder / "district")
    copy = root / demo_scene.relative_to(demo_scene.parent.parent)
    shutil.rmtree(copy / CACHE_FOLDER / "results", ignore_errors=True)
    shutil.rmtree(root / "scenes" / ".service", ignore_errors=True)
    return copy


@pytest.fixture(scope="module")
def answers(demo_scene, tmp_path_factory):
    """{entry point: {variant: {"<analysis>.<metric>": value}}} and the CLI/service settings."""
    metrics, settings = {}, {}

    cli_scene = scene_copy(demo_scene, tmp_path_factory.mktemp("cli"))
    out = cli_scene.parent / "report"
    run = CliRunner().invoke(app, ["compare", str(cli_scene), *VARIANTS, "--out", str(out)])
    assert run.exit_code == 0, run.output
    report = json.loads((out / "report.json").read_text())
    metrics["cli"] = {v["id"]: v["metrics"] for v in report["variants"]}
    settings["cli"] = {v["id"]: v["settings"] for v in report["variants"]}

    service_scene = scene_copy(demo_scene, tmp_path_factory.mktemp("service"))
    application = create_app(service_scene.parent, service_scene.parent / "service.sqlite", workers=1)
    token = application.state.service.store.add_token("gemeente", "analyst", "edit")
    headers = {"Authorization": f"Bearer {token}"}
    with TestClient(application) as client:
        started = client.post("/api/processes/compare/execution", headers=headers,
                              json={"inputs": {"scene": "demo", "variants": VARIANTS}})
        assert started.status_code == 201, started.text
        location = started.headers["location"]
        for _ in range(1200):
            status = client.get(location, headers=headers).json()
            if status["status"] in ("successful", "failed"):
                break
            time.sleep(0.25)
        assert status["status"] == "successful", status
        result = client.get(f"{location}/results", headers=headers).json()
    metrics["service"] = {v["id"]: v["metrics"] for v in result["variants"]}
    settings["service"] = {v["id"]: v["settings"] for v in result["variants"]}

    batch_scene = scene_copy(demo_scene, tmp_path_factory.mktemp("batch"))
    study_path = batch_scene.parent / "study.toml"
    study_path.write_text(f'name = "one-answer"\nscene = "{batch_scene.as_posix()}"\n'
                          f'analyses = {json.dumps(sorted(ANALYSES))}\nvariants = {json.dumps(VARIANTS)}\n'
                          '[output]\nfolder = "out"\n', encoding="utf-8")
    rows = run_study(Study.load(study_path), workers=1, processes=False).results.set_index("variant")
    assert (rows["status"] == "ok").all(), rows["error"].tolist()
    columns = [c for c in rows.columns if "." in c and c.split(".")[0] in ANALYSES]
    metrics["batch"] = {vid: {c: rows.loc[vid, c] for c in columns if not math.isnan(rows.loc[vid, c])}
                        for vid in VARIANTS}
    return metrics, settings, Scene.load(batch_scene)


def test_cli_service_and_batch_give_the_same_metrics(answers):
    metrics, _, _ = answers
    cli = metrics["cli"]
    for entry in ("service", "batch"):
        for vid in VARIANTS:
            finite = {k: v for k, v in cli[vid].items() if v is not None and not math.isnan(v)}
            assert set(metrics[entry][vid]) == set(finite), entry
            differ = {name: (value, metrics[entry][vid][name]) for name, value in finite.items()
                      if metrics[entry][vid][name] != value}
            assert not differ, (entry, vid, differ)


def test_the_scene_implied_settings_count_everywhere(answers):
    metrics, settings, scene = answers
    for entry in ("cli", "service", "batch"):
        assert "heat.pet_mean_c_plan_area" in metrics[entry]["greening"], entry  # the plan area is known
        assert "thermal.water_max_temperature_c" in metrics[entry]["base"], entry
    assert settings["cli"] == settings["service"]
    for vid in VARIANTS:
        assert settings["cli"][vid]["thermal"]["soil"] == scene.soil.soil
        assert settings["cli"][vid]["heat"]["area"] == settings["cli"]["greening"]["heat"]["area"]
