"""GLB and GeoPackage exports of a small hand-built twin, read back with trimesh, the raw glTF JSON
and pyogrio; meshes checked against the model geometry (tube radius around the true axis, terrain
on the DTM plane, block volumes), GLB vertices taken back to EPSG:7415 by the documented y-up
convention and the root node's georeference."""

from __future__ import annotations

import json
import struct

import numpy as np
import pyogrio
import pytest
import shapely
import trimesh

from stadstwin.io.glb import export_glb
from stadstwin.io.gpkg import export_gpkg, network_runs
from stadstwin.io.meshes import extruded_footprint, terrain_mesh, tube_mesh
from stadstwin.model.buildings import Buildings
from stadstwin.model.enums import DepthSource, Status
from stadstwin.model.networks import NetworkTable
from stadstwin.model.raster import Raster
from stadstwin.model.trees import Trees
from stadstwin.model.twin import Twin
from stadstwin.model.utilities import Utility
from stadstwin.rules import load_rules

X0, Y0 = 155_123.4, 463_051.7
OFFSET = (155_100.0, 463_000.0, 0.0)


def ground(x, y):
    """The DTM plane [m NAP]."""
    return 0.8 + 0.01 * (x - X0) - 0.005 * (y - Y0)


def _networks() -> NetworkTable:
    polylines = [
        np.array([[X0 + 5, Y0 + 10, -0.4], [X0 + 25, Y0 + 10, -0.5], [X0 + 25, Y0 + 25, -0.45]]),
        np.array([[X0 + 30, Y0 + 5, -0.3], [X0 + 45, Y0 + 5, -0.35]]),  # same feature, second polyline
        np.array([[X0 + 5, Y0 + 15, 0.1], [X0 + 20, Y0 + 15, 0.12], [X0 + 20, Y0 + 15, -0.8], [X0 + 40, Y0 + 16, -0.8]]),
        np.array([[X0 + 5, Y0 + 20, -0.9], [X0 + 50, Y0 + 20, -0.9]]),
    ]
    return NetworkTable.from_polylines(
        polylines, outer_diameter=[0.16, 0.16, 0.05, 0.3], utility=[Utility.WATER, Utility.WATER, Utility.ELECTRICITY_LV,
                                                                   Utility.DISTRICT_HEATING],
        owner=["Vitens", "Vitens", "Stedin", "Eneco"], status=[Status.EXISTING, Status.EXISTING, Status.EXISTING, Status.PLANNED],
        depth_source=[DepthSource.STANDARD_DEPTH, DepthSource.STANDARD_DEPTH, DepthSource.MEASURED_NAP, DepthSource.DESIGN],
        depth_uncertainty=[0.3, 0.3, 0.05, 0.1], feature_id=["nl.imkl-W1", "nl.imkl-W1", "nl.imkl-E7", "plan-H1"],
        container=["", "", "nl.imkl-KB2", ""],
    )


@pytest.fixture(scope="module")
def twin() -> Twin:
    grid = Raster.from_bounds(X0, Y0, X0 + 60, Y0 + 40, 1.0)
    cx, cy = grid.cell_centres()
    dtm = Raster(ground(cx, cy), grid.transform)
    gable = trimesh.creation.box(extents=[8, 6, 5])
    gable.apply_translation([X0 + 45 + 4, Y0 + 30 + 3, 0.7 + 2.5])
    buildings = Buildings(
        np.array([shapely.box(X0 + 5, Y0 + 28, X0 + 15, Y0 + 36), shapely.box(X0 + 45, Y0 + 30, X0 + 53, Y0 + 36)], dtype=object),
        np.array([0.6, 0.7]), np.array([9.6, 5.7]), np.array(["NL.IMBAG.Pand.0344100000000001", "NL.IMBAG.Pand.0344100000000002"]),
        [None, gable],
    )
    trees = Trees(np.array([X0 + 30.0, X0 + 35.0]), np.array([Y0 + 30.0, Y0 + 31.0]), np.array([0.9, 0.95]),
                  np.array([12.0, 6.0]), np.array([7.0, 3.0]), np.array([3.0, 2.0]), np.array(["Tilia", ""]),
                  np.array(["T1", "T2"]))
    return Twin("export", dtm, buildings, trees, _networks())


def _gltf_json(path) -> dict:
    data = path.read_bytes()
    magic, _, _ = struct.unpack("<4sII", data[:12])
    length, kind = struct.unpack("<I4s", data[12:20])
    assert magic == b"glTF" and kind == b"JSON"
    return json.loads(data[20:20 + length])


