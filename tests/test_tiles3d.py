"""3D Tiles 1.1 export: the tileset tree read back with trimesh (every building in exactly one tile, boxes holding
their content and their children), the EXT_structural_metadata property tables decoded by hand from the GLB bytes
against the twin's columns, the root transform against pyproj, the demo district through the CLI checked by the
Khronos glTF Validator (npm ``gltf-validator``), and the tiled export of the real scenes/delft (tiles of 100 m)
against the untiled export of the same scene."""

from __future__ import annotations

import itertools
import json
import shutil
import struct
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

REPO = Path(__file__).resolve().parents[1]
VIEWER = REPO / "viewer"


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


def property_table(path: Path) -> tuple[dict[str, list], dict]:
    """The building property table of a leaf GLB, decoded from its bytes (glTF JSON and BIN chunks, bufferViews,
    EXT_structural_metadata string offsets), and the extension's JSON."""
    data = path.read_bytes()
    json_length, = struct.unpack("<I", data[12:16])
    doc = json.loads(data[20:20 + json_length])
    bin_length, kind = struct.unpack("<I4s", data[20 + json_length:28 + json_length])
    assert kind == b"BIN\0"
    blob = data[28 + json_length:28 + json_length + bin_length]
    metadata = doc["extensions"]["EXT_structural_metadata"]
    assert "EXT_structural_metadata" in doc["extensionsUsed"]
    (table,) = metadata["propertyTables"]
    assert table["class"] == "building"

    def view(index: int) -> bytes:
        v = doc["bufferViews"][index]
        assert v["byteOffset"] % 4 == 0  # aligned to the component size
        return blob[v["byteOffset"]:v["byteOffset"] + v["byteLength"]]

    columns = {}
    for name, prop in table["properties"].items():
        definition = metadata["schema"]["classes"]["building"]["properties"][name]
        if definition["type"] == "STRING":
            assert prop["stringOffsetType"] == "UINT32"
            offsets = np.frombuffer(view(prop["stringOffsets"]), dtype="<u4")
            text = view(prop["values"])
            assert len(offsets) == table["count"] + 1 and offsets[-1] == len(text)
            columns[name] = [text[a:b].decode() for a, b in itertools.pairwise(offsets)]
        else:
            assert (definition["type"], definition["componentType"]) == ("SCALAR", "FLOAT32")
            values = np.frombuffer(view(prop["values"]), dtype="<f4")
            assert len(values) == table["count"]
            columns[name] = values.tolist()
    return columns, metadata


def leaf_properties(folder: Path, tileset: dict) -> dict[str, dict]:
    """BAG id -> the other properties of every building of a tileset, from the leaves' property tables; each id
    must come once."""
    rows: dict[str, dict] = {}
    for tile, _ in tiles(tileset["root"]):
        if "content" in tile and "children" not in tile and not tile["content"]["uri"].endswith("terrain.glb"):
            columns, metadata = property_table(folder / tile["content"]["uri"])
            assert metadata["schema"] == tileset["schema"]
            for k, bag in enumerate(columns["source_id"]):
                assert bag not in rows, f"{bag} in two tiles"
                rows[bag] = {name: values[k] for name, values in columns.items() if name != "source_id"}
    return rows


def assert_boxes_hold_their_content_and_children(folder: Path, tileset: dict) -> None:
    for tile, _ in tiles(tileset["root"]):
        bounds = box_bounds(tile["boundingVolume"]["box"])
        for child in tile.get("children", []):
            inner = box_bounds(child["boundingVolume"]["box"])
            assert np.all(inner[0] >= bounds[0] - 1e-6) and np.all(inner[1] <= bounds[1] + 1e-6)
            assert child["geometricError"] <= tile["geometricError"]
        if "content" in tile:
            vertices = np.concatenate(list(content(folder, tile).values()))
            assert np.all(vertices >= bounds[0] - 1e-3) and np.all(vertices <= bounds[1] + 1e-3)


