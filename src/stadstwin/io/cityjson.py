"""CityJSON 1.0 / 1.1 / 2.0 buildings in (3DBAG), CityJSON 2.0 buildings and terrain out.

Reading: every ``Building`` takes the geometry of itself and of its ``BuildingPart`` children at one
LoD (the highest present, or the one asked for). Surfaces (polygons with holes) are triangulated by
``io.meshes.triangulate`` (shapely's constrained Delaunay on the face projected to its dominant
plane); the triangle corners are the file's own vertices.

- footprint: union of the GroundSurface polygons in 2D; without ground semantics the union of the
  downward-facing triangles (a closed solid's floor), else of all triangles, projected.
- ground_z: ``h_maaiveld`` (stadstwin's export) or ``b3_h_maaiveld`` (3DBAG) when present, else the
  lowest vertex [m NAP].
- roof_z: ``h_dak_lod12`` (stadstwin) or ``b3_h_dak_70p`` (3DBAG) when present, else the 70th
  percentile of the roof height weighted by horizontal area (RoofSurface triangles; without
  semantics the upward-facing ones), from the exact area CDF (the height over a planar triangle follows a triangular distribution).
- source_id: the ``identificatie`` attribute, else ``identificatiebagpnd`` (BGT attribute, written
  as ``NL.IMBAG.Pand.`` + 16 digits), else the object id.
- attributes: ``roof_50p`` and ``roof_max`` [m NAP] (``h_dak_50p`` / ``h_dak_max``, ``b3_h_dak_50p`` /
  ``b3_h_dak_max`` or the mesh) and ``lod`` (the LoD read).

Writing names the heights for what they are, not with 3DBAG's names: ``h_maaiveld``, ``h_dak_lod12``
(the flat roof of the LoD 1.2 block, whatever it came from: 3DBAG's 70th percentile, a roof mesh, a
point cloud or a plan's given height), ``h_dak_50p`` and ``h_dak_max`` where known, all [m NAP].

Only RD New (EPSG:28992 / 7415) is read; another CRS is refused with the cjio command that converts.
"""

from __future__ import annotations

import functools
import json
import re
import warnings
from pathlib import Path

import numpy as np
import shapely
import trimesh

from stadstwin.crs import is_internal, parse_crs
from stadstwin.errors import CRSError, InputError
from stadstwin.io.meshes import extrusion_shell, terrain_mesh, triangulate
from stadstwin.model.buildings import Buildings
from stadstwin.model.raster import Raster

REFERENCE_SYSTEM = "https://www.opengis.net/def/crs/EPSG/0/7415"
SCALE = 0.001  # [m] vertex resolution of written files
BAG_PREFIX = "NL.IMBAG.Pand."
ROOF_PERCENTILE = 0.70
#: CityJSON geometry type -> nesting depth of its surfaces in ``boundaries``
_SURFACE_DEPTH = {"MultiSurface": 1, "CompositeSurface": 1, "Solid": 2, "MultiSolid": 3, "CompositeSolid": 3}
_UPWARD = 0.1  # unit-normal z above which a triangle counts as roof when there are no semantics
_EPSG = re.compile(r"EPSG(?:/[^/]*/|:+)(\d+)\s*$", re.IGNORECASE)


class CityJSONWarning(UserWarning):
    """Buildings of a CityJSON file were left out (named in the message)."""


def read_cityjson(path: str | Path, *, lod: str | None = None, assumed_crs: str | None = None) -> Buildings:
    """Buildings of a CityJSON file, one row per ``Building`` (parts merged), with meshes.

    ``lod`` picks one LoD (e.g. ``"1.2"``, ``"2.2"``); a building without it is an InputError.
    ``assumed_crs`` is used only when the file names no reference system.
    """
    path = Path(path)
    doc = _load(path)
    _check_crs(doc, path, assumed_crs)
    vertices = _vertices(doc, path)
    objects = doc.get("CityObjects")
    if not isinstance(objects, dict):
        raise InputError("no CityObjects", path=path, hint="is this a CityJSON file?")
    rows, skipped = [], []
    for key, obj in objects.items():
        if obj.get("type") == "Building" and not obj.get("parents"):
            row = _building(key, obj, objects, vertices, lod, path)
            if row is None:
                skipped.append(key)
            else:
                rows.append(row)
    if skipped:
        warnings.warn(f"{path}: {len(skipped)} building(s) without surface geometry of LoD 1 or higher "
                      f"left out: {', '.join(skipped[:10])}{' ...' if len(skipped) > 10 else ''}",
                      CityJSONWarning, stacklevel=2)
    if not rows:
        return Buildings.empty()
    columns = list(zip(*rows))
    return Buildings(
        np.array(columns[0], dtype=object),
        np.array(columns[1], dtype=np.float64),
        np.array(columns[2], dtype=np.float64),
        np.array(columns[3], dtype=str),
        list(columns[4]),
        {
            "roof_50p": np.array(columns[5], dtype=np.float64),
            "roof_max": np.array(columns[6], dtype=np.float64),
            "lod": np.array(columns[7], dtype=np.float64),
        },
    )


