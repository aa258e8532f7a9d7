"""The heat & shade analysis: on the small hand-built twin against direct numpy counts, its inputs,
and end to end on a crop of the demo district through the CLI (the greening variant's trees)."""

import json
import re
from dataclasses import replace
from datetime import date

import numpy as np
import pandas as pd
import pytest
import rasterio
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from twins import X0, Y0, small_twin
from typer.testing import CliRunner

from stadstwin.analyses import heat_inputs as inputs
from stadstwin.analyses.heat_stress import (
    PET_TMRT_STEP,
    SHADED_BELOW,
    body_wind,
    heat_stress,
    local_times,
    parse_settings,
    period_moments,
    pet_by_lookup,
)
from stadstwin.analyses.registry import ANALYSES
from stadstwin.cli import app
from stadstwin.errors import InputError
from stadstwin.heat import pet
from stadstwin.io.weather import read_weather
from stadstwin.model.enums import Surface
from stadstwin.model.raster import Raster
from stadstwin.model.scene import Scene
from stadstwin.render.figures import analysis_figures
from stadstwin.rules import load_rules
from stadstwin.sample import write_sample
from stadstwin.sun import solar_position

RULES = load_rules()
AREA = {"type": "Polygon", "coordinates": [[[X0 + 20, Y0], [X0 + 40, Y0], [X0 + 40, Y0 + 30], [X0 + 20, Y0 + 30], [X0 + 20, Y0]]]}


def watery_twin():
    """small_twin with a 2 m canal along its west edge (water is not public space)."""
    twin = small_twin()
    surface = twin.surface.array.copy()
    surface[:, :2] = Surface.WATER
    return replace(twin, surface=replace(twin.surface, array=surface))


@pytest.fixture(scope="module")
def twin():
    return watery_twin()


@pytest.fixture(scope="module")
def result(twin):
    return heat_stress(twin, RULES, {"hours": [12], "step_minutes": 30, "area": AREA})


def test_registered_as_heat():
    assert ANALYSES["heat"] is heat_stress


def test_rasters_lie_on_the_twin_grid(result, twin):
    assert set(result.rasters) == {"sun_hours", "svf", "tmrt_mean_12_18", "utci_max", "pet_mean_12_18",
                                   "shade_12h", "shade_15h"}
    for raster in result.rasters.values():
        assert raster.shape == twin.dtm.shape and raster.transform == twin.dtm.transform
    figures = analysis_figures(result, twin, RULES)
    assert set(figures) == {"sun_hours", "shade_15h", "pet_mean_12_18", "utci_max"}
    assert all(png.startswith(b"\x89PNG") for png in figures.values())


def test_building_shadow_at_15h_lies_north_east_of_it(result, twin):
    (when,) = local_times(date.fromisoformat(RULES.climate.hot_day.date), [15.0])
    _, azimuth = solar_position(pd.DatetimeIndex([when]), 52.0, 5.1)
    assert 190.0 < azimuth[0] < 260.0  # the sun stands south-west at 15 h summer time
    shade = result.rasters["shade_15h"].array
    cx, cy = twin.dtm.cell_centres()
    footprint = twin.buildings.footprint[0]
    inside = shapely.contains_xy(footprint, cx, cy)
    near = (cx < X0 + 24) & ~inside  # away from the tree's own shadow at x 30
    shaded = near & (shade < SHADED_BELOW)
    assert shaded.sum() > 20
    centre = footprint.centroid
    assert cx[shaded].mean() > centre.x and cy[shaded].mean() > centre.y
    # the cell just east of the wall is shaded, the one just west and the one south are lit
    for x, y, lit in ((15.5, 24.5, 0.0), (3.5, 24.5, 1.0), (10.5, 17.5, 1.0)):
        row, col = int(30 - y), int(x)
        assert shade[row, col] == lit
    assert not (shade[inside] < 1.0).any()  # flat roof in the sun


