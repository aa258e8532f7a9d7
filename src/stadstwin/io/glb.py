"""The twin as binary glTF (GLB) files, one per layer, for the 3D viewer.

Files: ``terrain.glb``, ``buildings.glb``, ``trees.glb`` and ``network_<kind>.glb`` per utility kind
present (``network_water.glb``...); layers without content are not written.

Coordinates: glTF's y-up frame (right-handed, +Y up), relative to a local origin (x0, y0, z0) = the
lower-left corner of the twin rounded down to ``OFFSET_STEP`` m and z0 = 0 m NAP, so that float32
keeps vertices to well under a mm: glTF (x, y, z) = (RD x − x0, NAP − z0, −(RD y − y0)), i.e. x east,
y up, z south; seen from above, east stays to the right of north (a rotation, not a mirror). The
single root node ``epsg7415`` has no transform (ordinary viewers show the district upright at their
origin); its extras hold the georeference ``{"crs": "EPSG:7415", "origin_rd_nap": [x0, y0, z0],
"up": "y", "axes": …}``, so RD x = x0 + x, RD y = y0 − z, NAP = z0 + y.

Nodes and extras (glTF ``extras`` per node, the viewer's attribute table):
- networks: one node per IMKL feature id (all its segments' tubes merged into one mesh), named by
  the id, extras ``feature_id, owner, utility, status, outer_diameter, depth_source`` (least
  certain along the feature), ``depth_uncertainty`` (largest), ``container``; colour from the rules.
  A feature with a segment in the ``confidential`` row mask carries only ``utility`` and
  ``confidential: true`` and is named ``confidential`` (``confidential#1``…): its owner's attributes
  are withheld; the tube still shows the space it takes.
- buildings: one node per building named by its BAG id, extras ``source_id, ground_z, roof_z, height``.
- trees: one node per tree, extras ``source_id, species, height, crown_diameter, trunk_height``.
- terrain: one node ``terrain`` with the DTM grid thinned to ``max_terrain_triangles``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import trimesh
from trimesh.visual.material import PBRMaterial

from stadstwin.crs import INTERNAL_CRS
from stadstwin.io.meshes import building_meshes, terrain_mesh, tree_mesh, tube_mesh
from stadstwin.model.enums import DepthSource, Status
from stadstwin.model.twin import Twin
from stadstwin.model.utilities import Utility
from stadstwin.rules import Rules, load_rules

OFFSET_STEP = 100.0  # [m]
ROOT = "epsg7415"
#: Local RD/NAP (east, north, up) to glTF (x, y, z) = (east, up, −north): a −90° rotation about x.
Y_UP = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]])
TERRAIN_COLOUR = "#9c8c6e"
BUILDING_COLOUR = "#d9d4cc"
TREE_COLOUR = "#4f8a3c"


def export_glb(twin: Twin, folder: str | Path, *, rules: Rules | None = None,
               max_terrain_triangles: int = 200_000, confidential: np.ndarray | None = None) -> dict[str, Path]:
    """Write one GLB per layer into ``folder``; returns layer name -> path.

    confidential  (N,) bool per network segment: features with such a segment get extras with only
                  their utility kind and ``confidential: true`` (default: none)
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rules = rules or load_rules()
    origin = local_origin(twin)
    layers: dict[str, list[tuple[str, trimesh.Trimesh, dict, str]]] = {
        "terrain": [terrain_node(twin, max_terrain_triangles)],
        "buildings": building_nodes(twin),
        "trees": _trees(twin),
    }
    networks = twin.networks
    withheld = np.zeros(len(networks), dtype=bool) if confidential is None else np.asarray(confidential, dtype=bool)
    if withheld.shape != (len(networks),):
        raise ValueError(f"confidential mask has shape {withheld.shape}, the twin has {len(networks)} network segments")
    for code in np.unique(networks.utility):
        kind = Utility(int(code))
        layers[f"network_{kind.key}"] = _network(twin, kind, rules.utility(kind).colour, withheld)
    written = {}
    for name, nodes in layers.items():
        nodes = [n for n in nodes if len(n[1].faces)]
        if nodes:
            written[name] = write_nodes(folder / f"{name}.glb", nodes, origin)
    return written


def local_origin(twin: Twin) -> np.ndarray:
    """(x0, y0, z0) [m RD, m NAP] the GLB vertices of ``twin`` are relative to (:func:`bounds_origin`)."""
    return bounds_origin(twin.bounds)


def bounds_origin(bounds: tuple[float, float, float, float]) -> np.ndarray:
    """(x0, y0, z0) [m RD, m NAP] for ``bounds`` (xmin, ymin, xmax, ymax) [m]: the lower-left corner rounded down
    to ``OFFSET_STEP``, z0 = 0."""
    xmin, ymin = bounds[0], bounds[1]
    return np.array([np.floor(xmin / OFFSET_STEP) * OFFSET_STEP, np.floor(ymin / OFFSET_STEP) * OFFSET_STEP, 0.0])


def to_gltf(points: np.ndarray, origin: np.ndarray) -> np.ndarray:
    """(N, 3) EPSG:7415 points [m] as glTF y-up coordinates relative to ``origin`` [m]."""
    return (np.asarray(points, dtype=np.float64) - origin) @ Y_UP.T