def validate(tileset_path: Path) -> dict:
    """The report of the Khronos glTF Validator over every content of a tileset (skips without node)."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is needed to run the glTF Validator (npm gltf-validator)")
    if not (VIEWER / "node_modules" / "gltf-validator").is_dir():
        subprocess.run([shutil.which("npm"), "ci", "--no-audit", "--no-fund"], cwd=VIEWER, check=True)
    run = subprocess.run([node, "scripts/validate-tiles.mjs", str(tileset_path)], check=False, cwd=VIEWER,
                         capture_output=True, text=True, timeout=300)
    report = json.loads(run.stdout)
    assert run.returncode == 0 and report["errors"] == 0, report
    return report


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    twin = block_district(300, pitch=10.0, size=6.0, seed=3)
    folder = tmp_path_factory.mktemp("tiles")
    path = export_3dtiles(twin, folder, max_buildings_per_tile=20, max_terrain_triangles=500)
    return twin, folder, json.loads(path.read_text())


def test_every_building_is_in_exactly_one_tile_and_boxes_hold_their_content(exported):
    twin, folder, tileset = exported
    assert tileset["asset"]["version"] == "1.1"
    assert_boxes_hold_their_content_and_children(folder, tileset)
    seen: list[str] = []
    for tile, depth in tiles(tileset["root"]):
        if "content" not in tile:
            continue
        if depth == 0:
            assert set(content(folder, tile)) == {"terrain"}
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


def test_leaves_carry_the_building_columns_as_property_tables_of_the_tileset_schema(exported):
    twin, folder, tileset = exported
    b = twin.buildings
    rows = leaf_properties(folder, tileset)
    assert sorted(rows) == sorted(b.source_id.tolist())
    for i, bag in enumerate(b.source_id):
        expected = np.array([b.ground_z[i], b.roof_z[i], b.height[i]], dtype=np.float32)  # FLOAT32 in the schema
        assert [rows[bag][k] for k in ("ground_z", "roof_z", "height")] == expected.tolist()
    units = {name: p["description"] for name, p in tileset["schema"]["classes"]["building"]["properties"].items()}
    assert "[m NAP]" in units["ground_z"] and "[m NAP]" in units["roof_z"] and "[m]" in units["height"]
    meta = tileset["metadata"]
    assert meta["class"] == "scene"
    assert set(meta["properties"]) <= set(tileset["schema"]["classes"]["scene"]["properties"])
    assert meta["properties"]["name"] == twin.name and meta["properties"]["buildings"] == len(b) == len(rows)
    assert meta["properties"]["origin"] == tileset["extras"]["origin_rd_nap"]
    # the feature ids of each leaf index its property table (the viewer's extras hold the same columns)
    for tile, depth in tiles(tileset["root"]):
        if depth > 0 and "content" in tile:
            columns, _ = property_table(folder / tile["content"]["uri"])
            _, extras = leaf_buildings(folder, tile)
            doc = _gltf_json(folder / tile["content"]["uri"])
            (feature_ids,) = doc["meshes"][0]["primitives"][0]["extensions"]["EXT_mesh_features"]["featureIds"]
            assert feature_ids["propertyTable"] == 0 and feature_ids["featureCount"] == len(columns["source_id"])
            assert columns["source_id"] == extras["source_id"]
            np.testing.assert_allclose(columns["height"], extras["height"], rtol=1e-6)


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
    report = validate(tmp_path / "tileset.json")
    assert report["contents"] == sum("content" in t for t, _ in tiles(tileset["root"])) > 1


@pytest.fixture(scope="module")
def delft_tilesets(tmp_path_factory):
    """scenes/delft (real data) exported through the CLI untiled and tiled (tiles of 100 m), and its twin."""
    from stadstwin import build_twin

    root = tmp_path_factory.mktemp("delft-3dtiles")
    shutil.copytree(REPO / "scenes" / "delft", root / "scenes" / "delft",
                    ignore=shutil.ignore_patterns("results", ".stadstwin-cache"))
    shutil.copytree(REPO / "data", root / "data")
    scene = root / "scenes" / "delft"
    out = {}
    for name, options in {"untiled": [], "tiled": ["--tile-size", "100"]}.items():
        result = CliRunner().invoke(app, ["export", str(scene), "--format", "3dtiles", "--out", str(root / name),
                                          *options])
        assert result.exit_code == 0, result.output
        out[name] = (root / name, json.loads((root / name / "tileset.json").read_text()))
    return out, build_twin(scene)


def test_delft_tiled_export_holds_every_building_of_the_untiled_once_with_the_same_properties(delft_tilesets):
    out, twin = delft_tilesets
    (folder, tiled), (untiled_folder, untiled) = out["tiled"], out["untiled"]
    rows = leaf_properties(folder, tiled)
    reference = leaf_properties(untiled_folder, untiled)
    assert len(reference) > 100 and rows == reference
    assert sorted(rows) == sorted(twin.buildings.source_id.tolist())
    # one root, one origin and transform for the whole scene; one child per scene tile (228 m x 192 m: 3 x 2)
    assert tiled["extras"]["origin_rd_nap"] == untiled["extras"]["origin_rd_nap"]
    np.testing.assert_allclose(tiled["root"]["transform"], untiled["root"]["transform"], rtol=0, atol=1e-9)
    children = tiled["root"]["children"]
    assert sorted(c["metadata"]["properties"]["name"] for c in children) == ["0_0", "0_1", "1_0", "1_1", "2_0", "2_1"]
    for child in children:
        assert child["metadata"]["class"] == "tile" and "transform" not in child
        assert child["metadata"]["properties"]["buildings"] == len(leaf_properties(folder, {**tiled, "root": child}))
    scene_meta, untiled_meta = tiled["metadata"]["properties"], untiled["metadata"]["properties"]
    assert scene_meta == untiled_meta and scene_meta["terrain"] == twin.terrain != ""
    assert_boxes_hold_their_content_and_children(folder, tiled)


def test_delft_tile_terrains_meet_and_cover_the_untiled_terrain(delft_tilesets):
    out, _ = delft_tilesets
    (folder, tiled), (untiled_folder, untiled) = out["tiled"], out["untiled"]
    whole = content(untiled_folder, untiled["root"])["terrain"]
    extents = {}
    for child in tiled["root"]["children"]:
        vertices = content(folder, child)["terrain"]
        extents[child["metadata"]["properties"]["name"]] = (vertices.min(axis=0)[:2], vertices.max(axis=0)[:2])
    lower = np.min([lo for lo, _ in extents.values()], axis=0)
    upper = np.max([hi for _, hi in extents.values()], axis=0)
    np.testing.assert_allclose([lower, upper], [whole.min(axis=0)[:2], whole.max(axis=0)[:2]], atol=1e-6)
    # the root's overview spans the same ground within the untiled terrain's budget, replaced by the tiles
    overview = content(folder, tiled["root"])
    assert set(overview) == {"terrain"} and tiled["root"]["refine"] == "REPLACE"
    faces = sum(len(g.faces) for g in trimesh.load(folder / "terrain.glb", file_type="glb").geometry.values())
    assert 1000 < faces <= 50_000  # the default budget, over all tiles
    np.testing.assert_allclose([overview["terrain"].min(axis=0)[:2], overview["terrain"].max(axis=0)[:2]],
                               [lower, upper], atol=1e-6)
    for name, (lo, hi) in extents.items():  # each tile's mesh reaches its neighbours' east and south
        row, col = map(int, name.split("_"))
        if f"{row}_{col + 1}" in extents:
            assert hi[0] == pytest.approx(extents[f"{row}_{col + 1}"][0][0], abs=1e-6)
        if f"{row + 1}_{col}" in extents:
            assert lo[1] == pytest.approx(extents[f"{row + 1}_{col}"][1][1], abs=1e-6)


def test_delft_tiled_export_passes_the_gltf_validator(delft_tilesets):
    out, _ = delft_tilesets
    folder, tiled = out["tiled"]
    report = validate(folder / "tileset.json")
    assert report["contents"] == sum("content" in t for t, _ in tiles(tiled["root"])) > 6


def test_tile_size_is_for_the_3dtiles_format_of_the_base_scene(demo_scene, tmp_path):
    for options in (["--format", "glb"], ["--format", "3dtiles", "--variant", "x"]):
        result = CliRunner().invoke(app, ["export", str(demo_scene), *options, "--tile-size", "100",
                                          "--out", str(tmp_path)])
        assert result.exit_code != 0 and "--tile-size" in result.output
