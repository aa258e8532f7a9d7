"""3D Tiles 1.1 export: the tileset tree read back with trimesh (every building in exactly one tile, boxes holding
their content and their children), the root transform against pyproj, the demo district through the CLI checked
by the Khronos glTF Validator (npm ``gltf-validator``) and the service route."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import trimesh
from pyproj import Transformer
from test_exports import _gltf_json, georeference, gltf_vertices
from typer.testing import CliRunner

from stadstwin.cli import app
from stadstwin.errors import InputError
from stadstwin.io.tiles3d import export_3dtiles
from stadstwin.sample.blocks import block_district

VIEWER = Path(__file__).resolve().parents[1] / "viewer"


def tiles(tile: dict, depth: int = 0):
    """(tile, depth) of the tree, depth first."""
    yield tile, depth
    for child in tile.get("children", []):
        yield from tiles(child, depth + 1)


def box_bounds(box: list[float]) -> np.ndarray:
    """(2, 3) min/max corners of an axis-aligned 3D Tiles box."""
    centre, axes = np.array(box[:3]), np.array(box[3:]).reshape(3, 3)
    assert np.count_nonzero(axes - np.diag(np.diag(axes))) == 0, "boxes are axis-aligned"
    half = np.abs(np.diag(axes))
    return np.array([centre - half, centre + half])


def content(folder: Path, tile: dict) -> dict[str, np.ndarray]:
    """Node name -> vertices of a tile's GLB in the tileset frame (glTF y-up turned z-up: (x, -z, y))."""
    scene = trimesh.load(folder / tile["content"]["uri"], file_type="glb", process=False)
    return {name: v[:, [0, 2, 1]] * [1, -1, 1] for name, v in gltf_vertices(scene).items()}


def leaf_buildings(folder: Path, tile: dict) -> tuple[dict[str, np.ndarray], dict]:
    """BAG id -> vertices (tileset frame) of each building in a leaf, split by the per-vertex feature ids and the
    node's ``source_id`` column (from the raw glTF JSON and trimesh), and the node's extras."""
    doc = _gltf_json(folder / tile["content"]["uri"])
    (node,) = [n for n in doc["nodes"] if n["name"] == "buildings"]
    (primitive,) = doc["meshes"][node["mesh"]]["primitives"]
    (feature_ids,) = primitive["extensions"]["EXT_mesh_features"]["featureIds"]
    assert feature_ids["featureCount"] == len(node["extras"]["source_id"]) and "_FEATURE_ID_0" in primitive["attributes"]
    scene = trimesh.load(folder / tile["content"]["uri"], file_type="glb", process=False)
    (geometry,) = scene.geometry.values()
    ids = np.asarray(geometry.vertex_attributes["_FEATURE_ID_0"]).ravel().astype(int)
    vertices = content(folder, tile)["buildings"]
    return {bag: vertices[ids == k] for k, bag in enumerate(node["extras"]["source_id"])}, node["extras"]


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    twin = block_district(300, pitch=10.0, size=6.0, seed=3)
    folder = tmp_path_factory.mktemp("tiles")
    path = export_3dtiles(twin, folder, max_buildings_per_tile=20, max_terrain_triangles=500)
    return twin, folder, json.loads(path.read_text())


def test_every_building_is_in_exactly_one_tile_and_boxes_hold_their_content(exported):
    twin, folder, tileset = exported
    assert tileset["asset"]["version"] == "1.1"
    seen: list[str] = []
    for tile, depth in tiles(tileset["root"]):
        bounds = box_bounds(tile["boundingVolume"]["box"])
        for child in tile.get("children", []):
            inner = box_bounds(child["boundingVolume"]["box"])
            assert np.all(inner[0] >= bounds[0] - 1e-6) and np.all(inner[1] <= bounds[1] + 1e-6)
            assert child["geometricError"] <= tile["geometricError"]
        if "content" not in tile:
            continue
        nodes = content(folder, tile)
        vertices = np.concatenate(list(nodes.values()))
        assert np.all(vertices >= bounds[0] - 1e-3) and np.all(vertices <= bounds[1] + 1e-3)
        if depth == 0:
            assert set(nodes) == {"terrain"}
        else:
            buildings, _ = leaf_buildings(folder, tile)
            assert "children" not in tile and tile["geometricError"] == 0 and 0 < len(buildings) <= 20
            assert all(len(v) for v in buildings.values())
            seen += list(buildings)
    assert sorted(seen) == sorted(twin.buildings.source_id.tolist())
    assert len(list(tiles(tileset["root"]))) > 300 / 20  # split into a tree, not one tile


