"""The command line: help, version and scene validation with exit codes and readable errors."""

import textwrap

from typer.testing import CliRunner

from stadstwin import __version__
from stadstwin.cli import app

runner = CliRunner()


def test_help_lists_only_working_commands():
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    assert "scene" in result.output


def test_version():
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert __version__ in result.output


def test_scene_validate_ok(tmp_path, shared_data):
    (tmp_path / "scene.toml").write_text(textwrap.dedent(f"""
        name = "delft"
        [extent]
        xmin = 84808
        ymin = 447413
        xmax = 85000
        ymax = 447641
        [sources]
        klic = ["{shared_data / 'klic' / 'Levering_22O000518_1.zip'}"]
    """))
    result = runner.invoke(app, ["scene", "validate", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "Levering_22O000518_1.zip" in result.output
    assert "scene is valid" in result.output


def test_scene_validate_error_is_one_line_without_traceback(tmp_path):
    (tmp_path / "scene.toml").write_text('name = "x"\n')
    result = runner.invoke(app, ["scene", "validate", str(tmp_path)])
    assert result.exit_code == 1
    assert "extent: Field required" in result.output
    assert "Traceback" not in result.output


def test_export_every_format_opens_in_its_library(demo_scene, tmp_path):
    import json

    import pyogrio
    import rasterio
    import trimesh

    for fmt in ("glb", "cityjson", "gpkg", "cog"):
        result = runner.invoke(app, ["export", str(demo_scene), "--format", fmt, "--out", str(tmp_path / fmt)])
        assert result.exit_code == 0, result.output
    water = trimesh.load(tmp_path / "glb" / "network_water.glb")
    assert len(water.geometry) > 10
    city = json.loads((tmp_path / "cityjson" / "demo.city.json").read_text())
    assert city["version"] == "2.0" and sum(o["type"] == "Building" for o in city["CityObjects"].values()) == 190
    layers = {name for name, _ in pyogrio.list_layers(tmp_path / "gpkg" / "demo.gpkg")}
    assert {"water", "electricity_lv", "buildings", "trees"} <= layers
    with rasterio.open(tmp_path / "cog" / "dtm.tif") as dtm:
        assert dtm.crs.to_epsg() == 28992 and dtm.width == 510


def test_export_refuses_unknown_format_and_variant(demo_scene):
    result = runner.invoke(app, ["export", str(demo_scene), "--format", "obj"])
    assert result.exit_code == 1 and "unknown format 'obj'" in result.output
    result = runner.invoke(app, ["export", str(demo_scene), "--variant", "nope"])
    assert result.exit_code == 1 and "unknown variant 'nope'" in result.output