def test_metrics_are_direct_counts_over_public_space(result, twin):
    m = result.metrics
    assert all(np.isfinite(v) for v in m.values())
    surface = twin.surface.array
    cx, cy = twin.dtm.cell_centres()
    building = shapely.contains_xy(twin.buildings.footprint[0], cx, cy)
    public = ~building & (surface != Surface.WATER)
    assert public.sum() == 30 * 40 - 80 - 60  # minus the 10 × 8 m building and the 2 × 30 m canal
    shade = result.rasters["shade_15h"].array
    assert m["shade_fraction"] == pytest.approx(np.count_nonzero(shade[public] < 0.5) / public.sum())
    assert m["sun_hours_mean_h"] == pytest.approx(result.rasters["sun_hours"].array[public].mean())
    assert m["pet_mean_c"] == pytest.approx(result.rasters["pet_mean_12_18"].array[public].mean())
    assert m["svf_mean"] == pytest.approx(result.rasters["svf"].array[public].mean())
    for kind in ("carriageway", "pavement"):
        cells = public & (surface == Surface[kind.upper()])
        assert m[f"pet_mean_c_{kind}"] == pytest.approx(result.rasters["pet_mean_12_18"].array[cells].mean())
    assert "pet_mean_c_verge" not in m  # no verge in this twin
    plan = public & (cx > X0 + 20)
    assert m["shade_fraction_plan_area"] == pytest.approx(np.count_nonzero(shade[plan] < 0.5) / plan.sum())
    assert m["pet_mean_c_plan_area"] == pytest.approx(result.rasters["pet_mean_12_18"].array[plan].mean())


def test_heat_rasters_blank_on_buildings_and_plausible(result, twin):
    cx, cy = twin.dtm.cell_centres()
    building = shapely.contains_xy(twin.buildings.footprint[0], cx, cy)
    for name in ("tmrt_mean_12_18", "utci_max", "pet_mean_12_18"):
        values = result.rasters[name].array
        assert np.isnan(values[building]).all() and np.isfinite(values[~building]).all()
    svf = result.rasters["svf"].array
    assert svf.min() >= 0.0 and svf.max() <= 1.0
    pet_map = result.rasters["pet_mean_12_18"].array
    shade = result.rasters["shade_15h"].array
    # on the same carriageway, the tree's shade is cooler than open sun
    assert np.nanmean(pet_map[shade < 0.5]) < np.nanmean(pet_map[shade == 1.0]) - 2.0
    hours = result.rasters["sun_hours"].array
    assert 0.0 <= hours.min() and hours.max() <= 16.5  # longest Dutch day ~16.4 h


def test_pet_lookup_equals_per_cell_pet():
    rng = np.random.default_rng(3)
    tmrt = rng.uniform(20.0, 70.0, (7, 9))
    tmrt[0, 0] = np.nan
    lookup = pet_by_lookup(tmrt, 30.0, 1.2, 50.0)
    direct = pet(30.0, tmrt, 1.2, 50.0)
    assert np.isnan(lookup[0, 0])
    np.testing.assert_allclose(lookup[1:], direct[1:], atol=0.01)
    assert PET_TMRT_STEP <= 0.05


def test_wind_at_body_height_follows_the_log_profile():
    assert body_wind(2.0, 10.0) == pytest.approx(2.0)
    assert body_wind(2.0, 1.1) == pytest.approx(2.0 * np.log(110.0) / np.log(1000.0))
    assert body_wind(0.0, 1.1) == pytest.approx(0.1)


def test_period_is_the_middle_of_each_clock_hour_12_to_18():
    moments = period_moments(date(2026, 7, 25))
    assert list(moments.tz_convert("Europe/Amsterdam").strftime("%H:%M")) == [
        "12:30", "13:30", "14:30", "15:30", "16:30", "17:30"]
    assert moments[0].hour == 10  # CEST = UTC + 2


