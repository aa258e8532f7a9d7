"""Model objects as triangle meshes (trimesh), in true EPSG:7415 coordinates [m].

- surfaces: planar polygons with holes are triangulated by projecting onto the coordinate plane
  their normal is closest to (dropping that axis, so the 2D numbers are the input's own) and running
  shapely's constrained Delaunay triangulation (GEOS, no Steiner points); corners map back to the
  input vertices and triangles wind like the outer ring.
- buildings: the delivered mesh (CityJSON) where present, else the footprint extruded from
  ground_z to roof_z (LoD 1.2 block).
- terrain: the DTM cell centres on every ``step``-th row/column (and the last), two triangles per
  quad, at most ``max_triangles``; quads touching a NaN cell are left out.
- trees: a trunk cylinder (radius ``TRUNK_RADIUS_PER_HEIGHT`` x height, 0.1-0.5 m) up to the crown
  base and an ellipsoidal crown (icosphere) of the crown diameter between crown base and top.
- networks: a closed ``sections``-gon tube per segment along its axis at its true (NAP) height,
  with the segment's outer radius.
"""

from __future__ import annotations

import numpy as np
import shapely
import trimesh

from stadstwin.model.buildings import Buildings
from stadstwin.model.raster import Raster
from stadstwin.model.trees import Trees

TRUNK_RADIUS_PER_HEIGHT = 0.02
TUBE_SECTIONS = 12


#: the two coordinate axes kept when the axis of the row index is dropped
_KEPT_AXES = np.array([[1, 2], [0, 2], [0, 1]])


def triangulate(vertices: np.ndarray, surfaces: list[list[list[int]]]) -> tuple[np.ndarray, np.ndarray]:
    """Triangles (m, 3) of vertex indices and the surface each came from (m,).

    Each surface is [outer ring, hole rings...] of indices into ``vertices`` (n, 3). Degenerate
    surfaces give no triangles; corners that only a repair of an invalid polygon creates are dropped.
    """
    n = len(surfaces)
    outer_size = np.fromiter((len(s[0]) if s else 0 for s in surfaces), dtype=np.int64, count=n)
    holed = np.fromiter((len(s) > 1 for s in surfaces), dtype=bool, count=n)
    plain_triangle = ~holed & (outer_size == 3)
    faces = np.flatnonzero(plain_triangle)
    triangles = [np.array([surfaces[f][0] for f in faces], dtype=np.int64).reshape(-1, 3)]
    face_of = [faces]
    polygons = np.flatnonzero(~plain_triangle & (outer_size >= 3))
    if len(polygons):
        tri, owner = _constrained(vertices, surfaces, polygons)
        triangles.append(tri)
        face_of.append(owner)
    return np.concatenate(triangles), np.concatenate(face_of)


