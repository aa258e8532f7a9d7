"""The viewer in headless Chromium against the real service on the demo district: pixels of the rendered
scene, the ground made see-through or cut away, variants side by side, findings flying the camera, the sun
against pvlib, and a console without errors. Screenshots go to test-artifacts/browser/.
"""

from __future__ import annotations

import io
from datetime import datetime
from zoneinfo import ZoneInfo

import numpy as np
import pytest
import shapely
from PIL import Image

pytestmark = pytest.mark.browser

SEVERITY_ORDER = ["certain", "high", "error", "possible", "medium", "warning"]


def pixels(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)


def masks(rgb: np.ndarray) -> dict[str, np.ndarray]:
    """Pixel classes by colour: sky, buildings (light grey-beige), trees (green), terrain (brown),
    and the networks water (blue #1f78b4) and electricity (red #e4002b)."""
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    spread = rgb.max(axis=-1) - rgb.min(axis=-1)
    return {
        "sky": (b > r + 5) & (rgb.min(axis=-1) > 190),
        "building": (r >= b + 3) & (r - b < 32) & (rgb.min(axis=-1) > 150) & (spread < 32),
        "tree": (g > r + 15) & (g > b + 15),
        "terrain": (r > g) & (g > b) & (r - b >= 32),
        "water": (b > r + 60) & (b > g + 15),
        "electricity": (r > 120) & (r > g + 80) & (r > b + 60),
        "inferno": (r > 180) & (g > 60) & (g < 200) & (b < 90),  # the warm half of the sun-hours colour map
    }


def share(mask: np.ndarray) -> float:
    return float(mask.mean())


@pytest.fixture(autouse=True)
def no_console_errors(viewer):
    """Every test ends with a browser console free of errors."""
    yield
    assert viewer.errors == [], viewer.errors


def show_single(viewer, variant: str = "base") -> None:
    """Single view of one variant, ground opaque and uncut, clock at 15:00 on 21 June."""
    page = viewer.page
    if page.input_value("#mode") != "single":
        page.select_option("#mode", "single")
        viewer.wait_ready()
    if page.input_value("#variant-a") != variant:
        page.select_option("#variant-a", variant)
        viewer.wait_ready()
    viewer.set_input("#opacity", 1)
    viewer.set_input("#clip", False)
    viewer.set_input("#date", "2026-06-21")
    viewer.set_input("#time", 15)
    viewer.page.keyboard.press("r")
    viewer.rendered()


def look_at_water(viewer) -> None:
    """Fly to a finding on a water main (a listed finding button) and zoom in, as a user would."""
    flights = viewer.page.evaluate("window.__stadstwin.flights ?? 0")
    viewer.page.locator("#findings button.finding", has_text="water").first.click()
    viewer.page.wait_for_function(f"(window.__stadstwin.flights ?? 0) > {flights}")
    for _ in range(4):
        viewer.page.keyboard.press("+")
    viewer.rendered()


def test_demo_loads_and_the_canvas_shows_the_scene(viewer):
    show_single(viewer)
    layers = viewer.service.get("/api/scenes/demo/variants/base/layers").json()["layers"]
    status = viewer.page.text_content("#status")
    assert status == f"demo: base · {len(layers)} layers"
    rgb = pixels(viewer.screenshot("demo-base"))
    assert rgb.std() > 20, "the canvas is blank"
    found = {name: share(mask) for name, mask in masks(rgb).items()}
    assert found["building"] > 0.03 and found["tree"] > 0.003 and found["terrain"] > 0.10, found
    assert 0.02 < found["sky"] < 0.7, found


def test_underground_networks_show_through_translucent_or_cut_ground(viewer):
    show_single(viewer)
    look_at_water(viewer)
    opaque = masks(pixels(viewer.screenshot("ground-opaque")))
    assert share(opaque["water"]) < 0.0005, "networks show through the opaque ground"
    viewer.set_input("#opacity", 0.2)
    viewer.rendered()
    translucent = masks(pixels(viewer.screenshot("ground-translucent")))
    assert share(translucent["water"]) > 0.003
    viewer.set_input("#opacity", 1)
    viewer.set_input("#clip", True)
    viewer.rendered()
    cut = masks(pixels(viewer.screenshot("ground-cut")))
    assert share(cut["water"]) > 0.003