def _load(path: Path) -> dict:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot read the file: {exc.strerror}", path=path) from exc
    if not text.strip():
        raise InputError("the file is empty", path=path, hint="export the CityJSON again")
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(
            f"not valid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}",
            path=path, hint="the file may be truncated; download or export it again",
        ) from exc
    if not isinstance(doc, dict) or doc.get("type") != "CityJSON":
        raise InputError("not a CityJSON document (no \"type\": \"CityJSON\")", path=path)
    version = str(doc.get("version", ""))
    if not version.startswith(("1.0", "1.1", "2.0")):
        raise InputError(f"CityJSON version {version!r} is not supported", path=path,
                         hint="stadstwin reads CityJSON 1.0, 1.1 and 2.0; upgrade with `cjio FILE upgrade`")
    return doc


def cityjson_bounds(path: str | Path, *, assumed_crs: str | None = None
                    ) -> tuple[int, tuple[float, float, float, float], str]:
    """(number of Buildings, bounds of the vertices in RD New [m]: xmin, ymin, xmax, ymax, the CRS as
    ``EPSG:N``) of a CityJSON file, after the same checks as ``read_cityjson``."""
    path = Path(path)
    doc = _load(path)
    crs = _check_crs(doc, path, assumed_crs)
    vertices = _vertices(doc, path)
    if not len(vertices):
        raise InputError("the file holds no vertices", path=path)
    objects = doc.get("CityObjects") or {}
    buildings = sum(1 for o in objects.values() if isinstance(o, dict) and o.get("type") == "Building")
    (x0, y0), (x1, y1) = vertices[:, :2].min(axis=0), vertices[:, :2].max(axis=0)
    return buildings, (float(x0), float(y0), float(x1), float(y1)), f"EPSG:{crs.to_epsg()}"


def _check_crs(doc: dict, path: Path, assumed_crs: str | None):
    """The file's CRS (``pyproj.CRS``, RD New or RD New + NAP); another is refused."""
    reference = (doc.get("metadata") or {}).get("referenceSystem")
    if not reference:
        crs = parse_crs(assumed_crs, path=str(path))
    else:
        match = _EPSG.search(str(reference))
        crs = parse_crs(f"EPSG:{match.group(1)}" if match else reference, path=str(path))
    if not is_internal(crs):
        raise CRSError(
            f"the file is in {crs.name}; stadstwin reads CityJSON in RD New + NAP only",
            path=path, hint="reproject it first: `cjio FILE crs_reproject 7415 save OUT.city.json`",
        )
    return crs


def _vertices(doc: dict, path: Path) -> np.ndarray:
    try:
        vertices = np.asarray(doc.get("vertices", []), dtype=np.float64).reshape(-1, 3)
    except (ValueError, TypeError) as exc:
        raise InputError("vertices must be a list of [x, y, z]", path=path) from exc
    transform = doc.get("transform")
    if transform:
        try:
            vertices = vertices * np.asarray(transform["scale"], dtype=np.float64) + np.asarray(
                transform["translate"], dtype=np.float64)
        except (KeyError, TypeError, ValueError) as exc:
            raise InputError("transform needs scale and translate, 3 numbers each", path=path) from exc
    return vertices