def georeference(scene: trimesh.Scene) -> dict:
    """The extras of the root node ``epsg7415`` of a loaded GLB."""
    return scene.graph.transforms.edge_data[(scene.graph.base_frame, "epsg7415")]["metadata"]


def rd_nap(scene: trimesh.Scene, node: str) -> np.ndarray:
    """A node's vertices in EPSG:7415 by the y-up convention: RD x = x0 + x, RD y = y0 − z, NAP = z0 + y."""
    transform, geometry = scene.graph[node]
    x, y, z = trimesh.transform_points(scene.geometry[geometry].vertices, transform).T
    x0, y0, z0 = georeference(scene)["origin_rd_nap"]
    return np.column_stack([x0 + x, y0 - z, z0 + y])


def gltf_vertices(scene: trimesh.Scene) -> dict[str, np.ndarray]:
    """Node name -> its vertices in the file's own (glTF) frame."""
    return {name: trimesh.transform_points(scene.geometry[scene.graph[name][1]].vertices, scene.graph[name][0])
            for name in scene.graph.nodes_geometry}


def test_glb_layers_nodes_and_extras(twin, tmp_path):
    files = export_glb(twin, tmp_path, max_terrain_triangles=500)
    assert set(files) == {"terrain", "buildings", "trees", "network_water", "network_electricity_lv",
                          "network_district_heating"}
    doc = _gltf_json(files["network_water"])
    (root,) = [doc["nodes"][i] for i in doc["scenes"][0]["nodes"]]
    assert root["name"] == "epsg7415"
    assert not {"matrix", "translation", "rotation", "scale"} & set(root)  # viewers show it at their origin
    assert {k: root["extras"][k] for k in ("crs", "origin_rd_nap", "up")} == {"crs": "EPSG:7415",
                                                                            "origin_rd_nap": list(OFFSET), "up": "y"}
    (node,) = [doc["nodes"][i] for i in root["children"]]
    assert node["name"] == "nl.imkl-W1"  # both polylines of the feature in one node
    assert node["extras"] == {"feature_id": "nl.imkl-W1", "owner": "Vitens", "utility": "water", "status": "existing",
                              "outer_diameter": 0.16, "depth_source": "standard_depth", "depth_uncertainty": 0.3,
                              "container": ""}
    colour = load_rules().utilities["water"].colour
    factor = doc["materials"][0]["pbrMetallicRoughness"]["baseColorFactor"]
    assert np.allclose(factor[:3], [int(colour[i:i + 2], 16) / 255 for i in (1, 3, 5)])
    heat = _gltf_json(files["network_district_heating"])
    assert [n["extras"]["depth_source"] for n in heat["nodes"] if "extras" in n and "feature_id" in n["extras"]] == ["design"]
    cable = _gltf_json(files["network_electricity_lv"])
    assert any(n.get("extras", {}).get("container") == "nl.imkl-KB2" for n in cable["nodes"])
    buildings = _gltf_json(files["buildings"])
    extras = {n["name"]: n["extras"] for n in buildings["nodes"] if n["name"] != "epsg7415"}
    assert extras["NL.IMBAG.Pand.0344100000000001"] == {"source_id": "NL.IMBAG.Pand.0344100000000001", "ground_z": 0.6,
                                                       "roof_z": 9.6, "height": 9.0}
    trees = _gltf_json(files["trees"])
    assert {n["name"]: n["extras"]["species"] for n in trees["nodes"] if n["name"] != "epsg7415"} == {"T1": "Tilia", "T2": ""}


