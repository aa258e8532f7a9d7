"""`stadstwin plans joined` on a hand-built register in the demo district: the routes of a koppelkans
laid in one combined design and checked against everything underground. A pair in the empty park
block fits; a pair whose cable crosses the east-side mains of a street clashes with the low-voltage
main there, which the test finds by hand from the twin's geometry (shapely crossing point, heights
from the DTM and the rule cover)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import shapely
from typer.testing import CliRunner

from stadstwin import build_twin
from stadstwin.analyses.route_check import DESIGN_UNCERTAINTY, LAYING_MARGIN
from stadstwin.cli import app
from stadstwin.model.enums import Surface
from stadstwin.model.utilities import Utility
from stadstwin.rules import load_rules
from stadstwin.sample.district import block_bounds, street_low

RULES = load_rules()
CRS = {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::28992"}}
PARK = block_bounds(1, 1)  # the park block: no networks, buildings or trees
STREET_EAST = street_low(1, False) + 15.0  # east facade line of north-south street 1 = the park's west edge
WEST_END = STREET_EAST - 0.80  # the crossing cable stops between the LV main (0.65 m) and the gas main (1.25 m)


def plan(pid, party, asset, start, end, line):
    return {"type": "Feature", "geometry": shapely.geometry.mapping(line),
            "properties": {"id": pid, "party": party, "theme": "test", "phase": "ontwerp", "asset_types": asset,
                           "realisatie_start": start, "realisatie_end": end}}


def park_line(y, x0, x1):
    return shapely.LineString([(x0, PARK[1] + y), (x1, PARK[1] + y)])


FIT = (plan("ls-park", "Stedin", "laagspanningskabel", "2030-03-01", "2030-06-30", park_line(30.0, PARK[0] + 10, PARK[2] - 10)),
       plan("water-park", "Vitens", "waterleiding", "2030-05-01", "2030-09-30", park_line(31.5, PARK[0] + 10, PARK[2] - 10)))
CLASH = (plan("ls-west", "Stedin", "laagspanningskabel", "2034-03-01", "2034-06-30", park_line(60.0, PARK[0] + 40, WEST_END)),
         plan("glas-west", "KPN", "glasvezel", "2034-04-01", "2034-05-31", park_line(61.5, PARK[0] + 40, PARK[0] + 15)))


@pytest.fixture(scope="module")
def register(tmp_path_factory):
    path = tmp_path_factory.mktemp("joined") / "register.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "crs": CRS, "features": [*FIT, *CLASH]}))
    return path


@pytest.fixture(scope="module")
def joined(demo_scene, register, tmp_path_factory):
    out = tmp_path_factory.mktemp("joined-out")
    result = CliRunner().invoke(app, ["plans", "joined", str(demo_scene), "--register", str(register), "--out", str(out)])
    assert result.exit_code == 0, result.output
    features = json.loads((out / "joined.geojson").read_text())["features"]
    return {f["properties"]["koppelkans"]: f["properties"] for f in features}


def existing_segments(twin):
    net = twin.networks
    return shapely.linestrings(np.stack([net.p0[:, :2], net.p1[:, :2]], axis=1))


def test_a_pair_in_open_ground_fits(demo_scene, joined):
    twin = build_twin(demo_scene)
    lines = [shapely.geometry.shape(f["geometry"]) for f in FIT]
    # by hand: nothing underground, no tree and no building within 5 m; the two routes 1.5 m apart
    assert shapely.distance(existing_segments(twin), shapely.union_all(lines)).min() > 5.0
    assert min(shapely.distance(shapely.points(twin.trees.x, twin.trees.y), shapely.union_all(lines)), default=99) > 5.0
    lv, water = RULES.utility(Utility.ELECTRICITY_LV), RULES.utility(Utility.WATER)
    gap = lines[0].distance(lines[1]) - (lv.outer_diameter + water.outer_diameter) / 2
    assert gap > RULES.pair_clearance(Utility.ELECTRICITY_LV, Utility.WATER).parallel + 2 * DESIGN_UNCERTAINTY
    check = joined["ls-park+water-park"]
    assert [r["utility"] for r in check["routes"]] == ["electricity_lv", "water"]
    assert check["route_length_m"] == pytest.approx(sum(line.length for line in lines), abs=0.01)
    assert (check["findings"], check["verdict"]) == (0, "fits")


def test_a_pair_whose_cable_crosses_a_main_at_its_depth_clashes(demo_scene, joined):
    twin = build_twin(demo_scene)
    net, cable = twin.networks, shapely.geometry.shape(CLASH[0]["geometry"])
    segments = existing_segments(twin)
    crossed = np.flatnonzero(shapely.intersects(segments, cable))
    kinds = {Utility(int(u)).key for u in net.utility[crossed]}
    assert kinds == {"telecom", "electricity_lv"}  # the two mains nearest the facade, nothing else
    # the hand-computed clash: at the LV main the new LV cable lies at the same height
    lv = crossed[net.utility[crossed] == Utility.ELECTRICITY_LV]
    assert len(lv) == 1
    k = int(lv[0])
    point = segments[k].intersection(cable)
    t = np.hypot(point.x - net.p0[k, 0], point.y - net.p0[k, 1]) / np.hypot(*(net.p1[k, :2] - net.p0[k, :2]))
    z_main = net.p0[k, 2] + t * (net.p1[k, 2] - net.p0[k, 2])
    size = RULES.utility(Utility.ELECTRICITY_LV).outer_diameter
    cover = RULES.cover_matrix()[Utility.ELECTRICITY_LV][int(Surface.PAVEMENT)]
    ground = float(twin.dtm.sample(np.array([point.x]), np.array([point.y]))[0])
    z_new = ground - (cover + DESIGN_UNCERTAINTY + LAYING_MARGIN) - size / 2
    margin = abs(z_new - z_main) - (size + net.outer_diameter[k]) / 2  # crossing at right angles: axes dz apart
    assert margin < 0.0  # a hard clash at the nominal heights
    check = joined["glas-west+ls-west"]
    clash = [c for c in check["conflicts"] if c["check"] == "hard_clash" and c["other"] == net.feature_id[k]]
    assert len(clash) == 1 and clash[0]["plan"] == "ls-west"
    assert clash[0]["margin_m"] == pytest.approx(margin, abs=0.01)
    assert np.hypot(clash[0]["x"] - point.x, clash[0]["y"] - point.y) < 0.5
    # the main's depth is a standard depth (± its uncertainty): the clash is possible, not certain
    certain = margin + net.depth_uncertainty[k] + DESIGN_UNCERTAINTY < 0.0
    assert clash[0]["severity"] == ("certain" if certain else "possible")
    assert check["verdict"] == ("does not fit" if certain else "possible conflicts")
    near = {str(f) for f in net.feature_id[shapely.distance(segments, cable) < 1.0]}
    assert {c["other"] for c in check["conflicts"]} <= near | {""}


def test_one_koppelkans_by_plan_id_and_the_verdict_in_the_koppelkansen_output(demo_scene, register, joined, tmp_path):
    result = CliRunner().invoke(app, ["plans", "joined", str(demo_scene), "--register", str(register),
                                      "--koppelkans", "water-park", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    only = json.loads((tmp_path / "joined.geojson").read_text())["features"]
    assert [f["properties"]["koppelkans"] for f in only] == ["ls-park+water-park"]
    result = CliRunner().invoke(app, ["plans", "koppelkansen", str(demo_scene), "--register", str(register),
                                      "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    chances = json.loads((tmp_path / "koppelkansen.geojson").read_text())["features"]
    verdicts = {"+".join(f["properties"]["plans"]): f["properties"]["joined"]["verdict"] for f in chances}
    assert verdicts == {"ls-park+water-park": "fits", "glas-west+ls-west": joined["glas-west+ls-west"]["verdict"]}
    unknown = CliRunner().invoke(app, ["plans", "joined", str(demo_scene), "--register", str(register),
                                       "--koppelkans", "nope", "--out", str(tmp_path)])
    assert unknown.exit_code != 0 and "no koppelkans 'nope'" in unknown.output and "ls-park+water-park" in unknown.output
