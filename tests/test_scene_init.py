"""`scene init` writes a valid scene.toml from a user's real files (recognised by content), and
`scene validate` opens every source: unreadable, mis-placed or mis-referenced files fail with the file named."""

from __future__ import annotations

import json
import re
import shutil
import tomllib
import zipfile
from pathlib import Path
from xml.etree import ElementTree as ET

import laspy
import numpy as np
import pyogrio
import pytest
import rasterio
from affine import Affine
from typer.testing import CliRunner

from stadstwin import build_twin
from stadstwin.cli import app
from stadstwin.model.scene import Scene

runner = CliRunner()
SMALL = "84900,447500,84960,447560"  # a 60 m square inside the AHN3 crop (RD New)
BGT = ("pand", "wegdeel", "begroeidterreindeel", "onbegroeidterreindeel", "waterdeel", "scheiding")


def _run(*args: str):
    return runner.invoke(app, [str(a) for a in args])


def _from(*files: Path) -> list[str]:
    return [part for f in files for part in ("--from", str(f))]


def _extent(folder: Path) -> tuple[float, ...]:
    e = tomllib.loads((folder / "scene.toml").read_text())["extent"]
    return e["xmin"], e["ymin"], e["xmax"], e["ymax"]


@pytest.fixture(scope="module")
def delft(shared_data) -> Path:
    """The Delft data as a scene records it: resolved (``../shared`` may be a link)."""
    return (shared_data / "delft").resolve()


@pytest.fixture(scope="module")
def rasters(tmp_path_factory, delft) -> tuple[Path, Path]:
    """A DTM and a DSM GeoTIFF (0.5 m, EPSG:28992) of part of the AHN3 crop, under names that do not
    say which is which: init must tell them apart by their content."""
    from stadstwin.io.geotiff import write_cog
    from stadstwin.io.pointcloud import read_pointclouds
    from stadstwin.model.raster import Raster

    folder = tmp_path_factory.mktemp("rasters")
    grid = Raster.from_bounds(84880, 447480, 84980, 447580, 0.5)
    made = read_pointclouds([delft / "ahn3_cropped_1.laz"], grid, assumed_crs="EPSG:28992")
    return write_cog(made.dtm, folder / "a.tif", heights="NAP"), write_cog(made.dsm, folder / "b.tif", heights="NAP")


@pytest.fixture(scope="module")
def register(tmp_path_factory) -> Path:
    """A municipal tree register as CSV (RD x, y; Dutch columns; no CRS, as CSV never has one)."""
    path = tmp_path_factory.mktemp("trees") / "bomen.csv"
    path.write_text("boomnummer;x;y;boomhoogte;boomsoort\nB1;84920.5;447520.0;12,5;Tilia\n"
                    "B2;84940.0;447540.0;9-12 m;Quercus robur\n", encoding="utf-8")
    return path


def test_a_file_without_crs_is_refused_naming_it_and_the_option(tmp_path, delft):
    result = _run("scene", "init", tmp_path / "s", *_from(delft / "ahn3_cropped_1.laz"))
    assert result.exit_code == 1
    assert "ahn3_cropped_1.laz" in result.output and "--crs EPSG:28992" in result.output
    assert not (tmp_path / "s" / "scene.toml").exists()


