"""A twin stored as a folder (COG rasters, GeoParquet tables, JSON) reads back equal to the one written.

References: the twin in memory, compared field by field (arrays with their dtypes and NaN cells,
geometries by WKB, meshes by vertices and faces); the files read with rasterio and pyarrow directly
(no stadstwin code) for what a GIS user sees; a tile built again in memory from the scene.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
import rasterio
import shapely

from stadstwin import build_twin
from stadstwin.build import tiled as tiled_module
from stadstwin.build.tiled import build_tiled, tile_scene
from stadstwin.errors import InputError
from stadstwin.io.twin_folder import MANIFEST, read_twin_folder, write_twin_folder
from stadstwin.model.raster import Raster
from stadstwin.model.reservations import Reservations
from stadstwin.model.scene import Scene
from stadstwin.model.variant import Variant
from stadstwin.scenario.apply import apply_variant

REPO = Path(__file__).resolve().parents[1]


def assert_same(a, b, where: str = "twin") -> None:
    """``a`` equals ``b`` field by field: arrays by dtype, shape and value (NaN equal to NaN)."""
    if isinstance(a, Raster):
        assert isinstance(b, Raster) and a.array.dtype == b.array.dtype, where
        np.testing.assert_array_equal(a.array, b.array, err_msg=where)
        assert (a.transform, a.crs, a.nodata) == (b.transform, b.crs, b.nodata), where
    elif isinstance(a, np.ndarray):
        assert (a.dtype, a.shape) == (b.dtype, b.shape), where
        if a.dtype == object and len(a) and shapely.is_geometry(a).all():
            assert (shapely.to_wkb(a) == shapely.to_wkb(b)).all(), where
        else:
            np.testing.assert_array_equal(a, b, err_msg=where)
    elif dataclasses.is_dataclass(a):
        assert type(a) is type(b), where
        for field in dataclasses.fields(a):
            assert_same(getattr(a, field.name), getattr(b, field.name), f"{where}.{field.name}")
    elif isinstance(a, dict):
        assert list(a) == list(b), where
        for key in a:
            assert_same(a[key], b[key], f"{where}[{key}]")
    elif isinstance(a, list):  # meshes
        assert len(a) == len(b), where
        for x, y in zip(a, b):
            assert (x is None) == (y is None), where
            if x is not None:
                np.testing.assert_array_equal(x.vertices, y.vertices, err_msg=where)
                np.testing.assert_array_equal(x.faces, y.faces, err_msg=where)
    else:
        assert a == b and type(a) is type(b), (where, a, b)


@pytest.fixture(scope="module")
def delft(tmp_path_factory) -> Scene:
    """The real Delft scene (``scenes/delft``, AHN3 + BGT in ``data/delft``) in a folder of its own."""
    folder = tmp_path_factory.mktemp("delft")
    text = (REPO / "scenes" / "delft" / "scene.toml").read_text()
    (folder / "scene.toml").write_text(text.replace("../../data/delft", str(REPO / "data" / "delft")))
    return Scene.load(folder)


@pytest.fixture(scope="module")
def delft_tiles(delft):
    return build_tiled(delft, 100.0)


def test_the_delft_twin_reads_back_equal(delft, tmp_path):
    twin = build_twin(delft, use_cache=False)
    assert twin.dtm.array.dtype == np.float64 and twin.surface.array.dtype == np.uint8
    holes = twin.dsm.array.copy()
    holes[10:20, 30:60] = np.nan  # cells without points, as a sparse point cloud leaves them
    twin = dataclasses.replace(twin, dsm=Raster(holes, twin.dsm.transform, twin.dsm.crs))
    back = read_twin_folder(write_twin_folder(twin, tmp_path / "twin"))
    assert_same(twin, back)
    assert len(back.buildings) > 100 and len(back.trees) > 50


def test_every_delft_tile_equals_the_tile_built_in_memory(delft, delft_tiles):
    assert len(delft_tiles.tiles) == 6  # 192 × 228 m in tiles of 100 m
    for tile in delft_tiles.tiles:
        built = build_twin(tile_scene(delft, delft_tiles, tile), use_cache=False)
        stored = delft_tiles.load(tile)
        # a tile is built from its piece of the point cloud, yet names the scene's own sources
        assert stored.terrain == delft.terrain_used == "DTM from point cloud ahn3_cropped_1.laz"
        assert_same(built, stored, f"tile {tile.name}")


def test_a_tiled_build_reads_each_bgt_surface_layer_once(delft, monkeypatch):
    from stadstwin.io import bgt

    reads: list[str] = []
    read_layer = bgt._read_layer

    def counted(path, *args):
        reads.append(Path(path).name)
        return read_layer(path, *args)

    monkeypatch.setattr(bgt, "_read_layer", counted)
    tiled = build_tiled(delft, 100.0, use_cache=False)
    assert len(tiled.tiles) == 6
    surfaces = [name for name in reads if name != "bgt_pand.sqlite"]
    assert sorted(surfaces) == sorted(f"bgt_{layer}.sqlite" for layer in
                                      ("wegdeel", "begroeidterreindeel", "onbegroeidterreindeel", "waterdeel"))


def test_tile_files_are_what_a_gis_reads(delft, delft_tiles):
    tile = delft_tiles.tiles[0]
    folder = delft_tiles.path(tile)
    twin = delft_tiles.load(tile)
    with rasterio.open(folder / "dtm.tif") as dtm:
        assert dtm.crs.to_epsg() == 28992 and dtm.dtypes[0] == "float64"
        assert dtm.tags()["VERTICAL_CRS"] == "EPSG:5709"
        assert dtm.tags(ns="IMAGE_STRUCTURE")["LAYOUT"] == "COG"
        assert dtm.transform == twin.dtm.transform
        np.testing.assert_array_equal(dtm.read(1), twin.dtm.array)
    with rasterio.open(folder / "surface.tif") as surface:
        assert surface.dtypes[0] == "uint8"
    table = pq.read_table(folder / "buildings.parquet")
    geo = json.loads(table.schema.metadata[b"geo"])
    assert geo["primary_column"] == "footprint"
    assert geo["columns"]["footprint"]["crs"]["id"] == {"authority": "EPSG", "code": 28992}
    footprints = shapely.from_wkb(table.column("footprint").to_numpy(zero_copy_only=False))
    assert shapely.equals_exact(footprints, twin.buildings.footprint, 0.0).all()
    assert table.column("source_id").to_pylist() == twin.buildings.source_id.tolist()
    assert not list(folder.glob("*.pickle"))


def test_meshes_networks_retention_reservations_and_operating_read_back_equal(demo_scene, tmp_path):
    scene = Scene.load(demo_scene)
    twin = build_twin(scene)
    rules = scene.load_rules()
    for name in ("waterberging", "heatnet-north"):
        twin = apply_variant(twin, Variant.load(demo_scene / "variants" / f"{name}.toml"), rules)
    claim = shapely.box(155010.0, 463010.0, 155030.0, 463014.0)
    twin = dataclasses.replace(twin, reservations=Reservations(
        np.array([claim], dtype=object), np.array([-2.5]), np.array([-1.0]), np.array(["r-1"]), np.array(["Stedin"])))
    assert twin.buildings.mesh is not None and any(m is not None for m in twin.buildings.mesh)
    assert len(twin.networks) and len(twin.retention) and twin.operating and twin.buildings.attributes
    back = read_twin_folder(write_twin_folder(twin, tmp_path / "twin"))
    assert_same(twin, back)
    # an empty table has no file, and still reads back with its column dtypes
    assert not (tmp_path / "twin" / "context.parquet").exists() and len(back.context) == 0


def test_a_missing_or_damaged_tile_names_its_folder_and_file(delft, delft_tiles, tmp_path):
    tiled = dataclasses.replace(delft_tiles, folder=tmp_path / "copy")
    shutil.copytree(delft_tiles.folder, tiled.folder)
    first, second, third, fourth = tiled.tiles[:4]
    shutil.rmtree(tiled.path(first))
    (tiled.path(second) / "dsm.tif").write_bytes(b"II*\0 cut short")
    path = tiled.path(third) / "buildings.parquet"
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    manifest = tiled.path(fourth) / MANIFEST
    manifest.write_text(manifest.read_text().replace('"version": 1', '"version": 0'))
    for tile, name in ((first, MANIFEST), (second, "dsm.tif"), (third, "buildings.parquet"), (fourth, MANIFEST)):
        with pytest.raises(InputError) as raised:
            tiled.load(tile)
        assert raised.value.path == str(tiled.path(tile) / name)
        assert raised.value.feature == f"tile {tile.name}" and "--tile-size" in raised.value.hint


def test_an_interrupted_build_resumes_with_only_the_missing_tiles(delft, delft_tiles, monkeypatch):
    kept = {tile.name: delft_tiles.path(tile).stat().st_ino for tile in delft_tiles.tiles}
    lost = delft_tiles.tiles[2]
    saved = delft_tiles.load(lost)
    shutil.rmtree(delft_tiles.path(lost))
    leftover = delft_tiles.folder / f".{lost.name}-interrupted.partial"  # as write_twin_folder names its temporary
    leftover.mkdir()
    (leftover / "dtm.tif").write_bytes(b"half")
    built = []
    build = tiled_module._build

    def counting(scene, *args):
        built.append(scene.name)
        return build(scene, *args)

    monkeypatch.setattr(tiled_module, "_build", counting)
    again = build_tiled(delft, 100.0)
    assert built == [f"{delft.name} tile {lost.name}"]
    assert not leftover.exists()
    assert {t.name: again.path(t).stat().st_ino for t in again.tiles if t != lost} == \
        {name: ino for name, ino in kept.items() if name != lost.name}
    assert_same(saved, again.load(lost))