def _building(key: str, obj: dict, objects: dict, vertices: np.ndarray, lod: str | None, path: Path):
    """(footprint, ground_z, roof_z, source_id, mesh, roof_50p, roof_max, lod) of one Building, or
    None when it has no surface geometry of LoD 1 or higher (e.g. only an LoD 0 footprint)."""
    geometries = [g for o in _with_parts(key, objects) for g in o.get("geometry") or []
                  if g.get("type") in _SURFACE_DEPTH and _lod(g, path, key) >= 1.0]
    if not geometries:
        return None
    levels = sorted({_lod(g, path, key) for g in geometries})
    chosen = levels[-1] if lod is None else float(lod)
    if chosen not in levels:
        raise InputError(f"the building has no LoD {lod} (it has {', '.join(map(str, levels))})",
                         path=path, feature=key)
    rings, kinds = [], []
    for geometry in geometries:
        if _lod(geometry, path, key) == chosen:
            _surfaces(geometry, rings, kinds)
    if any(not 0 <= i < len(vertices) for surface in rings for ring in surface for i in ring):
        raise InputError("a surface refers to a vertex that does not exist", path=path, feature=key)
    triangles, face_of = triangulate(vertices, rings)
    corners = vertices[triangles] if len(triangles) else np.empty((0, 3, 3))
    tri_kind = np.asarray(kinds, dtype=object)[face_of] if len(face_of) else np.empty(0, dtype=object)
    normals = np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0])
    slope = normals[:, 2] / np.maximum(np.linalg.norm(normals, axis=1), 1e-300)
    ground_faces = [surface for surface, kind in zip(rings, kinds) if kind == "GroundSurface"]
    if ground_faces:
        footprint = _outline([shapely.Polygon(vertices[s[0], :2], [vertices[r, :2] for r in s[1:]]) for s in ground_faces])
    else:  # seen from below: the downward-facing triangles (a closed solid's floor), else all
        down = slope < -_UPWARD
        footprint = _outline(shapely.polygons(corners[down if down.any() else slice(None), :, :2]))
    if footprint.is_empty:
        raise InputError("the building has no horizontal extent", path=path, feature=key)
    roof = tri_kind == "RoofSurface" if any(k is not None for k in kinds) else slope > _UPWARD
    roof_corners = corners[roof] if roof.any() else corners
    attributes = obj.get("attributes") or {}
    levels = functools.cache(lambda: area_percentile(roof_corners, (0.5, ROOF_PERCENTILE)))

    def attribute(names: tuple[str, ...], fallback) -> float:
        """The first numeric attribute of ``names``, else ``fallback()`` (computed only when needed)."""
        for name in names:
            value = attributes.get(name)
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                return float(value)
        return fallback()

    used, inverse = np.unique(triangles, return_inverse=True)
    mesh = trimesh.Trimesh(vertices[used], inverse.reshape(-1, 3), process=False)
    return (
        footprint,
        attribute(("h_maaiveld", "b3_h_maaiveld"), lambda: float(corners[..., 2].min())),
        attribute(("h_dak_lod12", "b3_h_dak_70p"), lambda: float(levels()[1])),
        _source_id(key, attributes),
        mesh,
        attribute(("h_dak_50p", "b3_h_dak_50p"), lambda: float(levels()[0])),
        attribute(("h_dak_max", "b3_h_dak_max"), lambda: float(roof_corners[..., 2].max())),
        chosen,
    )


def _lod(geometry: dict, path: Path, key: str) -> float:
    try:
        return float(geometry.get("lod", 0))
    except (TypeError, ValueError):
        raise InputError(f"LoD {geometry.get('lod')!r} is not a number such as \"2.2\"", path=path, feature=key) from None


def _with_parts(key: str, objects: dict) -> list[dict]:
    """The object and its BuildingPart descendants."""
    out, stack, seen = [], [key], set()
    while stack:
        current = stack.pop()
        if current in seen or current not in objects:
            continue
        seen.add(current)
        obj = objects[current]
        if current == key or obj.get("type") == "BuildingPart":
            out.append(obj)
            stack.extend(obj.get("children") or [])
    return out


def _surfaces(geometry: dict, rings: list, kinds: list) -> None:
    """Append the surfaces of one geometry (each a list of rings) and their semantic types."""
    semantics = geometry.get("semantics") or {}
    types = [s.get("type") for s in semantics.get("surfaces", [])]

    def walk(boundaries, values, depth):
        for i, item in enumerate(boundaries):
            value = values[i] if isinstance(values, list) and i < len(values) else None
            if depth == 1:
                rings.append(item)
                kinds.append(types[value] if isinstance(value, int) and value < len(types) else None)
            else:
                walk(item, value, depth - 1)

    walk(geometry.get("boundaries") or [], semantics.get("values"), _SURFACE_DEPTH[geometry["type"]])


def _source_id(key: str, attributes: dict) -> str:
    if attributes.get("identificatie"):
        return str(attributes["identificatie"])
    if attributes.get("identificatiebagpnd"):
        return bag_pand_id(attributes["identificatiebagpnd"])
    return key


def bag_pand_id(value: object) -> str:
    """``NL.IMBAG.Pand.`` + the 16-digit BAG pand number (BGT files often lose its leading zero)."""
    text = str(value).strip().removeprefix(BAG_PREFIX)
    return BAG_PREFIX + (text.zfill(16) if text.isdigit() else text)