def test_building_dsm_and_canopy_against_numpy(twin):
    terrain = inputs.ground(twin)
    dsm = inputs.building_dsm(twin, terrain)
    cx, cy = twin.dtm.cell_centres()
    inside = shapely.contains_xy(twin.buildings.footprint[0], cx, cy)
    np.testing.assert_allclose(dsm, np.where(inside, 10.1, twin.dtm.array))
    canopy = inputs.canopy_above(inputs.canopy_height(twin), terrain, dsm)
    np.testing.assert_allclose(canopy, twin.chm.array)
    # without a CHM the crowns come from the tree table (3 m crown radius, 10 m high)
    from_table = inputs.canopy_height(replace(twin, chm=None))
    np.testing.assert_allclose(from_table, twin.chm.array)
    codes = inputs.surface_codes(twin, inside)
    assert (codes[inside] == Surface.BUILDING).all() and (codes[:, :2][~inside[:, :2]] == Surface.WATER).all()


def test_canopy_under_a_taller_roof_is_zero():
    terrain = np.zeros((1, 3))
    surface = np.array([[0.0, 12.0, 5.0]])
    np.testing.assert_allclose(inputs.canopy_above(np.array([[8.0, 8.0, 8.0]]), terrain, surface), [[8.0, 0.0, 3.0]])


def test_leaf_on_window_sets_transmissivity():
    v = RULES.climate.vegetation
    assert inputs.transmissivity(date(2026, 7, 25), v) == v.transmissivity_leaf_on
    assert inputs.transmissivity(date(2026, 1, 15), v) == v.transmissivity_leaf_off


def test_bad_settings_are_named():
    with pytest.raises(InputError, match=r"unknown heat settings \['colour'\]"):
        parse_settings({"colour": 1}, RULES, 52.0, 5.1)
    with pytest.raises(InputError, match="not an ISO date"):
        parse_settings({"date": "25-07-2026"}, RULES, 52.0, 5.1)
    with pytest.raises(InputError, match="whole clock hours 0–23"):
        parse_settings({"hours": [25]}, RULES, 52.0, 5.1)
    with pytest.raises(InputError, match="plan area is not a GeoJSON polygon"):
        inputs.area_mask(small_twin().dtm, {"type": "Point", "coordinates": [0, 0]})


def test_knmi_weather_file_drives_the_run(tmp_path):
    """A KNMI file: the hottest day is chosen, and a hotter, sunnier hour warms PET."""
    header = "# STN,YYYYMMDD,   HH,   DD,   FH,   FF,   FX,    T, T10N,   TD,   SQ,    Q,   DR,   RH,    P,   VV,    N,    U"
    rows = []
    for day, scale in ((20190724, 0.8), (20190725, 1.0)):
        for hh in range(1, 25):
            sun = max(0.0, np.cos((hh - 12.5) / 16 * np.pi))
            t = int(10 * scale * (22 + 12 * sun))
            rows.append(f"  260,{day},{hh:5d},  110,   20,   20,   40,{t:5d},     ,  150,   10,{int(scale * 320 * sun):5d},"
                        f"    0,    0,10150,   75,    1,   40")
    path = tmp_path / "uurgeg_260.txt"
    path.write_text(header + "\n" + "\n".join(rows) + "\n")
    twin = small_twin()
    weather = read_weather(path)
    run = parse_settings({"weather": weather}, RULES, 52.1, 5.18)
    assert run.day == date(2019, 7, 25)
    result = heat_stress(twin, RULES, {"weather": weather, "hours": [15], "step_minutes": 60})
    cooler = heat_stress(twin, RULES, {"weather": weather, "date": "2019-07-24", "hours": [15], "step_minutes": 60})
    assert result.metrics["pet_mean_c"] > cooler.metrics["pet_mean_c"] + 1.0
    with pytest.raises(InputError, match="uurgeg_260.txt: no ta data"):
        heat_stress(twin, RULES, {"weather": weather, "date": "2019-08-01"})
    with pytest.raises(InputError, match="weather must be read weather data"):
        heat_stress(twin, RULES, {"weather": str(path)})


# --- end to end on the demo district: a crop around the greening street, through the CLI ----------


