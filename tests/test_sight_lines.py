"""Sight-line analysis: visible area on flat ground against the disc of the radius, the visibility
count of two viewpoints against their discs' overlap, the blocking building (BAG id) and tree (tree
id) named, a landmark's own roof not blocking it, transparent trees, bad settings refused by name,
and the demo plan 'paviljoen' judged in a comparison."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from twins import X0, Y0

from stadstwin.analyses.sight_lines import sight_lines
from stadstwin.errors import InputError
from stadstwin.model.buildings import Buildings
from stadstwin.model.raster import Raster
from stadstwin.model.trees import Trees
from stadstwin.model.twin import Twin
from stadstwin.rules import load_rules
from stadstwin.scenario.compare import compare

RULES = load_rules()
N = 80  # cells per side, 1 m each


def field(buildings: Buildings | None = None, trees: Trees | None = None) -> Twin:
    """Flat ground at 1 m NAP, N × N m, with these buildings and trees (crowns from the tree table)."""
    grid = Raster.from_bounds(X0, Y0, X0 + N, Y0 + N, 1.0)
    return Twin("field", Raster(np.ones(grid.shape), grid.transform), buildings or Buildings.empty(),
                trees or Trees.empty())


def block(*rows: tuple[float, float, float, float, float, str]) -> Buildings:
    """Flat-roofed blocks (x0, y0, x1, y1 [m from the field's corner], height [m], BAG id) on the field."""
    return Buildings(np.array([shapely.box(X0 + r[0], Y0 + r[1], X0 + r[2], Y0 + r[3]) for r in rows], dtype=object),
                     np.ones(len(rows)), np.array([1.0 + r[4] for r in rows]), np.array([r[5] for r in rows]))


def point(name, x, y, **more):
    return {"name": name, "x": X0 + x, "y": Y0 + y, **more}


def test_on_flat_ground_a_viewpoint_sees_the_disc_of_its_radius_and_two_count_their_overlap():
    twin = field()
    a, b = point("a", 30.5, 40.5), point("b", 50.5, 40.5)
    result = sight_lines(twin, RULES, {"viewpoints": [a, b], "radius": 15.0})
    cx, cy = twin.dtm.cell_centres()
    discs = [np.hypot(cx - p["x"], cy - p["y"]) <= 15.0 for p in (a, b)]
    assert result.metrics["visible_area_m2_a"] == float(discs[0].sum())
    assert result.metrics["visible_area_m2"] == float(discs[0].sum() + discs[1].sum())
    np.testing.assert_array_equal(result.rasters["visible_count"].values(), discs[0] * 1.0 + discs[1])
    assert result.metrics["sight_lines"] == 0.0 and not result.findings


def test_a_building_between_viewpoint_and_landmark_is_named_by_its_bag_id():
    buildings = block((38, 30, 41, 50, 6.0, "NL.IMBAG.Pand.0503100000000001"),
                      (70, 38, 74, 42, 20.0, "NL.IMBAG.Pand.0503100000000002"))
    settings = {"viewpoints": [point("plein", 10.5, 40.5), point("zij", 10.5, 70.5)],
                "landmarks": [point("toren", 71.5, 40.5), point("voet", 60.5, 40.5, height=1.0)]}
    result = sight_lines(field(buildings), RULES, settings)
    lines = {(line["viewpoint"], line["landmark"]): line for line in result.details["sight_lines"]}
    assert not lines["plein", "toren"]["blocked"]  # the 20 m tower top over the 6 m wall: its own roof does not count
    assert not lines["zij", "toren"]["blocked"] and not lines["zij", "voet"]["blocked"]
    blocked = lines["plein", "voet"]  # 1 m above the ground behind the wall
    assert blocked["blocked"] and blocked["blocked_by"] == "NL.IMBAG.Pand.0503100000000001"
    assert blocked["blocker_kind"] == "building" and 38 <= blocked["blocked_at"][0] - X0 <= 41
    (finding,) = result.findings
    props = finding["properties"]
    assert props["check"] == "blocked_sight_line" and (props["feature_viewpoint"], props["feature_landmark"]) == (
        "plein", "voet")
    assert "NL.IMBAG.Pand.0503100000000001" in props["message"]
    assert result.metrics["blocked_sight_lines"] == 1.0 and result.metrics["sight_lines"] == 4.0


def test_a_tree_crown_blocks_by_its_id_unless_trees_are_transparent():
    trees = Trees(np.array([X0 + 40.0]), np.array([Y0 + 40.0]), np.array([1.0]), np.array([12.0]),
                  np.array([8.0]), np.array([3.0]), np.array(["Tilia"]), np.array(["BOOM-0042"]))
    settings = {"viewpoints": [point("bank", 20.5, 40.5)], "landmarks": [point("beeld", 60.5, 40.5, height=2.0)]}
    opaque = sight_lines(field(trees=trees), RULES, settings)
    (line,) = opaque.details["sight_lines"]
    assert line["blocked_by"] == "BOOM-0042" and line["blocker_kind"] == "tree"
    assert abs(line["blocked_at"][0] - (X0 + 36.0)) <= 1.0  # the near edge of the 8 m crown
    clear = sight_lines(field(trees=trees), RULES, {**settings, "transparent_trees": True})
    assert not clear.details["sight_lines"][0]["blocked"]
    assert clear.metrics["visible_area_m2"] > opaque.metrics["visible_area_m2"]


@pytest.mark.parametrize("settings, words", [
    ({"viewpoints": [point("a", 5, 5, targets=["nergens"])]}, "unknown landmark"),
    ({"viewpoints": [point("a", 5, 5), point("a", 9, 9)]}, "unique"),
    ({"viewpoints": [point("A b", 5, 5)]}, "viewpoints.0.name"),
    ({"viewpoints": [point("a", 500, 5)]}, "viewpoint a .* outside"),
    ({"viewpoints": [point("a", 39.5, 40.5)]}, "viewpoint a stands inside building NL.IMBAG.Pand.9"),
    ({"viewpoints": [point("a", 5, 5)], "eye": 2.0}, "eye: unknown key"),
])
def test_bad_sightline_settings_are_refused_by_name(settings, words):
    with pytest.raises(InputError, match=words):
        sight_lines(field(block((38, 30, 41, 50, 6.0, "NL.IMBAG.Pand.9"))), RULES, settings)


def test_the_demo_pavilion_newly_blocks_the_view_from_the_park_bench_in_a_comparison(demo_scene):
    comparison = compare(demo_scene, ["base", "paviljoen"], analyses={"sightlines": sight_lines})
    verdicts = {v.criterion.metric: v for v in comparison.verdicts["paviljoen"]}
    assert verdicts["sightlines.blocked_sight_lines"].effect == "worse"
    assert verdicts["sightlines.blocked_sight_lines"].change == 1.0
    bench = verdicts["sightlines.visible_area_m2_parkbank"]
    assert bench.effect == "worse" and bench.change < 0
    assert verdicts["sightlines.visible_area_m2_kruispunt"].effect == "same"  # the pavilion is out of its view
    new = comparison.changes["paviljoen"]["sightlines"]["new"]
    assert [(f["properties"]["feature_viewpoint"], f["properties"]["blocked_by"]) for f in new] == [
        ("parkbank", "paviljoen/paviljoen")]
    assert not comparison.changes["paviljoen"]["sightlines"]["resolved"]


def test_the_service_overlay_shows_only_the_cells_some_viewpoint_sees(tmp_path):
    from PIL import Image

    from stadstwin.service.artifacts import write_analysis

    twin = field(block((38, 30, 41, 50, 6.0, "NL.IMBAG.Pand.9")))
    result = sight_lines(twin, RULES, {"viewpoints": [point("a", 20.5, 40.5)], "radius": 30.0})
    written = write_analysis(result, tmp_path)
    assert [r["raster"] for r in written["rasters"]] == ["visible_count"]
    assert written["metrics"]["visible_area_m2"] == result.metrics["visible_area_m2"]
    alpha = np.asarray(Image.open(tmp_path / "visible_count.png"))[:, :, 3]
    np.testing.assert_array_equal(alpha > 0, result.rasters["visible_count"].values() > 0)


def test_a_route_or_area_sees_the_union_of_its_observers_and_a_landmark_any_of_them_sees():
    """A route along x = 10.5 … 50.5 on flat ground sees the union of the radius discs of observers every
    10 m; an area the same from its grid; a wall hides the landmark from all but the observer past its end."""
    wall = block((20, 45, 38, 47, 6.0, "NL.IMBAG.Pand.0503100000000003"))
    twin = field(wall)
    route = {"name": "route", "along": [[X0 + 10.5, Y0 + 30.5], [X0 + 50.5, Y0 + 30.5]], "spacing": 10.0}
    area = {"name": "plein", "within": [[X0 + 10, Y0 + 25], [X0 + 30, Y0 + 25], [X0 + 30, Y0 + 35], [X0 + 10, Y0 + 35]],
            "spacing": 10.0}
    result = sight_lines(twin, RULES, {"viewpoints": [route, area], "radius": 8.0,
                                       "landmarks": [point("bank", 30.5, 60.5)]})
    cx, cy = twin.dtm.cell_centres()
    route_discs = np.zeros(twin.dtm.shape, dtype=bool)
    for x in (10.5, 20.5, 30.5, 40.5, 50.5):  # the wall lies beyond the 8 m radius of every observer
        route_discs |= np.hypot(cx - X0 - x, cy - Y0 - 30.5) <= 8.0
    area_discs = np.zeros(twin.dtm.shape, dtype=bool)
    for x in (15.5, 25.5):  # grid points (15, 30), (25, 30): 5 m in from the ring, 10 m apart; their cells' centres
        area_discs |= np.hypot(cx - X0 - x, cy - Y0 - 30.5) <= 8.0
    assert result.metrics["visible_area_m2_route"] == float(route_discs.sum())
    assert result.metrics["visible_area_m2_plein"] == float(area_discs.sum())
    vps = {v["name"]: v for v in result.details["viewpoints"]}
    assert vps["route"]["observers"] == 5 and vps["plein"]["observers"] == 2
    assert (vps["route"]["x"], vps["route"]["y"]) == (X0 + 30.5, Y0 + 30.5)
    lines = {line["viewpoint"]: line for line in result.details["sight_lines"]}
    # only x = 50.5 looks past the wall's east end (x ≤ 38; its line crosses y 45–47 at x ≈ 40) to the bench
    assert not lines["route"]["blocked"]
    # every observer of the area (x 15, 25) has the wall in its line: blocked, named by the wall
    assert lines["plein"]["blocked"] and lines["plein"]["blocked_by"] == "NL.IMBAG.Pand.0503100000000003"
    with pytest.raises(InputError, match="route"):
        sight_lines(twin, RULES, {"viewpoints": [{"name": "route", "along": [[X0 + 21, Y0 + 46], [X0 + 37, Y0 + 46]]}]})