def click_inside(viewer, mask: np.ndarray) -> dict:
    """Click the pixel of ``mask`` with the most of ``mask`` around it (not an edge where another object is
    nearer); returns what the viewer picked."""
    mask = mask.astype(int)
    padded = np.pad(mask, 3)
    around = sum(np.roll(np.roll(padded, dy, 0), dx, 1) for dy in range(-3, 4) for dx in range(-3, 4))[3:-3, 3:-3]
    row, col = np.unravel_index(np.argmax(around * mask), mask.shape)
    box = viewer.page.locator("#viewport canvas").bounding_box()
    viewer.page.mouse.click(box["x"] + col + 0.5, box["y"] + row + 0.5)
    return viewer.page.evaluate("window.__stadstwin.picked")


def test_clicking_a_pipe_shows_its_imkl_attributes(viewer):
    show_single(viewer)
    look_at_water(viewer)
    viewer.set_input("#clip", True)
    viewer.rendered()
    picked = click_inside(viewer, masks(pixels(viewer.screenshot("pick")))["water"])
    assert picked["utility"] == "water" and picked["layer"] == "network_water", picked
    assert picked["feature_id"].startswith("nl.imkl-") and picked["depth_source"]
    panel = viewer.page.text_content("#attributes")
    assert "IMKL id" in panel and picked["feature_id"] in panel and "depth source" in panel


def test_clicking_a_building_shows_its_bag_id_where_it_stands(viewer, demo_scene):
    from stadstwin import build_twin

    show_single(viewer)
    picked = click_inside(viewer, masks(pixels(viewer.screenshot("pick-building")))["building"])
    assert picked["layer"] == "buildings" and picked["source_id"].startswith("NL.IMBAG.Pand."), picked
    assert picked["source_id"] in viewer.page.text_content("#attributes")
    # the clicked point, back in EPSG:7415, lies on that building of the twin (footprint, ground to roof)
    buildings = build_twin(demo_scene).buildings
    (i,) = np.flatnonzero(buildings.source_id == picked["source_id"])
    origin = viewer.service.get("/api/scenes/demo").json()["origin"]
    x, y, z = np.add(viewer.page.evaluate("window.__stadstwin.pickedAt"), origin)
    assert buildings.footprint[i].distance(shapely.Point(x, y)) < 0.01, (x, y)
    assert buildings.ground_z[i] - 0.01 <= z <= buildings.roof_z[i] + 0.01, z
    assert picked["roof_z"] == pytest.approx(buildings.roof_z[i])


def test_choosing_a_finding_flies_the_camera_to_it(viewer):
    show_single(viewer)
    origin = viewer.service.get("/api/scenes/demo").json()["origin"]
    features = viewer.service.get("/api/scenes/demo/variants/base/findings").json()["features"]
    assert features, "the clash analysis found nothing on the demo"
    rank = {s: i for i, s in enumerate(SEVERITY_ORDER)}
    first = min(features, key=lambda f: rank.get(f["properties"].get("severity"), len(rank)))
    coordinates = np.atleast_2d(np.asarray(first["geometry"]["coordinates"], dtype=float)).reshape(-1, 3)
    expected = coordinates.mean(axis=0) - np.asarray(origin)
    before = viewer.page.evaluate("window.__stadstwin.camera()")
    flights = viewer.page.evaluate("window.__stadstwin.flights ?? 0")
    viewer.page.locator("#findings button.finding").first.click()
    viewer.page.wait_for_function(f"(window.__stadstwin.flights ?? 0) > {flights}")
    after = viewer.page.evaluate("window.__stadstwin.camera()")
    np.testing.assert_allclose(after["target"], expected, atol=1e-3)
    assert np.linalg.norm(np.subtract(after["position"], before["position"])) > 10
    assert np.linalg.norm(np.subtract(after["position"], after["target"])) == pytest.approx(25, abs=1e-3)
    assert first["properties"]["severity"] in viewer.page.text_content("#attributes")
    viewer.screenshot("finding")


def test_split_view_shows_two_different_variants(viewer):
    page = viewer.page
    show_single(viewer)
    page.select_option("#variant-b", "base")
    page.select_option("#mode", "split")
    viewer.wait_ready()
    page.keyboard.press("r")
    viewer.rendered()
    same = pixels(viewer.screenshot("split-base-base"))
    page.select_option("#variant-b", "greening")
    viewer.wait_ready()
    differ = pixels(viewer.screenshot("split-base-greening"))
    half = same.shape[1] // 2

    def halves(rgb):
        return rgb[:, :half], rgb[:, half:2 * half]

    left, right = halves(same)
    alike = np.abs(left - right).mean()
    assert alike < 1, "one variant twice must give two equal halves"
    left, right = halves(differ)
    assert np.abs(left - right).mean() > 3 * alike + 1
    assert share(masks(right)["tree"]) > 1.5 * share(masks(left)["tree"]), "greening plants trees"
    assert page.text_content("#label-a") == "base" and page.text_content("#label-b") == "greening"


