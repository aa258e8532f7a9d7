"""The twin as OGC 3D Tiles 1.1: a tileset.json tree with one GLB (glTF 2.0) per tile, for city-scale viewers.

Layout of ``folder`` (:func:`export_3dtiles`, one twin in memory): ``tileset.json``, ``terrain.glb`` (content of
the root tile) and ``tiles/<path>.glb``, one per leaf of a quadtree over the buildings' footprint centres, each
holding at most ``max_buildings_per_tile`` buildings (every building in exactly one leaf). A tiled twin
(:func:`export_tiled_3dtiles`, ``build.tiled``, one scene tile in memory at a time): the root's content is an
overview terrain (``terrain.glb``, refinement ``REPLACE``) and it has one child per scene tile, laid out as above
under ``<row>_<col>/``; a scene tile shows the buildings it owns (a
point on the footprint in its core cells, so each building is in one tile) and the DTM of its core cells plus
the first row south and column east (neighbouring terrain meshes meet). The GLBs are written by
``io.glb.write_nodes`` (the layer writer of the viewer): glTF y-up, vertices relative to the local origin
(x0, y0, z0) (``io.glb``) of the twin or of the whole scene grid (one origin for all scene tiles).

Metadata, the 3D Tiles 1.1 way (:data:`SCHEMA` in ``tileset.json`` and in every leaf GLB): the tileset's
``metadata`` is of class ``scene`` (name, CRS, terrain label, origin, number of buildings), a scene tile's of
class ``tile``. A leaf holds its buildings as one mesh (one draw call), node ``buildings``: each vertex has the
feature id ``_FEATURE_ID_0`` (0..n-1, ``EXT_mesh_features``) indexing an ``EXT_structural_metadata`` property
table of class ``building``: ``source_id`` (BAG id), ``ground_z``, ``roof_z`` [m NAP], ``height`` [m] (float32;
NaN where unknown). The node's glTF ``extras`` hold the same columns (the viewer's tiles page and the service
tests read them).

Frames: per the 3D Tiles spec a runtime turns glTF y-up content to z-up, so the tileset frame is the local
(east, north, up) = (RD x − x0, RD y − y0, NAP − z0) [m]; bounding volumes are ``box``es in that frame. The
root ``transform`` maps it to ECEF (EPSG:4978): its translation is the ECEF point of the origin; its 3x3 part is
the rotation nearest to the derivative of EPSG:7415 → EPSG:4978 (pyproj) at the origin, times the RD scale factor
there (uniform, as viewers expect; RD grid convergence kept). Without the NAP geoid grid (nlgeo2018) pyproj takes
NAP heights as ellipsoidal heights (off by ~43 m vertically, the same for all tiles).

Refinement is ``ADD`` (but at the root of a tiled twin). geometricError [m]: a leaf 0; a tile above = the tallest
building below it (the height error of drawing none of them); the root of a tiled twin the largest of its scene
tiles' (at least 1 m); the tileset = twice the root's.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import shapely
import trimesh
from affine import Affine

from stadstwin.crs import INTERNAL_CRS
from stadstwin.errors import InputError
from stadstwin.io.glb import (
    Node,
    bounds_origin,
    building_nodes,
    local_origin,
    terrain_node,
    write_nodes,
)
from stadstwin.model.raster import Raster
from stadstwin.model.twin import Twin

if TYPE_CHECKING:  # the tiled twin lives in the build layer; only its interface is used here
    from stadstwin.build.tiled import Tile, TiledTwin

#: ``progress(step, done, total)``, as the builders'.
Progress = Callable[[str, int, int], None]

ECEF = "EPSG:4978"
#: Step of the finite differences of the root transform [m].
_STEP = 10.0
_FLOAT = {"type": "SCALAR", "componentType": "FLOAT32"}
#: The tileset's metadata schema (3D Tiles 1.1 / EXT_structural_metadata), also embedded in every leaf GLB.
SCHEMA = {
    "id": "stadstwin",
    "classes": {
        "building": {"description": "A building of the twin; a leaf's property table row per feature id.",
                     "properties": {
                         "source_id": {"type": "STRING", "description": "BAG pand id"},
                         "ground_z": {**_FLOAT, "description": "ground level at the building [m NAP]"},
                         "roof_z": {**_FLOAT, "description": "roof level (highest) [m NAP]"},
                         "height": {**_FLOAT, "description": "roof_z - ground_z [m]"}}},
        "scene": {"description": "The scene the tileset shows (tileset metadata).",
                  "properties": {
                      "name": {"type": "STRING", "description": "scene name"},
                      "crs": {"type": "STRING", "description": "CRS of the source coordinates (RD New + NAP)"},
                      "terrain": {"type": "STRING", "description": "what the ground (DTM) is made from"},
                      "origin": {"type": "VEC3", "componentType": "FLOAT64",
                                 "description": "(x0, y0, z0) of the tileset frame [m RD, m RD, m NAP]"},
                      "buildings": {"type": "SCALAR", "componentType": "UINT32",
                                    "description": "number of buildings in the tileset"}}},
        "tile": {"description": "One tile of a tiled twin (its subtree's root).",
                 "properties": {
                     "name": {"type": "STRING", "description": "row_col of the scene tile (0_0 north-west)"},
                     "buildings": {"type": "SCALAR", "componentType": "UINT32",
                                   "description": "number of buildings in the tile"}}},
    },
}


def export_3dtiles(twin: Twin, folder: str | Path, *, max_buildings_per_tile: int = 256,
                   max_terrain_triangles: int = 50_000) -> Path:
    """Write the 3D Tiles 1.1 tileset of ``twin`` into ``folder``; returns the path of tileset.json."""
    _check(max_buildings_per_tile)
    folder = Path(folder)
    origin = local_origin(twin)
    root, count = _part(twin, folder, "", origin, max_buildings_per_tile, max_terrain_triangles)
    return _write_tileset(folder, root, twin.name, twin.terrain, origin, count)


def export_tiled_3dtiles(tiled: TiledTwin, folder: str | Path, *, max_buildings_per_tile: int = 256,
                         max_terrain_triangles: int = 50_000, progress: Progress | None = None) -> Path:
    """Write the 3D Tiles 1.1 tileset of a tiled twin into ``folder``, one scene tile in memory at a time: each tile
    is a child of the root, written as :func:`export_3dtiles` writes a twin into ``folder/<row>_<col>/``, with the
    buildings it owns (``TiledTwin.owns`` of a point on the footprint) and the DTM of its core cells plus the
    first row south and column east (so the terrain meshes of neighbours meet), at most ``max_terrain_triangles``
    per tile. The root's content ``terrain.glb`` is an overview of the whole terrain (the tiles' terrains thinned
    to ``max_terrain_triangles`` in all), replaced by the tiles when a viewer refines (``REPLACE``). One local
    origin and root transform, the scene grid's; returns the path of tileset.json."""
    _check(max_buildings_per_tile)
    folder = Path(folder)
    origin = bounds_origin(tiled.bounds)
    children, overview, count, terrain = [], [], 0, ""
    total = len(tiled.tiles)
    if progress is not None:
        progress("3D tiles", 0, total)
    for done, tile in enumerate(tiled.tiles, start=1):
        child, n, terrain, coarse = _scene_tile(tiled, tile, folder, origin, max_buildings_per_tile,
                                                max_terrain_triangles, max(2, max_terrain_triangles // total))
        children.append(child)
        overview.append(coarse)
        count += n
        if progress is not None:
            progress("3D tiles", done, total)
    name, _, extras, colour = overview[0]
    ground = (name, trimesh.util.concatenate([node[1] for node in overview]), extras, colour)
    path = write_nodes(folder / "terrain.glb", [ground], origin)
    bounds = _union([_local_bounds(ground[1].bounds, origin)] + [c.pop("_bounds") for c in children])
    error = max(1.0, *(c["geometricError"] for c in children))  # > 0: refined to the tiles even without buildings
    root = {"boundingVolume": {"box": _box(bounds)}, "geometricError": error, "refine": "REPLACE",
            "content": {"uri": path.name}, "children": children, "_bounds": bounds}
    return _write_tileset(folder, root, tiled.name, terrain, origin, count)


def _check(max_buildings_per_tile: int) -> None:
    if max_buildings_per_tile < 1:
        raise InputError(f"max_buildings_per_tile must be at least 1, got {max_buildings_per_tile}")


def _scene_tile(tiled: TiledTwin, tile: Tile, folder: Path, origin: np.ndarray, most: int,
                max_terrain_triangles: int, overview_triangles: int) -> tuple[dict, int, str, Node]:
    """The subtree of one scene tile (its twin loaded here and freed on return), its number of buildings, its
    terrain label and its terrain thinned to ``overview_triangles`` for the overview."""
    twin = _owned(tiled, tile, tiled.load(tile))
    child, n = _part(twin, folder, f"{tile.name}/", origin, most, max_terrain_triangles)
    child["metadata"] = {"class": "tile", "properties": {"name": tile.name, "buildings": n}}
    return child, n, twin.terrain, terrain_node(twin, overview_triangles)


def _owned(tiled: TiledTwin, tile: Tile, twin: Twin) -> Twin:
    """The buildings and terrain of a tile's (padded) twin that its 3D tiles show."""
    points = shapely.point_on_surface(twin.buildings.footprint)
    points[shapely.is_empty(points)] = None  # an empty footprint (x, y NaN) is in no tile
    keep = tiled.owns(tile, shapely.get_x(points), shapely.get_y(points))
    rows, cols = tile.core_in_padded
    rows = slice(rows.start, min(rows.stop + 1, twin.dtm.shape[0]))
    cols = slice(cols.start, min(cols.stop + 1, twin.dtm.shape[1]))
    dtm = twin.dtm
    core = Raster(dtm.array[rows, cols], dtm.transform @ Affine.translation(cols.start, rows.start), dtm.crs,
                  dtm.nodata)
    return replace(twin, buildings=twin.buildings.select(keep), dtm=core)


def _part(twin: Twin, folder: Path, prefix: str, origin: np.ndarray, most: int,
          max_terrain_triangles: int) -> tuple[dict, int]:
    """The tile of ``twin`` (its terrain as content, the quadtree of its buildings as children), its GLBs written
    to ``folder/prefix``; the tile (with its local ``_bounds``) and its number of buildings."""
    (folder / prefix / "tiles").mkdir(parents=True, exist_ok=True)
    nodes = building_nodes(twin)
    centres = np.array([n[1].bounds.mean(axis=0)[:2] for n in nodes]).reshape(-1, 2)
    xmin, ymin, xmax, ymax = twin.bounds
    size = max(xmax - xmin, ymax - ymin, 1.0)
    children = []
    if nodes:
        cell = (min(xmin, centres[:, 0].min()), min(ymin, centres[:, 1].min()), size)
        children.append(_quadtree(nodes, centres, np.arange(len(nodes)), cell, "0", folder, prefix, origin, most))
    ground = terrain_node(twin, max_terrain_triangles)
    terrain = write_nodes(folder / prefix / "terrain.glb", [ground], origin)
    bounds = _union([_local_bounds(ground[1].bounds, origin)] + [c.pop("_bounds") for c in children])
    error = max((float(n[1].bounds[1, 2] - n[1].bounds[0, 2]) for n in nodes), default=0.0)  # tallest [m]
    tile = {"boundingVolume": {"box": _box(bounds)}, "geometricError": error, "refine": "ADD",
            "content": {"uri": prefix + terrain.name}, "_bounds": bounds}
    if children:
        tile["children"] = children
    return tile, len(nodes)


def _write_tileset(folder: Path, root: dict, name: str, terrain: str, origin: np.ndarray, buildings: int) -> Path:
    """tileset.json with ``root`` (its ``_bounds`` dropped) under the transform of ``origin``, and its metadata."""
    root.pop("_bounds")
    root["transform"] = root_transform(origin)
    tileset = {
        "asset": {"version": "1.1", "generator": "stadstwin"},
        "schema": SCHEMA,
        "metadata": {"class": "scene", "properties": {"name": name, "crs": INTERNAL_CRS, "terrain": terrain,
                                                      "origin": origin.tolist(), "buildings": buildings}},
        "geometricError": 2.0 * root["geometricError"],
        "root": root,
        "extras": {"crs": INTERNAL_CRS, "origin_rd_nap": origin.tolist(), "buildings": buildings,
                   "frame": "tileset frame = (RD x - x0, RD y - y0, NAP - z0) [m]; root.transform to EPSG:4978"},
    }
    path = folder / "tileset.json"
    path.write_text(json.dumps(tileset, separators=(",", ":")))
    return path


def root_transform(origin: np.ndarray) -> list[float]:
    """Column-major 4x4 from the local (east, north, up) [m] at ``origin`` (EPSG:7415) to ECEF [m]."""
    from pyproj import Transformer

    to_ecef = Transformer.from_crs(INTERNAL_CRS, ECEF, always_xy=True)
    points = origin + np.vstack([np.zeros(3), _STEP * np.eye(3), -_STEP * np.eye(3)])
    ecef = np.column_stack(to_ecef.transform(points[:, 0], points[:, 1], points[:, 2]))
    jacobian = (ecef[1:4] - ecef[4:7]).T / (2 * _STEP)
    u, _, vt = np.linalg.svd(jacobian)
    scale = np.linalg.norm(jacobian[:, :2], axis=0).mean()  # RD point scale factor (conformal: east = north)
    matrix = np.eye(4)
    matrix[:3, :3] = scale * (u @ vt)
    matrix[:3, 3] = ecef[0]
    return matrix.T.ravel().tolist()


def _quadtree(nodes: list[Node], centres: np.ndarray, rows: np.ndarray, cell: tuple[float, float, float],
              name: str, folder: Path, prefix: str, origin: np.ndarray, most: int) -> dict:
    """The tile of the square ``cell`` (xmin, ymin, size [m]) with the buildings ``rows``; a leaf holds them
    as content, a larger set is split into the non-empty quadrants."""
    x0, y0, size = cell
    if len(rows) <= most or size < 1e-3:
        uri = f"{prefix}tiles/{name}.glb"
        _write_leaf(folder / uri, [nodes[i] for i in rows], origin)
        bounds = _union([_local_bounds(nodes[i][1].bounds, origin) for i in rows])
        return {"boundingVolume": {"box": _box(bounds)}, "geometricError": 0.0,
                "content": {"uri": uri}, "_bounds": bounds}
    half = size / 2
    east = centres[rows, 0] >= x0 + half
    north = centres[rows, 1] >= y0 + half
    children = []
    for k, (e, n) in enumerate([(False, False), (True, False), (False, True), (True, True)]):
        part = rows[(east == e) & (north == n)]
        if len(part):
            quadrant = (x0 + half * e, y0 + half * n, half)
            children.append(_quadtree(nodes, centres, part, quadrant, f"{name}{k}", folder, prefix, origin,
                                      most))
    bounds = _union([c.pop("_bounds") for c in children])
    tallest = max(float(nodes[i][1].bounds[1, 2] - nodes[i][1].bounds[0, 2]) for i in rows)
    return {"boundingVolume": {"box": _box(bounds)}, "geometricError": tallest, "children": children,
            "_bounds": bounds}


def _write_leaf(path: Path, nodes: list[Node], origin: np.ndarray) -> Path:
    """The buildings ``nodes`` as one mesh with per-vertex feature ids indexing an EXT_structural_metadata
    property table of the ``building`` class (and the same columns as node extras, which the viewer reads)."""
    counts = [len(n[1].vertices) for n in nodes]
    offsets = np.cumsum([0, *counts[:-1]])
    mesh = trimesh.Trimesh(np.vstack([n[1].vertices for n in nodes]),
                           np.vstack([n[1].faces + k for n, k in zip(nodes, offsets, strict=True)]), process=False)
    mesh.vertex_attributes["_FEATURE_ID_0"] = np.repeat(np.arange(len(nodes), dtype=np.float32), counts)
    extras = {key: [n[2][key] for n in nodes] for key in nodes[0][2]}
    blobs = _property_table(extras)
    views: dict[tuple[str, str], int] = {}

    def append(items: dict, tree: dict) -> None:
        for key, data in blobs.items():
            items[key] = data + bytes(-len(data) % 4)  # trimesh lays views end to end, 4-byte aligned
            views[key] = items.index(key)

    def declare(tree: dict) -> None:
        for gltf_mesh in tree["meshes"]:
            for primitive in gltf_mesh["primitives"]:
                if "_FEATURE_ID_0" in primitive["attributes"]:
                    primitive.setdefault("extensions", {})["EXT_mesh_features"] = {
                        "featureIds": [{"featureCount": len(nodes), "attribute": 0, "propertyTable": 0}]}
        properties: dict[str, dict] = {}
        for (name, role), view in views.items():
            tree["bufferViews"][view]["byteLength"] = len(blobs[name, role])  # without the padding
            properties.setdefault(name, {})[role] = view
            if role == "stringOffsets":
                properties[name]["stringOffsetType"] = "UINT32"
        tree.setdefault("extensions", {})["EXT_structural_metadata"] = {
            "schema": SCHEMA, "propertyTables": [{"class": "building", "count": len(nodes), "properties": properties}]}
        tree["extensionsUsed"] = sorted({*tree.get("extensionsUsed", []), "EXT_mesh_features",
                                         "EXT_structural_metadata"})

    return write_nodes(path, [("buildings", mesh, extras, nodes[0][3])], origin, tree_postprocessor=declare,
                       buffer_postprocessor=append)


def _property_table(columns: dict[str, list]) -> dict[tuple[str, str], bytes]:
    """The binary property table of the ``building`` class from its columns (None as NaN): per (property, role)
    the bytes of a bufferView, roles ``values`` (float32 or UTF-8) and ``stringOffsets`` (uint32)."""
    blobs = {}
    for name, definition in SCHEMA["classes"]["building"]["properties"].items():
        if definition["type"] == "STRING":
            encoded = [str(v).encode() for v in columns[name]]
            blobs[name, "values"] = b"".join(encoded)
            blobs[name, "stringOffsets"] = np.cumsum([0, *map(len, encoded)], dtype="<u4").tobytes()
        else:
            blobs[name, "values"] = np.array([np.nan if v is None else v for v in columns[name]], dtype="<f4").tobytes()
    return blobs


def _local_bounds(bounds: np.ndarray, origin: np.ndarray) -> np.ndarray:
    """(2, 3) EPSG:7415 bounds [m] relative to ``origin``."""
    return np.asarray(bounds, dtype=float) - origin


def _union(bounds: list[np.ndarray]) -> np.ndarray:
    stacked = np.array(bounds)
    return np.array([stacked[:, 0].min(axis=0), stacked[:, 1].max(axis=0)])


def _box(bounds: np.ndarray) -> list[float]:
    """3D Tiles ``box``: centre, then the x, y and z half-axis vectors [m]."""
    centre = bounds.mean(axis=0)
    half = np.maximum((bounds[1] - bounds[0]) / 2, 1e-3)
    return [*centre.tolist(), half[0], 0.0, 0.0, 0.0, half[1], 0.0, 0.0, 0.0, half[2]]
