"""Tree registers (GeoJSON / GeoPackage, Dutch and English columns) and tree detection in a CHM."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyogrio
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from pyproj import Transformer

from stadstwin.engines.tree_detection import local_maxima, window_radius
from stadstwin.errors import CRSError, InputError
from stadstwin.io.trees import crown_width, detect_trees, read_tree_register
from stadstwin.model.raster import Raster

RD_POINTS = [(85_010.0, 447_520.0), (85_030.5, 447_540.25), (85_055.0, 447_505.0)]


def _dtm() -> Raster:
    grid = Raster.from_bounds(85_000, 447_500, 85_100, 447_580, 1.0)
    x, _ = grid.cell_centres()
    return Raster(0.5 + 0.01 * (x - 85_000), grid.transform)


def _geojson(path: Path, properties: list[dict], points=RD_POINTS, crs="EPSG:28992") -> Path:
    features = [{"type": "Feature", "properties": p, "geometry": {"type": "Point", "coordinates": list(xy)}}
                for p, xy in zip(properties, points)]
    document = {"type": "FeatureCollection", "features": features}
    if crs:
        document["crs"] = {"type": "name", "properties": {"name": crs}}
    path.write_text(json.dumps(document))
    return path


def test_dutch_register_with_height_classes(tmp_path):
    path = _geojson(tmp_path / "bomen.geojson", [
        {"boomnummer": "B-1", "Boomhoogte": "9-12 m", "kroondiameter": "6,5", "boomsoort": "Tilia x europaea"},
        {"boomnummer": "B-2", "Boomhoogte": 15, "kroondiameter": 8, "boomsoort": "Platanus x hispanica"},
        {"boomnummer": "B-3", "Boomhoogte": "c. 6 tot 9 m.", "kroondiameter": None, "boomsoort": None},
    ])
    trees = read_tree_register(path, dtm=_dtm())
    np.testing.assert_allclose(trees.x, [p[0] for p in RD_POINTS])
    np.testing.assert_allclose(trees.y, [p[1] for p in RD_POINTS])
    np.testing.assert_allclose(trees.height, [10.5, 15.0, 7.5])
    np.testing.assert_allclose(trees.crown_diameter, [6.5, 8.0, crown_width(7.5)])
    np.testing.assert_allclose(trees.trunk_height, 0.25 * trees.height)
    np.testing.assert_allclose(trees.ground_z, 0.5 + 0.01 * (trees.x - 85_000), atol=1e-9)
    assert list(trees.species) == ["Tilia x europaea", "Platanus x hispanica", ""]
    assert list(trees.source_id) == ["B-1", "B-2", "B-3"]


def test_english_geopackage_in_wgs84_is_reprojected(tmp_path):
    to_wgs84 = Transformer.from_crs("EPSG:28992", "EPSG:4326", always_xy=True)
    lon, lat = to_wgs84.transform(*np.array(RD_POINTS).T)
    path = tmp_path / "trees.gpkg"
    pyogrio.raw.write(
        path, shapely.to_wkb(shapely.points(lon, lat)),
        [np.array([12.0, 20.0, 4.0]), np.array([5.0, 9.0, 2.0]), np.array([3.0, 25.0, 1.0]),
         np.array(["Quercus robur", "Fagus sylvatica", "Acer campestre"], dtype=object)],
        ["tree_height", "crown_width", "crown_base_height", "scientific_name"],
        driver="GPKG", geometry_type="Point", crs="EPSG:4326",
    )
    trees = read_tree_register(path)
    np.testing.assert_allclose(np.c_[trees.x, trees.y], RD_POINTS, atol=1e-3)
    np.testing.assert_allclose(trees.crown_diameter, [5.0, 9.0, 2.0])
    np.testing.assert_allclose(trees.trunk_height, [3.0, 20.0, 1.0])  # 25 m crown base capped at the height
    assert np.isnan(trees.ground_z).all()
    assert trees.species[1] == "Fagus sylvatica"


def test_explicit_column_map_and_skipped_rows(tmp_path):
    path = _geojson(tmp_path / "register.geojson", [
        {"H_m": 11.0, "nr": 1}, {"H_m": "onbekend", "nr": 2}, {"H_m": 0, "nr": 3},
    ])
    with pytest.warns(UserWarning, match="2 trees without a geometry or usable height"):
        trees = read_tree_register(path, columns={"height": "H_m", "id": "nr"})
    assert list(trees.source_id) == ["1"] and trees.height[0] == 11.0
    with pytest.raises(InputError, match="column 'kroon' for crown_diameter not found"):
        read_tree_register(path, columns={"height": "H_m", "crown_diameter": "kroon"})


def test_bad_registers_are_refused(tmp_path):
    no_height = _geojson(tmp_path / "no_height.geojson", [{"boomsoort": "Tilia"}] * 3)
    with pytest.raises(InputError, match="no_height.geojson.*no tree height column"):
        read_tree_register(no_height)
    empty = tmp_path / "empty.geojson"
    empty.write_bytes(b"")
    with pytest.raises(InputError, match="empty.geojson"):
        read_tree_register(empty)
    no_crs = tmp_path / "no_crs.gpkg"
    with pytest.warns(UserWarning, match="'crs' was not provided"):
        pyogrio.raw.write(no_crs, shapely.to_wkb(shapely.points(RD_POINTS)), [np.array([8.0, 9.0, 10.0])],
                          ["height"], driver="GPKG", geometry_type="Point")
    with pytest.raises(CRSError, match="no_crs.gpkg.*without CRS"):
        read_tree_register(no_crs)
    assert len(read_tree_register(no_crs, assumed_crs="EPSG:28992")) == 3


def test_register_without_features_gives_no_trees(tmp_path):
    path = tmp_path / "none.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": []}))
    assert len(read_tree_register(path)) == 0


CONES = [  # x, y [m], height [m], crown radius [m]
    (12.3, 14.7, 12.0, 3.0), (25.1, 30.2, 18.0, 4.5), (40.6, 12.2, 8.0, 2.5), (20.4, 45.3, 6.0, 2.0),
    (45.2, 40.9, 22.0, 5.0),
]


def _cone_chm(cell: float, size: float = 56.0) -> Raster:
    """Each cell holds the highest point of the cones over its square (as a highest-return CHM does)."""
    grid = Raster.from_bounds(85_000, 447_500, 85_000 + size, 447_500 + size, cell)
    cx, cy = grid.cell_centres()
    chm = np.zeros(grid.shape)
    for x, y, h, r in CONES:
        dx = np.maximum(np.abs(cx - 85_000 - x) - cell / 2, 0)
        dy = np.maximum(np.abs(cy - 447_500 - y) - cell / 2, 0)
        chm = np.maximum(chm, np.clip(h * (1 - np.hypot(dx, dy) / r), 0, None))
    return Raster(chm, grid.transform)


@pytest.mark.parametrize("cell", [0.5, 1.0])
def test_detected_cones_match_their_positions_heights_and_crowns(cell):
    chm = _cone_chm(cell)
    dtm = Raster(np.full(chm.shape, 0.7), chm.transform)
    trees = detect_trees(chm, dtm, min_height=3.0, crown_floor=2.0)
    assert len(trees) == len(CONES)
    order = np.lexsort((trees.y, trees.x))
    expected = sorted(CONES)
    for k, (x, y, h, r) in zip(order, expected):
        assert abs(trees.x[k] - 85_000 - x) <= cell / 2 and abs(trees.y[k] - 447_500 - y) <= cell / 2
        assert abs(trees.height[k] - h) <= 0.5
        # cells above the floor are those whose square meets the disc of radius ρ: area πρ² + 4ρs + s²
        rho = r * (1 - 2.0 / h)
        reference = 2 * np.sqrt((np.pi * rho**2 + 4 * rho * cell + cell**2) / np.pi)
        assert abs(trees.crown_diameter[k] - reference) <= cell
    np.testing.assert_allclose(trees.ground_z, 0.7)
    np.testing.assert_allclose(trees.trunk_height, 0.25 * trees.height)
    assert set(trees.source_id) == {f"chm-{i}" for i in range(len(CONES))}


def test_no_trees_below_the_minimum_height():
    chm = _cone_chm(1.0)
    trees = detect_trees(chm, Raster(np.zeros(chm.shape), chm.transform), min_height=30.0, crown_floor=2.0)
    assert len(trees) == 0


def test_narrow_tops_such_as_lamp_posts_are_dropped():
    grid = Raster.from_bounds(85_000, 447_500, 85_020, 447_520, 1.0)
    chm = np.zeros(grid.shape)
    chm[5, 5] = 8.0  # a lamp post: one cell
    chm[12:15, 12:15] = 6.0  # a small tree: 3 × 3 cells, ~3.4 m crown
    chm[13, 13] = 7.0
    trees = detect_trees(Raster(chm, grid.transform), Raster(np.zeros(grid.shape), grid.transform))
    assert len(trees) == 1 and trees.height[0] == 7.0
    assert trees.crown_diameter[0] == pytest.approx(2 * np.sqrt(9 / np.pi))


def _local_maxima_reference(chm: np.ndarray, cell: float, min_height: float) -> np.ndarray:
    rows, cols = chm.shape
    out = np.zeros(chm.shape, bool)
    for r in range(rows):
        for c in range(cols):
            h = chm[r, c]
            if not h >= min_height:
                continue
            radius = 0.5 * (2.51503 + 0.00901 * h * h) / cell
            rr, cc = np.mgrid[0:rows, 0:cols]
            window = (rr - r) ** 2 + (cc - c) ** 2 <= radius**2
            earlier = (rr < r) | ((rr == r) & (cc < c))
            higher = (chm > h) | ((chm == h) & earlier)
            out[r, c] = not np.any(window & higher)
    return out


@settings(max_examples=30, deadline=None)
@given(st.integers(2, 14), st.integers(2, 14), st.integers(0, 2**31), st.sampled_from([0.5, 1.0]))
def test_local_maxima_kernel_equals_brute_force(rows, cols, seed, cell):
    rng = np.random.default_rng(seed)
    chm = np.round(rng.uniform(0, 25, (rows, cols)), 0)  # rounding makes ties (plateaus)
    chm[rng.random((rows, cols)) < 0.1] = np.nan
    np.testing.assert_array_equal(local_maxima(chm, cell, 3.0), _local_maxima_reference(chm, cell, 3.0))
    assert window_radius(10.0, cell) == pytest.approx(0.5 * (2.51503 + 0.901) / cell)
