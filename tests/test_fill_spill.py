"""Fill-and-spill: analytic ponds and spills, volume balance, and agreement with Priority-Flood filling."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from stadstwin.engines.depression_fill import fill_depressions
from stadstwin.engines.fill_spill import fill_and_spill


def spill(dem, rain, area, outlet=None):
    """fill_and_spill with no outlets but the border unless ``outlet`` is given."""
    return fill_and_spill(dem, rain, area, np.zeros(dem.shape, dtype=bool) if outlet is None else outlet)


def walled_pit() -> np.ndarray:
    """Flat ground at 0 with a 3 × 3 pit at −2 m inside a 3 m wall whose lowest gap is at 1.25 m."""
    dem = np.zeros((9, 9))
    dem[2:7, 2:7] = 3.0
    dem[3:6, 3:6] = -2.0
    dem[2, 4] = 1.25
    return dem


def test_a_pit_holds_the_rain_at_the_level_its_volume_gives():
    dem = walled_pit()
    rain = np.zeros_like(dem)
    rain[4, 4] = 9.0 * 0.5  # m³ on 9 cells of 0.5 m²: 1 m of water
    depth, outflow = spill(dem, rain, 0.5)
    np.testing.assert_allclose(depth[3:6, 3:6], 1.0, rtol=1e-12)
    assert outflow == 0.0
    assert depth.sum() == pytest.approx(9.0, rel=1e-12)


def test_a_full_pit_spills_at_its_gap_and_the_rest_leaves_over_the_border():
    dem = walled_pit()
    rain = np.zeros_like(dem)
    rain[4, 4] = 100.0
    depth, outflow = spill(dem, rain, 1.0)
    np.testing.assert_allclose(depth[3:6, 3:6], 3.25, rtol=1e-12)
    assert outflow == pytest.approx(100.0 - 9 * 3.25, rel=1e-12)
    border = np.zeros_like(dem)
    border[0, 3] = 5.0  # rain on the border leaves at once
    assert spill(dem, border, 1.0)[1] == 5.0


def test_an_outlet_cell_in_a_pit_drains_it_like_the_border():
    dem = walled_pit()
    rain = np.zeros_like(dem)
    rain[4, 4] = 9.0
    outlet = np.zeros(dem.shape, dtype=bool)
    outlet[3, 3] = True  # open water in the pit's corner
    depth, outflow = spill(dem, rain, 1.0, outlet)
    assert outflow == 9.0 and not depth.any()


def test_overflow_of_one_pond_fills_its_neighbour_before_rising_above_the_saddle():
    dem = np.full((5, 9), 5.0)
    dem[1:4, 1:4] = 0.0  # left pond, 9 cells
    dem[1:4, 5:8] = 1.0  # right pond, 9 cells, 1 m higher floor
    dem[2, 4] = 2.0  # the saddle between them
    dem[0, 6] = 3.0  # the right pond's outlet gap towards the border
    rain = np.zeros_like(dem)
    rain[2, 2] = 9 * 2.0 + 4.5  # fills the left pond to the saddle (2 m), 4.5 m³ spill over
    depth, outflow = spill(dem, rain, 1.0)
    np.testing.assert_allclose(depth[1:4, 1:4], 2.0, rtol=1e-12)
    np.testing.assert_allclose(depth[1:4, 5:8], 0.5, rtol=1e-12)
    assert outflow == 0.0
    rain[2, 2] = 9 * 2.0 + 9 * 1.0 + 5.0  # both full to the saddle; the last 5 m³ rise over 19 cells
    depth, outflow = spill(dem, rain, 1.0)
    np.testing.assert_allclose(depth[2, 4], 5.0 / 19, rtol=1e-12)
    np.testing.assert_allclose(depth[1:4, 1:4], 2.0 + 5.0 / 19, rtol=1e-12)
    np.testing.assert_allclose(depth[1:4, 5:8], 1.0 + 5.0 / 19, rtol=1e-12)


def test_enclosed_ponds_hold_everything_and_rain_on_walls_is_refused():
    dem = np.zeros((7, 7))
    dem[1:6, 1:6] = np.nan
    dem[3, 3] = -1.0  # a courtyard enclosed by a building
    rain = np.zeros_like(dem)
    rain[3, 3] = 50.0
    depth, outflow = spill(dem, rain, 1.0)
    assert depth[3, 3] == 50.0 and outflow == 0.0
    rain[2, 2] = 1.0
    with pytest.raises(ValueError, match="non-NaN"):
        spill(dem, rain, 1.0)


elevations = st.floats(-5.0, 5.0, allow_nan=False, width=32)
volumes = st.floats(0.0, 3.0, allow_nan=False)


def _with_walls(dem, walls, rain):
    dem = np.where(walls, np.nan, dem)
    return dem, np.where(walls, 0.0, rain)


@settings(max_examples=80, deadline=None)
@given(arrays(np.float64, (9, 11), elements=elevations), arrays(np.bool_, (9, 11)),
       arrays(np.float64, (9, 11), elements=volumes), st.floats(0.25, 4.0), st.booleans())
def test_volume_is_conserved_and_more_rain_never_lowers_the_water(dem, walls, rain, area, tied):
    dem, rain = _with_walls(np.round(dem) if tied else dem, walls, rain)  # whole metres: many equal cells
    depth, outflow = spill(dem, rain, area)
    total = rain.sum()
    assert abs(depth.sum() * area + outflow - total) <= 1e-9 * max(total, 1.0)
    assert (depth >= 0).all() and outflow >= 0
    more, _ = spill(dem, rain * 1.5, area)
    assert (more >= depth - 1e-9).all()


def _enclosed(dem: np.ndarray) -> np.ndarray:
    """Valid cells with no 8-connected path of valid cells to the border."""
    reach = np.zeros(dem.shape, dtype=bool)
    valid = ~np.isnan(dem)
    reach[[0, -1], :] = valid[[0, -1], :]
    reach[:, [0, -1]] |= valid[:, [0, -1]]
    while True:
        grown = np.pad(reach, 1)
        near = np.zeros_like(reach)
        for dr in (-1, 0, 1):
            for dc in (-1, 0, 1):
                near |= grown[1 + dr:1 + dr + dem.shape[0], 1 + dc:1 + dc + dem.shape[1]]
        new = reach | (near & valid)
        if np.array_equal(new, reach):
            return valid & ~reach
        reach = new


@settings(max_examples=80, deadline=None)
@given(arrays(np.float64, st.tuples(st.integers(1, 10), st.integers(1, 10)), elements=elevations),
       st.floats(0.0, 0.3))
def test_with_ample_rain_the_water_surface_is_the_priority_flood_fill(dem, wall_share):
    walls = np.random.default_rng(dem.size).random(dem.shape) < wall_share
    dem = np.where(walls, np.nan, dem)
    rain = np.where(walls, 0.0, 1e4)
    depth, _ = spill(dem, rain, 1.0)
    drains = ~np.isnan(dem) & ~_enclosed(dem)
    np.testing.assert_allclose((depth + dem)[drains], fill_depressions(dem)[drains], rtol=0, atol=1e-9)
