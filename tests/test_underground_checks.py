"""The seven underground checks on small hand-built scenes with known answers, certainty, container
and joint exclusion, merging, and the demo district's planted certain and possible findings."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from stadstwin.analyses.certainty import pair_distance_range, severity, shifted_distance
from stadstwin.analyses.underground import run_clash_check, underground_findings
from stadstwin.model.buildings import Buildings
from stadstwin.model.enums import DepthSource, Status, Surface
from stadstwin.model.networks import NetworkTable
from stadstwin.model.raster import Raster
from stadstwin.model.reservations import Reservations
from stadstwin.model.trees import Trees
from stadstwin.model.twin import Twin
from stadstwin.model.utilities import Utility
from stadstwin.rules import load_rules

X0, Y0 = 120_000.0, 480_000.0
RULES = load_rules()


def networks(*lines):
    """Lines as (vertices relative to (X0, Y0), utility, diameter, uncertainty, owner[, container, id])."""
    polylines, kinds, sizes, unc, owners, containers, ids = [], [], [], [], [], [], []
    for k, line in enumerate(lines):
        vertices, kind, size, u, owner, *rest = line
        polylines.append(np.asarray(vertices, dtype=float) + [X0, Y0, 0.0])
        kinds.append(kind)
        sizes.append(size)
        unc.append(u)
        owners.append(owner)
        containers.append(rest[0] if rest else "")
        ids.append(rest[1] if len(rest) > 1 else f"line-{k}")
    return NetworkTable.from_polylines(
        polylines, outer_diameter=sizes, utility=kinds, owner=owners, status=[Status.EXISTING] * len(lines),
        depth_source=[DepthSource.MEASURED_NAP] * len(lines), depth_uncertainty=unc, feature_id=ids,
        container=containers)


def twin(table, surface=Surface.PAVEMENT, trees=None, buildings=None, reservations=None):
    """A flat 40 m × 40 m street at 0 m NAP around (X0, Y0)."""
    grid = Raster.from_bounds(X0 - 20, Y0 - 20, X0 + 20, Y0 + 20, 0.5, fill=0.0)
    codes = Raster(np.full(grid.shape, float(surface)), grid.transform)
    return Twin("hand", grid, networks=table, surface=codes, trees=trees or Trees.empty(),
                buildings=buildings or Buildings.empty(), reservations=reservations or Reservations.empty())


def findings(t, check=None):
    table = underground_findings(t, RULES)
    table["severity"] = severity(table["best"].to_numpy(), table["worst"].to_numpy())
    return table if check is None else table[table["check"] == check].reset_index(drop=True)


def deep(table, cover=2.0):
    """Only the rows that are not cover findings (hand scenes may lie shallow on purpose)."""
    return table[table["check"] != "cover"].reset_index(drop=True)


# ------------------------------------------------------------------ 1 hard clash, 2 clearance


def test_hard_clash_certain_and_possible():
    water = ([(-5, 0, -1.0), (5, 0, -1.0)], Utility.WATER, 0.11, 0.0, "Vitens")
    fibre = ([(0, -5, -1.0), (0, 5, -1.0)], Utility.TELECOM, 0.04, 0.0, "KPN")
    t = findings(twin(networks(water, fibre)))
    hard = t[t["check"] == "hard_clash"]
    assert len(hard) == 1 and hard["severity"].iloc[0] == "certain"
    assert hard["margin"].iloc[0] == pytest.approx(-0.075, abs=1e-12)  # axes meet: −(r_a + r_b)
    assert hard[["x", "y", "z"]].iloc[0].tolist() == pytest.approx([X0, Y0, -1.0])
    # ±0.1 m each: overlap 0.075 m, the axes may lie 0.2 m apart → only possible
    water_u = (*water[:3], 0.1, water[4])
    fibre_u = (*fibre[:3], 0.1, fibre[4])
    hard = findings(twin(networks(water_u, fibre_u)), "hard_clash")
    assert hard["severity"].tolist() == ["possible"]
    assert hard["best"].iloc[0] == pytest.approx(0.2 - 0.075, abs=1e-9)
    assert hard["worst"].iloc[0] == pytest.approx(-0.075, abs=1e-9)


def test_clearance_parallel_and_crossing_rules():
    lv = ([(-5, 0, -1.0), (5, 0, -1.0)], Utility.ELECTRICITY_LV, 0.05, 0.0, "Stedin")
    gas_beside = ([(-5, 0.5, -1.0), (5, 0.5, -1.0)], Utility.GAS_LP, 0.11, 0.0, "Stedin-gas")
    t = findings(twin(networks(lv, gas_beside)), "clearance")
    assert t["rule"].tolist() == ["cable-gas_lp parallel clearance ≥ 0.50 m"]
    assert t["margin"].iloc[0] == pytest.approx(0.5 - 0.025 - 0.055 - 0.5) and t["severity"].iloc[0] == "certain"
    # crossing at 90° with an axis gap of 0.3 m: surface 0.22 m ≥ crossing rule 0.20 m
    gas_across = ([(0, -5, -1.3), (0, 5, -1.3)], Utility.GAS_LP, 0.11, 0.0, "Stedin-gas")
    assert findings(twin(networks(lv, gas_across))).empty
    # the same crossing at 20° in plan counts as parallel: 0.22 m < 0.50 m
    c, s = math.cos(math.radians(20)), math.sin(math.radians(20))
    gas_skew = ([(-5 * c, -5 * s, -1.3), (5 * c, 5 * s, -1.3)], Utility.GAS_LP, 0.11, 0.0, "Stedin-gas")
    t = findings(twin(networks(lv, gas_skew)), "clearance")
    assert t["rule"].tolist() == ["cable-gas_lp parallel clearance ≥ 0.50 m"]
    assert t["margin"].iloc[0] == pytest.approx(0.3 - 0.08 - 0.5, abs=1e-9)


def test_certain_versus_possible_clearance():
    lv = ([(-5, 0, -1.0), (5, 0, -1.0)], Utility.ELECTRICITY_LV, 0.05, 0.1, "Stedin")
    # stacked: axis gap 0.62 m → surface 0.54 m; ±0.1 m each → 0.34 … 0.74 m against 0.50 m
    gas_below = ([(-5, 0, -1.62), (5, 0, -1.62)], Utility.GAS_LP, 0.11, 0.1, "Gas")
    t = findings(twin(networks(lv, gas_below)), "clearance")
    assert t["severity"].tolist() == ["possible"]
    assert (t["margin"].iloc[0], t["best"].iloc[0], t["worst"].iloc[0]) == pytest.approx((0.04, 0.24, -0.16), abs=1e-9)
    # side by side 0.6 m apart: a vertical shift only moves them further apart → no finding
    gas_beside = ([(-5, 0.6, -1.0), (5, 0.6, -1.0)], Utility.GAS_LP, 0.11, 0.3, "Gas")
    assert findings(twin(networks(lv, gas_beside)), "clearance").empty
    # side by side 0.45 m apart, ±0.1 m each: at best √(0.45² + 0.2²) − 0.08 = 0.41 m → certain
    gas_close = ([(-5, 0.45, -1.0), (5, 0.45, -1.0)], Utility.GAS_LP, 0.11, 0.1, "Gas")
    t = findings(twin(networks(lv, gas_close)), "clearance")
    assert t["severity"].tolist() == ["certain"]
    assert t["best"].iloc[0] == pytest.approx(math.hypot(0.45, 0.2) - 0.08 - 0.5, abs=1e-9)


def test_possible_only_when_the_intervals_allow_contact_and_standard_depth_only():
    """A water main at its network's standard depth (±0.3 m) crosses a fibre measured in NAP (±0.1 m)
    at 90°; their surfaces lie ``gap`` apart vertically, so contact needs gap ≤ 0.3 + 0.1 m, and with
    the standard depth taken as exact gap ≤ 0.1 m."""
    def crossing(gap):
        water = ([(-5, 0, -1.0), (5, 0, -1.0)], Utility.WATER, 0.11, 0.3, "Vitens")
        fibre = ([(0, -5, -1.0 - 0.075 - gap), (0, 5, -1.0 - 0.075 - gap)], Utility.TELECOM, 0.04, 0.1, "KPN")
        table = networks(water, fibre)
        source = np.where(table.utility == Utility.WATER, DepthSource.STANDARD_DEPTH, DepthSource.MEASURED_NAP)
        return twin(replace(table, depth_source=source.astype(np.int8)))

    assert findings(crossing(0.45), "hard_clash").empty  # 0.45 m > 0.4 m: the intervals never touch
    for gap, only in ((0.3, True), (0.05, False)):
        t = crossing(gap)
        hard = findings(t, "hard_clash")
        assert hard["severity"].tolist() == ["possible"]
        assert hard["worst"].iloc[0] == pytest.approx(max(gap - 0.4, -0.075), abs=1e-9)  # axes meet: −(r_a + r_b)
        assert hard["standard_only"].tolist() == [only]
        result = run_clash_check(t, RULES, {})
        flagged = [f["properties"]["standard_depth_only"] for f in result.findings]
        assert result.metrics["standard_depth_only_findings"] == sum(flagged)
        assert [f["properties"]["standard_depth_only"] for f in result.findings
                if f["properties"]["check"] == "hard_clash"] == [only]


segment = st.tuples(*[st.floats(-3, 3, allow_nan=False) for _ in range(6)])


@settings(max_examples=25, deadline=None)
@given(a=segment, b=segment, u=st.floats(0.0, 1.0))
def test_distance_range_matches_sampled_shifts(a, b, u):
    p0 = np.array([a[:3], b[:3]])
    p1 = np.array([a[3:], b[3:]])
    radius = np.array([0.05, 0.1])
    pairs = np.array([[0, 1]])
    smallest, largest = pair_distance_range(p0, p1, radius, pairs, np.array([u / 2, u / 2]))
    shifts = np.linspace(-u, u, 801)
    sampled = shifted_distance(p0, p1, radius, np.repeat(pairs, len(shifts), axis=0), shifts)
    assert largest[0] == pytest.approx(sampled.max(), abs=1e-9)
    assert smallest[0] <= sampled.min() + 1e-8  # golden-section search to ~1e-9 m
    assert smallest[0] >= sampled.min() - (2 * u / 800) - 1e-9  # a distance moves at most 1:1 with the shift


# ------------------------------------------------------------------ exclusions and merging


def test_container_and_joint_exclusion():
    duct = ([(-5, 0, -1.0), (5, 0, -1.0)], Utility.TELECOM, 0.11, 0.0, "KPN", "", "duct-1")
    in_duct = ([(-5, 0, -1.0), (5, 0, -1.0)], Utility.TELECOM, 0.02, 0.0, "KPN", "duct-1", "fibre-1")
    also_in = ([(-5, 0.01, -1.0), (5, 0.01, -1.0)], Utility.ELECTRICITY_LV, 0.02, 0.0, "Stedin", "duct-1", "lv-1")
    assert deep(findings(twin(networks(duct, in_duct, also_in)))).empty
    loose = ([(-5, 0.01, -1.0), (5, 0.01, -1.0)], Utility.ELECTRICITY_LV, 0.02, 0.0, "Stedin", "", "lv-1")
    hard = findings(twin(networks(duct, loose)), "hard_clash")
    assert hard["severity"].tolist() == ["certain"]
    # a house connection ending on its own main is joined, not a clash; another owner's is a clash
    main = ([(-5, 0, -1.0), (5, 0, -1.0)], Utility.WATER, 0.11, 0.0, "Vitens")
    connection = ([(0, 0, -0.98), (0, 4, -0.98)], Utility.WATER, 0.032, 0.0, "Vitens")
    assert deep(findings(twin(networks(main, connection)))).empty
    stranger = ([(0, 0, -0.98), (0, 4, -0.98)], Utility.WATER, 0.032, 0.0, "Evides")
    assert len(findings(twin(networks(main, stranger)), "hard_clash")) == 1


def test_the_lines_of_one_feature_are_one_asset():
    """A MultiCurve feature (two lines of one cable, crossing and running close): no finding of the
    feature against itself; the same two lines as two features of two owners clash."""
    first = ([(-5, 0, -1.0), (5, 0, -1.0)], Utility.ELECTRICITY_MV, 0.15, 0.0, "Stedin", "", "mv-1")
    second = ([(0, -5, -1.0), (0.2, 5, -1.0)], Utility.ELECTRICITY_MV, 0.15, 0.0, "Stedin", "", "mv-1")
    assert deep(findings(twin(networks(first, second)))).empty
    other = (*second[:4], "Liander", "", "mv-2")
    found = deep(findings(twin(networks(first, other))))
    assert found["check"].tolist() == ["hard_clash"] and found["severity"].tolist() == ["certain"]


def test_consecutive_segments_merge_into_one_finding():
    xs = np.linspace(-8, 8, 9)
    lv = ([(x, 0, -1.0) for x in xs], Utility.ELECTRICITY_LV, 0.05, 0.0, "Stedin")
    # the gas main runs 0.45 m beside the cable, 0.40 m at x = 2: one run, worst there
    gas = ([(x, 0.40 if x == 2 else 0.45, -1.0) for x in xs], Utility.GAS_LP, 0.11, 0.0, "Gas")
    t = findings(twin(networks(lv, gas)), "clearance")
    assert len(t) == 1
    assert t["margin"].iloc[0] == pytest.approx(0.40 - 0.08 - 0.5, abs=1e-9)
    assert t["x"].iloc[0] == pytest.approx(X0 + 2)
    # two separate approaches of the same pair are two findings
    far = ([(x, 0.45 if x in (-8, -6, 6, 8) else 2.0, -1.0) for x in xs], Utility.GAS_LP, 0.11, 0.0, "Gas")
    assert len(findings(twin(networks(lv, far)), "clearance")) == 2


# ------------------------------------------------------------------ 3 cover


def test_cover_by_surface_and_certainty():
    # MV at 0.80 m cover: fine under pavement (0.70), too shallow under carriageway (1.00)
    mv = ([(-10, 0, -0.84), (10, 0, -0.84)], Utility.ELECTRICITY_MV, 0.08, 0.05, "Stedin")
    t = twin(networks(mv))
    codes = t.surface.array.copy()
    cx, _ = t.surface.cell_centres()
    codes[cx > X0] = Surface.CARRIAGEWAY
    t = Twin("hand", t.dtm, networks=t.networks, surface=Raster(codes, t.surface.transform))
    cover = findings(t, "cover")
    assert cover["rule"].tolist() == ["cover electricity_mv under carriageway ≥ 1.00 m"]
    assert cover["margin"].iloc[0] == pytest.approx(0.80 - 1.00, abs=1e-9)
    assert cover["severity"].iloc[0] == "certain" and cover["x"].iloc[0] >= X0
    # 0.55 m cover of LV (rule 0.60): certain with ±0.01 m, possible with ±0.1 m, fine at 0.75 m with ±0.1 m
    for z, u, expected in ((-0.575, 0.01, ["certain"]), (-0.575, 0.1, ["possible"]), (-0.775, 0.1, [])):
        lv = ([(-10, 0, z), (10, 0, z)], Utility.ELECTRICITY_LV, 0.05, u, "Stedin")
        assert findings(twin(networks(lv)), "cover")["severity"].tolist() == expected


# ------------------------------------------------------------------ 4 crossing angle


def test_crossing_angle():
    main = ([(-5, 0, -1.0), (5, 0, -1.0)], Utility.WATER, 0.11, 0.0, "Vitens")
    for angle, expected in ((30.0, 1), (60.0, 0), (90.0, 0)):
        c, s = math.cos(math.radians(angle)), math.sin(math.radians(angle))
        other = ([(-4 * c, -4 * s, -2.5), (4 * c, 4 * s, -2.5)], Utility.TELECOM, 0.04, 0.0, "KPN")
        t = findings(twin(networks(main, other)), "crossing_angle")
        assert len(t) == expected
        if expected:
            assert t["margin"].iloc[0] == pytest.approx(angle - 45.0) and t["severity"].iloc[0] == "certain"
    # ending on the main at a small angle is no crossing
    branch = ([(4, 2, -2.5), (0, 0, -2.5)], Utility.TELECOM, 0.04, 0.0, "KPN")
    assert findings(twin(networks(main, branch)), "crossing_angle").empty


def test_assets_sharing_their_axis_run_parallel_and_do_not_cross_where_one_peels_off():
    """A fibre digitised on the main's axis (in 0.4 m pieces, each shorter than the 1 m rule) that
    peels off at 30° meets the main at an angle but runs along it: no crossing. With only 0.4 m on
    the axis before peeling off it is a crossing at 30°."""
    main = ([(-5, 0, -1.0), (5, 0, -1.0)], Utility.WATER, 0.11, 0.0, "Vitens")
    c, s = math.cos(math.radians(30.0)), math.sin(math.radians(30.0))
    for shared, expected in ((3.2, 0), (0.4, 1)):
        along = [(x, 0.0, -0.6) for x in np.arange(-shared, 1e-9, 0.4)]
        fibre = (along + [(4 * c, 4 * s, -0.6)], Utility.TELECOM, 0.04, 0.0, "KPN")
        t = findings(twin(networks(main, fibre)), "crossing_angle")
        assert len(t) == expected
        if expected:
            assert t["margin"].iloc[0] == pytest.approx(30.0 - 45.0)


# ------------------------------------------------------------------ 5 trees, 6 buildings, 7 reservations


def test_tree_trunk_and_root_zone():
    trees = Trees(np.array([X0]), np.array([Y0]), np.array([0.0]), np.array([12.0]), np.array([6.0]),
                  np.array([3.0]), np.array(["Tilia"]), np.array(["boom-1"]))  # root zone radius 3 + 1 = 4 m
    cases = (
        (1.5, -1.0, 0.1, "trunk clearance ≥ 2.00 m", "certain", 1.5 - 0.025 - 2.0),
        (3.0, -1.0, 0.1, "root zone: crown radius + 1.00 m, top below 1.50 m", "certain", -1.5 + 0.975),
        (3.0, -1.45, 0.1, "root zone: crown radius + 1.00 m, top below 1.50 m", "possible", -1.5 + 1.425),
        (3.0, -2.0, 0.1, None, None, None),
        (6.0, -1.0, 0.1, None, None, None),
    )
    for offset, z, u, rule, level, margin in cases:
        lv = ([(-8, offset, z), (8, offset, z)], Utility.ELECTRICITY_LV, 0.05, u, "Stedin")
        t = findings(twin(networks(lv), trees=trees), "tree_zone")
        if rule is None:
            assert t.empty
            continue
        assert t["rule"].tolist() == [rule] and t["severity"].tolist() == [level]
        assert t["margin"].iloc[0] == pytest.approx(margin, abs=1e-9)
        assert t["other_id"].iloc[0] == "boom-1"


def test_building_footprint():
    house = shapely.box(X0 - 5, Y0 + 2, X0 + 5, Y0 + 12)
    buildings = Buildings(np.array([house], dtype=object), np.array([0.0]), np.array([9.0]), np.array(["pand-1"]))
    connection = ([(0, 0, -0.6), (0, 2, -0.6)], Utility.ELECTRICITY_LV, 0.025, 0.0, "Stedin")
    assert findings(twin(networks(connection), buildings=buildings), "building").empty
    through = ([(0, 0, -0.6), (0, 14, -0.6)], Utility.ELECTRICITY_LV, 0.025, 0.0, "Stedin")
    t = findings(twin(networks(through), buildings=buildings), "building")
    assert len(t) == 1 and t["severity"].iloc[0] == "certain"
    assert t["margin"].iloc[0] == pytest.approx(0.25 - 5.0, abs=0.03)  # deepest point: 5 m from every facade
    assert t["other_id"].iloc[0] == "pand-1"


def test_reservation_of_another_party():
    area = shapely.box(X0 - 3, Y0 - 3, X0 + 3, Y0 + 3)
    claim = Reservations(np.array([area], dtype=object), np.array([-2.0]), np.array([-1.0]),
                         np.array(["res-1"]), np.array(["Eneco"]))
    inside = ([(-8, 0, -1.5), (8, 0, -1.5)], Utility.ELECTRICITY_LV, 0.05, 0.1, "Stedin")
    t = findings(twin(networks(inside), reservations=claim), "reservation")
    assert t["severity"].tolist() == ["certain"] and t["margin"].iloc[0] == pytest.approx(-0.525)
    assert t["other_owner"].iloc[0] == "Eneco"
    own = ([(-8, 0, -1.5), (8, 0, -1.5)], Utility.DISTRICT_HEATING, 0.25, 0.1, "Eneco")
    assert findings(twin(networks(own), reservations=claim), "reservation").empty
    above = ([(-8, 0, -0.9), (8, 0, -0.9)], Utility.ELECTRICITY_LV, 0.05, 0.1, "Stedin")
    t = findings(twin(networks(above), reservations=claim), "reservation")
    assert t["severity"].tolist() == ["possible"] and t["margin"].iloc[0] == pytest.approx(0.075)


# ------------------------------------------------------------------ the analysis entry and the demo


def test_result_metrics_and_features():
    water = ([(-5, 0, -1.0), (5, 0, -1.0)], Utility.WATER, 0.11, 0.0, "Vitens")
    fibre = ([(0, -5, -1.0), (0, 5, -1.0)], Utility.TELECOM, 0.04, 0.0, "KPN")
    result = run_clash_check(twin(networks(water, fibre)), RULES, {})
    assert result.metrics["hard_clashes"] == 1 and result.metrics["certain_findings"] == 1
    for name in ("clearance_violations", "cover_violations", "crossing_angle_violations", "tree_zone_violations",
                 "building_conflicts", "reservation_conflicts", "possible_findings"):
        assert result.metrics[name] == 0
    (feature,) = result.findings
    props = feature["properties"]
    assert feature["geometry"]["type"] == "Point" and props["severity"] == "certain"
    assert {props["owner_a"], props["owner_b"]} == {"Vitens", "KPN"}
    assert props["check"] == "hard_clash" and props["margin_m"] == pytest.approx(-0.075)


@pytest.fixture(scope="module")
def demo_scene(tmp_path_factory):
    """The demo district's scene folder with its twin built and cached (the CLI loads it from there)."""
    from stadstwin.build.twin_builder import build_twin
    from stadstwin.sample import write_sample

    scene = write_sample(tmp_path_factory.mktemp("demo"))
    return scene, build_twin(scene)


