"""Raster geometry and bilinear sampling; CRS parsing and reprojection to RD New."""

import numpy as np
import pytest
from pyproj import Transformer

from stadstwin.crs import parse_crs, rd_to_wgs84, to_internal
from stadstwin.errors import CRSError
from stadstwin.model.raster import Raster


def test_from_bounds_and_geometry():
    r = Raster.from_bounds(100.0, 200.0, 110.0, 205.0, 0.5)
    assert r.shape == (10, 20)
    assert r.bounds == (100.0, 200.0, 110.0, 205.0)
    x, y = r.cell_centres()
    assert (x[0, 0], y[0, 0]) == (100.25, 204.75)  # row 0 is north


def test_sample_is_exact_on_a_plane():
    r = Raster.from_bounds(0.0, 0.0, 10.0, 10.0, 1.0)
    x, y = r.cell_centres()
    plane = 0.3 * x - 0.2 * y + 1.0
    r = Raster(plane, r.transform)
    px = np.array([0.5, 3.3, 7.9, 9.5])
    py = np.array([0.5, 6.1, 2.2, 9.5])
    np.testing.assert_allclose(r.sample(px, py), 0.3 * px - 0.2 * py + 1.0)
    assert np.isnan(r.sample(np.array([-1.0]), np.array([5.0])))[0]


def test_nodata_becomes_nan():
    r = Raster(np.array([[1.0, -9999.0], [2.0, 3.0]]), Raster.from_bounds(0, 0, 2, 2, 1).transform, nodata=-9999.0)
    assert np.isnan(r.values()[0, 1])


def test_rotated_or_south_up_raster_is_refused():
    from affine import Affine

    with pytest.raises(ValueError, match="north-up"):
        Raster(np.zeros((2, 2)), Affine(1, 0, 0, 0, 1, 0))


def test_reprojection_matches_pyproj():
    lon = np.array([4.3571, 5.1214])
    lat = np.array([52.0116, 52.0907])
    x, y = to_internal(lon, lat, parse_crs("EPSG:4326"))
    ex, ey = Transformer.from_crs("EPSG:4326", "EPSG:28992", always_xy=True).transform(lon, lat)
    np.testing.assert_allclose(x, ex, atol=1e-6)
    np.testing.assert_allclose(y, ey, atol=1e-6)
    back_lat, back_lon = rd_to_wgs84(x, y)
    np.testing.assert_allclose(back_lat, lat, atol=1e-9)
    np.testing.assert_allclose(back_lon, lon, atol=1e-9)


def test_rd_is_passed_through_and_compound_rd_nap_too():
    x = np.array([85000.0])
    assert to_internal(x, x, parse_crs("EPSG:28992"))[0] is not None
    np.testing.assert_array_equal(to_internal(x, x, parse_crs("EPSG:7415"))[0], x)


@pytest.mark.parametrize("value", [None, "", "EPSG:0", "not a crs"])
def test_missing_or_unknown_crs_is_refused(value):
    with pytest.raises(CRSError, match="coordinate reference system") as info:
        parse_crs(value, path="a.laz")
    assert str(info.value).startswith("a.laz")
