"""Priority-Flood depression filling against hand-built terrain, a plain relaxation and pysheds on real AHN3."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from stadstwin.engines.depression_fill import fill_depressions
from stadstwin.io.geotiff import write_cog
from stadstwin.io.pointcloud import read_pointclouds
from stadstwin.model.raster import Raster

NEIGHBOURS = [(-1, -1), (-1, 0), (-1, 1), (0, -1), (0, 1), (1, -1), (1, 0), (1, 1)]


def minimax_relaxation(dem: np.ndarray) -> np.ndarray:
    """Plain reference: the lowest level from which each cell reaches the border without rising,
    found by relaxing level = max(dem, min over the 8 neighbours' levels) until nothing changes."""
    level = np.full(dem.shape, np.inf)
    border = np.zeros(dem.shape, dtype=bool)
    border[[0, -1], :] = border[:, [0, -1]] = True
    valid = ~np.isnan(dem)
    level[border & valid] = dem[border & valid]
    while True:
        padded = np.pad(level, 1, constant_values=np.inf)
        rows, cols = dem.shape
        lowest = np.min([padded[1 + dr:1 + dr + rows, 1 + dc:1 + dc + cols] for dr, dc in NEIGHBOURS], axis=0)
        new = np.where(valid & ~border, np.maximum(dem, lowest), level)
        if np.array_equal(new, level):
            return np.where(np.isinf(level), dem, level)  # walls and never-draining cells stay as they are
        level = new


def test_a_walled_pit_fills_to_the_gap_in_its_wall():
    dem = np.zeros((9, 9))
    dem[2:7, 2:7] = 3.0  # wall
    dem[3:6, 3:6] = -2.0  # pit inside
    dem[2, 4] = 1.25  # the lowest gap in the wall
    dem[6, 4] = 2.0
    filled = fill_depressions(dem)
    np.testing.assert_array_equal(filled[3:6, 3:6], 1.25)
    assert filled[2, 4] == 1.25
    mask = np.ones_like(dem, dtype=bool)
    mask[3:6, 3:6] = False
    np.testing.assert_array_equal(filled[mask], dem[mask])  # nothing else changes


def test_terraces_drain_and_nested_pits_share_one_level():
    # a slope of terraces down to the west border drains as it is; two pits in one basin fill to its rim
    dem = np.tile(np.repeat(np.arange(4.0), 3), (7, 1))
    np.testing.assert_array_equal(fill_depressions(dem), dem)
    basin = np.full((7, 11), 5.0)
    basin[1:6, 1:10] = 2.0
    basin[3, 3] = basin[3, 7] = 0.5  # two pits
    basin[3, 5] = 1.0  # a low ridge between them, under the rim
    basin[0, 5] = 4.0  # the rim's lowest point
    filled = fill_depressions(basin)
    np.testing.assert_array_equal(filled[1:6, 1:10], 4.0)


def test_nan_cells_are_walls_not_outlets():
    dem = np.zeros((7, 7))
    dem[1:6, 1:6] = np.nan  # a building
    dem[3, 3] = -1.0  # a courtyard cell enclosed by it: cannot drain, stays as it is
    filled = fill_depressions(dem)
    assert filled[3, 3] == -1.0
    assert np.isnan(filled[1, 1])
    pit = np.zeros((5, 7))
    pit[1:4, 1] = np.nan
    pit[2, 3] = -1.0  # beside the building: fills to the ground around it, not drained by the NaN
    assert fill_depressions(pit)[2, 3] == 0.0


elevations = st.floats(-5.0, 5.0, allow_nan=False, width=32)


@settings(max_examples=60, deadline=None)
@given(arrays(np.float64, st.tuples(st.integers(1, 12), st.integers(1, 12)), elements=elevations))
def test_equals_the_plain_relaxation_and_is_idempotent(dem):
    filled = fill_depressions(dem)
    np.testing.assert_array_equal(filled, minimax_relaxation(dem))
    assert (filled >= dem).all()
    np.testing.assert_array_equal(fill_depressions(filled), filled)


@settings(max_examples=30, deadline=None)
@given(arrays(np.float64, (8, 9), elements=elevations), arrays(np.bool_, (8, 9)))
def test_with_walls_equals_the_plain_relaxation(dem, walls):
    dem = np.where(walls, np.nan, dem)
    np.testing.assert_array_equal(fill_depressions(dem), minimax_relaxation(dem))


def test_depression_depths_equal_pysheds_on_the_real_delft_dtm(shared_data: Path, tmp_path: Path):
    pysheds_grid = pytest.importorskip("pysheds.grid")
    laz = shared_data / "delft" / "ahn3_cropped_1.laz"
    grid = Raster.from_bounds(84_800.0, 447_410.0, 85_000.0, 447_645.0, 1.0)
    dtm = read_pointclouds([laz], grid, assumed_crs="EPSG:28992").dtm
    path = write_cog(dtm, tmp_path / "dtm.tif")  # float32 on disk: both sides fill the values read back
    peer = pysheds_grid.Grid.from_raster(str(path))
    dem = peer.read_raster(str(path))
    values = np.asarray(dem, dtype=np.float64)
    assert not np.isnan(values).any()
    expected = np.asarray(peer.fill_depressions(dem), dtype=np.float64)
    filled = fill_depressions(values)
    assert ((filled - values) > 0.05).sum() > 500  # the crop has real depressions (kerbs, gullies): not trivial
    np.testing.assert_array_equal(filled, expected)