def _outline(polygons) -> shapely.Geometry:
    """Union of 2D polygons (repaired where invalid, slivers dropped), snapped to 1 mm."""
    polygons = np.asarray(polygons, dtype=object)
    invalid = ~shapely.is_valid(polygons)
    polygons[invalid] = shapely.make_valid(polygons[invalid])
    polygons = polygons[shapely.area(polygons) > 1e-8]
    return shapely.union_all(polygons, grid_size=SCALE)


def area_percentile(corners: np.ndarray, q):
    """The height(s) [m] below which fractions ``q`` (scalar or sequence) of the horizontal area of
    triangles (m, 3, 3) lie.

    Over a planar triangle the height has a triangular distribution (min, mode, max = its sorted
    corner heights), so the area CDF is exact; it is inverted by five rounds of evaluating it at 65
    heights in the bracketing interval (to 1e-9 of the height range).
    """
    qs = np.atleast_1d(np.asarray(q, dtype=np.float64))
    z = np.sort(corners[..., 2], axis=1)
    e1 = corners[:, 1, :2] - corners[:, 0, :2]
    e2 = corners[:, 2, :2] - corners[:, 0, :2]
    area = 0.5 * np.abs(e1[:, 0] * e2[:, 1] - e1[:, 1] * e2[:, 0])
    if area.sum() <= 0:
        out = np.quantile(z, qs)
    else:
        keep = area > 0
        z1, z2, z3, area = z[keep, 0:1], z[keep, 1:2], z[keep, 2:3], area[keep]
        rise = np.maximum((z2 - z1) * (z3 - z1), 1e-300)
        fall = np.maximum((z3 - z1) * (z3 - z2), 1e-300)
        lo, hi = np.full(len(qs), z1.min()), np.full(len(qs), z3.max())
        fraction = np.linspace(0.0, 1.0, 65)
        rows = np.arange(len(qs))
        for _ in range(5):
            t = lo[:, None] + (hi - lo)[:, None] * fraction  # (Q, 65)
            flat = t.reshape(1, -1)
            cdf = np.where(flat < z2, np.clip(flat - z1, 0, None) ** 2 / rise,
                           1.0 - np.clip(z3 - flat, 0, None) ** 2 / fall)
            cdf[flat >= z3] = 1.0
            reached = (area @ cdf).reshape(t.shape) >= (qs * area.sum())[:, None]
            k = np.maximum(np.argmax(reached, axis=1), 1)
            lo, hi = t[rows, k - 1], t[rows, k]
        out = 0.5 * (lo + hi)
    return float(out[0]) if np.ndim(q) == 0 else out


def write_cityjson(
    path: str | Path, buildings: Buildings, dtm: Raster | None = None, *, max_tin_triangles: int = 20_000
) -> Path:
    """Write CityJSON 2.0 (EPSG:7415, ``transform`` of 1 mm): each building an LoD 1.2 Solid.

    Each footprint polygon is extruded from ground_z to roof_z (a MultiSolid for a MultiPolygon),
    with Ground/Roof/Wall semantics; a building with a mesh also gets it as a MultiSurface at its LoD.
    Heights are written as ``h_maaiveld`` and ``h_dak_lod12`` (and ``h_dak_50p``, ``h_dak_max`` where
    known), [m NAP] (module doc).
    With ``dtm`` a TINRelief of the terrain: its grid thinned to at most ``max_tin_triangles`` triangles.
    """
    path = Path(path)
    points: list[np.ndarray] = []
    count = [0]

    def add(xyz: np.ndarray) -> list[int]:
        points.append(np.asarray(xyz, dtype=np.float64).reshape(-1, 3))
        start = count[0]
        count[0] += len(points[-1])
        return list(range(start, count[0]))

    objects: dict[str, dict] = {}
    for i in range(len(buildings)):
        key = str(buildings.source_id[i])
        if key in objects:
            key = f"{key}-{i}"
        objects[key] = _building_object(buildings, i, add)
    if dtm is not None:
        objects["terrain"] = {"type": "TINRelief", "geometry": [_tin(dtm, max_tin_triangles, add)]}
    vertices = np.concatenate(points) if points else np.empty((0, 3))
    translate = np.floor(vertices.min(axis=0)) if len(vertices) else np.zeros(3)
    ints = np.rint((vertices - translate) / SCALE).astype(np.int64)
    unique, inverse = np.unique(ints, axis=0, return_inverse=True)
    remap = inverse.ravel()
    for obj in objects.values():
        for geometry in obj["geometry"]:
            geometry["boundaries"] = _renumber(geometry["boundaries"], remap)
    real = unique * SCALE + translate if len(unique) else np.zeros((1, 3))
    doc = {
        "type": "CityJSON",
        "version": "2.0",
        "transform": {"scale": [SCALE] * 3, "translate": translate.tolist()},
        "metadata": {
            "referenceSystem": REFERENCE_SYSTEM,
            "geographicalExtent": [*real.min(axis=0).round(3).tolist(), *real.max(axis=0).round(3).tolist()],
            "title": "stadstwin export",
        },
        "CityObjects": objects,
        "vertices": unique.tolist(),
    }
    path.write_text(json.dumps(doc, separators=(",", ":")), encoding="utf-8")
    return path


