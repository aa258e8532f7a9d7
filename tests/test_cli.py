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


def test_help_keeps_units_in_brackets():
    # a help text in rich markup would read "[m]" as a style tag and drop it
    for command in (["build"], ["export"], ["check", "heat"], ["scene", "init"], ["check", "sightlines"]):
        result = runner.invoke(app, [*command, "--help"], terminal_width=200)
        assert result.exit_code == 0
        assert "[m]" in result.output or "[m " in result.output, command


def test_version():
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert __version__ in result.output


def test_scene_validate_ok(tmp_path, shared_data):
    (tmp_path / "scene.toml").write_text(textwrap.dedent(f"""
        name = "klic"
        [extent]
        xmin = 189400
        ymin = 352300
        xmax = 189500
        ymax = 352400
        [sources]
        klic = ["{shared_data / 'klic' / 'Levering_22O000518_1.zip'}"]
        [terrain]
        constant_nap = 5.0
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
        assert dtm.tags()["VERTICAL_CRS"] == "EPSG:5709"  # the heights say they are NAP


def test_export_refuses_unknown_format_and_variant(demo_scene):
    result = runner.invoke(app, ["export", str(demo_scene), "--format", "obj"])
    assert result.exit_code == 1 and "unknown format 'obj'" in result.output
    result = runner.invoke(app, ["export", str(demo_scene), "--variant", "nope"])
    assert result.exit_code == 1 and "unknown variant 'nope'" in result.output


def test_check_water_writes_map_cog_and_json_and_the_demo_plan_keeps_the_water_in_the_yards(demo_scene, tmp_path):
    import json

    import rasterio

    results = {}
    for variant in ("base", "waterberging"):
        out = tmp_path / variant
        result = runner.invoke(app, ["check", "water", str(demo_scene), "--variant", variant, "--out", str(out)])
        assert result.exit_code == 0, result.output
        assert "area > 10 cm [m²]" in result.output
        results[variant] = json.loads((out / "water.json").read_text())
        assert (out / "water_depth.png").read_bytes()[:4] == b"\x89PNG"
        with rasterio.open(out / "water_depth.tif") as tif:
            assert tif.crs.to_epsg() == 28992 and (tif.width, tif.height) == (510, 370)  # the twin's 0.5 m grid
    base, plan = results["base"]["metrics"], results["waterberging"]["metrics"]
    for metrics in (base, plan):
        assert metrics["volume_balance_relative"] < 1e-9
    assert base["flooded_area_10cm_m2"] > 0 and base["buildings_wet_entrance"] == len(results["base"]["findings"]["features"])
    assert plan["flooded_area_10cm_m2"] < base["flooded_area_10cm_m2"]
    assert plan["buildings_wet_entrance"] < base["buildings_wet_entrance"]
    assert plan["retention_stored_m3"] > 0


def test_check_sightlines_writes_map_cog_and_json_and_the_pavilion_blocks_the_bench(demo_scene, tmp_path):
    import json

    import rasterio

    results = {}
    for variant in ("base", "paviljoen"):
        out = tmp_path / variant
        result = runner.invoke(app, ["check", "sightlines", str(demo_scene), "--variant", variant, "--out", str(out)])
        assert result.exit_code == 0, result.output
        assert "visible [m²]" in result.output and "BOOM-0012" in result.output  # the street tree in the way
        results[variant] = json.loads((out / "sightlines.json").read_text())
        assert (out / "visible_count.png").read_bytes()[:4] == b"\x89PNG"
        with rasterio.open(out / "visible_count.tif") as tif:
            assert tif.crs.to_epsg() == 28992 and (tif.width, tif.height) == (510, 370)
            assert tif.read(1).max() == 2.0  # both viewpoints see some cells
    base, plan = results["base"], results["paviljoen"]
    assert base["metrics"]["blocked_sight_lines"] == 1.0 and plan["metrics"]["blocked_sight_lines"] == 2.0
    assert plan["metrics"]["visible_area_m2_parkbank"] < base["metrics"]["visible_area_m2_parkbank"]
    blocked = [f["properties"] for f in plan["findings"]["features"] if f["properties"]["feature_viewpoint"] == "parkbank"]
    assert [p["blocked_by"] for p in blocked] == ["paviljoen/paviljoen"]
    wide = runner.invoke(app, ["check", "sightlines", str(demo_scene), "--radius", "40", "--transparent-trees",
                               "--out", str(tmp_path / "wide")])
    assert wide.exit_code == 0, wide.output
    assert json.loads((tmp_path / "wide" / "sightlines.json").read_text())["metrics"]["blocked_sight_lines"] == 0.0
    bench = base["details"]["viewpoints"][0]
    own = runner.invoke(app, ["check", "sightlines", str(demo_scene), "--viewpoint", f"{bench['x']},{bench['y']}",
                              "--viewpoint", "155167.5,463092.5", "--out", str(tmp_path / "own")])
    assert own.exit_code == 0, own.output
    mine = json.loads((tmp_path / "own" / "sightlines.json").read_text())["metrics"]
    assert mine["visible_area_m2_punt_1"] == base["metrics"]["visible_area_m2_parkbank"]  # the same place
    assert mine["visible_area_m2_punt_2"] == base["metrics"]["visible_area_m2_kruispunt"]
    # a route that starts at the bench sees at least what the bench sees (the union of its observers)
    walk = runner.invoke(app, ["check", "sightlines", str(demo_scene), "--along",
                               f"{bench['x']},{bench['y']} {bench['x']},{bench['y'] - 10}", "--out", str(tmp_path / "walk")])
    assert walk.exit_code == 0, walk.output
    walked = json.loads((tmp_path / "walk" / "sightlines.json").read_text())
    assert walked["details"]["viewpoints"][0]["observers"] == 3
    assert walked["metrics"]["visible_area_m2_route"] >= base["metrics"]["visible_area_m2_parkbank"]
    bad = runner.invoke(app, ["check", "sightlines", str(demo_scene), "--viewpoint", "155100"])
    assert bad.exit_code == 1 and "--viewpoint" in bad.output and "X,Y" in bad.output


def test_check_sightlines_without_viewpoints_names_the_scene(tmp_path):
    scene = tmp_path / "leeg"
    scene.mkdir()
    (scene / "scene.toml").write_text(
        'name = "leeg"\n[extent]\nxmin = 155000.0\nymin = 463000.0\nxmax = 155020.0\nymax = 463020.0\n'
        '[terrain]\nconstant_nap = 1.0\n', encoding="utf-8")
    result = runner.invoke(app, ["check", "sightlines", str(scene)])
    assert result.exit_code == 1 and "no viewpoints" in result.output and "scene.toml" in result.output


def test_check_water_takes_a_hyetograph_file_and_names_a_bad_one(demo_scene, tmp_path):
    import json

    block = tmp_path / "block.csv"
    block.write_text("minutes;mm\n60;35\n120;35\n", encoding="utf-8")  # the t70 storm in two equal hours
    outputs = {}
    for name, option in (("named", ["--storm", "t70"]), ("file", ["--hyetograph", str(block)])):
        result = runner.invoke(app, ["check", "water", str(demo_scene), *option, "--out", str(tmp_path / name)])
        assert result.exit_code == 0, result.output
        outputs[name] = json.loads((tmp_path / name / "water.json").read_text())["metrics"]
    for key in ("ponded_m3", "lost_m3", "flooded_area_10cm_m2"):  # losses are constant rates: the same water
        assert abs(outputs["file"][key] - outputs["named"][key]) <= 1e-9 * max(1.0, abs(outputs["named"][key]))
    bad = tmp_path / "bad.csv"
    bad.write_text("minutes,mm\n5,2\n15,x\n", encoding="utf-8")
    result = runner.invoke(app, ["check", "water", str(demo_scene), "--hyetograph", str(bad)])
    assert result.exit_code == 1 and "bad.csv" in result.output and "line 3" in result.output


def test_warnings_print_as_one_line_naming_file_and_what_was_done(tmp_path, shared_data):
    """A transitional KLIC zip (IMKL 1.2 and 2.0 copies) warns once, on one line, without the
    Python source location of the warning."""
    import zipfile

    gi = "22O000518_1/GI_gebiedsinformatielevering_22O000518_1"
    with zipfile.ZipFile(shared_data / "klic" / "Levering_22O000518_1.zip") as z:
        v2 = z.read(f"{gi}_V2.xml")
    with zipfile.ZipFile(tmp_path / "levering.zip", "w") as z:
        z.writestr(f"{gi}.xml", v2.replace(b"http://www.geostandaarden.nl/imkl/wibon",
                                           b"http://www.geostandaarden.nl/imkl/2015/wion/1.2"))
        z.writestr(f"{gi}_V2.xml", v2)
    (tmp_path / "scene.toml").write_text(textwrap.dedent("""
        name = "klic"
        cell_size = 2.0
        [extent]
        xmin = 189357
        ymin = 352285
        xmax = 189536
        ymax = 352472
        [sources]
        klic = ["levering.zip"]
        [terrain]
        constant_nap = 5.0
    """))
    result = runner.invoke(app, ["build", str(tmp_path), "--no-cache"])
    assert result.exit_code == 0, result.output
    lines = [line for line in result.output.splitlines() if line.startswith("warning:")]
    assert len(lines) == 1, result.output
    assert "levering.zip" in lines[0] and "read GI_gebiedsinformatielevering_22O000518_1_V2.xml (IMKL 2.0)" in lines[0]
    assert "warnings.warn" not in result.output and "UserWarning" not in result.output
    assert "ground" in result.output and "constant ground level 5.00 m NAP" in result.output
