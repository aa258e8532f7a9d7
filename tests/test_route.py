"""Route check (laying, chainage, cross-section) and route finding on hand-built scenes; a found
route is checked again and must give no finding."""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from stadstwin.analyses.route_check import check_route, route_table, worst_finding
from stadstwin.analyses.route_finder import NoRouteError, RouteOptions, find_route
from stadstwin.errors import InputError
from stadstwin.model.buildings import Buildings
from stadstwin.model.enums import DepthSource, Status, Surface
from stadstwin.model.networks import NetworkTable
from stadstwin.model.raster import Raster
from stadstwin.model.trees import Trees
from stadstwin.model.twin import Twin
from stadstwin.model.utilities import Utility
from stadstwin.render.sections import route_section_png
from stadstwin.rules import load_rules

X0, Y0 = 120_000.0, 480_000.0
RULES = load_rules()


def water_main(x: float, top_cover: float, u: float = 0.1) -> NetworkTable:
    """A 110 mm water main of Vitens running north–south at ``x`` with its top ``top_cover`` below 0 m NAP."""
    z = -top_cover - 0.055
    return NetworkTable.from_polylines(
        [np.array([[X0 + x, Y0 - 15, z], [X0 + x, Y0 + 15, z]])], outer_diameter=[0.11], utility=[Utility.WATER],
        owner=["Vitens"], status=[Status.EXISTING], depth_source=[DepthSource.MEASURED_NAP],
        depth_uncertainty=[u], feature_id=["water-1"])


def flat_twin(networks=None, carriageway_from=None, trees=None, buildings=None) -> Twin:
    """A flat 40 m × 40 m pavement at 0 m NAP, carriageway east of ``carriageway_from`` (relative x)."""
    grid = Raster.from_bounds(X0 - 20, Y0 - 20, X0 + 20, Y0 + 20, 0.5, fill=0.0)
    codes = np.full(grid.shape, float(Surface.PAVEMENT))
    if carriageway_from is not None:
        cx, _ = grid.cell_centres()
        codes[cx > X0 + carriageway_from] = Surface.CARRIAGEWAY
    return Twin("hand", grid, networks=networks if networks is not None else NetworkTable.empty(),
                surface=Raster(codes, grid.transform), trees=trees or Trees.empty(),
                buildings=buildings or Buildings.empty())


def test_route_is_laid_at_rule_cover_plus_tolerance():
    t = flat_twin()
    route = route_table(t, RULES, np.array([[X0 - 5, Y0], [X0 + 5.5, Y0]]), Utility.ELECTRICITY_LV)
    assert len(route) == 11  # 10.5 m in pieces of at most 1 m
    assert np.diff(route.p0[:, 0]).max() <= 1.0 + 1e-12
    # LV rule cover 0.60 m + design tolerance 0.10 m to the top of the 50 mm cable
    assert route.p0[:, 2] == pytest.approx(np.full(11, -0.70 - 0.001 - 0.025))
    assert route.depth_uncertainty == pytest.approx(np.full(11, 0.10))
    laid = route_table(t, RULES, np.array([[X0 - 5, Y0], [X0 + 5, Y0]]), Utility.ELECTRICITY_LV, cover=1.2,
                       diameter=0.1)
    assert laid.p1[-1, 2] == pytest.approx(-1.25)


def test_route_check_lists_conflicts_by_chainage():
    t = flat_twin(water_main(7.0, top_cover=0.70), carriageway_from=10.0)
    route = route_table(t, RULES, np.array([[X0 - 5, Y0], [X0 + 15, Y0]]), Utility.ELECTRICITY_MV, cover=0.8)
    check = check_route(t, RULES, route)
    table = check.findings
    assert check.route_length == pytest.approx(20.0)
    assert list(check.chainage) == sorted(check.chainage)
    # the MV cable (80 mm, top 0.80 m) crosses over the water main (top 0.70 m) at chainage 12 m
    clash = table[table["check"] == "hard_clash"]
    assert len(clash) == 1
    k = clash.index[0]
    assert check.chainage[k] == pytest.approx(12.0)
    assert clash["margin"].iloc[0] == pytest.approx(0.085 - 0.04 - 0.055, abs=1e-9)  # axes 0.085 m apart
    features = check.features()
    props = features[k]["properties"]
    assert props["feature_b"] == "water-1" and props["owner_b"] == "Vitens" and props["chainage_m"] == pytest.approx(12.0)
    # under the carriageway (east of x = 10, chainage 15 m) MV needs 1.00 m of cover
    cover = table[table["check"] == "cover"]
    assert cover["rule"].tolist() == ["cover electricity_mv under carriageway ≥ 1.00 m"]
    assert check.chainage[cover.index[0]] == pytest.approx(15.0)
    assert cover["margin"].iloc[0] == pytest.approx(-0.2)
    png = route_section_png(check, RULES, worst_finding(check))
    assert png[:8] == b"\x89PNG\r\n\x1a\n"