def test_glb_true_coordinates(twin, tmp_path):
    files = export_glb(twin, tmp_path, max_terrain_triangles=500)
    networks = twin.networks
    for kind in ("water", "electricity_lv", "district_heating"):
        scene = trimesh.load(files[f"network_{kind}"], process=False)
        for name in scene.graph.nodes_geometry:
            transform, _ = scene.graph[name]
            assert scene.graph.transforms.edge_data[("epsg7415", name)]["metadata"]["feature_id"] == name
            assert np.allclose(transform, np.eye(4))
            vertices = rd_nap(scene, name)
            rows = np.flatnonzero((networks.feature_id == name) & (networks.length > 0))
            # one 12-gon ring at each end of each segment, in table order: the ring centres are the
            # true axis end points (m NAP) and every ring vertex lies at the outer radius (within 1 mm)
            rings = vertices.reshape(len(rows), 2, 12, 3)
            np.testing.assert_allclose(rings[:, 0].mean(axis=1), networks.p0[rows], atol=1e-3)
            np.testing.assert_allclose(rings[:, 1].mean(axis=1), networks.p1[rows], atol=1e-3)
            radial = np.linalg.norm(rings - rings.mean(axis=2, keepdims=True), axis=3)
            np.testing.assert_allclose(radial, np.broadcast_to(networks.radius[rows][:, None, None], radial.shape), atol=1e-3)
    terrain = trimesh.load(files["terrain"])
    mesh = terrain.geometry[terrain.graph["terrain"][1]]
    assert len(mesh.faces) <= 500
    vertices = rd_nap(terrain, "terrain")
    # the DTM plane rises 1 cm/m east and falls 0.5 cm/m north: a mirrored or swapped axis breaks it
    np.testing.assert_allclose(vertices[:, 2], ground(vertices[:, 0], vertices[:, 1]), atol=1e-3)
    buildings = trimesh.load(files["buildings"])
    block = buildings.geometry[buildings.graph["NL.IMBAG.Pand.0344100000000001"][1]]
    assert block.is_watertight and block.volume == pytest.approx(10 * 8 * 9.0, rel=1e-6)  # outward, not inside out
    bounds = rd_nap(buildings, "NL.IMBAG.Pand.0344100000000001")
    np.testing.assert_allclose([bounds.min(axis=0), bounds.max(axis=0)], [[X0 + 5, Y0 + 28, 0.6], [X0 + 15, Y0 + 36, 9.6]],
                               atol=1e-3)
    trees = trimesh.load(files["trees"])
    tree = rd_nap(trees, "T1")
    np.testing.assert_allclose(tree[:, 2].min(), 0.9, atol=1e-3)
    np.testing.assert_allclose(tree[:, 2].max(), 0.9 + 12.0, atol=1e-3)
    np.testing.assert_allclose(np.ptp(tree[:, 0]), 7.0, rtol=0.02)


def test_glb_is_y_up_east_x_north_minus_z_and_not_mirrored(twin, tmp_path):
    files = export_glb(twin, tmp_path, max_terrain_triangles=500)
    buildings = gltf_vertices(trimesh.load(files["buildings"], process=False))
    everything = np.vstack(list(buildings.values()))
    tall = buildings["NL.IMBAG.Pand.0344100000000001"]  # ground 0.6, roof 9.6 m NAP
    # upright: the roof top is the largest y, and the y extent is the height range (z0 = 0 m NAP)
    assert everything[:, 1].max() == tall[:, 1].max() == pytest.approx(9.6, abs=1e-3)
    assert np.ptp(tall[:, 1]) == pytest.approx(9.0, abs=1e-3)
    assert np.ptp(everything[:, 1]) == pytest.approx(9.6 - 0.6, abs=1e-3)
    assert np.ptp(tall[:, 0]) == pytest.approx(10, abs=1e-3) and np.ptp(tall[:, 2]) == pytest.approx(8, abs=1e-3)
    # the gable box stands north-east of the origin: at +x and -z
    gable = buildings["NL.IMBAG.Pand.0344100000000002"]
    assert (gable[:, 0] > 0).all() and (gable[:, 2] < 0).all()
    np.testing.assert_allclose([gable.min(axis=0), gable.max(axis=0)],
                               [[X0 + 45 - OFFSET[0], 0.7, -(Y0 + 36 - OFFSET[1])],
                                [X0 + 53 - OFFSET[0], 5.7, -(Y0 + 30 - OFFSET[1])]], atol=1e-3)
    # east x north = up, as in RD/NAP: the map from the delivered box's vertices is a rotation, not a mirror
    rd = twin.buildings.mesh[1].vertices
    linear, *_ = np.linalg.lstsq(rd - rd.mean(axis=0), gable - gable.mean(axis=0), rcond=None)
    east, north, up = linear  # rows: the glTF images of RD east, north and up
    np.testing.assert_allclose(linear, [[1, 0, 0], [0, 0, -1], [0, 1, 0]], atol=1e-6)
    np.testing.assert_allclose(np.cross(east, north), up, atol=1e-6)
    # so triangles keep their winding: the terrain faces up (+y)
    terrain = trimesh.load(files["terrain"], process=False)
    assert np.all(terrain.geometry[terrain.graph["terrain"][1]].face_normals[:, 1] > 0.9)


def test_glb_terrain_only(tmp_path):
    grid = Raster.from_bounds(X0, Y0, X0 + 4, Y0 + 4, 1.0, fill=1.0)
    assert set(export_glb(Twin("flat", grid), tmp_path)) == {"terrain"}


def test_terrain_mesh_leaves_out_nodata():
    grid = Raster.from_bounds(X0, Y0, X0 + 20, Y0 + 10, 1.0, fill=2.0)
    grid.array[:, :5] = np.nan
    mesh = terrain_mesh(grid, max_triangles=10_000)
    assert np.all(mesh.vertices[:, 2] == 2.0) and mesh.vertices[:, 0].min() == X0 + 5.5
    assert len(mesh.faces) == 2 * 9 * 14 and mesh.area == pytest.approx(9 * 14)


