"""Water-nuisance stress test: net rain against hand sums, ponds in an analytic bowl against a plain
level search, roofs, open water, retention (the add_retention edit), wet entrances and bad settings."""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from stadstwin.analyses.water_nuisance import Storm, parse_storm, water_nuisance
from stadstwin.errors import InputError
from stadstwin.model.buildings import Buildings
from stadstwin.model.enums import Surface
from stadstwin.model.raster import Raster
from stadstwin.model.twin import Twin
from stadstwin.model.variant import Variant
from stadstwin.rules import load_rules
from stadstwin.scenario.apply import apply_variant
from twins import X0, Y0, small_twin, square

RULES = load_rules()
N = 21  # cells per side of the bowl, 1 m each


def test_net_rain_is_what_falls_faster_than_the_losses():
    block = Storm("t70", (70.0,), 2.0)
    assert block.net_mm(20.0) == pytest.approx(30.0)
    assert block.net_mm(20.0, interception_mm=1.5) == pytest.approx(28.5)
    assert block.net_mm(50.0) == 0.0
    peaked = Storm("h", (10.0, 30.0, 2.0), 0.5)  # 20 mm/h loses 10 mm per half hour
    assert peaked.net_mm(20.0) == pytest.approx(20.0)
    assert peaked.net_mm(20.0, interception_mm=12.0) == pytest.approx(18.0)  # crown: all of step 1, 2 mm of step 2
    assert parse_storm({"storm": "t140"}, RULES).total_mm == 140.0


def bowl(buildings: Buildings | None = None, surface: float = Surface.PAVEMENT) -> Twin:
    """A round bowl z = 0.004 r² [m NAP] (r from the centre cell, in m), all one surface type."""
    grid = Raster.from_bounds(X0, Y0, X0 + N, Y0 + N, 1.0)
    cx, cy = grid.cell_centres()
    r2 = (cx - X0 - N / 2) ** 2 + (cy - Y0 - N / 2) ** 2
    dtm = Raster(0.004 * r2, grid.transform)
    return Twin("bowl", dtm, buildings if buildings is not None else Buildings.empty(),
                surface=Raster(np.full(grid.shape, float(surface)), grid.transform))


def level_holding(z: np.ndarray, volume: float) -> float:
    """Water level L with Σ max(L − z, 0) = volume over cells of 1 m² (bisection)."""
    lo, hi = float(z.min()), float(z.max()) + volume
    for _ in range(200):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if np.clip(mid - z, 0, None).sum() < volume else (lo, mid)
    return (lo + hi) / 2


def test_the_bowl_holds_the_net_rain_of_its_inner_cells_at_a_flat_level():
    twin = bowl()
    result = water_nuisance(twin, RULES, {})
    z = twin.dtm.values()
    inner = (N - 2) ** 2  # border cells drain out of the scene
    volume = 0.030 * inner  # 70 mm − 2 h · 20 mm/h of sewer inflow on paving
    depth = result.rasters["water_depth"].values()
    assert result.metrics["ponded_m3"] == pytest.approx(volume, rel=1e-12)
    level = level_holding(z, volume)
    wet = depth > 0
    np.testing.assert_allclose(depth[wet] + z[wet], level, rtol=0, atol=1e-9)
    np.testing.assert_allclose(depth, np.clip(level - z, 0, None), atol=1e-9)
    m = result.metrics
    assert m["rain_m3"] == pytest.approx(0.070 * N * N)
    assert m["lost_m3"] == pytest.approx(0.040 * N * N)
    assert m["outflow_m3"] == pytest.approx(0.030 * (N * N - inner))
    assert m["volume_balance_relative"] < 1e-12
    assert m["max_depth_m"] == pytest.approx(level - z.min())
    assert m["flooded_area_10cm_m2"] == float((depth > 0.10).sum())


