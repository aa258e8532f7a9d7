"""`stadstwin plans import|list|koppelkansen|graafrust` on hand-built registers: known overlaps in space
and time, graafrust edge dates, merging into a stored register, and bad input files."""

from __future__ import annotations

import json
from datetime import date, timedelta

import numpy as np
import pyogrio
import pytest
import shapely
from typer.testing import CliRunner

from stadstwin.cli import app
from stadstwin.io.plan_register import read_plan_register

X0, Y0 = 155_000.0, 463_000.0
CRS = {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::28992"}}
RUN = CliRunner()


def feature(pid, party, start, end, geometry, **extra):
    return {"type": "Feature", "geometry": shapely.geometry.mapping(geometry),
            "properties": {"id": pid, "party": party, "theme": "test", "phase": "ontwerp",
                           "realisatie_start": str(start), "realisatie_end": str(end), **extra}}


def route(y, x0=0.0, x1=100.0):
    return shapely.LineString([(X0 + x0, Y0 + y), (X0 + x1, Y0 + y)])


def write(path, *features):
    path.write_text(json.dumps({"type": "FeatureCollection", "crs": CRS, "features": list(features)}))
    return path


def invoke(*args):
    return RUN.invoke(app, ["plans", *map(str, args)])


# the rule table (rules/programming.toml): within 10 m and at most 2 years apart
REFERENCE = feature("heat", "Eneco", "2028-03-01", "2028-09-30", route(0.0))
BOTH = feature("power", "Stedin", "2029-01-01", "2029-06-30", route(4.0))  # 4 m away, 93 days later
SPACE_ONLY = feature("fibre", "KPN", "2032-01-01", "2032-03-01", route(2.0))  # same street, 2.5 years after power
TIME_ONLY = feature("water", "Vitens", "2028-05-01", "2028-06-01", route(30.0))  # same months, 30 m away
NEITHER = feature("sewer", "Gemeente", "2035-05-01", "2035-06-01", route(60.0))


def test_import_then_koppelkansen_finds_only_the_pair_close_in_space_and_time(tmp_path):
    scene = tmp_path / "scene"
    scene.mkdir()
    source = write(tmp_path / "plans.geojson", REFERENCE, BOTH, SPACE_ONLY, TIME_ONLY, NEITHER)
    result = invoke("import", scene, source)
    assert result.exit_code == 0, result.output
    assert "5 plan(s) added, 0 replaced" in result.output
    assert [p.id for p in read_plan_register(scene / "plans.geojson")] == ["heat", "power", "fibre", "water", "sewer"]
    listed = invoke("list", scene)
    assert listed.exit_code == 0 and "5 plans of 5 parties" in listed.output
    result = invoke("koppelkansen", scene, "--out", tmp_path / "out")
    assert result.exit_code == 0, result.output
    found = json.loads((tmp_path / "out" / "koppelkansen.geojson").read_text())["features"]
    assert [f["properties"]["plans"] for f in found] == [["heat", "power"]]
    props = found[0]["properties"]
    assert props["gap_years"] == pytest.approx(93 / 365.25, abs=0.01)  # 30 Sep 2028 → 1 Jan 2029
    assert props["shared_length_m"] == pytest.approx(100.0)  # each route lies wholly within 10 m of the other
    # the ground within 5 m (half the distance) of both 1 m trenches, by shapely
    grown = [shapely.LineString(r).buffer(0.5, cap_style="flat").buffer(5.0) for r in
             (route(0.0).coords, route(4.0).coords)]
    assert props["shared_area_m2"] == pytest.approx(grown[0].intersection(grown[1]).area, abs=0.1)


def test_shifting_the_later_plan_apart_in_time_ends_the_chance(tmp_path):
    # 2 years is the limit: 30 Sep 2028 → 1 Jan 2031 is 2.25 years
    late = feature("power", "Stedin", "2031-01-01", "2031-06-30", route(4.0))
    register = write(tmp_path / "plans.geojson", REFERENCE, late)
    result = invoke("koppelkansen", tmp_path, "--register", register, "--out", tmp_path)
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "koppelkansen.geojson").read_text())["features"] == []


def test_import_merges_into_the_stored_register_and_a_bad_file_leaves_it_untouched(tmp_path):
    scene = tmp_path / "scene"
    scene.mkdir()
    assert invoke("import", scene, write(tmp_path / "a.geojson", REFERENCE, BOTH)).exit_code == 0
    moved = feature("power", "Stedin", "2030-01-01", "2030-02-01", route(4.0), trench_width=0.6)
    result = invoke("import", scene, write(tmp_path / "b.geojson", moved, NEITHER))
    assert result.exit_code == 0, result.output
    assert "1 plan(s) added, 1 replaced" in result.output
    plans = {p.id: p for p in read_plan_register(scene / "plans.geojson")}
    assert list(plans) == ["heat", "power", "sewer"]
    assert plans["power"].works.start == date(2030, 1, 1) and plans["power"].trench_width == 0.6
    assert plans["heat"].works.start == date(2028, 3, 1)
    before = (scene / "plans.geojson").read_bytes()
    bad = feature("broken", "KPN", "2031-01-01", "2031-03-01", route(2.0), trench_width="wide")
    result = invoke("import", scene, write(tmp_path / "c.geojson", NEITHER, bad))
    assert result.exit_code == 1
    assert "c.geojson" in result.output and "feature 2 (plan broken)" in result.output
    assert "trench_width" in result.output
    assert (scene / "plans.geojson").read_bytes() == before
    assert sorted(p.name for p in scene.iterdir()) == ["plans.geojson"]  # no temporary file left behind


