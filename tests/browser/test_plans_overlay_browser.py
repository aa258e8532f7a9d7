"""The "plannen" overlay of the viewer in headless Chromium against the real service on the demo district:
the year slider shows the plans whose works run in that year (counted here from the register file), the
plans are drawn on the ground, and a year without works draws nothing."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from PIL import Image

pytestmark = pytest.mark.browser


def at_work(register: dict, year: int) -> int:
    """Plans of the register whose works (realisatie) run in ``year``."""
    return sum(int(f["properties"]["realisatie_start"][:4]) <= year <= int(f["properties"]["realisatie_end"][:4])
               for f in register["features"])


def pixels(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)


def show_year(viewer, on: bool, year: int) -> dict:
    viewer.set_input("#plans", on)
    viewer.set_input("#plan-year", year)
    viewer.rendered()
    return viewer.page.evaluate("window.__stadstwin.plans")


def test_the_year_slider_shows_the_plans_at_work_that_year(viewer, demo_scene):
    register = json.loads((demo_scene / "plans.geojson").read_text())
    viewer.page.keyboard.press("r")
    off = show_year(viewer, False, 2028)
    assert off["shown"] == 0 and off["total"] == len(register["features"])
    bare = pixels(viewer.screenshot("plans-off"))
    counts = {}
    for year in (2027, 2028):
        state = show_year(viewer, True, year)
        assert state["year"] == year
        counts[year] = state["shown"]
        assert counts[year] == at_work(register, year)
        assert viewer.page.input_value("#plan-year") == str(year)
        assert f"{counts[year]} of {len(register['features'])} plans at work in {year}" in viewer.page.inner_text("#plans-legend")
        drawn = pixels(viewer.screenshot(f"plans-{year}"))
        changed = (np.abs(drawn - bare).max(axis=-1) > 30).mean()
        assert changed > 0.001, (year, changed, np.abs(drawn - bare).max())  # the plans lie on the ground
    assert counts[2027] != counts[2028]
    show_year(viewer, True, 2028)  # the planted koppelkans of the main street is at work in 2028
    assert "riool-hoofdstraat + warmtenet-hoofdstraat" in viewer.page.inner_text("#plans-legend")
    quiet = next(y for y in range(2044, 2052) if at_work(register, y) == 0)
    assert show_year(viewer, True, quiet)["shown"] == 0
    quiet_pixels = pixels(viewer.screenshot("plans-quiet"))
    assert (np.abs(quiet_pixels - bare).max(axis=-1) > 30).mean() < 1e-4  # no works that year: nothing drawn
    show_year(viewer, False, 2028)