#: A GLB node: (name, mesh in EPSG:7415 [m], extras, colour "#rrggbb").
Node = tuple[str, trimesh.Trimesh, dict, str]


def write_nodes(path: Path, nodes: list[Node], origin: np.ndarray,
                tree_postprocessor: Callable[[dict], None] | None = None,
                buffer_postprocessor: Callable[[dict, dict], None] | None = None) -> Path:
    """Write ``nodes`` as one GLB under the georeferenced root node, vertices y-up relative to ``origin`` [m]; a
    mesh's ``vertex_attributes`` go along (as glTF attributes ``_NAME``), ``buffer_postprocessor(items, tree)``
    may append byte blobs (each a multiple of 4 bytes; each becomes a bufferView, in order) and
    ``tree_postprocessor`` may edit the glTF JSON before it is written (trimesh's hooks)."""
    scene = trimesh.Scene()
    scene.graph.update(frame_from=scene.graph.base_frame, frame_to=ROOT, matrix=np.eye(4),
                       metadata={"crs": INTERNAL_CRS, "origin_rd_nap": origin.tolist(), "up": "y",
                                 "axes": "x east, y up, z south; RD x = x0 + x, RD y = y0 - z, NAP = z0 + y [m]"})
    materials: dict[str, PBRMaterial] = {}
    used: set[str] = set()
    for name, mesh, extras, colour in nodes:
        if colour not in materials:
            rgb = [int(colour[i:i + 2], 16) for i in (1, 3, 5)]
            materials[colour] = PBRMaterial(baseColorFactor=[*rgb, 255], metallicFactor=0.0, roughnessFactor=0.9)
        local = trimesh.Trimesh(to_gltf(mesh.vertices, origin), mesh.faces, process=False,
                                visual=trimesh.visual.TextureVisuals(material=materials[colour]),
                                vertex_attributes=dict(mesh.vertex_attributes))
        unique = name
        k = 1
        while unique in used or unique == ROOT:
            unique, k = f"{name}#{k}", k + 1
        used.add(unique)
        scene.add_geometry(local, node_name=unique, geom_name=unique, parent_node_name=ROOT, metadata=extras)
    path.write_bytes(scene.export(file_type="glb", tree_postprocessor=tree_postprocessor,
                                  buffer_postprocessor=buffer_postprocessor))
    return path


def _plain(value) -> object:
    """A JSON value: numpy scalars as Python numbers, NaN as None."""
    if isinstance(value, (np.floating, float)):
        return None if not np.isfinite(value) else float(value)
    if isinstance(value, np.integer):
        return int(value)
    return str(value)


def terrain_node(twin: Twin, max_triangles: int) -> Node:
    """The DTM as one node ``terrain``, thinned to at most ``max_triangles``."""
    return "terrain", terrain_mesh(twin.dtm, max_triangles), {"layer": "terrain"}, TERRAIN_COLOUR


def building_nodes(twin: Twin) -> list[Node]:
    """One node per building with heights, named by its BAG id."""
    b = twin.buildings
    meshes = building_meshes(b)
    return [
        (str(b.source_id[i]), meshes[i],
         {"source_id": str(b.source_id[i]), "ground_z": _plain(b.ground_z[i]), "roof_z": _plain(b.roof_z[i]),
          "height": _plain(b.height[i])}, BUILDING_COLOUR)
        for i in range(len(b)) if meshes[i] is not None
    ]


def _trees(twin: Twin):
    t = twin.trees
    return [
        (str(t.source_id[i]), tree_mesh(t, i),
         {"source_id": str(t.source_id[i]), "species": str(t.species[i]), "height": _plain(t.height[i]),
          "crown_diameter": _plain(t.crown_diameter[i]), "trunk_height": _plain(t.trunk_height[i])}, TREE_COLOUR)
        for i in range(len(t))
    ]


def _network(twin: Twin, kind: Utility, colour: str, withheld: np.ndarray):
    n = twin.networks
    rows = np.flatnonzero(n.utility == kind)
    ids, inverse = np.unique(n.feature_id[rows], return_inverse=True)
    owners = n.owner_name
    nodes = []
    for k, feature in enumerate(ids):
        r = rows[inverse.ravel() == k]
        first = r[0]
        if withheld[r].any():
            nodes.append(("confidential", tube_mesh(n.p0[r], n.p1[r], n.radius[r]),  # named without its id
                          {"utility": kind.key, "confidential": True}, colour))
            continue
        extras = {
            "feature_id": str(feature),
            "owner": str(owners[first]),
            "utility": kind.key,
            "status": Status(int(n.status[first])).name.lower(),
            "outer_diameter": _plain(n.outer_diameter[first]),
            "depth_source": DepthSource(int(n.depth_source[r].max())).name.lower(),
            "depth_uncertainty": _plain(n.depth_uncertainty[r].max()),
            "container": str(n.container[first]),
        }
        nodes.append((str(feature), tube_mesh(n.p0[r], n.p1[r], n.radius[r]), extras, colour))
    return nodes