@pytest.mark.parametrize("text, named", [
    ("id;party;theme;phase;realisatie_start;realisatie_end;wkt\n"
     f"a;KPN;telecom;idee;2029-13-01;2030-01-01;{route(2.0).wkt}\n", ["line 2 (plan a)", "realisatie_start"]),
    ("id;party;theme;phase;realisatie_start;realisatie_end;wkt\n"
     f"a;KPN;telecom;idee;2029-01-01;2030-01-01;{route(2.0).wkt}\n"
     "b;KPN;telecom;idee;2029-01-01;2030-01-01;LINESTRING (1 2,\n", ["line 3", "unreadable WKT"]),
    ("id;party;theme;phase;realisatie_start;realisatie_end;priority;wkt\n"
     f"a;KPN;telecom;idee;2029-01-01;2030-01-01;high;{route(2.0).wkt}\n", ["line 2 (plan a)", "priority"]),
    ("id;party;theme;phase;realisatie_start;realisatie_end;wkt\n"
     f"a;KPN;telecom;klaar;2029-01-01;2030-01-01;{route(2.0).wkt}\n", ["line 2 (plan a)", "phase"]),
    ("id;party;theme;phase;realisatie_start;realisatie_end;wkt\n"
     "a;KPN;telecom;idee;2029-01-01;2030-01-01;POINT (1 2)\n", ["line 2 (plan a)", "Point"]),
    ("id;party;theme;phase;realisatie_start;realisatie_end;wkt\n"
     f"a;KPN;telecom;idee;2029-01-01;2030-01-01;{route(2.0).wkt}\n"
     f"a;Stedin;energie;idee;2029-01-01;2030-01-01;{route(4.0).wkt}\n", ["'a' occurs twice"]),
    ("id;party;theme;phase;realisatie_start;realisatie_end;wkt\n", ["holds no plans"]),
])
def test_bad_csv_rows_are_named_by_file_line_and_field(tmp_path, text, named):
    scene = tmp_path / "scene"
    scene.mkdir()
    table = tmp_path / "bad.csv"
    table.write_text(text)
    result = invoke("import", scene, table)
    assert result.exit_code == 1
    message = " ".join(result.output.split())
    assert "bad.csv" in message and all(part in message for part in named), message
    assert not (scene / "plans.geojson").exists()


def test_a_geopackage_layer_is_imported_and_an_unknown_layer_named(tmp_path):
    scene = tmp_path / "scene"
    scene.mkdir()
    gpkg = tmp_path / "plans.gpkg"
    geometry = np.array([shapely.to_wkb(route(0.0)), shapely.to_wkb(route(4.0))], dtype=object)
    fields = {"id": np.array(["heat", "power"], dtype=object), "party": np.array(["Eneco", "Stedin"], dtype=object),
              "theme": np.array(["warmte", "energie"], dtype=object), "phase": np.array(["ontwerp", "idee"], dtype=object),
              "realisatie_start": np.array(["2028-03-01", "2029-01-01"], dtype=object),
              "realisatie_end": np.array(["2028-09-30", "2029-06-30"], dtype=object),
              "confidential": np.array([0, 1], dtype=np.int32)}
    pyogrio.raw.write(str(gpkg), geometry, list(fields.values()), list(fields), layer="werken",
                      driver="GPKG", geometry_type="LineString", crs="EPSG:28992")
    result = invoke("import", scene, gpkg, "--layer", "werken")
    assert result.exit_code == 0, result.output
    heat, power = read_plan_register(scene / "plans.geojson")
    assert (heat.id, power.id, heat.confidential, power.confidential) == ("heat", "power", False, True)
    assert heat.geometry.equals(route(0.0))
    result = invoke("import", scene, gpkg, "--layer", "plannen")
    assert result.exit_code == 1 and "plans.gpkg" in result.output and "plannen" in result.output


@pytest.mark.parametrize("offset, conflict", [(-1, True), (0, True), (1, False)])
def test_graafrust_from_the_cli_at_the_day_before_at_and_after_its_end(tmp_path, offset, conflict):
    # without a twin the surface is unknown: closed 3 years after the works (rules/programming.toml)
    road = feature("road", "Gemeente", "2027-04-01", "2027-10-31", route(0.0), trench_width=8.0)
    end = date(2030, 10, 31)  # the last closed day
    start = end + timedelta(days=offset)
    cable = feature("cable", "Stedin", start, start + timedelta(days=30), route(1.0, 10, 30))
    register = write(tmp_path / "plans.geojson", road, cable)
    result = invoke("graafrust", tmp_path, "--register", register, "--out", tmp_path)
    assert result.exit_code == 0, result.output
    found = json.loads((tmp_path / "graafrust.geojson").read_text())["features"]
    assert bool(found) == conflict
    if conflict:
        (props,) = [f["properties"] for f in found]
        assert (props["plan"], props["after"], props["closed_until"]) == ("cable", "road", str(end))
        assert "graafrust unknown 3 years after road" in props["rule"]
        assert props["area_m2"] == pytest.approx(20.0)  # the 1 m cable trench over 20 m inside the road
    else:
        assert "no graafrust conflicts" in result.output


def test_import_into_a_missing_scene_folder_is_named(tmp_path):
    result = invoke("import", tmp_path / "nowhere", write(tmp_path / "plans.geojson", REFERENCE))
    assert result.exit_code == 1 and "nowhere" in result.output and "scene folder not found" in result.output