@pytest.fixture(scope="module")
def greening_street(tmp_path_factory):
    """The demo district cropped to the north-south street of the greening variant (no KLIC)."""
    root = tmp_path_factory.mktemp("heat_demo")
    scene_dir = write_sample(root)
    text = (scene_dir / "scene.toml").read_text()
    text = re.sub(r"(?m)^xmin = .*$", "xmin = 155135.0", text)
    text = re.sub(r"(?m)^xmax = .*$", "xmax = 155195.0", text)
    text = re.sub(r'(?m)^klic = .*\n', "", text)
    (scene_dir / "scene.toml").write_text(text)
    return scene_dir


@pytest.fixture(scope="module")
def cli_runs(greening_street, tmp_path_factory):
    out = tmp_path_factory.mktemp("heat_out")
    runner = CliRunner()
    runs = {}
    for variant in ("base", "greening"):
        args = ["check", "heat", str(greening_street), "--step-minutes", "30", "--out", str(out / variant)]
        if variant != "base":
            args += ["--variant", variant]
        outcome = runner.invoke(app, args)
        assert outcome.exit_code == 0, outcome.output
        runs[variant] = (out / variant, outcome.output)
    return runs


def _read(folder, name):
    with rasterio.open(folder / f"{name}.tif") as src:
        assert src.crs.to_epsg() == 28992
        return src.read(1), src.transform


def test_cli_writes_cogs_maps_and_statistics(cli_runs):
    folder, output = cli_runs["greening"]
    for name in ("sun_hours", "shade_12h", "shade_15h", "svf", "tmrt_mean_12_18", "utci_max", "pet_mean_12_18"):
        with rasterio.open(folder / f"{name}.tif") as src:
            assert src.driver == "GTiff" and src.crs.to_epsg() == 28992 and src.res == (0.5, 0.5)
    for name in ("sun_hours", "shade_15h", "pet_mean_12_18", "utci_max"):
        assert (folder / f"{name}.png").read_bytes().startswith(b"\x89PNG")
    metrics = json.loads((folder / "heat.json").read_text())["metrics"]
    assert {"pet_mean_c", "shade_fraction", "sun_hours_mean_h", "pet_mean_c_plan_area"} <= set(metrics)
    assert "heat & shade: demo:greening" in output and "plan area" in output
    assert "pet_mean_c_plan_area" not in json.loads((cli_runs["base"][0] / "heat.json").read_text())["metrics"]


def test_cli_unknown_variant_is_an_error(greening_street):
    outcome = CliRunner().invoke(app, ["check", "heat", str(greening_street), "--variant", "nope"])
    assert outcome.exit_code == 1 and "unknown variant 'nope'" in outcome.output


def test_greening_shades_and_cools_where_its_trees_stand(cli_runs, greening_street):
    (variant,) = [v for v in Scene.load(greening_street).load_variants() if v.id == "greening"]
    points = np.array([p for edit in variant.edits for p in edit["points"]])
    crown = variant.edits[0]["crown_diameter"] / 2.0
    base, transform = _read(cli_runs["base"][0], "pet_mean_12_18")
    grid = Raster(base, transform)
    cx, cy = grid.cell_centres()
    near = np.zeros(base.shape, dtype=bool)
    for x, y in points:
        near |= (cx - x) ** 2 + (cy - y) ** 2 <= (crown - 0.5) ** 2
    green, _ = _read(cli_runs["greening"][0], "pet_mean_12_18")
    shade_base, _ = _read(cli_runs["base"][0], "shade_15h")
    shade_green, _ = _read(cli_runs["greening"][0], "shade_15h")
    assert np.nanmean(shade_green[near]) < np.nanmean(shade_base[near]) - 0.5
    assert np.nanmean(green[near]) < np.nanmean(base[near]) - 3.0
    # 18 m west of the trees: no shade from them at 15 h; PET changes only by the slightly smaller sky view
    far = cx < 155145.0
    np.testing.assert_array_equal(shade_green[far], shade_base[far])
    assert np.nanmax(np.abs(green[far] - base[far])) < 0.3
    metrics = json.loads((cli_runs["greening"][0] / "heat.json").read_text())["metrics"]
    area = variant.area_geometry
    in_area = shapely.contains_xy(area, cx, cy) & np.isfinite(base)
    assert metrics["pet_mean_c_plan_area"] < float(np.nanmean(base[in_area])) - 1.0