def test_found_route_dives_below_a_main_and_passes_the_check():
    t = flat_twin(water_main(5.0, top_cover=1.0))
    options = RouteOptions(margin=2.0)
    found = find_route(t, RULES, (X0, Y0), (X0 + 10, Y0), Utility.ELECTRICITY_LV, options=options)
    xyz = found.coordinates
    assert xyz[0, :2] == pytest.approx([X0, Y0]) and xyz[-1, :2] == pytest.approx([X0 + 10, Y0])
    # above the main it would lie within 0.20 m at some height of the ±0.1 m tolerances: it goes below
    at_main = np.argmin(np.abs(xyz[:, 0] - (X0 + 5)))
    assert xyz[at_main, 2] < -1.11 - 0.2
    cost = found.cost
    assert cost["length_m"] >= 10.0
    assert cost["total_cost"] == pytest.approx(cost["length_m"] + cost["vertical_m"] + cost["crossing_cost"]
                                               + cost["depth_change_cost"] + cost["extra_depth_cost"])
    recheck = check_route(t, RULES, route_table(t, RULES, xyz, Utility.ELECTRICITY_LV))
    assert recheck.findings.empty


def test_found_route_keeps_clear_of_a_tree():
    tree = Trees(np.array([X0 + 5]), np.array([Y0]), np.array([0.0]), np.array([10.0]), np.array([4.0]),
                 np.array([2.0]), np.array(["Tilia"]), np.array(["boom-1"]))
    t = flat_twin(trees=tree)
    found = find_route(t, RULES, (X0, Y0), (X0 + 10, Y0), Utility.TELECOM, options=RouteOptions(margin=4.0))
    line = shapely.LineString(found.coordinates[:, :2])
    assert line.distance(shapely.Point(X0 + 5, Y0)) >= 2.0 + 0.02 - 1e-9  # trunk clearance + radius
    assert found.cost["length_m"] > 10.0
    recheck = check_route(t, RULES, route_table(t, RULES, found.coordinates, Utility.TELECOM))
    assert recheck.findings.empty
    assert found.geojson()["geometry"]["type"] == "LineString"


def test_no_route_names_the_blocking_rule():
    wall = shapely.box(X0 + 4, Y0 - 20, X0 + 6, Y0 + 20)
    buildings = Buildings(np.array([wall], dtype=object), np.array([0.0]), np.array([9.0]), np.array(["pand-1"]))
    t = flat_twin(buildings=buildings)
    with pytest.raises(NoRouteError, match="building \\(pand-1\\).*relaxing building alone"):
        find_route(t, RULES, (X0, Y0), (X0 + 10, Y0), Utility.ELECTRICITY_LV, options=RouteOptions(margin=2.0))


def test_reservation_blocks_other_parties_only():
    from stadstwin.model.reservations import Reservations

    wall = shapely.box(X0 + 4, Y0 - 20, X0 + 6, Y0 + 20)
    claim = Reservations(np.array([wall], dtype=object), np.array([-4.0]), np.array([0.0]), np.array(["res-1"]),
                         np.array(["Eneco"]))
    t = Twin("hand", flat_twin().dtm, surface=flat_twin().surface, reservations=claim)
    with pytest.raises(NoRouteError, match="reservation \\(res-1\\)"):
        find_route(t, RULES, (X0, Y0), (X0 + 10, Y0), Utility.DISTRICT_HEATING, owner="Stedin",
                   options=RouteOptions(margin=2.0))
    found = find_route(t, RULES, (X0, Y0), (X0 + 10, Y0), Utility.DISTRICT_HEATING, owner="Eneco",
                       options=RouteOptions(margin=2.0))
    recheck = check_route(t, RULES, route_table(t, RULES, found.coordinates, Utility.DISTRICT_HEATING, owner="Eneco"))
    assert recheck.findings.empty
    with pytest.raises(InputError, match="closer than one lattice step"):
        find_route(t, RULES, (X0, Y0), (X0 + 0.1, Y0), Utility.DISTRICT_HEATING)