def test_demo_district_planted_findings(demo_scene):
    result = run_clash_check(demo_scene[1], RULES, {})
    assert result.metrics["certain_findings"] >= 1 and result.metrics["possible_findings"] >= 1
    pairs = {}
    for f in result.findings:
        p = f["properties"]
        key = tuple(sorted(x.rsplit(".", 1)[-1] for x in (p["feature_a"], p["feature_b"])))
        pairs.setdefault(key, []).append((p["check"], p["severity"]))
    # the drilled fibre crossing overlaps the water main by a few cm at measured depths (±0.1 m):
    # certainly within the 0.20 m crossing clearance, a hard clash only possibly
    fibre = pairs[("fibre_main_00001", "water_main_00007")]
    assert ("clearance", "certain") in fibre and ("hard_clash", "possible") in fibre
    # the gas jog 0.35 m beside the LV cable of standard depth (±0.3 m): a possible clearance violation
    jog = [v for k, v in pairs.items() if k[0].startswith("gas_main") and k[1].startswith("lv_main")]
    assert [("clearance", "possible")] in jog


def test_cli_check_clashes_writes_gpkg_json_and_sections(demo_scene, tmp_path):
    import json

    import pyogrio
    from typer.testing import CliRunner

    from stadstwin.cli import app

    out = tmp_path / "clashes"
    result = CliRunner().invoke(app, ["check", "clashes", str(demo_scene[0]), "--out", str(out), "--limit", "3"])
    assert result.exit_code == 0, result.output
    assert "by owner pair" in result.output
    data = json.loads((out / "clashes.json").read_text())
    features = data["findings"]["features"]
    assert data["metrics"]["certain_findings"] + data["metrics"]["possible_findings"] == len(features)
    assert {layer for layer, _ in pyogrio.list_layers(out / "clashes.gpkg")} == {"findings", "pairs"}
    points = pyogrio.read_info(out / "clashes.gpkg", layer="findings")
    assert points["features"] == len(features) and points["crs"] == "EPSG:7415"
    assert (out / "section_worst_certain.png").read_bytes()[:4] == b"\x89PNG"
    assert (out / "section_worst_possible.png").exists()


