"""Thermal check: water mains warmed by cables and heat pipes, against the public thermal API, the 2D
Kennelly formula, numpy counts, a plain first-order-lag loop and the demo's heat-network variants."""

import math
from dataclasses import replace

import numpy as np
import pyogrio
import pytest
from typer.testing import CliRunner

from stadstwin.analyses.registry import ANALYSES
from stadstwin.analyses.thermal_sources import heat_sources
from stadstwin.analyses.water_warming import hourly_rise, lagged, water_temperatures, water_warming
from stadstwin.cli import app
from stadstwin.errors import RuleError
from stadstwin.model.enums import DepthSource, Status
from stadstwin.model.networks import NetworkTable
from stadstwin.model.operating import OperatingPoint
from stadstwin.model.raster import Raster
from stadstwin.model.twin import Twin
from stadstwin.model.utilities import Utility
from stadstwin.render.figures import analysis_figures
from stadstwin.render.thermal_figures import rise_at_hour
from stadstwin.rules import load_rules
from stadstwin.sample import write_sample
from stadstwin.scenario.pipeline import Site
from stadstwin.scenario.variants import find_variant
from stadstwin.thermal import temperature_rise, undisturbed_ground_temperature

X0, Y0 = 155_000.0, 463_000.0
RULES = load_rules()
SOIL = RULES.soil_properties()
GROUND = RULES.climate.ground


def street(cables, water_length=20.0, water_depth=1.2):
    """Flat ground at 0 m NAP, a water main along x through (X0, Y0) and cables parallel to it.

    cables: (feature id, y offset [m], depth [m], W/m peak, status), each 400 m long.
    """
    grid = Raster.from_bounds(X0 - 250, Y0 - 20, X0 + 250, Y0 + 20, 2.0)
    dtm = Raster(np.zeros(grid.shape), grid.transform)
    half = water_length / 2
    lines = [np.array([[X0 - half, Y0, -water_depth], [X0 + half, Y0, -water_depth]])]
    lines += [np.array([[X0 - 200, Y0 + dy, -z], [X0 + 200, Y0 + dy, -z]]) for _, dy, z, _, _ in cables]
    n = len(lines)
    networks = NetworkTable.from_polylines(
        lines, outer_diameter=[0.11] + [0.05] * len(cables),
        utility=[Utility.WATER] + [Utility.ELECTRICITY_LV] * len(cables),
        owner=["Vitens"] + ["Stedin"] * len(cables), status=[Status.EXISTING] + [c[4] for c in cables],
        depth_source=[DepthSource.MEASURED_NAP] * n, depth_uncertainty=[0.1] * n,
        feature_id=["water-1"] + [c[0] for c in cables],
    )
    operating = {c[0]: OperatingPoint(watts_per_m=c[3]) for c in cables}
    return Twin("street", dtm, networks=networks, operating=operating)


def test_registered_as_thermal():
    assert ANALYSES["thermal"] is water_warming


def test_one_hour_rise_is_the_closed_form_and_the_2d_kennelly_limit():
    twin = street([("lv-1", 0.8, 0.8, 30.0, Status.EXISTING)])
    result = water_temperatures(twin, RULES, {"hours": 1})
    # one hour with a warm start under the mean (= that hour's) load: steady state at W = 30 W/m
    point = result.worst_point[0]
    closed = temperature_rise(np.array([[[X0 - 200, Y0 + 0.8, -0.8], [X0 + 200, Y0 + 0.8, -0.8]]]), [30.0],
                              point[None, :], SOIL.resistivity)[0]
    assert result.rise_at_worst[0] == pytest.approx(closed, rel=1e-9)
    d = math.hypot(0.8, 0.4)
    d_image = math.hypot(0.8, 2.0)
    kennelly = 30.0 * SOIL.resistivity / (2 * math.pi) * math.log(d_image / d)
    assert result.rise_at_worst[0] == pytest.approx(kennelly, rel=1e-3)
    ground = undisturbed_ground_temperature(1.2, 3600.0, GROUND.mean_temperature, GROUND.amplitude,
                                            (GROUND.coldest_day - 1) * 86400.0, SOIL.diffusivity,
                                            GROUND.urban_offset)
    assert result.max_temperature[0] == pytest.approx(ground + kennelly, rel=1e-3)