def test_delft_extent_is_where_elevation_meets_bgt_and_cityjson(tmp_path, delft):
    files = [delft / "ahn3_cropped_1.laz", *(delft / f"bgt_{n}.sqlite" for n in BGT), delft / "testarea_lod1.city.json"]
    result = _run("scene", "init", tmp_path / "s", "--crs", "EPSG:28992", *_from(*files))
    assert result.exit_code == 0, result.output
    with laspy.open(delft / "ahn3_cropped_1.laz") as reader:
        laz = (*reader.header.mins[:2], *reader.header.maxs[:2])
    bgt = np.array([pyogrio.read_info(delft / f"bgt_{n}.sqlite", force_total_bounds=True)["total_bounds"]
                    for n in BGT])
    vertices = np.array(json.loads((delft / "testarea_lod1.city.json").read_text())["vertices"])[:, :2]
    data = np.vstack([bgt[:, :2], bgt[:, 2:], vertices])  # BGT and CityJSON united, then met with the LAZ
    boxes = [laz, (*data.min(axis=0), *data.max(axis=0))]
    expected = (round(max(b[0] for b in boxes)), round(max(b[1] for b in boxes)),
                round(min(b[2] for b in boxes)), round(min(b[3] for b in boxes)))
    assert _extent(tmp_path / "s") == expected
    scene = Scene.load(tmp_path / "s")  # relative paths resolve to the user's files
    assert {k.value: v.path for k, v in scene.sources.bgt.items()} == {n: delft / f"bgt_{n}.sqlite" for n in BGT}
    assert [p.path for p in scene.sources.pointclouds] == [delft / "ahn3_cropped_1.laz"]
    assert scene.sources.pointclouds[0].crs == "EPSG:28992"  # assumed only for the file without one
    assert [p.path for p in scene.sources.cityjson] == [delft / "testarea_lod1.city.json"]
    assert scene.cell_size == 0.5
    assert not Path(tomllib.loads(scene.path.read_text())["sources"]["cityjson"][0]).is_absolute()
    result = _run("scene", "validate", tmp_path / "s")
    assert result.exit_code == 0, result.output


def test_delft_scene_with_a_tree_register_validates_and_builds(tmp_path, delft, register):
    files = [delft / "ahn3_cropped_1.laz", delft / "bgt_pand.sqlite", delft / "bgt_wegdeel.sqlite",
             delft / "testarea_lod1.city.json", register]
    result = _run("scene", "init", tmp_path / "s", "--crs", "EPSG:28992", "--extent", SMALL, *_from(*files))
    assert result.exit_code == 0, result.output
    assert _extent(tmp_path / "s") == (84900, 447500, 84960, 447560)
    result = _run("scene", "validate", tmp_path / "s")
    assert result.exit_code == 0, result.output
    result = _run("build", tmp_path / "s", "--no-cache")
    assert result.exit_code == 0, result.output
    twin = build_twin(tmp_path / "s")
    assert sorted(twin.trees.source_id) == ["B1", "B2"] and sorted(twin.trees.height) == [10.5, 12.5]
    assert len(twin.buildings) > 0 and np.isfinite(twin.dtm.values()).all()
    assert twin.surface is not None and twin.dsm.shape == (120, 120)


def test_dtm_and_dsm_geotiffs_are_told_apart_by_content_and_build(tmp_path, delft, rasters):
    dtm, dsm = rasters
    files = [dsm, dtm, delft / "bgt_pand.sqlite", delft / "testarea_lod1.city.json"]
    result = _run("scene", "init", tmp_path / "s", *_from(*files))  # every file names its CRS
    assert result.exit_code == 0, result.output
    scene = Scene.load(tmp_path / "s")
    assert scene.sources.dtm.path == dtm and scene.sources.dsm.path == dsm
    with rasterio.open(dtm) as source:
        assert _extent(tmp_path / "s") == tuple(source.bounds)  # the rasters lie inside BGT and CityJSON
    assert scene.cell_size == 0.5 and scene.terrain_used == "DTM GeoTIFF a.tif"
    result = _run("scene", "init", tmp_path / "s", "--force", "--extent", SMALL, *_from(*files))
    assert result.exit_code == 0, result.output
    assert _run("scene", "validate", tmp_path / "s").exit_code == 0
    result = _run("build", tmp_path / "s", "--no-cache")
    assert result.exit_code == 0, result.output
    assert "DTM GeoTIFF a.tif" in result.output


