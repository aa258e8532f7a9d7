"""The real scene the project ships: scenes/delft on the open data in data/delft, from a clean checkout."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from stadstwin.cli import app
from stadstwin.model.scene import Scene
from stadstwin.scenario.pipeline import Site, run_analysis
from stadstwin.scenario.variants import BASE, find_variant

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def delft(tmp_path_factory) -> Path:
    """scenes/delft and data/delft copied side by side, so the build cache stays out of the checkout."""
    root = tmp_path_factory.mktemp("shipped")
    shutil.copytree(REPO / "scenes" / "delft", root / "scenes" / "delft",
                    ignore=shutil.ignore_patterns("results", ".stadstwin-cache"))
    shutil.copytree(REPO / "data", root / "data")
    return root / "scenes" / "delft"


def test_every_shipped_file_is_listed_with_its_licence_and_equals_the_open_original(shared_data):
    readme = (REPO / "data" / "README.md").read_text(encoding="utf-8")
    shipped = sorted(p for p in (REPO / "data").rglob("*") if p.is_file() and p.name != "README.md")
    assert shipped
    for path in shipped:
        relative = path.relative_to(REPO / "data").as_posix()
        row = next(line for line in readme.splitlines() if f"`{relative}`" in line)
        assert "CC0" in row or "CC BY" in row
        original = shared_data / relative
        assert hashlib.sha256(path.read_bytes()).digest() == hashlib.sha256(original.read_bytes()).digest()


def test_the_delft_scene_validates_builds_and_its_plan_keeps_water_off_the_street(delft):
    result = CliRunner().invoke(app, ["scene", "validate", str(delft)])
    assert result.exit_code == 0, result.output
    site = Site.open(delft)
    twin = site.twin(find_variant(site.scene, BASE)[0])
    assert len(twin.buildings) == 139 and np.isfinite(twin.dtm.values()).all()
    assert -1.0 < np.nanmin(twin.dtm.values()) < np.nanmax(twin.dtm.values()) < 2.0  # AHN3 ground, m NAP
    water = {}
    for name in (BASE, "waterberging"):
        plan, origin = find_variant(site.scene, name)
        water[name] = run_analysis(site, plan, "water", {}, origin=origin).metrics
        assert water[name]["volume_balance_relative"] < 1e-9
    assert water["waterberging"]["retention_stored_m3"] > 0
    assert water["waterberging"]["flooded_area_10cm_m2"] < water[BASE]["flooded_area_10cm_m2"]
    assert [v.id for v in Scene.load(delft).load_variants()] == ["waterberging"]


def test_serve_without_an_argument_serves_the_scenes_folder():
    import inspect

    from stadstwin import cli

    default = inspect.signature(cli.serve).parameters["scenes"].default.default
    assert default == Path("scenes") and (REPO / default / "delft" / "scene.toml").is_file()