def test_tube_volume_and_extrusion_hold_analytic_values():
    p0 = np.array([[0.0, 0, 0], [1, 1, 1], [2, 2, 2]])
    p1 = np.array([[3.0, 0, 0], [1, 1, 4], [2, 2, 2]])  # the last one has zero length
    mesh = tube_mesh(p0, p1, np.array([0.1, 0.2, 0.3]), sections=12)
    polygon_area = 0.5 * 12 * np.sin(2 * np.pi / 12)
    assert mesh.is_watertight and mesh.is_winding_consistent
    assert mesh.volume == pytest.approx(polygon_area * (0.01 * 3 + 0.04 * 3))
    ring = shapely.box(0, 0, 10, 5).difference(shapely.box(2, 2, 3, 3))
    block = extruded_footprint(shapely.MultiPolygon([ring, shapely.box(20, 0, 21, 1)]), 1.0, 4.0)
    assert block.is_watertight and block.volume == pytest.approx((49 + 1) * 3)


def test_gpkg_layers_lines_and_attributes(twin, tmp_path):
    path = export_gpkg(twin, tmp_path / "twin.gpkg")
    layers = dict(pyogrio.list_layers(path))
    assert layers == {"water": "LineString Z", "electricity_lv": "LineString Z", "district_heating": "LineString Z",
                      "buildings": "MultiPolygon", "trees": "Point Z"}
    for layer in layers:
        assert pyogrio.read_info(path, layer=layer)["crs"] == "EPSG:7415"
    water = pyogrio.read_dataframe(path, layer="water")
    assert list(water.feature_id) == ["nl.imkl-W1", "nl.imkl-W1"] and set(water.owner) == {"Vitens"}
    expected = [
        [[X0 + 5, Y0 + 10, -0.4], [X0 + 25, Y0 + 10, -0.5], [X0 + 25, Y0 + 25, -0.45]],
        [[X0 + 30, Y0 + 5, -0.3], [X0 + 45, Y0 + 5, -0.35]],
    ]
    for line, coords in zip(water.geometry, expected):
        assert line.has_z
        np.testing.assert_array_equal(shapely.get_coordinates(line, include_z=True), coords)
        xyz = np.asarray(coords)
        cover = (ground(xyz[:, 0], xyz[:, 1]) - (xyz[:, 2] + 0.08)).min()
        assert water.min_cover[list(water.geometry).index(line)] == pytest.approx(cover, abs=1e-9)
    assert list(water.outer_diameter) == [0.16, 0.16] and list(water.depth_uncertainty) == [0.3, 0.3]
    assert list(water.status) == ["existing"] * 2 and list(water.depth_source) == ["standard_depth"] * 2
    cable = pyogrio.read_dataframe(path, layer="electricity_lv")
    assert cable.container[0] == "nl.imkl-KB2" and cable.depth_source[0] == "measured_nap"
    heat = pyogrio.read_dataframe(path, layer="district_heating")
    assert heat.status[0] == "planned" and heat.utility[0] == "district_heating"
    buildings = pyogrio.read_dataframe(path, layer="buildings")
    assert list(buildings.source_id) == list(twin.buildings.source_id)
    np.testing.assert_allclose(buildings.height, [9.0, 5.0])
    assert buildings.geometry[0].equals(shapely.MultiPolygon([twin.buildings.footprint[0]]))
    trees = pyogrio.read_dataframe(path, layer="trees")
    np.testing.assert_array_equal(shapely.get_coordinates(trees.geometry.values, include_z=True),
                                  np.column_stack([twin.trees.x, twin.trees.y, twin.trees.ground_z]))
    assert list(trees.species.fillna("")) == ["Tilia", ""]


def test_network_runs_split_at_gaps_and_features():
    runs = network_runs(_networks())
    assert [list(r) for r in runs] == [[0, 1], [2], [3, 4, 5], [6]]
    assert network_runs(NetworkTable.empty()) == []


def test_gpkg_of_empty_twin_opens(tmp_path):
    grid = Raster.from_bounds(X0, Y0, X0 + 4, Y0 + 4, 1.0, fill=1.0)
    path = export_gpkg(Twin("empty", grid), tmp_path / "empty.gpkg")
    assert {name for name, _ in pyogrio.list_layers(path)} == {"buildings", "trees"}
    assert pyogrio.read_info(path, layer="trees")["features"] == 0