def test_klic_only_scene_needs_a_ground_level_and_takes_the_request_area(tmp_path, shared_data):
    klic = shared_data / "klic" / "Levering_22O000518_1.zip"
    result = _run("scene", "init", tmp_path / "s", *_from(klic))
    assert result.exit_code == 1 and "--ground-nap" in result.output
    result = _run("scene", "init", tmp_path / "s", "--ground-nap", "4.2", *_from(klic))
    assert result.exit_code == 0, result.output
    with zipfile.ZipFile(klic) as archive:
        gml = archive.read("22O000518_1/GI_gebiedsinformatielevering_22O000518_1_V2.xml")
    polygon = next(e for e in ET.fromstring(gml).iter() if e.tag.endswith("}Orientatiepolygoon"))
    xy = np.array(next(e for e in polygon.iter() if e.tag.endswith("}posList")).text.split(), float).reshape(-1, 2)
    assert _extent(tmp_path / "s") == (*np.round(xy.min(axis=0)), *np.round(xy.max(axis=0)))
    scene = Scene.load(tmp_path / "s")
    assert scene.terrain.constant_nap == 4.2 and scene.cell_size == 1.0
    assert _run("scene", "validate", tmp_path / "s").exit_code == 0
    result = _run("build", tmp_path / "s", "--no-cache")
    assert result.exit_code == 0, result.output
    assert "constant ground level 4.20 m NAP" in result.output


def test_3dbag_cityjson_scene_takes_its_vertex_bounds_and_builds(tmp_path, shared_data):
    city = shared_data / "3dbag" / "3dbag_b2.city.json"
    result = _run("scene", "init", tmp_path / "s", "--ground-nap", "0", *_from(city))
    assert result.exit_code == 0, result.output
    doc = json.loads(city.read_text())
    vertices = np.array(doc["vertices"]) * doc["transform"]["scale"] + doc["transform"]["translate"]
    lo, hi = vertices[:, :2].min(axis=0), vertices[:, :2].max(axis=0)
    assert _extent(tmp_path / "s") == (*np.round(lo), *np.round(hi))
    assert _run("scene", "validate", tmp_path / "s").exit_code == 0
    twin = build_twin(tmp_path / "s", use_cache=False)
    buildings = [k for k, o in doc["CityObjects"].items() if o["type"] == "Building"]
    assert sorted(twin.buildings.source_id) == sorted(buildings) and len(buildings) == 2


def test_files_of_different_areas_are_refused(tmp_path, delft, shared_data):
    result = _run("scene", "init", tmp_path / "s", "--crs", "EPSG:28992",
                  *_from(delft / "ahn3_cropped_1.laz", shared_data / "klic" / "Levering_22O000518_1.zip"))
    assert result.exit_code == 1
    assert "Levering_22O000518_1.zip" in result.output and "do not overlap" in result.output


def _scene(folder: Path, sources: str, extent: str = SMALL) -> Path:
    x0, y0, x1, y1 = extent.split(",")
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "scene.toml").write_text(f'name = "t"\ncell_size = 1.0\n[extent]\nxmin = {x0}\nymin = {y0}\n'
                                       f'xmax = {x1}\nymax = {y1}\n{sources}\n', encoding="utf-8")
    return folder


def _errors(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("error:")]


def test_validate_names_a_file_outside_the_extent(tmp_path, delft, shared_data):
    klic = shared_data / "klic" / "Levering_22O000518_1.zip"
    folder = _scene(tmp_path, f'[sources]\npointclouds = [{{ path = "{delft / "ahn3_cropped_1.laz"}", '
                              f'crs = "EPSG:28992" }}]\nklic = ["{klic}"]')
    result = _run("scene", "validate", folder)
    assert result.exit_code == 1
    [line] = _errors(result.output)
    assert str(klic) in line and "lies outside the scene extent" in line
    assert "x 189,357…189,523" in line  # the delivery's request area, against the extent
    assert "scene is valid" not in result.output


