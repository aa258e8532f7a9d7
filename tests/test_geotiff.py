"""GeoTIFF elevation input (nodata, CRS, resampling to the scene grid) and COG output."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rasterio
from affine import Affine
from pyproj import Transformer

from stadstwin.errors import CRSError, InputError
from stadstwin.io.geotiff import read_elevation, write_cog
from stadstwin.model.raster import Raster

SCENE = (85_000.0, 447_500.0, 85_100.0, 447_580.0)


def _plane(x, y):
    """A tilted plane in RD New [m NAP]: resampling a plane bilinearly must give the plane back."""
    return 1.0 + 0.02 * (x - 85_000.0) - 0.01 * (y - 447_500.0)


def _write(path: Path, array, transform, crs, nodata=None) -> Path:
    with rasterio.open(path, "w", driver="GTiff", width=array.shape[1], height=array.shape[0], count=1,
                       dtype="float64", crs=crs, transform=transform, nodata=nodata) as target:
        target.write(array, 1)
    return path


def _rd_raster(path: Path, cell=2.0, nodata=None, crs="EPSG:28992") -> Path:
    source = Raster.from_bounds(84_990, 447_490, 85_110, 447_590, cell)
    x, y = source.cell_centres()
    return _write(path, _plane(x, y), source.transform, crs, nodata)


def test_rd_raster_is_resampled_bilinearly_onto_the_scene_grid(tmp_path):
    grid = Raster.from_bounds(*SCENE, 1.0)
    result = read_elevation(_rd_raster(tmp_path / "dtm.tif"), grid)
    assert result.shape == grid.shape and result.transform == grid.transform
    x, y = grid.cell_centres()
    np.testing.assert_allclose(result.array, _plane(x, y), atol=1e-6)


@pytest.mark.parametrize("epsg", [3857, 4326])
def test_raster_in_another_crs_is_reprojected(tmp_path, epsg):
    to_source = Transformer.from_crs("EPSG:28992", f"EPSG:{epsg}", always_xy=True)
    to_rd = Transformer.from_crs(f"EPSG:{epsg}", "EPSG:28992", always_xy=True)
    west, south = to_source.transform(84_980.0, 447_480.0)
    east, north = to_source.transform(85_120.0, 447_600.0)
    cols, rows = 280, 240
    transform = Affine((east - west) / cols, 0, west, 0, -(north - south) / rows, north)
    col, row = np.meshgrid(np.arange(cols) + 0.5, np.arange(rows) + 0.5)
    sx, sy = transform @ (col, row)
    x, y = to_rd.transform(sx, sy)
    path = _write(tmp_path / f"dtm_{epsg}.tif", _plane(np.asarray(x), np.asarray(y)), transform, f"EPSG:{epsg}")
    grid = Raster.from_bounds(*SCENE, 1.0)
    result = read_elevation(path, grid)
    gx, gy = grid.cell_centres()
    # source cells are ≈0.5 m; the plane rises ≤ 0.022 m per m, so misplacement would show at once
    np.testing.assert_allclose(result.array, _plane(gx, gy), atol=5e-3)


def test_nodata_cells_become_nan(tmp_path):
    source = Raster.from_bounds(*SCENE, 1.0)
    x, y = source.cell_centres()
    array = _plane(x, y)
    array[10:20, 30:40] = -9999.0
    path = _write(tmp_path / "holes.tif", array, source.transform, "EPSG:28992", nodata=-9999.0)
    result = read_elevation(path, source)
    assert np.isnan(result.array[10:20, 30:40]).all()
    valid = np.ones(array.shape, bool)
    valid[9:21, 29:41] = False
    np.testing.assert_allclose(result.array[valid], array[valid], atol=1e-9)


def test_raster_without_crs_is_refused_unless_assumed(tmp_path):
    path = _rd_raster(tmp_path / "no_crs.tif", crs=None)
    grid = Raster.from_bounds(*SCENE, 1.0)
    with pytest.raises(CRSError, match="no_crs.tif.*without CRS"):
        read_elevation(path, grid)
    x, y = grid.cell_centres()
    np.testing.assert_allclose(read_elevation(path, grid, assumed_crs="EPSG:28992").array, _plane(x, y), atol=1e-6)


def test_nan_only_raster_is_refused(tmp_path):
    source = Raster.from_bounds(*SCENE, 1.0)
    path = _write(tmp_path / "nan.tif", np.full(source.shape, np.nan), source.transform, "EPSG:28992")
    with pytest.raises(InputError, match="nan.tif.*only nodata"):
        read_elevation(path, source)
    nodata_only = _write(tmp_path / "nodata.tif", np.full(source.shape, -32768.0), source.transform,
                         "EPSG:28992", nodata=-32768.0)
    with pytest.raises(InputError, match="only nodata"):
        read_elevation(nodata_only, source)


def test_empty_or_foreign_file_and_raster_off_scene_are_refused(tmp_path):
    grid = Raster.from_bounds(*SCENE, 1.0)
    empty = tmp_path / "empty.tif"
    empty.write_bytes(b"")
    with pytest.raises(InputError, match="empty.tif"):
        read_elevation(empty, grid)
    text = tmp_path / "notes.tif"
    text.write_text("not a raster")
    with pytest.raises(InputError, match="notes.tif"):
        read_elevation(text, grid)
    far = Raster.from_bounds(150_000, 400_000, 150_100, 400_080, 1.0)
    with pytest.raises(InputError, match="does not cover"):
        read_elevation(_rd_raster(tmp_path / "dtm.tif"), far)


@pytest.mark.parametrize("crs", ["EPSG:28992", "EPSG:7415"])
def test_cog_round_trip(tmp_path, crs):
    raster = Raster.from_bounds(*SCENE, 0.2)  # 500 × 400 cells: more than one 256-cell block
    x, y = raster.cell_centres()
    array = _plane(x, y)
    array[0, :5] = np.nan
    raster = Raster(array, raster.transform)
    path = write_cog(raster, tmp_path / "dtm.tif", crs=crs)
    with rasterio.open(path) as written:
        assert written.driver == "GTiff"
        assert written.tags(ns="IMAGE_STRUCTURE").get("LAYOUT") == "COG"
        assert written.crs.to_epsg() == int(crs.split(":")[1])
        assert written.transform == raster.transform
        assert written.overviews(1)  # larger than a block, so the COG carries overviews
        back = written.read(1)
    np.testing.assert_array_equal(np.isnan(back), np.isnan(array))
    np.testing.assert_allclose(back[~np.isnan(back)], array[~np.isnan(array)].astype(np.float32))


def test_cog_of_heights_says_they_are_nap_and_a_canopy_says_above_ground(tmp_path):
    raster = Raster(np.full((4, 5), 1.25), Raster.from_bounds(*SCENE, 50.0).transform)
    for heights, crs in (("NAP", "EPSG:5709"), ("maaiveld", "none")):
        path = write_cog(raster, tmp_path / f"{heights}.tif", heights=heights)
        with rasterio.open(path) as written:
            tags = written.tags()
            assert tags["VERTICAL_CRS"].startswith(crs) and heights in tags["VERTICAL_DATUM"]
            assert written.units == ("metre",) and written.descriptions == (f"height [m {heights}]",)
            assert written.crs.to_epsg() == 28992 and written.read(1)[0, 0] == 1.25
    with rasterio.open(write_cog(raster, tmp_path / "plain.tif")) as written:
        assert "VERTICAL_DATUM" not in written.tags()  # a result raster (sun hours, depth) has no datum


def test_cog_refuses_other_crs(tmp_path):
    with pytest.raises(CRSError, match="EPSG:28992 or EPSG:7415"):
        write_cog(Raster.from_bounds(*SCENE, 1.0), tmp_path / "x.tif", crs="EPSG:4326")