def test_a_roof_pours_its_net_rain_onto_the_ground_around_it_and_a_wet_facade_is_named():
    footprint = shapely.box(X0 + 12, Y0 + 12, X0 + 15, Y0 + 15)  # 9 cells off the bowl's centre
    buildings = Buildings(np.array([footprint], dtype=object), np.array([0.1]), np.array([6.0]),
                          np.array(["NL.IMBAG.Pand.7"]))
    result = water_nuisance(bowl(buildings), RULES, {"storm": "t140"})
    net = 0.140 - 2 * 0.020
    assert result.metrics["ponded_m3"] == pytest.approx(net * (N - 2) ** 2, rel=1e-12)  # roof water included
    depth = result.rasters["water_depth"].values()
    assert np.isnan(depth[6:9, 12:15]).all()  # rows count from the north
    (finding,) = result.findings
    assert finding["properties"]["building"] == "NL.IMBAG.Pand.7"
    assert finding["properties"]["depth_m"] == pytest.approx(np.nanmax(depth[5:10, 11:16]), abs=1e-3)
    assert result.metrics["buildings_wet_entrance"] == 1.0


def test_open_water_and_green_ground_take_the_water():
    water = water_nuisance(bowl(surface=Surface.WATER), RULES, {}).metrics
    assert water["ponded_m3"] == 0.0 and water["outflow_m3"] == pytest.approx(water["rain_m3"])
    green = water_nuisance(bowl(surface=Surface.VERGE), RULES, {}).metrics
    assert green["ponded_m3"] == pytest.approx(0.010 * (N - 2) ** 2)  # 70 mm − 2 h · 30 mm/h infiltration


def test_a_retention_basin_takes_the_pond_and_is_not_nuisance():
    twin = bowl()
    plan = Variant(id="wadi", name="wadi", edits=[{"type": "add_retention", "id": "w",
                                                    "area": square(X0 + 7.5, Y0 + 7.5, 6.0), "volume": 20.0}])
    with_wadi = apply_variant(twin, plan, RULES)
    assert len(with_wadi.retention) == 1 and not len(twin.retention)
    base = water_nuisance(twin, RULES, {}).metrics
    after = water_nuisance(with_wadi, RULES, {}).metrics
    assert base["flooded_area_10cm_m2"] > 0
    assert after["retention_stored_m3"] == pytest.approx(0.030 * (N - 2) ** 2)  # 10.8 m³ < 20 m³
    assert after["ponded_m3"] == 0.0 and after["flooded_area_10cm_m2"] == 0.0
    assert after["volume_balance_relative"] < 1e-12
    small = Variant(id="crate", name="crate", edits=[{"type": "add_retention", "id": "c",
                                                      "area": square(X0 + 7.5, Y0 + 7.5, 6.0), "volume": 5.0}])
    full = water_nuisance(apply_variant(twin, small, RULES), RULES, {}).metrics
    assert full["retention_stored_m3"] == pytest.approx(5.0, rel=1e-9)  # full, the rest ponds above the ground
    assert full["ponded_m3"] == pytest.approx(0.030 * (N - 2) ** 2 - 5.0, rel=1e-9)


def test_trees_hold_rain_and_the_small_street_balances():
    twin = small_twin()
    result = water_nuisance(twin, RULES, {"hyetograph": [30, 20, 10, 5, 5], "step_minutes": 15})
    m = result.metrics
    assert m["storm_mm"] == 70.0 and m["volume_balance_relative"] < 1e-12
    crown_cells = float((twin.chm.values() > 0).sum())
    bare = water_nuisance(twin, RULES.model_copy(update={"water": RULES.water.model_copy(update={
        "trees": RULES.water.trees.model_copy(update={"interception_mm": 0.0})})}),
        {"hyetograph": [30, 20, 10, 5, 5], "step_minutes": 15}).metrics
    # the crown holds the first 1.5 mm, which falls faster than paving loses it
    assert m["lost_m3"] - bare["lost_m3"] == pytest.approx(crown_cells * 0.0015, rel=1e-9)


@pytest.mark.parametrize("settings, word", [({"storm": "t1000"}, "unknown design storm"),
                                            ({"hyetograph": [10, -1]}, "≥ 0"),
                                            ({"hyetograph": "70"}, "list"),
                                            ({"rain": 70}, "unknown water settings")])
def test_bad_storm_settings_are_refused_by_name(settings, word):
    with pytest.raises(InputError, match=word):
        water_nuisance(bowl(), RULES, settings)