def test_rule_surface_albedo_changes_tmrt_as_the_radiation_balance_says():
    # flat open pavement (sunlit, sky view 1): the ground reflects albedo·G, and the standing person
    # absorbs a_k·(f_up + 2·f_side) = a_k/2 of that, so σ·a_l·ΔTmrt⁴ = a_k/2 · Δalbedo · G
    from stadstwin.analyses.heat_stress import radiant_moments
    from stadstwin.io.weather import hot_day

    lat, lon = 52.1, 5.1
    day = date.fromisoformat(RULES.climate.hot_day.date)
    weather = hot_day(RULES.climate.hot_day, day, lat, lon)
    times = period_moments(day)[:3]
    shape = (3, 4)
    flat = np.zeros(shape)
    codes = np.full(shape, int(Surface.PAVEMENT))
    bright = load_rules({"surfaces": {"pavement": {"albedo": 0.5}}})

    def tmrt(rules):
        return np.stack([m.tmrt for m in radiant_moments(flat, 1.0, flat, flat, np.ones(shape), codes, times, weather,
                                                          lat, lon, 0.03, rules.climate.person, rules.surfaces)])

    state = weather.at(times)
    zenith, _ = solar_position(times, lat, lon)
    if weather.has_split:
        global_h = state["dni"].to_numpy() * np.cos(np.radians(zenith)) + state["dhi"].to_numpy()
    else:
        global_h = state["ghi"].to_numpy()
    person = RULES.climate.person
    delta = person.absorptivity_shortwave / 2 * (0.5 - 0.20) * global_h / (person.absorptivity_longwave * 5.67e-8)
    got = (tmrt(bright) + 273.15) ** 4 - (tmrt(RULES) + 273.15) ** 4
    np.testing.assert_allclose(got, np.broadcast_to(delta[:, None, None], got.shape), rtol=1e-9)
    assert np.all(got > 0)


@settings(max_examples=4, deadline=None)
@given(seed=st.integers(0, 10_000), tile_size=st.integers(5, 16))
def test_tiled_heat_grids_equal_untiled(seed, tile_size):
    # relief of a few centimetres keeps the margin of the lowest sun of the day (under 1°) inside the
    # raster, so the tiles really see only part of it
    from stadstwin.analyses.heat_stress import heat_grids
    from stadstwin.crs import rd_to_wgs84
    from stadstwin.engines.tiling import overlap_cells
    from stadstwin.shade import sun_positions

    rng = np.random.default_rng(seed)
    n, origin = 40, (121000.0, 487000.0)
    dsm = rng.uniform(0.0, 0.05, (n, n)).astype(np.float32).astype(np.float64)
    canopy = np.where(rng.random((n, n)) < 0.1, 0.02, 0.0)
    codes = np.full((n, n), int(Surface.PAVEMENT))
    lat, lon = (float(v) for v in rd_to_wgs84(origin[0] + n / 2, origin[1] - n / 2))
    run = parse_settings({"step_minutes": 30}, RULES, lat, lon)
    lowest = sun_positions(lat, lon, run.day, 30)[1].min()
    assert overlap_cells(float((dsm + canopy).max() - dsm.min()), lowest, 1.0) + tile_size < n / 2

    def grids(tiles):
        return heat_grids(dsm, 1.0, origin, canopy, canopy * 0.25, codes, run, lat, lon, 0.03,
                          RULES.climate.person, RULES.surfaces, tile_size=tiles)

    whole, tiled = grids(None), grids(tile_size)
    assert np.array_equal(whole.sun_hours, tiled.sun_hours)
    assert whole.shade.keys() == tiled.shade.keys()
    assert all(np.array_equal(whole.shade[h], tiled.shade[h]) for h in whole.shade)
    for name in ("svf", "tmrt_mean", "utci_max", "pet_mean"):
        assert np.array_equal(getattr(whole, name), getattr(tiled, name), equal_nan=True)
    assert 0.0 < (whole.shade[15] < 1.0).mean() < 1.0  # the bumps do cast shadow
