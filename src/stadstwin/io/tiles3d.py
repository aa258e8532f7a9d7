"""The twin as OGC 3D Tiles 1.1: a tileset.json tree with one GLB (glTF 2.0) per tile, for city-scale viewers.

Layout of ``folder``: ``tileset.json``, ``terrain.glb`` (content of the root tile) and ``tiles/<path>.glb``, one
per leaf of a quadtree over the buildings' footprint centres, each holding at most ``max_buildings_per_tile``
buildings (every building in exactly one leaf). The GLBs are written by ``io.glb.write_nodes`` (the layer
writer of the viewer): glTF y-up, vertices relative to the twin's local origin (x0, y0, z0) (``io.glb``).

A leaf holds its buildings as one mesh (one draw call, not one per building), node ``buildings``: each vertex has
the feature id ``_FEATURE_ID_0`` (0..n-1, the building's row in the tile; declared with ``EXT_mesh_features``)
and the node's glTF ``extras`` hold the metadata as columns indexed by it: ``source_id`` (BAG id), ``ground_z``,
``roof_z`` [m NAP], ``height`` [m] (plain extras, no EXT_structural_metadata property table).

Frames: per the 3D Tiles spec a runtime turns glTF y-up content to z-up, so the tileset frame is the local
(east, north, up) = (RD x − x0, RD y − y0, NAP − z0) [m]; bounding volumes are ``box``es in that frame. The
root ``transform`` maps it to ECEF (EPSG:4978): its translation is the ECEF point of the origin; its 3x3 part is
the rotation nearest to the derivative of EPSG:7415 → EPSG:4978 (pyproj) at the origin, times the RD scale factor
there (uniform, as viewers expect; RD grid convergence kept). Without the NAP geoid grid (nlgeo2018) pyproj takes
NAP heights as ellipsoidal heights (off by ~43 m vertically, the same for all tiles).

Refinement is ``ADD``. geometricError [m]: a leaf 0; a tile above = the tallest building below it (the height
error of drawing none of them); the tileset = twice the root's.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import trimesh

from stadstwin.crs import INTERNAL_CRS
from stadstwin.errors import InputError
from stadstwin.io.glb import Node, building_nodes, local_origin, terrain_node, write_nodes
from stadstwin.model.twin import Twin

ECEF = "EPSG:4978"
#: Step of the finite differences of the root transform [m].
_STEP = 10.0


def export_3dtiles(twin: Twin, folder: str | Path, *, max_buildings_per_tile: int = 256,
                   max_terrain_triangles: int = 50_000) -> Path:
    """Write the 3D Tiles 1.1 tileset of ``twin`` into ``folder``; returns the path of tileset.json."""
    if max_buildings_per_tile < 1:
        raise InputError(f"max_buildings_per_tile must be at least 1, got {max_buildings_per_tile}")
    folder = Path(folder)
    (folder / "tiles").mkdir(parents=True, exist_ok=True)
    origin = local_origin(twin)
    nodes = building_nodes(twin)
    centres = np.array([n[1].bounds.mean(axis=0)[:2] for n in nodes]).reshape(-1, 2)
    xmin, ymin, xmax, ymax = twin.bounds
    size = max(xmax - xmin, ymax - ymin, 1.0)
    children = []
    if nodes:
        cell = (min(xmin, centres[:, 0].min()), min(ymin, centres[:, 1].min()), size)
        children.append(_quadtree(nodes, centres, np.arange(len(nodes)), cell, "0", folder, origin,
                                  max_buildings_per_tile))
    ground = terrain_node(twin, max_terrain_triangles)
    terrain = write_nodes(folder / "terrain.glb", [ground], origin)
    bounds = _union([_local_bounds(ground[1].bounds, origin)]
                    + [c.pop("_bounds") for c in children])
    error = max((float(n[1].bounds[1, 2] - n[1].bounds[0, 2]) for n in nodes), default=0.0)  # tallest [m]
    root = {"boundingVolume": {"box": _box(bounds)}, "geometricError": error, "refine": "ADD",
            "transform": root_transform(origin), "content": {"uri": terrain.name}}
    if children:
        root["children"] = children
    tileset = {
        "asset": {"version": "1.1", "generator": "stadstwin"},
        "geometricError": 2.0 * error,
        "root": root,
        "extras": {"crs": INTERNAL_CRS, "origin_rd_nap": origin.tolist(), "buildings": len(nodes),
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
              name: str, folder: Path, origin: np.ndarray, most: int) -> dict:
    """The tile of the square ``cell`` (xmin, ymin, size [m]) with the buildings ``rows``; a leaf holds them
    as content, a larger set is split into the non-empty quadrants."""
    x0, y0, size = cell
    if len(rows) <= most or size < 1e-3:
        path = _write_leaf(folder / "tiles" / f"{name}.glb", [nodes[i] for i in rows], origin)
        bounds = _union([_local_bounds(nodes[i][1].bounds, origin) for i in rows])
        return {"boundingVolume": {"box": _box(bounds)}, "geometricError": 0.0,
                "content": {"uri": f"tiles/{path.name}"}, "_bounds": bounds}
    half = size / 2
    east = centres[rows, 0] >= x0 + half
    north = centres[rows, 1] >= y0 + half
    children = []
    for k, (e, n) in enumerate([(False, False), (True, False), (False, True), (True, True)]):
        part = rows[(east == e) & (north == n)]
        if len(part):
            quadrant = (x0 + half * e, y0 + half * n, half)
            children.append(_quadtree(nodes, centres, part, quadrant, f"{name}{k}", folder, origin, most))
    bounds = _union([c.pop("_bounds") for c in children])
    tallest = max(float(nodes[i][1].bounds[1, 2] - nodes[i][1].bounds[0, 2]) for i in rows)
    return {"boundingVolume": {"box": _box(bounds)}, "geometricError": tallest, "children": children,
            "_bounds": bounds}


def _write_leaf(path: Path, nodes: list[Node], origin: np.ndarray) -> Path:
    """The buildings ``nodes`` as one mesh with per-vertex feature ids and their extras as columns."""
    counts = [len(n[1].vertices) for n in nodes]
    offsets = np.cumsum([0, *counts[:-1]])
    mesh = trimesh.Trimesh(np.vstack([n[1].vertices for n in nodes]),
                           np.vstack([n[1].faces + k for n, k in zip(nodes, offsets, strict=True)]), process=False)
    mesh.vertex_attributes["_FEATURE_ID_0"] = np.repeat(np.arange(len(nodes), dtype=np.float32), counts)
    extras = {key: [n[2][key] for n in nodes] for key in nodes[0][2]}

    def declare(tree: dict) -> None:
        for gltf_mesh in tree["meshes"]:
            for primitive in gltf_mesh["primitives"]:
                if "_FEATURE_ID_0" in primitive["attributes"]:
                    primitive.setdefault("extensions", {})["EXT_mesh_features"] = {
                        "featureIds": [{"featureCount": len(nodes), "attribute": 0}]}
        tree["extensionsUsed"] = sorted({*tree.get("extensionsUsed", []), "EXT_mesh_features"})

    return write_nodes(path, [("buildings", mesh, extras, nodes[0][3])], origin, tree_postprocessor=declare)


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