def _building_object(buildings: Buildings, i: int, add) -> dict:
    ground, roof = float(buildings.ground_z[i]), float(buildings.roof_z[i])
    attributes = {"identificatie": str(buildings.source_id[i]), "h_maaiveld": _number(ground),
                  "h_dak_lod12": _number(roof)}
    for name, key in (("roof_50p", "h_dak_50p"), ("roof_max", "h_dak_max")):
        if name in buildings.attributes:
            attributes[key] = _number(float(buildings.attributes[name][i]))
    geometry = []
    if np.isfinite(ground) and np.isfinite(roof) and roof > ground:
        polygons = shapely.get_parts(shapely.force_2d(buildings.footprint[i]))
        solids = [_extrude(p, ground, roof, add) for p in polygons if p.area > 0]
        semantics = {"surfaces": [{"type": "GroundSurface"}, {"type": "RoofSurface"}, {"type": "WallSurface"}],
                     "values": [[[0, 1, *[2] * (len(shell[0]) - 2)]] for shell in solids]}
        if len(solids) == 1:
            geometry.append({"type": "Solid", "lod": "1.2", "boundaries": solids[0],
                             "semantics": {**semantics, "values": semantics["values"][0]}})
        elif solids:
            geometry.append({"type": "MultiSolid", "lod": "1.2", "boundaries": solids, "semantics": semantics})
    else:
        geometry.append(_footprint_surface(buildings.footprint[i], ground, add))
    mesh = buildings.mesh[i] if buildings.mesh is not None else None
    if mesh is not None and len(mesh.faces):
        lod = float(buildings.attributes.get("lod", np.full(len(buildings), 2.2))[i])
        if lod > 1.2:
            used, faces = np.unique(mesh.faces, return_inverse=True)
            index = add(mesh.vertices[used])
            geometry.append({"type": "MultiSurface", "lod": f"{lod:.1f}",
                             "boundaries": [[[index[a] for a in face]] for face in faces.reshape(-1, 3).tolist()]})
    return {"type": "Building", "attributes": attributes, "geometry": geometry}


def _footprint_surface(footprint: shapely.Geometry, ground: float, add) -> dict:
    """An LoD 0 MultiSurface of the footprint at ground level (0 m NAP when unknown)."""
    z = ground if np.isfinite(ground) else 0.0
    surfaces = []
    for polygon in shapely.get_parts(shapely.force_2d(footprint)):
        polygon = shapely.geometry.polygon.orient(polygon, sign=1.0)
        rings = [np.asarray(polygon.exterior.coords)[:-1]] + [np.asarray(r.coords)[:-1] for r in polygon.interiors]
        surfaces.append([add(np.column_stack([r, np.full(len(r), z)])) for r in rings])
    return {"type": "MultiSurface", "lod": "0", "boundaries": surfaces}


def _number(value: float) -> float | None:
    return round(value, 3) if np.isfinite(value) else None


def _extrude(polygon: shapely.Polygon, ground: float, roof: float, add) -> list:
    """A closed shell (one Solid) of the extruded polygon, as vertex indices."""
    vertices, surfaces = extrusion_shell(polygon, ground, roof)
    index = add(vertices)
    return [[[[index[i] for i in ring] for ring in surface] for surface in surfaces]]


def _tin(dtm: Raster, max_triangles: int, add) -> dict:
    """The DTM as a CompositeSurface of triangles (``io.meshes.terrain_mesh``)."""
    mesh = terrain_mesh(dtm, max_triangles)
    index = np.asarray(add(mesh.vertices))
    return {"type": "CompositeSurface", "lod": "1", "boundaries": [[ring] for ring in index[mesh.faces].tolist()]}


def _renumber(boundaries, remap: np.ndarray):
    if isinstance(boundaries, list):
        return [_renumber(b, remap) for b in boundaries]
    return int(remap[boundaries])