def test_tiles_hold_the_buildings_where_the_twin_has_them_with_their_bag_extras(exported):
    twin, folder, tileset = exported
    origin = np.array(tileset["extras"]["origin_rd_nap"])
    b = twin.buildings
    row = {str(s): i for i, s in enumerate(b.source_id)}
    leaf = next(t for t, d in tiles(tileset["root"]) if d > 0 and "content" in t)
    scene = trimesh.load(folder / leaf["content"]["uri"], file_type="glb", process=False)
    assert georeference(scene)["origin_rd_nap"] == pytest.approx(origin.tolist())
    buildings, extras = leaf_buildings(folder, leaf)
    for k, (name, local) in enumerate(buildings.items()):
        i = row[name]
        xmin, ymin, xmax, ymax = b.footprint[i].bounds
        np.testing.assert_allclose(local.min(axis=0) + origin, [xmin, ymin, b.ground_z[i]], atol=1e-3)
        np.testing.assert_allclose(local.max(axis=0) + origin, [xmax, ymax, b.roof_z[i]], atol=1e-3)
        assert extras["height"][k] == pytest.approx(b.height[i]) and extras["roof_z"][k] == pytest.approx(b.roof_z[i])


def test_a_twin_without_buildings_is_the_terrain_root_alone(tmp_path):
    twin = block_district(4)
    flat = type(twin)("flat", twin.dtm)
    tileset = json.loads(export_3dtiles(flat, tmp_path, max_terrain_triangles=200).read_text())
    assert "children" not in tileset["root"] and tileset["root"]["content"]["uri"] == "terrain.glb"
    assert set(content(tmp_path, tileset["root"])) == {"terrain"} and tileset["extras"]["buildings"] == 0
    with pytest.raises(InputError, match="max_buildings_per_tile"):
        export_3dtiles(twin, tmp_path / "none", max_buildings_per_tile=0)


def test_root_transform_maps_the_local_frame_to_the_ecef_points_pyproj_gives(exported):
    twin, _, tileset = exported
    origin = np.array(tileset["extras"]["origin_rd_nap"])
    matrix = np.array(tileset["root"]["transform"]).reshape(4, 4).T  # column-major
    to_ecef = Transformer.from_crs("EPSG:7415", "EPSG:4978", always_xy=True)
    np.testing.assert_allclose(matrix[:3, 3], to_ecef.transform(*origin), atol=1e-6)
    # a far corner of the district: the tangent frame stays within curvature (d^2 / 2R, ~3 cm at 300 m)
    _, _, xmax, ymax = twin.bounds
    corner = np.array([xmax, ymax, 25.0])
    mapped = matrix @ np.append(corner - origin, 1.0)
    assert np.linalg.norm(mapped[:3] - np.array(to_ecef.transform(*corner))) < 0.05
    rotation = matrix[:3, :3] / np.linalg.norm(matrix[:3, 0])
    np.testing.assert_allclose(rotation.T @ rotation, np.eye(3), atol=1e-12)  # uniform scale, as viewers expect
    up = matrix[:3, 2] / np.linalg.norm(matrix[:3, 2])
    np.testing.assert_allclose(up, matrix[:3, 3] / np.linalg.norm(matrix[:3, 3]), atol=4e-3)  # ~ geocentric up


def test_demo_district_cli_export_passes_the_gltf_validator(demo_scene, tmp_path):
    result = CliRunner().invoke(app, ["export", str(demo_scene), "--format", "3dtiles", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    tileset = json.loads((tmp_path / "tileset.json").read_text())
    assert tileset["extras"]["buildings"] > 0
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is needed to run the glTF Validator (npm gltf-validator)")
    if not (VIEWER / "node_modules" / "gltf-validator").is_dir():
        subprocess.run([shutil.which("npm"), "ci", "--no-audit", "--no-fund"], cwd=VIEWER, check=True)
    run = subprocess.run([node, "scripts/validate-tiles.mjs", str(tmp_path / "tileset.json")], check=False,
                         cwd=VIEWER,
                         capture_output=True, text=True, timeout=300)
    report = json.loads(run.stdout)
    contents = sum("content" in t for t, _ in tiles(tileset["root"]))
    assert run.returncode == 0 and report["errors"] == 0, report
    assert report["contents"] == contents > 1
