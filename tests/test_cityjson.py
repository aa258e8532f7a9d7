"""CityJSON reader and writer: the real 3DBAG 2.0 and Delft 1.0 files, hand-made 1.1 geometry with
analytic answers, round trips through the own reader and cjio, and bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import shapely
import trimesh
from cjio import cityjson
from hypothesis import given, settings
from hypothesis import strategies as st

from stadstwin.errors import CRSError, InputError
from stadstwin.io.cityjson import CityJSONWarning, area_percentile, read_cityjson, write_cityjson
from stadstwin.io.meshes import triangulate
from stadstwin.model.buildings import Buildings
from stadstwin.model.raster import Raster

X0, Y0 = 155_000.0, 463_000.0


@pytest.fixture
def b2(shared_data) -> Path:
    """The 3DBAG CityJSON 2.0 file with two buildings."""
    return shared_data / "3dbag" / "3dbag_b2.city.json"


@pytest.fixture
def delft(shared_data) -> Path:
    """The Delft LoD 1 CityJSON 1.0 file."""
    return shared_data / "delft" / "testarea_lod1.city.json"


def test_3dbag_buildings_keep_bag_ids_and_heights(b2):
    doc = json.loads(b2.read_text())
    expected = {k: o["attributes"] for k, o in doc["CityObjects"].items() if o["type"] == "Building"}
    buildings = read_cityjson(b2)
    assert sorted(buildings.source_id) == sorted(a["identificatie"] for a in expected.values())
    for i, bag_id in enumerate(buildings.source_id):
        attributes = expected[bag_id]
        assert buildings.ground_z[i] == attributes["b3_h_maaiveld"]
        assert buildings.roof_z[i] == attributes["b3_h_dak_70p"]
        assert buildings.attributes["roof_50p"][i] == attributes["b3_h_dak_50p"]
        assert buildings.attributes["lod"][i] == 2.2
    # the parts' LoD 2.2 solids became closed meshes whose volume is 3DBAG's own volume figure
    for mesh, bag_id in zip(buildings.mesh, buildings.source_id):
        assert mesh.is_watertight
        assert mesh.volume == pytest.approx(expected[bag_id]["b3_volume_lod22"], rel=1e-3)
    # footprints: the GroundSurface outline, inside the mesh's projection
    for footprint, mesh in zip(buildings.footprint, buildings.mesh):
        lo, hi = mesh.bounds
        assert footprint.is_valid and footprint.area > 100
        assert shapely.box(lo[0] - 1e-3, lo[1] - 1e-3, hi[0] + 1e-3, hi[1] + 1e-3).contains(footprint)


def test_3dbag_heights_from_the_mesh_agree_with_its_point_cloud_percentiles(b2, tmp_path):
    """Without the b3_* attributes the heights come from the LoD 2.2 surfaces; 3DBAG computed its
    attributes from the AHN points, an independent reference (agreement within 0.2 m)."""
    doc = json.loads(b2.read_text())
    expected = {}
    for obj in doc["CityObjects"].values():
        attributes = obj.get("attributes", {})
        if "b3_h_dak_70p" in attributes:
            expected[attributes["identificatie"]] = [attributes.pop(k) for k in ("b3_h_maaiveld", "b3_h_dak_50p", "b3_h_dak_70p")]
    path = tmp_path / "stripped.city.json"
    path.write_text(json.dumps(doc))
    buildings = read_cityjson(path)
    for i, bag_id in enumerate(buildings.source_id):
        ground, p50, p70 = expected[bag_id]
        assert buildings.ground_z[i] == pytest.approx(ground, abs=0.01)
        assert buildings.attributes["roof_50p"][i] == pytest.approx(p50, abs=0.2)
        assert buildings.roof_z[i] == pytest.approx(p70, abs=0.2)


def test_delft_lod1_agrees_with_bgt_footprints(delft):
    import pyogrio

    buildings = read_cityjson(delft)
    assert len(buildings) == 160
    doc = json.loads(delft.read_text())
    heights = {o["attributes"]["identificatiebagpnd"]: o["attributes"]["min-height-surface"]
               for o in doc["CityObjects"].values() if o["type"] == "Building"}
    _, _, wkb, fields = pyogrio.raw.read(delft.parent / "bgt_pand.sqlite")
    bgt = shapely.from_wkb(wkb)
    # total area within 0.1 % (the LoD1 solids are extruded from these very footprints)
    assert shapely.area(buildings.footprint).sum() == pytest.approx(shapely.area(bgt).sum(), rel=1e-3)
    meta = pyogrio.read_info(delft.parent / "bgt_pand.sqlite")
    bag = fields[list(meta["fields"]).index("identificatiebagpnd")]
    by_id = dict(zip(["NL.IMBAG.Pand." + str(b).zfill(16) for b in bag], bgt))
    assert set(by_id) == set(buildings.source_id)
    for footprint, bag_id, ground in zip(buildings.footprint, buildings.source_id, buildings.ground_z):
        reference = by_id[bag_id]
        assert footprint.symmetric_difference(reference).area < 1e-3 * reference.area + 0.01
        assert ground == pytest.approx(heights[bag_id.removeprefix("NL.IMBAG.Pand.").lstrip("0")], abs=0.011)
    assert np.all(buildings.roof_z > buildings.ground_z + 2.0)


def _doc(objects: dict, vertices: list, *, version: str = "1.1", reference: str | None = "https://www.opengis.net/def/crs/EPSG/0/7415", transform: dict | None = None) -> dict:
    doc = {"type": "CityJSON", "version": version, "CityObjects": objects, "vertices": vertices}
    if reference:
        doc["metadata"] = {"referenceSystem": reference}
    if transform:
        doc["transform"] = transform
    return doc


def _gable(width=10.0, depth=8.0, eave=6.0, ridge=9.0, hole=False):
    """A gable-roofed house as one Solid with semantics: ridge along x at y = depth / 2."""
    v = [[0, 0, 0], [width, 0, 0], [width, depth, 0], [0, depth, 0],
         [0, 0, eave], [width, 0, eave], [width, depth, eave], [0, depth, eave],
         [0, depth / 2, ridge], [width, depth / 2, ridge]]
    floor = [[3, 2, 1, 0]]
    if hole:  # a courtyard-like hole in the floor polygon (ring reversed against the outer ring)
        v += [[4, 3, 0], [6, 3, 0], [6, 5, 0], [4, 5, 0]]
        floor.append([10, 11, 12, 13])
    roof_south = [[4, 5, 9, 8]]
    roof_north = [[6, 7, 8, 9]]
    walls = [[[0, 1, 5, 4]], [[2, 3, 7, 6]], [[1, 2, 6, 9, 5]], [[3, 0, 4, 8, 7]]]
    shell = [floor, roof_south, roof_north, *walls]
    geometry = {"type": "Solid", "lod": "2.2", "boundaries": [shell],
                "semantics": {"surfaces": [{"type": "GroundSurface"}, {"type": "RoofSurface"}, {"type": "WallSurface"}],
                              "values": [[0, 1, 1, 2, 2, 2, 2]]}}
    return [[X0 + x, Y0 + y, z] for x, y, z in v], geometry


def test_gable_roof_percentiles_are_exact(tmp_path):
    vertices, geometry = _gable()
    lod12 = {"type": "Solid", "lod": "1.2", "boundaries": [[[[3, 2, 1, 0]], [[4, 5, 6, 7]], [[0, 1, 5, 4]],
                                                            [[1, 2, 6, 5]], [[2, 3, 7, 6]], [[3, 0, 4, 7]]]]}
    objects = {"house": {"type": "Building", "children": ["house-0"], "attributes": {"identificatiebagpnd": "344100000000001"}},
               "house-0": {"type": "BuildingPart", "parents": ["house"], "geometry": [geometry, lod12]}}
    path = tmp_path / "gable.city.json"
    path.write_text(json.dumps(_doc(objects, vertices)))
    b = read_cityjson(path)
    # horizontal roof area is uniform in height between eave and ridge
    assert b.roof_z[0] == pytest.approx(6.0 + 0.7 * 3.0, abs=1e-7)
    assert b.attributes["roof_50p"][0] == pytest.approx(7.5, abs=1e-7)
    assert b.attributes["roof_max"][0] == 9.0 and b.ground_z[0] == 0.0
    assert b.source_id[0] == "NL.IMBAG.Pand.0344100000000001"
    assert b.footprint[0].equals(shapely.box(X0, Y0, X0 + 10, Y0 + 8))
    mesh = b.mesh[0]
    assert mesh.is_watertight and mesh.is_winding_consistent
    assert mesh.volume == pytest.approx(10 * 8 * 6 + 0.5 * 8 * 3 * 10)
    flat = read_cityjson(path, lod="1.2")
    assert flat.roof_z[0] == 6.0 and flat.attributes["lod"][0] == 1.2
    with pytest.raises(InputError, match="no LoD 1.3"):
        read_cityjson(path, lod="1.3")


def test_polygon_with_hole_and_transform(tmp_path):
    vertices, geometry = _gable(hole=True)
    scale, translate = 0.001, [X0, Y0, 0.0]
    ints = [[round((c - t) / scale) for c, t in zip(v, translate)] for v in vertices]
    objects = {"h": {"type": "Building", "geometry": [geometry]}}
    path = tmp_path / "hole.city.json"
    path.write_text(json.dumps(_doc(objects, ints, version="2.0", transform={"scale": [scale] * 3, "translate": translate})))
    b = read_cityjson(path)
    assert b.source_id[0] == "h"
    assert b.footprint[0].area == pytest.approx(80.0 - 4.0)
    assert len(b.footprint[0].interiors) == 1


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(st.floats(-50, 50), st.floats(-50, 50)), min_size=3, max_size=12, unique=True),
       st.floats(0.0, 1.0), st.floats(0.0, 1.0), st.floats(0.0, 5.0))
def test_triangulation_covers_planar_polygons(points, a, b, c):
    """Triangles of a tilted planar polygon cover exactly its area and wind like its outer ring.

    Coordinates are on the millimetre grid that a CityJSON transform of 0.001 gives: no two corners
    of a ring are closer than that (a ring with coinciding corners has zero-area triangles).
    """
    polygon = shapely.convex_hull(shapely.MultiPoint([(round(x, 3), round(y, 3)) for x, y in points]))
    if polygon.geom_type != "Polygon" or polygon.area < 1.0:
        return
    polygon = shapely.geometry.polygon.orient(polygon, sign=1.0)
    ring = np.asarray(polygon.exterior.coords)[:-1]
    z = c + a * ring[:, 0] + b * ring[:, 1]
    vertices = np.column_stack([ring, z])
    triangles, face = triangulate(vertices, [[list(range(len(ring)))]])
    corners = vertices[triangles]
    normals = np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0])
    assert np.all(face == 0)
    assert 0.5 * np.abs(normals[:, 2]).sum() == pytest.approx(polygon.area, rel=1e-9)
    assert np.all(normals[:, 2] > 0)  # the ring is counter-clockwise


def test_area_percentile_matches_sampling():
    rng = np.random.default_rng(3)
    corners = rng.uniform(0, 10, size=(5, 3, 3))
    # reference: sample points uniformly in each triangle, weighted by horizontal area
    e1 = corners[:, 1, :2] - corners[:, 0, :2]
    e2 = corners[:, 2, :2] - corners[:, 0, :2]
    area = 0.5 * np.abs(e1[:, 0] * e2[:, 1] - e1[:, 1] * e2[:, 0])
    count = (area / area.sum() * 400_000).astype(int)
    samples = []
    for tri, k in zip(corners, count):
        u, v = rng.random(k), rng.random(k)
        flip = u + v > 1
        u[flip], v[flip] = 1 - u[flip], 1 - v[flip]
        samples.append(tri[0, 2] + u * (tri[1, 2] - tri[0, 2]) + v * (tri[2, 2] - tri[0, 2]))
    samples = np.concatenate(samples)
    for q in (0.5, 0.7, 0.9):
        assert area_percentile(corners, q) == pytest.approx(np.quantile(samples, q), abs=0.03)
    np.testing.assert_allclose(area_percentile(corners, [0.5, 0.9]), [area_percentile(corners, 0.5),
                                                                      area_percentile(corners, 0.9)])


def _buildings() -> Buildings:
    vertices, _geometry = _gable()
    mesh = trimesh.Trimesh(np.array(vertices) + [30, 0, 0],
                           [[0, 2, 1], [0, 3, 2], [4, 5, 9], [4, 9, 8]], process=False)
    footprints = np.array([shapely.box(X0, Y0, X0 + 10, Y0 + 8),
                           shapely.MultiPolygon([shapely.box(X0 + 12, Y0, X0 + 20, Y0 + 6),
                                                 shapely.box(X0 + 12, Y0 + 8, X0 + 20, Y0 + 20).difference(
                                                     shapely.box(X0 + 14, Y0 + 10, X0 + 16, Y0 + 12))]),
                           shapely.box(X0 + 30, Y0, X0 + 40, Y0 + 8)], dtype=object)
    return Buildings(footprints, np.array([1.0, 1.2, 0.5]), np.array([9.5, 7.25, 8.0]),
                     np.array(["NL.IMBAG.Pand.0344100000000001", "NL.IMBAG.Pand.0344100000000002", "b3"]),
                     [None, None, mesh], {"roof_50p": np.array([9.0, 7.0, 7.5]), "lod": np.array([1.2, 1.2, 2.2])})


def test_write_read_round_trip_and_cjio(tmp_path):
    buildings = _buildings()
    dtm = Raster.from_bounds(X0 - 5, Y0 - 5, X0 + 45, Y0 + 25, 1.0)
    cx, _cy = dtm.cell_centres()
    dtm = Raster(0.5 + 0.01 * (cx - X0), dtm.transform)
    path = write_cityjson(tmp_path / "out.city.json", buildings, dtm, max_tin_triangles=400)
    back = read_cityjson(path, lod="1.2")
    assert list(back.source_id) == list(buildings.source_id)
    np.testing.assert_allclose(back.ground_z, buildings.ground_z)
    np.testing.assert_allclose(back.roof_z, buildings.roof_z)
    np.testing.assert_allclose(back.attributes["roof_50p"], buildings.attributes["roof_50p"])
    for a, b in zip(back.footprint, buildings.footprint):
        assert a.symmetric_difference(b).area < 1e-6
    # the extruded LoD 1.2 blocks are closed and hold footprint area x height
    for mesh, footprint, h in zip(back.mesh, buildings.footprint, buildings.height):
        assert mesh.is_watertight and mesh.volume == pytest.approx(footprint.area * h, rel=1e-6)
    assert read_cityjson(path).attributes["lod"].tolist() == [1.2, 1.2, 2.2]
    with open(path, encoding="utf-8") as file:
        model = cityjson.reader(file, ignore_duplicate_keys=False)
    assert model.get_version() == "2.0" and model.get_epsg() == 7415
    info = "\n".join(model.get_info())
    assert "|-- Building (3)" in info and "|-- TINRelief (1)" in info
    assert model.remove_duplicate_vertices() == 0 and model.remove_orphan_vertices() == 0
    lo, hi = np.array(model.get_bbox()).reshape(2, 3)
    assert lo[:2].tolist() == [X0 - 4.5, Y0 - 4.5] and hi[2] == pytest.approx(9.5)
    doc = json.loads(path.read_text())
    written = doc["CityObjects"]["b3"]["attributes"]  # a mesh building: its roofs named for what they are
    assert written["h_dak_lod12"] == 8.0 and written["h_dak_50p"] == 7.5 and written["h_maaiveld"] == 0.5
    assert not any(key.startswith("b3_") for obj in doc["CityObjects"].values() for key in obj.get("attributes", {}))
    (tin,) = doc["CityObjects"]["terrain"]["geometry"]
    vertices = np.array(doc["vertices"]) * doc["transform"]["scale"] + doc["transform"]["translate"]
    used = vertices[sorted({i for face in tin["boundaries"] for ring in face for i in ring})]
    assert len(tin["boundaries"]) <= 400
    np.testing.assert_allclose(used[:, 2], 0.5 + 0.01 * (used[:, 0] - X0), atol=1e-3)


def test_3dbag_round_trip_keeps_meshes(b2, tmp_path):
    original = read_cityjson(b2)
    back = read_cityjson(write_cityjson(tmp_path / "b2.city.json", original))
    assert list(back.source_id) == list(original.source_id)
    np.testing.assert_allclose(back.roof_z, original.roof_z)
    for a, b in zip(back.mesh, original.mesh):
        assert a.volume == pytest.approx(b.volume, rel=1e-4)


@pytest.mark.parametrize(
    "content, error, match",
    [
        ("", InputError, "empty"),
        ('{"type": "CityJSON", "version": "2.0", "CityObjects": {"a": {"type": "Buil', InputError, "truncated"),
        ('[1, 2]', InputError, "not a CityJSON"),
        (('{"type": "CityJSON", "version": "2.0", "transform": {"scale": [1]}, "CityObjects": {}, "vertices": [[1, 2, 3]],'
         ' "metadata": {"referenceSystem": "https://www.opengis.net/def/crs/EPSG/0/7415"}}'), InputError, "transform"),
        (('{"type": "CityJSON", "version": "1.1", "CityObjects": {"a": {"type": "Building", "geometry": [{"type": "Solid",'
         ' "lod": "LOD2", "boundaries": []}]}}, "vertices": [], "metadata": {"referenceSystem": "EPSG:7415"}}'),
         InputError, "a: LoD 'LOD2' is not a number"),
        ('{"type": "CityJSON", "version": "3.0", "CityObjects": {}, "vertices": []}', InputError, "version"),
    ],
)
def test_bad_files(tmp_path, content, error, match):
    path = tmp_path / "bad.city.json"
    path.write_text(content)
    with pytest.raises(error, match=match) as info:
        read_cityjson(path)
    assert str(path) in str(info.value)


def test_buildings_without_heights_are_written_as_lod0_footprints(tmp_path):
    footprints = np.array([shapely.box(X0, Y0, X0 + 5, Y0 + 5), shapely.box(X0 + 10, Y0, X0 + 15, Y0 + 5)], dtype=object)
    buildings = Buildings(footprints, np.array([0.5, np.nan]), np.array([6.0, np.nan]), np.array(["x", "y"]))
    path = write_cityjson(tmp_path / "lod0.city.json", buildings)
    doc = json.loads(path.read_text())
    (geometry,) = doc["CityObjects"]["y"]["geometry"]
    assert geometry["type"] == "MultiSurface" and geometry["lod"] == "0"
    assert doc["CityObjects"]["y"]["attributes"]["h_dak_lod12"] is None
    with pytest.warns(CityJSONWarning, match="left out: y"):
        assert list(read_cityjson(path).source_id) == ["x"]


def test_crs_missing_foreign_and_assumed(tmp_path):
    vertices, geometry = _gable()
    objects = {"h": {"type": "Building", "geometry": [geometry]}}
    path = tmp_path / "nocrs.city.json"
    path.write_text(json.dumps(_doc(objects, vertices, reference=None)))
    with pytest.raises(CRSError, match="no coordinate reference system"):
        read_cityjson(path)
    assert read_cityjson(path, assumed_crs="EPSG:7415").roof_z[0] == pytest.approx(8.1)
    path.write_text(json.dumps(_doc(objects, vertices, version="1.0", reference="urn:ogc:def:crs:EPSG::28992")))
    assert len(read_cityjson(path)) == 1
    path.write_text(json.dumps(_doc(objects, vertices, reference="https://www.opengis.net/def/crs/EPSG/0/32631")))
    with pytest.raises(CRSError, match="crs_reproject"):
        read_cityjson(path)


def test_building_without_geometry_and_bad_index(tmp_path):
    path = tmp_path / "x.city.json"
    vertices, geometry = _gable()
    path.write_text(json.dumps(_doc({"a": {"type": "Building", "geometry": []}, "b": {"type": "Building", "geometry": [geometry]}},
                                    vertices)))
    with pytest.warns(CityJSONWarning, match="1 building.* left out: a$"):
        assert list(read_cityjson(path).source_id) == ["b"]
    path.write_text(json.dumps(_doc({"a": {"type": "Building", "geometry": [
        {"type": "MultiSurface", "lod": "1.2", "boundaries": [[[0, 1, 7]]]}]}}, [[0, 0, 0], [1, 0, 0], [1, 1, 0]])))
    with pytest.raises(InputError, match="vertex that does not exist"):
        read_cityjson(path)