def test_hours_above_levels_match_a_numpy_count_of_the_series():
    twin = street([("lv-1", 0.5, 0.8, 60.0, Status.EXISTING)])
    first = water_temperatures(twin, RULES, {"hours": 240})
    series = first.temperature[0]
    warning, limit = np.percentile(series, [30, 70])
    rules = load_rules({"drinking_water": {"limit": {"value": float(limit)}, "warning": {"value": float(warning)}}})
    result = water_temperatures(twin, rules, {"hours": 240})
    np.testing.assert_allclose(result.temperature, first.temperature)
    assert result.hours_above_limit[0] == np.count_nonzero(series > limit)
    assert result.hours_above_warning[0] == np.count_nonzero(series > warning)
    assert 0 < result.hours_above_limit[0] < result.hours_above_warning[0] < 240
    assert result.max_temperature[0] == pytest.approx(series.max())
    analysis = water_warming(twin, rules, {"hours": 240})
    assert analysis.metrics["water_hours_above_limit_h"] == result.hours_above_limit[0]
    assert analysis.metrics["water_metres_above_limit_m"] == pytest.approx(20.0)
    (finding,) = analysis.findings
    assert finding["properties"]["severity"] == "limit" and finding["properties"]["feature_id"] == "water-1"
    assert finding["properties"]["top_sources"][0]["feature_id"] == "lv-1"
    figures = analysis_figures(analysis, twin, rules)
    assert all(png[:4] == b"\x89PNG" for png in figures.values()) and len(figures) == 2


def test_sources_ranked_by_distance_and_abandoned_sources_ignored():
    rules = load_rules({"drinking_water": {"warning": {"value": 1.0}}})  # every segment is a finding
    near, far = ("lv-near", -0.6, 1.0, 30.0, Status.EXISTING), ("lv-far", 1.8, 1.0, 30.0, Status.EXISTING)
    result = water_temperatures(street([near, far]), rules, {"hours": 24})
    ranked = result.contributions[0]
    assert [c.feature_id for c in ranked[:2]] == ["lv-near", "lv-far"]
    assert ranked[0].rise_k > ranked[1].rise_k > 0 and ranked[0].owner == "Stedin"
    assert sum(c.rise_k for c in ranked) == pytest.approx(result.rise_at_worst[0], rel=1e-9)
    abandoned = (*near[:4], Status.ABANDONED)
    without = water_temperatures(street([abandoned, far]), rules, {"hours": 24})
    alone = water_temperatures(street([far]), rules, {"hours": 24})
    assert "lv-near" not in set(without.sources.feature_id)
    np.testing.assert_allclose(without.temperature, alone.temperature, rtol=1e-12)
    assert without.max_temperature[0] < result.max_temperature[0]


def heat_pipes():
    """A supply/return pair 0.8 m apart and a lone supply pipe 10 m away, 1.0 m deep, casing 250 mm."""
    grid = Raster.from_bounds(X0 - 250, Y0 - 20, X0 + 250, Y0 + 20, 2.0)
    pipes = {"dh-s": (1.0, 90.0), "dh-r": (1.8, 50.0), "dh-lone": (-10.0, 80.0)}
    lines = [np.array([[X0 - 200, Y0 + dy, -1.0], [X0 + 200, Y0 + dy, -1.0]]) for dy, _ in pipes.values()]
    networks = NetworkTable.from_polylines(
        lines, outer_diameter=[0.25] * 3, utility=[Utility.DISTRICT_HEATING] * 3, owner=["Eneco"] * 3,
        status=[Status.PLANNED] * 3, depth_source=[DepthSource.DESIGN] * 3, depth_uncertainty=[0.1] * 3,
        feature_id=list(pipes),
    )
    operating = {f: OperatingPoint(fluid_temperature=t) for f, (_, t) in pipes.items()}
    return Twin("pipes", Raster(np.zeros(grid.shape), grid.transform), networks=networks, operating=operating)


