"""Viewshed kernel: analytic cases (flat ground, a wall, a step, earth curvature), the first blocking
cell of a line of sight, and cell-for-cell agreement with xarray-spatial's ``viewshed`` on the real
AHN3 Delft surface model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from stadstwin.engines.viewshed import EARTH_RADIUS_M, line_of_sight, viewshed
from stadstwin.io.pointcloud import read_pointclouds
from stadstwin.model.raster import Raster
from stadstwin.model.viewpoints import EYE_HEIGHT_M

H = EYE_HEIGHT_M


def test_flat_ground_is_all_visible_and_the_radius_cuts_it():
    flat = np.zeros((41, 57))
    assert viewshed(flat, 20, 30, H, 1.0).all()
    rows, cols = np.indices(flat.shape)
    near = np.hypot(rows - 20, cols - 30) * 2.0 <= 25.0  # 2 m cells, 25 m radius
    np.testing.assert_array_equal(viewshed(flat, 20, 30, H, 2.0, radius=25.0).astype(bool), near)


@pytest.mark.parametrize("wall_height", [1.0, 1.5])
def test_a_wall_hides_the_ground_behind_it_up_to_the_geometric_shadow_line(wall_height):
    """Eye 1.75 m over flat ground, a wall one cell thick 10 cells away in each of the four
    directions: along the row and column of the observer (sight lines through cell centres) the ground
    at distance x behind the wall is seen iff −h/x ≥ (H − h)/a, i.e. x ≥ a·h / (h − H)."""
    n, a, c = 81, 10, 40
    z = np.zeros((n, n))
    z[c - a, :] = z[c + a, :] = z[:, c - a] = z[:, c + a] = wall_height
    seen = viewshed(z, c, c, H, 1.0).astype(bool)
    x = np.arange(a + 1, c + 1)
    expected = x >= a * H / (H - wall_height)
    for line in (seen[c, c + a + 1:], seen[c, c - a - 1::-1], seen[c + a + 1:, c], seen[c - a - 1::-1, c]):
        np.testing.assert_array_equal(line, expected)
    assert seen[c - a + 1:c + a, c - a + 1:c + a].all()  # inside the walls: open ground
    assert seen[c, c + a] and seen[c - a, c]  # the walls themselves


def test_a_wall_above_the_eye_hides_everything_behind_it():
    z = np.zeros((31, 60))
    z[:, 20] = 3.0
    seen = viewshed(z, 15, 5, H, 1.0).astype(bool)
    assert not seen[15, 21:].any()
    assert seen[:, :21].all()


def test_from_a_step_down_the_low_ground_reappears_where_the_edge_line_meets_it():
    """Observer on a terrace 3 m high that ends at column 19 (the low ground starts at 20): along the
    row the last high cell (centre at distance e = 19 − c0) hides low ground to x = e·(s + h)/h."""
    s, c0, edge = 3.0, 4, 20
    z = np.zeros((21, 120))
    z[:, :edge] = s
    seen = viewshed(z, 10, c0, s + H, 1.0).astype(bool)
    e = edge - 1 - c0
    x = np.arange(edge, 120) - c0
    np.testing.assert_array_equal(seen[10, edge:], x >= e * (s + H) / H)


@pytest.mark.parametrize("refraction", [0.0, 0.13])
def test_earth_curvature_hides_flat_ground_beyond_the_horizon(refraction):
    """A point d away lies d²/(2R)·(1 − k) below the observer's tangent plane, so the ground is seen up
    to the horizon √(2Rh/(1 − k)) and not beyond; without curvature all of it is seen."""
    cell = 10.0
    z = np.zeros((3, 800))  # 8 km of flat ground
    horizon = np.sqrt(2 * EARTH_RADIUS_M * H / (1 - refraction))
    seen = viewshed(z, 1, 0, H, cell, curvature=True, refraction=refraction)[1].astype(bool)
    d = np.arange(800) * cell
    assert seen[d < horizon - cell].all()
    assert not seen[d > horizon + cell].any()
    assert viewshed(z, 1, 0, H, cell).all()
    # a mast at 7 km: its lowest (D − horizon)²/(2R)·(1 − k) metres stay below the horizon
    far = 700
    c = (1 - refraction) / (2 * EARTH_RADIUS_M)
    hidden = c * (far * cell - horizon) ** 2
    assert line_of_sight(z, (1, 0), H, (1, far), hidden + 0.05, cell, curvature=True, refraction=refraction) is None
    assert line_of_sight(z, (1, 0), H, (1, far), hidden + 0.05, cell) is None
    row, col = line_of_sight(z, (1, 0), H, (1, far), hidden - 0.05, cell, curvature=True, refraction=refraction)
    # the first ground cell above the sight line: the nearer root of c·d² − g·d + h = 0 (g the line's slope)
    g = (hidden - 0.05 - H - c * (far * cell) ** 2) / (far * cell)
    first = (-g - np.sqrt(g * g - 4 * c * H)) / (2 * c)
    assert row == 1 and col == pytest.approx(first / cell, abs=1.0)


def test_line_of_sight_names_the_first_cell_above_the_line():
    z = np.zeros((11, 40))
    z[5, 12] = 4.0
    z[5, 20] = 6.0
    assert line_of_sight(z, (5, 2), H, (5, 30), H, 1.0) == (5, 12)
    assert line_of_sight(z, (5, 2), H, (5, 30), 30.0, 1.0) is None  # a tower top over both
    assert line_of_sight(z, (5, 2), H, (1, 30), H, 1.0) is None  # beside them
    assert line_of_sight(z, (5, 2), 10.0, (5, 30), 0.0, 1.0) == (5, 20)  # from 10 m only the 6 m post


def test_the_viewshed_is_the_line_of_sight_to_every_cell():
    rng = np.random.default_rng(7)
    z = rng.uniform(0.0, 3.0, (23, 29))
    seen = viewshed(z, 11, 9, z[11, 9] + H, 0.5)
    for (r, c), v in np.ndenumerate(seen):
        if (r, c) != (11, 9):
            assert (line_of_sight(z, (11, 9), z[11, 9] + H, (r, c), z[r, c], 0.5) is None) == bool(v)


@pytest.fixture(scope="module")
def delft_dsm(shared_data: Path) -> tuple[np.ndarray, np.ndarray]:
    grid = Raster.from_bounds(84_800.0, 447_410.0, 85_000.0, 447_645.0, 1.0)
    clouds = read_pointclouds([shared_data / "delft" / "ahn3_cropped_1.laz"], grid, assumed_crs="EPSG:28992")
    return clouds.dsm.values().astype(np.float64), clouds.dtm.values().astype(np.float64)


def test_the_viewshed_agrees_with_xarray_spatial_on_the_real_delft_dsm(delft_dsm):
    xr = pytest.importorskip("xarray")
    xrspatial = pytest.importorskip("xrspatial")
    dsm, dtm = delft_dsm
    window = dsm[40:200, 20:180]  # 160 × 160 m of AHN3 Delft: streets, roofs, trees
    n_rows, n_cols = window.shape
    for row, col in ((55, 85), (85, 145), (145, 115)):  # on open ground in three streets
        assert window[row, col] - dtm[40 + row, 20 + col] < 0.2
        peer = xr.DataArray(window.copy(), dims=("y", "x"),
                            coords={"y": np.arange(n_rows)[::-1] * 1.0, "x": np.arange(n_cols) * 1.0})
        expected = xrspatial.viewshed(peer, x=float(col), y=float(n_rows - 1 - row), observer_elev=H).values >= 0
        seen = viewshed(window, row, col, window[row, col] + H, 1.0).astype(bool)
        assert 300 < expected.sum() < expected.size // 10  # a street view: neither blind nor open field
        assert (seen == expected).mean() >= 0.995