@pytest.mark.parametrize(("name", "slot", "message"), [
    ("ahn3_cropped_1.laz", 'pointclouds = [{ path = "FILE", crs = "EPSG:28992" }]',
     "cannot read the last of 640,510 points"),
    ("bgt_wegdeel.sqlite", "[sources.bgt]\nwegdeel = \"FILE\"", "not a readable GeoPackage / SQLite"),
    ("testarea_lod1.city.json", 'cityjson = ["FILE"]', "not valid JSON"),
])
def test_validate_names_a_truncated_file(tmp_path, delft, name, slot, message):
    broken = tmp_path / name
    data = (delft / name).read_bytes()
    broken.write_bytes(data[: len(data) // 2])
    sources = slot.replace("FILE", str(broken))
    folder = _scene(tmp_path / "s", ("[sources]\n" if not sources.startswith("[") else "") + sources
                    + '\n[terrain]\nconstant_nap = 0.5' * (not name.endswith(".laz")))
    result = _run("scene", "validate", folder)
    assert result.exit_code == 1, result.output
    [line] = _errors(result.output)
    assert str(broken) in line and message in line and "truncated" in line


def test_validate_and_init_name_a_geotiff_in_the_wrong_crs(tmp_path):
    wrong = tmp_path / "dtm_wgs84.tif"  # RD New coordinates, but tagged as WGS 84 lon/lat
    with rasterio.open(wrong, "w", driver="GTiff", width=60, height=60, count=1, dtype="float32",
                       crs="EPSG:4326", transform=Affine(1.0, 0.0, 84900, 0.0, -1.0, 447560)) as target:
        target.write(np.ones((1, 60, 60), dtype="float32"))
    result = _run("scene", "validate", _scene(tmp_path / "s", f'[sources]\ndtm = "{wrong}"'))
    assert result.exit_code == 1
    [line] = _errors(result.output)
    assert str(wrong) in line and "WGS 84" in line and "CRS" in line
    result = _run("scene", "init", tmp_path / "t", *_from(wrong))
    assert result.exit_code == 1 and str(wrong) in result.output and "WGS 84" in result.output


def test_a_geotiff_truly_in_lon_lat_is_reprojected_not_refused(tmp_path):
    """Another CRS is no error when the coordinates fit it: build reprojects, so validate accepts."""
    from pyproj import Transformer

    lon, lat = Transformer.from_crs("EPSG:28992", "EPSG:4326", always_xy=True).transform(
        [84890, 84970], [447490, 447570])  # around SMALL, with a 10 m margin
    right = tmp_path / "dtm_lonlat.tif"
    step = 0.00002  # deg, about 1.4 m east-west and 2.2 m north-south
    shape = (int((lat[1] - lat[0]) / step) + 1, int((lon[1] - lon[0]) / step) + 1)
    with rasterio.open(right, "w", driver="GTiff", width=shape[1], height=shape[0], count=1, dtype="float32",
                       crs="EPSG:4326", transform=Affine(step, 0.0, lon[0], 0.0, -step, lat[1])) as target:
        target.write(np.full((1, *shape), 0.7, dtype="float32"))
    folder = _scene(tmp_path / "s", f'[sources]\ndtm = "{right}"')
    result = _run("scene", "validate", folder)
    assert result.exit_code == 0, result.output
    twin = build_twin(folder, use_cache=False)
    np.testing.assert_allclose(twin.dtm.values(), 0.7, rtol=1e-6)


def test_validate_refuses_a_scene_without_terrain(tmp_path, shared_data):
    klic = shared_data / "klic" / "Levering_22O000518_1.zip"
    result = _run("scene", "validate", _scene(tmp_path, f'[sources]\nklic = ["{klic}"]', "189400,352300,189500,352400"))
    assert result.exit_code == 1
    [line] = _errors(result.output)
    assert "no terrain source" in line and "[terrain] constant_nap" in line
    assert re.search(r"scene\.toml", line)


def test_a_copied_scene_folder_keeps_working(tmp_path, delft):
    """Paths are relative to the scene folder: a scene moved together with its data still loads."""
    data = tmp_path / "project" / "data"
    data.mkdir(parents=True)
    for name in ("ahn3_cropped_1.laz", "bgt_pand.sqlite"):
        shutil.copy(delft / name, data / name)
    result = _run("scene", "init", tmp_path / "project" / "scenes" / "mine", "--crs", "EPSG:28992",
                  "--extent", SMALL, *_from(data / "ahn3_cropped_1.laz", data / "bgt_pand.sqlite"))
    assert result.exit_code == 0, result.output
    shutil.move(tmp_path / "project", tmp_path / "moved")
    scene = Scene.load(tmp_path / "moved" / "scenes" / "mine")
    assert scene.sources.bgt[next(iter(scene.sources.bgt))].path == (tmp_path / "moved" / "data" / "bgt_pand.sqlite")
    assert _run("scene", "validate", tmp_path / "moved" / "scenes" / "mine").exit_code == 0


def test_an_assumed_crs_that_does_not_fit_the_coordinates_is_refused(tmp_path):
    """A register in lon/lat passed with --crs EPSG:28992 would put its trees off the Dutch coast."""
    register = tmp_path / "bomen.csv"
    register.write_text("id,x,y,height\n1,4.3571,52.0116,12\n", encoding="utf-8")
    result = _run("scene", "init", tmp_path / "s", "--crs", "EPSG:28992", "--ground-nap", "0", *_from(register))
    assert result.exit_code == 1
    [line] = _errors(result.output)
    assert str(register) in line and "do not lie in the Netherlands in its CRS EPSG:28992" in line


@pytest.mark.filterwarnings("ignore:'crs' was not provided")
def test_one_geopackage_of_citygml_named_bgt_layers_without_crs_builds_like_the_separate_files(tmp_path, delft):
    """BGT classes are recognised by layer name (CityGML ``buildingpart``, ``trafficarea``, ``plantcover``)
    inside one GeoPackage; with no CRS in it, --crs is assumed for every layer, in build too."""
    extract = tmp_path / "extract.gpkg"
    names = ("pand", "wegdeel", "begroeidterreindeel")
    for name in names:
        [[layer, _]] = pyogrio.list_layers(delft / f"bgt_{name}.sqlite")
        meta, _, wkb, data = pyogrio.raw.read(delft / f"bgt_{name}.sqlite")
        pyogrio.raw.write(extract, wkb, data, meta["fields"], layer=layer, driver="GPKG",
                          geometry_type=meta["geometry_type"], crs=None, append=extract.exists())
    assert pyogrio.read_info(extract, layer="trafficarea")["crs"] is None
    laz = delft / "ahn3_cropped_1.laz"
    result = _run("scene", "init", tmp_path / "one", "--extent", SMALL, *_from(laz, extract))
    assert result.exit_code == 1 and "--crs EPSG:28992" in result.output
    result = _run("scene", "init", tmp_path / "one", "--crs", "EPSG:28992", "--extent", SMALL, *_from(laz, extract))
    assert result.exit_code == 0, result.output
    scene = Scene.load(tmp_path / "one")
    layers = {k.value: (v.path, v.crs) for k, v in scene.sources.bgt.items()}
    assert layers == {n: (extract, "EPSG:28992") for n in names}
    assert _run("scene", "validate", tmp_path / "one").exit_code == 0
    separate = _run("scene", "init", tmp_path / "separate", "--crs", "EPSG:28992", "--extent", SMALL,
                    *_from(laz, *(delft / f"bgt_{n}.sqlite" for n in names)))
    assert separate.exit_code == 0, separate.output
    one, reference = build_twin(tmp_path / "one"), build_twin(tmp_path / "separate")
    np.testing.assert_array_equal(one.surface.array, reference.surface.array)
    assert len(np.unique(one.surface.array)) >= 3  # buildings, roads and green, not all unknown
    assert sorted(one.buildings.source_id) == sorted(reference.buildings.source_id) and len(one.buildings)