def test_district_heating_losses_follow_the_reference_formulas():
    n = 48
    sources = heat_sources(heat_pipes(), RULES, SOIL, n)
    assert dict(zip(sources.feature_id, sources.role, strict=True)) == {
        "dh-s": "supply", "dh-r": "return", "dh-lone": "supply"}
    days = np.arange(n) / 24.0
    season = np.cos(2 * math.pi * (days - 15.0) / 365.0)
    supply, back, lone = 80.0 + 10.0 * season, 45.0 + 5.0 * season, 70.0 + 10.0 * season
    t_g = undisturbed_ground_temperature(1.0, (np.arange(n) + 1) * 3600.0, GROUND.mean_temperature,
                                         GROUND.amplitude, (GROUND.coldest_day - 1) * 86400.0, SOIL.diffusivity,
                                         GROUND.urban_offset)
    # EN 253 series 1 DN150: steel 168.3 x 4.0 mm, casing 250 x 3.9 mm; λ steel 50, PUR 0.027, PE 0.43
    d = [0.1683 - 0.008, 0.1683, 0.250 - 0.0078, 0.250]
    r_ins = sum(math.log(d[i + 1] / d[i]) / (2 * math.pi * lam) for i, lam in enumerate((50.0, 0.027, 0.43)))
    rho = SOIL.resistivity
    r = r_ins + rho * math.log(4 * 1.0 / 0.25) / (2 * math.pi)
    r_m = rho * math.log(1 + (2 * 1.0 / 0.8) ** 2) / (4 * math.pi)
    q_s = ((supply - t_g) * r - (back - t_g) * r_m) / (r**2 - r_m**2)
    q_r = ((back - t_g) * r - (supply - t_g) * r_m) / (r**2 - r_m**2)
    got = {f: sources.watts_per_m[sources.feature_id == f] for f in ("dh-s", "dh-r", "dh-lone")}
    np.testing.assert_allclose(got["dh-s"], np.broadcast_to(q_s, got["dh-s"].shape), rtol=1e-9)
    np.testing.assert_allclose(got["dh-r"], np.broadcast_to(q_r, got["dh-r"].shape), rtol=1e-9)
    np.testing.assert_allclose(got["dh-lone"], np.broadcast_to((lone - t_g) / r, got["dh-lone"].shape), rtol=1e-9)


def test_stagnation_lag_is_a_first_order_lag():
    rng = np.random.default_rng(3)
    wall = 15 + rng.normal(size=(2, 50)).cumsum(axis=1)
    tau = 6.0
    a = math.exp(-1 / tau)
    expected = wall.copy()
    for k in range(1, wall.shape[1]):
        expected[:, k] = a * expected[:, k - 1] + (1 - a) * wall[:, k]
    np.testing.assert_allclose(lagged(wall, tau), expected, rtol=1e-12)
    assert lagged(wall, 0.0) is wall


def test_bad_settings_are_named():
    from stadstwin.errors import InputError

    with pytest.raises(InputError, match="unknown thermal setting"):
        water_temperatures(street([]), RULES, {"hourz": 3})
    with pytest.raises(InputError, match="cutoff"):
        water_temperatures(street([]), RULES, {"cutoff": 0})


DEMO = {"hours": 4400, "cutoff": 5.0, "receiver_spacing": 5.0}  # to early July: short but past the spring rise
MAIN_STREET = (463_085.0, 463_100.0)  # y range of the main street both heat-network variants follow


def main_street_water(twin):
    """The twin with only the water mains of the main street as receivers (every source kept)."""
    net = twin.networks
    y = np.stack([net.p0[:, 1], net.p1[:, 1]])
    keep = (net.utility != Utility.WATER) | ((y >= MAIN_STREET[0]) & (y <= MAIN_STREET[1])).all(axis=0)
    return replace(twin, networks=net.select(keep))


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    return write_sample(tmp_path_factory.mktemp("thermal_demo"))


def test_demo_heatnet_north_pushes_a_water_main_above_the_limit_and_south_does_not(demo):
    runs = {}
    site = Site.open(demo)
    for variant in ("heatnet-north", "heatnet-south"):
        twin = site.twin(*find_variant(site.scene, variant))
        runs[variant] = water_temperatures(main_street_water(twin), site.rules, {"soil": site.scene.soil.soil, **DEMO})
    north, south = runs["heatnet-north"], runs["heatnet-south"]
    hot = north.worst
    assert north.hours_above_limit[hot] > 0
    assert north.contributions[hot][0].feature_id == "heatnet-north/heatnet-north-aanvoer"
    assert north.contributions[hot][0].owner == "Eneco Warmte & Koude"
    assert len(north.rows) == len(south.rows) > 20
    assert south.hours_above_limit.max() == 0
    assert south.max_temperature.max() < north.max_temperature.max() - 1.0


def test_cli_check_thermal_writes_table_gpkg_figures_and_json(demo, tmp_path):
    result = CliRunner().invoke(app, ["check", "thermal", str(demo), "--variant", "heatnet-north", "--out",
                                      str(tmp_path), "--hours", "24", "--cutoff", "4"])
    assert result.exit_code == 0, result.output
    assert "warmest water mains" in result.output and "cut-off 4 m" in result.output
    info = pyogrio.read_info(tmp_path / "water_temperature.gpkg", layer="water_temperature")
    assert info["crs"] == "EPSG:7415" and info["features"] > 100
    assert (tmp_path / "thermal_cross_section.png").read_bytes()[:4] == b"\x89PNG"
    assert (tmp_path / "thermal_year.png").read_bytes()[:4] == b"\x89PNG"
    assert (tmp_path / "thermal.json").is_file()