def _constrained(vertices: np.ndarray, surfaces: list, faces: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Constrained Delaunay triangles of the faces projected to their dominant planes, mapped back
    to vertex indices and wound like the outer rings; returns (triangles, face of each)."""
    sizes = np.array([len(surfaces[f][0]) for f in faces])
    flat = np.concatenate([surfaces[f][0] for f in faces]).astype(np.int64)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    following = np.arange(len(flat)) + 1
    following[starts + sizes - 1] = starts
    a, b = vertices[flat], vertices[flat[following]]
    terms = np.column_stack([(a[:, 1] - b[:, 1]) * (a[:, 2] + b[:, 2]), (a[:, 2] - b[:, 2]) * (a[:, 0] + b[:, 0]),
                             (a[:, 0] - b[:, 0]) * (a[:, 1] + b[:, 1])])
    normals = np.add.reduceat(terms, starts, axis=0)  # Newell normals of the outer rings
    axes = _KEPT_AXES[np.argmax(np.abs(normals), axis=1)]
    ring_of = np.repeat(np.arange(len(faces)), sizes)
    plane = np.take_along_axis(a, axes[ring_of], axis=1)
    shapes = shapely.polygons(shapely.linearrings(plane, indices=ring_of))
    keys = [ring_of, plane[:, 0], plane[:, 1], flat]
    for k in np.flatnonzero([len(surfaces[f]) > 1 for f in faces]):
        holes = [vertices[r][:, axes[k]] for r in surfaces[faces[k]][1:]]
        shapes[k] = shapely.Polygon(shapes[k].exterior, holes)
        index = np.concatenate(surfaces[faces[k]][1:]).astype(np.int64)
        keys = [np.concatenate([keys[0], np.full(len(index), k)]),
                *(np.concatenate([keys[1 + j], vertices[index, axes[k][j]]]) for j in range(2)),
                np.concatenate([keys[3], index])]
    usable = normals.any(axis=1)
    invalid = usable & ~shapely.is_valid(shapes)
    shapes[invalid] = shapely.make_valid(shapes[invalid])
    shapes[~usable] = None
    parts, index = shapely.get_parts(shapely.constrained_delaunay_triangles(shapes), return_index=True)
    corners = shapely.get_coordinates(parts).reshape(-1, 4, 2)[:, :3]
    lookup = dict(zip(zip(keys[0].tolist(), keys[1].tolist(), keys[2].tolist()), keys[3].tolist()))
    found = [lookup.get(key, -1) for key in zip(np.repeat(index, 3).tolist(), corners[..., 0].ravel().tolist(),
                                                  corners[..., 1].ravel().tolist())]
    tri = np.asarray(found, dtype=np.int64).reshape(-1, 3)
    keep = (tri >= 0).all(axis=1)  # corners made by repairing an invalid polygon are no vertex
    tri, index = tri[keep], index[keep]
    p = vertices[tri]
    facing = np.einsum("ij,ij->i", np.cross(p[:, 1] - p[:, 0], p[:, 2] - p[:, 0]), normals[index])
    tri[facing < 0] = tri[facing < 0][:, [0, 2, 1]]
    return tri, faces[index]


def extrusion_shell(polygon: shapely.Polygon, z0: float, z1: float) -> tuple[np.ndarray, list[list[list[int]]]]:
    """Vertices (n, 3) and outward-facing surfaces of a polygon extruded from z0 to z1 [m].

    Surfaces: floor (facing down), roof (facing up), then one wall quad per ring edge.
    """
    polygon = shapely.geometry.polygon.orient(polygon, sign=1.0)  # exterior ccw, holes cw
    rings = [np.asarray(polygon.exterior.coords)[:-1]] + [np.asarray(r.coords)[:-1] for r in polygon.interiors]
    sizes = [len(r) for r in rings]
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    total = int(sum(sizes))
    flat = np.concatenate(rings)
    vertices = np.vstack([np.column_stack([flat, np.full(total, z0)]), np.column_stack([flat, np.full(total, z1)])])
    bottom = [list(range(s, s + n)) for s, n in zip(starts, sizes)]
    top = [[i + total for i in ring] for ring in bottom]
    surfaces = [[ring[::-1] for ring in bottom], top]
    for b, t in zip(bottom, top):
        n = len(b)
        surfaces.extend([[b[k], b[(k + 1) % n], t[(k + 1) % n], t[k]]] for k in range(n))
    return vertices, surfaces


def extruded_footprint(footprint: shapely.Geometry, z0: float, z1: float) -> trimesh.Trimesh:
    """A closed LoD 1.2 block: every polygon of ``footprint`` extruded from z0 to z1 [m NAP]."""
    parts = []
    for polygon in shapely.get_parts(shapely.force_2d(footprint)):
        if polygon.geom_type != "Polygon" or polygon.area <= 0:
            continue
        vertices, surfaces = extrusion_shell(polygon, z0, z1)
        faces, _ = triangulate(vertices, surfaces)
        parts.append(trimesh.Trimesh(vertices, faces, process=False))
    return trimesh.util.concatenate(parts) if parts else trimesh.Trimesh()


def building_meshes(buildings: Buildings) -> list[trimesh.Trimesh | None]:
    """One mesh per building: its delivered mesh, else the extruded footprint; None without heights."""
    out: list[trimesh.Trimesh | None] = []
    for i in range(len(buildings)):
        mesh = buildings.mesh[i] if buildings.mesh is not None else None
        ground, roof = float(buildings.ground_z[i]), float(buildings.roof_z[i])
        if mesh is None and np.isfinite(ground) and np.isfinite(roof) and roof > ground:
            mesh = extruded_footprint(buildings.footprint[i], ground, roof)
        out.append(mesh if mesh is not None and len(mesh.faces) else None)
    return out


def terrain_mesh(dtm: Raster, max_triangles: int = 200_000) -> trimesh.Trimesh:
    """The DTM as a grid mesh of cell centres, thinned to at most ``max_triangles`` triangles.

    Every ``step``-th row and column is kept, and always the last ones, so the mesh spans the
    whole raster (centre to centre).
    """
    rows, cols = dtm.shape
    step = max(1, int(np.sqrt(2.0 * rows * cols / max(max_triangles, 2))))
    while True:
        r, c = _thinned(rows, step), _thinned(cols, step)
        if 2 * (len(r) - 1) * (len(c) - 1) <= max_triangles or step >= max(rows, cols):
            break
        step += 1
    x, y = dtm.cell_centres()
    z = dtm.values()[np.ix_(r, c)]
    vertices = np.column_stack([x[np.ix_(r, c)].ravel(), y[np.ix_(r, c)].ravel(), np.nan_to_num(z).ravel()])
    index = np.arange(len(r) * len(c)).reshape(len(r), len(c))
    nw, sw, se, ne = index[:-1, :-1], index[1:, :-1], index[1:, 1:], index[:-1, 1:]
    ok = np.isfinite(z)
    first = ok[:-1, :-1] & ok[1:, :-1] & ok[1:, 1:]
    second = ok[:-1, :-1] & ok[1:, 1:] & ok[:-1, 1:]
    # row 0 is north: nw -> sw -> se winds counter-clockwise seen from above (normals up)
    faces = np.vstack([np.stack([nw, sw, se], -1)[first], np.stack([nw, se, ne], -1)[second]])
    mesh = trimesh.Trimesh(vertices, faces, process=False)
    if not ok.all():
        mesh.remove_unreferenced_vertices()
    return mesh


def _thinned(n: int, step: int) -> np.ndarray:
    """Every ``step``-th index of ``range(n)`` plus the last one."""
    return np.unique(np.append(np.arange(0, n, step), n - 1))


def tree_mesh(trees: Trees, i: int) -> trimesh.Trimesh:
    """Trunk cylinder plus crown ellipsoid of tree ``i``."""
    ground, height = float(trees.ground_z[i]), float(trees.height[i])
    base = float(trees.trunk_height[i])
    radius = float(np.clip(TRUNK_RADIUS_PER_HEIGHT * height, 0.1, 0.5))
    x, y = float(trees.x[i]), float(trees.y[i])
    parts = []
    if base > 0:
        parts.append(trimesh.creation.cylinder(radius, segment=[[x, y, ground], [x, y, ground + base]], sections=8))
    half_height = 0.5 * (height - base)
    half_width = 0.5 * float(trees.crown_diameter[i])
    if half_height > 0 and half_width > 0:
        crown = trimesh.creation.icosphere(subdivisions=1)
        crown.apply_scale([half_width, half_width, half_height])
        crown.apply_translation([x, y, ground + base + half_height])
        parts.append(crown)
    return trimesh.util.concatenate(parts) if parts else trimesh.Trimesh()


def tube_mesh(p0: np.ndarray, p1: np.ndarray, radius: np.ndarray, sections: int = TUBE_SECTIONS) -> trimesh.Trimesh:
    """Closed ``sections``-gon tubes around segments p0 -> p1 (n, 3) of radius (n,) [m], vectorised."""
    p0 = np.asarray(p0, dtype=np.float64).reshape(-1, 3)
    p1 = np.asarray(p1, dtype=np.float64).reshape(-1, 3)
    radius = np.broadcast_to(np.asarray(radius, dtype=np.float64), (len(p0),))
    axis = p1 - p0
    length = np.linalg.norm(axis, axis=1)
    keep = length > 1e-9
    p0, p1, radius, axis, length = p0[keep], p1[keep], radius[keep], axis[keep], length[keep]
    n = len(p0)
    if not n:
        return trimesh.Trimesh()
    d = axis / length[:, None]
    helper = np.where((np.abs(d[:, 2]) > 0.9)[:, None], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0])
    u = np.cross(d, helper)
    u /= np.linalg.norm(u, axis=1)[:, None]
    v = np.cross(d, u)
    theta = 2 * np.pi * np.arange(sections) / sections
    ring = radius[:, None, None] * (np.cos(theta)[None, :, None] * u[:, None] + np.sin(theta)[None, :, None] * v[:, None])
    vertices = np.concatenate([p0[:, None] + ring, p1[:, None] + ring], axis=1)  # (n, 2k, 3)
    j = np.arange(sections)
    k = (j + 1) % sections
    a, b = j, j + sections  # ring at p0, ring at p1
    sides = np.concatenate([np.stack([a, k, b], -1), np.stack([k, k + sections, b], -1)])
    fan = np.arange(1, sections - 1)
    start_cap = np.stack([np.zeros_like(fan), fan + 1, fan], -1)
    end_cap = np.stack([np.full_like(fan, sections), fan + sections, fan + 1 + sections], -1)
    local = np.concatenate([sides, start_cap, end_cap])
    faces = local[None] + (2 * sections * np.arange(n))[:, None, None]
    return trimesh.Trimesh(vertices.reshape(-1, 3), faces.reshape(-1, 3), process=False)