def test_cli_check_route_and_route_finder(demo_scene, tmp_path):
    import json

    from typer.testing import CliRunner

    from stadstwin.cli import app

    scene = str(demo_scene[0])
    route = tmp_path / "route.geojson"
    route.write_text(json.dumps({
        "type": "Feature", "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::28992"}},
        "geometry": {"type": "LineString", "coordinates": [[155015.0, 463088.5], [155040.0, 463088.5]]}}))
    out = tmp_path / "route-check"
    result = CliRunner().invoke(app, ["check", "route", scene, "--route", str(route), "--utility", "electricity_mv",
                                      "--out", str(out)])
    assert result.exit_code == 0, result.output
    found = json.loads((out / "route_check.json").read_text())["findings"]["features"]
    # the drilled fibre crossing lies 10 m along this route
    fibre = [f for f in found if f["properties"]["feature_b"].endswith("fibre_main_00001")]
    assert fibre and fibre[0]["properties"]["chainage_m"] == pytest.approx(10.0, abs=0.01)
    assert (out / "cross_section.png").exists()
    path = tmp_path / "found.geojson"
    result = CliRunner().invoke(app, ["route", scene, "--from", "155020,463089", "--to", "155035,463090",
                                      "--utility", "electricity_lv", "--margin", "3", "--out", str(path)])
    assert result.exit_code == 0, result.output
    feature = json.loads(path.read_text())["features"][0]
    assert feature["properties"]["findings_on_recheck"] == 0 and feature["properties"]["length_m"] >= 15.0
    bad = CliRunner().invoke(app, ["route", scene, "--from", "155020;463089", "--to", "1,2", "--utility", "electricity_lv"])
    assert bad.exit_code == 1 and "expected X,Y" in bad.output