def test_section_rise_at_an_hour_equals_the_year_run():
    twin = street([("lv-1", 0.8, 0.8, 30.0, Status.EXISTING)])
    result = water_temperatures(twin, RULES, {"hours": 72})
    points = result.worst_point[:1] + np.array([[0.0, 0.3, 0.2], [0.0, -1.0, 0.5]])
    year = hourly_rise(result.sources, points, result.soil, result.cutoff, 72)
    for hour in (0, 17, 71):
        np.testing.assert_allclose(rise_at_hour(result, points, hour), year[:, hour], rtol=1e-6)  # sampled step response


# --- the rules drive the check ----------------------------------------------------------------


def _line_integral(x_rel, half, r):
    """∫ ds / |P − s| along a straight segment s ∈ [−half, half] for a point at x_rel, distance r."""
    return math.asinh((half - x_rel) / r) + math.asinh((half + x_rel) / r)


def test_rule_cable_current_sets_the_rise_as_n_i2_r_against_a_finite_line_source():
    # one LV cable with its default load (no operating point), 0.5 m beside and 0.6 m above the
    # water main; one hour with warm start = steady state under the load of hour 0
    twin = replace(street([("lv", 0.5, 0.6, None, Status.EXISTING)]), operating={})
    profile = RULES.heat_sources.load_profiles["laagspanning"]
    fraction = profile.daily[0] * (1 - profile.seasonal_drop * 0.5 * (1 - math.cos(2 * math.pi * -15.0 / 365.0)))
    rises = {}
    for current in (120.0, 240.0):
        rules = load_rules({"heat_sources": {"cables": {"electricity_lv": {"current": current}}}})
        result = water_temperatures(twin, rules, {"hours": 1})
        q = 3 * current**2 * 0.253e-3 * fraction  # n·I²·R of the shipped 4x150 Al cable, this hour
        # warmest receiver: the one nearest the cable's middle, 1.25 m from the water main's centre
        r, r_image = math.hypot(0.5, 0.6), math.hypot(0.5, 1.8)
        expected = q * SOIL.resistivity / (4 * math.pi) * (
            _line_integral(1.25, 200.0, r) - _line_integral(1.25, 200.0, r_image))
        assert result.rise_at_worst[0] == pytest.approx(expected, rel=1e-6)
        rises[current] = result.rise_at_worst[0]
    assert rises[240.0] / rises[120.0] == pytest.approx(4.0, rel=1e-9)


def test_drinking_water_and_heat_source_flags_pick_receivers_and_sources():
    twin = street([("lv", 0.5, 0.6, 20.0, Status.EXISTING)])
    assert len(water_temperatures(twin, RULES, {"hours": 2}).rows) == 1
    dry = load_rules({"utilities": {"water": {"drinking_water": False}}})
    assert len(water_temperatures(twin, dry, {"hours": 2}).rows) == 0
    cold = load_rules({"utilities": {"electricity_lv": {"heat_source": False}}})
    result = water_temperatures(twin, cold, {"hours": 2})
    assert len(result.sources) == 0 and np.all(result.rise_at_worst == 0.0)


def test_heat_source_kind_without_a_loss_model_is_named():
    grid = Raster.from_bounds(X0 - 50, Y0 - 20, X0 + 50, Y0 + 20, 2.0)
    networks = NetworkTable.from_polylines(
        [np.array([[X0 - 20, Y0, -0.6], [X0 + 20, Y0, -0.6]])], outer_diameter=[0.04], utility=[Utility.TELECOM],
        owner=["KPN"], status=[Status.EXISTING], depth_source=[DepthSource.MEASURED_NAP], depth_uncertainty=[0.1],
        feature_id=["tc-1"],
    )
    twin = Twin("telecom", Raster(np.zeros(grid.shape), grid.transform), networks=networks)
    warm = load_rules({"utilities": {"telecom": {"heat_source": True}}})
    with pytest.raises(RuleError, match="telecom is a heat source but has no default load"):
        heat_sources(twin, warm, SOIL, 2)
    # an operating point with watts_per_m, or a cable entry in the rules, gives it a load
    loaded = replace(twin, operating={"tc-1": OperatingPoint(watts_per_m=2.0)})
    assert heat_sources(loaded, warm, SOIL, 2).watts_per_m.max() == pytest.approx(2.0)
    cable = {"cores": 1, "current": 10.0, "resistance": 0.01, "profile": "laagspanning"}
    ruled = load_rules({"utilities": {"telecom": {"heat_source": True}},
                        "heat_sources": {"cables": {"telecom": cable}}})
    assert heat_sources(twin, ruled, SOIL, 24).watts_per_m.max() == pytest.approx(1.0, rel=0.01)