def test_swipe_divider_moves_the_split(viewer):
    page = viewer.page
    show_single(viewer)
    page.select_option("#variant-b", "greening")
    page.select_option("#mode", "swipe")
    viewer.wait_ready()
    divider = page.locator("#divider").bounding_box()
    canvas = page.locator("#viewport canvas").bounding_box()
    page.mouse.move(divider["x"] + divider["width"] / 2, divider["y"] + 100)
    page.mouse.down()
    page.mouse.move(canvas["x"] + canvas["width"] * 0.25, divider["y"] + 100, steps=2)
    page.mouse.up()
    viewer.rendered()
    assert page.evaluate("window.__stadstwin.views.swipe") == pytest.approx(0.25, abs=0.01)
    viewer.screenshot("swipe")


def test_time_of_day_moves_the_sun_like_pvlib(viewer):
    from stadstwin.crs import rd_to_wgs84
    from stadstwin.sun import solar_position

    show_single(viewer)
    xmin, ymin, xmax, ymax = viewer.service.get("/api/scenes/demo").json()["extent"]
    lat, lon = (float(v) for v in rd_to_wgs84((xmin + xmax) / 2, (ymin + ymax) / 2))
    state = viewer.page.evaluate("({lat: window.__stadstwin.state.lat, lon: window.__stadstwin.state.lon})")
    assert state["lat"] == pytest.approx(lat, abs=2e-5) and state["lon"] == pytest.approx(lon, abs=2e-5)
    shots = []
    for hour in (10, 17):
        viewer.set_input("#time", hour)
        viewer.rendered()
        sun = viewer.page.evaluate("window.__stadstwin.sun")
        zenith, azimuth = solar_position(datetime(2026, 6, 21, hour, tzinfo=ZoneInfo("Europe/Amsterdam")), lat, lon)
        assert sun["altitude"] == pytest.approx(90 - zenith[0], abs=0.3)
        assert sun["azimuth"] == pytest.approx(azimuth[0], abs=0.3)
        shots.append(pixels(viewer.screenshot(f"sun-{hour}h")))
    assert np.abs(shots[0] - shots[1]).mean() > 2, "shadows and shading follow the sun"


def test_result_overlay_is_draped_on_the_ground_with_its_legend(viewer):
    page = viewer.page
    show_single(viewer)
    page.select_option("#overlay", "")
    viewer.rendered()
    plain = share(masks(pixels(viewer.screenshot("overlay-none")))["inferno"])
    entry = next(r for r in viewer.service.get("/api/scenes/demo/variants/base/results").json()
                 if r["raster"] == "sun_hours")
    page.select_option("#overlay", "heat/sun_hours")
    page.wait_for_selector("#legends .legend")
    viewer.rendered()
    draped = share(masks(pixels(viewer.screenshot("overlay-sun-hours")))["inferno"])
    assert draped > plain + 0.1, (plain, draped)
    legend = page.text_content("#legends")
    assert "sun_hours" in legend
    assert f"{entry['legend']['min']:.1f}" in legend and f"{entry['legend']['max']:.1f}" in legend
    page.select_option("#overlay", "")
    viewer.rendered()
    assert share(masks(pixels(viewer.screenshot("overlay-removed")))["inferno"]) == pytest.approx(plain, abs=0.01)


def test_water_overlay_shows_the_ponds_of_the_stress_test_in_blue_with_its_legend(viewer):
    page = viewer.page
    show_single(viewer)
    page.select_option("#overlay", "")
    viewer.rendered()
    plain = pixels(viewer.screenshot("water-none"))
    entry = next(r for r in viewer.service.get("/api/scenes/demo/variants/base/results").json()
                 if r["raster"] == "water_depth")
    page.select_option("#overlay", "water/water_depth")
    page.wait_for_selector("#legends .legend")
    viewer.rendered()
    draped = pixels(viewer.screenshot("water-depth"))
    bluer = (draped[..., 2] - draped[..., 0]) - (plain[..., 2] - plain[..., 0])
    wet_share = float((bluer > 20).mean())
    changed_share = float((np.abs(draped - plain).sum(axis=-1) > 30).mean())
    # the courtyards' ponds turn blue; dry ground stays as it was (cells under 1 cm are transparent)
    assert 0.01 < wet_share < 0.25, wet_share
    assert changed_share < 2 * wet_share, (changed_share, wet_share)
    legend = page.text_content("#legends")
    assert "water_depth" in legend and f"{entry['legend']['max']:.1f}" in legend
