"""What a user's file is, and whether a scene's files can be built: kind, CRS and bounds by content.

``identify(path)`` recognises a file by its bytes and structure, never by its name: ``LASF`` → point
cloud; TIFF (or a GDAL VRT) → elevation raster, a DTM unless building edges make it a DSM; a zip or
XML with an IMKL namespace → KLIC delivery (bounds: its request polygon); a ``"type": "CityJSON"``
document → CityJSON; a vector file (GeoPackage, SQLite, GeoJSON, GML, CSV) → one BGT class per layer
named for one (``pand``, ``bgt_wegdeel``, CityGML ``trafficarea`` …, see ``io.bgt.LAYER_ALIASES``) or a
tree register (a layer with a tree-height column, see ``io.trees.COLUMN_NAMES``). Bounds are in RD New
[m]; a file in another CRS is reprojected, a file without a CRS raises ``MissingCRSError`` unless a CRS
to assume is given.

``check_sources(scene)`` opens every source of a scene with the readers ``build`` uses and returns
one error per problem: unreadable or truncated, CRS missing or not convertible to RD New, bounds that
do not meet the extent, no terrain.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyogrio
import rasterio
import shapely
from pyogrio.errors import DataLayerError, DataSourceError
from rasterio.errors import RasterioError

from stadstwin.crs import parse_crs, to_internal
from stadstwin.errors import CRSError, InputError, SceneError, StadstwinError
from stadstwin.io.bgt import bgt_layer, read_bgt_layer
from stadstwin.io.cityjson import cityjson_bounds
from stadstwin.io.geotiff import read_elevation, source_crs
from stadstwin.io.imkl_parse import IMKL_NAMESPACES, parse_imkl
from stadstwin.io.pointcloud import check_last_point, pointcloud_header
from stadstwin.io.trees import COLUMN_NAMES, CSV_OPTIONS, read_tree_register
from stadstwin.model.raster import Raster
from stadstwin.model.scene import Scene

Bounds = tuple[float, float, float, float]

#: RD New's domain [m]: coordinates outside it are not RD, whatever the file claims.
RD_DOMAIN: Bounds = (-7_000.0, 289_000.0, 300_000.0, 629_000.0)
#: Fraction of neighbouring cells more than ``DSM_STEP`` apart above which a raster is a DSM.
DSM_EDGE_FRACTION = 0.005
DSM_STEP = 2.0  # m: a building or tree edge; terrain seldom steps this much between cells
SLACK = 1.0  # m: bounds that miss the extent by less still meet it (reprojected boxes bulge)

_CITYJSON = re.compile(rb'"type"\s*:\s*"CityJSON"|"CityObjects"\s*:')

KINDS = ("pointcloud", "dtm", "dsm", "cityjson", "bgt", "klic", "trees")


@dataclass(frozen=True)
class SourceInfo:
    """One layer of a user's file: ``kind`` (one of ``KINDS``), bounds in RD New [m], the CRS
    (``EPSG:N`` or its name), whether the file itself names it, the BGT class for ``bgt``, the
    cell size [m] of a raster and a short description."""

    path: Path
    kind: str
    bounds: Bounds
    crs: str
    crs_in_file: bool
    layer: str | None = None
    cell_size: float | None = None
    detail: str = ""


def _crs_text(crs) -> str:
    code = crs.to_epsg()
    return f"EPSG:{code}" if code else crs.name


def _rd_bounds(x: np.ndarray, y: np.ndarray, crs, path: Path) -> Bounds:
    """Bounds in RD New [m] of points in ``crs``; coordinates that do not fit the CRS are a CRSError."""
    rx, ry = to_internal(np.asarray(x, float), np.asarray(y, float), crs, path=str(path))
    return _in_rd_domain((float(rx.min()), float(ry.min()), float(rx.max()), float(ry.max())), crs, path)


def _in_rd_domain(bounds: Bounds, crs, path: Path) -> Bounds:
    """``bounds`` (RD New [m]) when they lie in the Netherlands; else the file's CRS is wrong (CRSError)."""
    if not np.all(np.isfinite(bounds)) or not meets(bounds, RD_DOMAIN, 0.0):
        raise CRSError(f"its coordinates {describe_bounds(bounds)} do not lie in the Netherlands in its CRS "
                       f"{_crs_text(crs)}", path=path,
                       hint="the file's CRS is wrong; fix it or pass the right one (e.g. --crs EPSG:28992)")
    return bounds


def _box(x0: float, y0: float, x1: float, y1: float) -> tuple[np.ndarray, np.ndarray]:
    return np.array([x0, x1, x0, x1]), np.array([y0, y0, y1, y1])


def describe_bounds(bounds: Bounds) -> str:
    x0, y0, x1, y1 = bounds
    return f"x {x0:,.0f}…{x1:,.0f}, y {y0:,.0f}…{y1:,.0f}"


def meets(a: Bounds, b: Bounds, slack: float = SLACK) -> bool:
    """Whether two boxes overlap (touching within ``slack`` [m] counts)."""
    return a[0] <= b[2] + slack and a[2] >= b[0] - slack and a[1] <= b[3] + slack and a[3] >= b[1] - slack


def identify(path: str | Path, assumed_crs: str | None = None) -> list[SourceInfo]:
    """Every usable layer of the file at ``path`` (one for all but multi-layer vector files)."""
    path = Path(path)
    if not path.is_file():
        raise InputError("file not found", path=path)
    with path.open("rb") as f:
        head = f.read(4096)
    if not head:
        raise InputError("the file is empty", path=path)
    if head.startswith(b"LASF"):
        return [_pointcloud(path, assumed_crs)]
    if head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+") or b"<VRTDataset" in head:
        return [_raster(path, assumed_crs)]
    if head.startswith(b"PK") or (head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<")
                                  and any(ns.encode() in head for ns in IMKL_NAMESPACES)):
        return [_klic(path)]
    if head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"{") and _CITYJSON.search(head):
        return [_cityjson(path, assumed_crs)]
    return _vector(path, assumed_crs, sqlite=head.startswith(b"SQLite format 3\x00"))


def _pointcloud(path: Path, assumed_crs: str | None) -> SourceInfo:
    count, bounds, crs = pointcloud_header(path, assumed_crs)
    bounds = _in_rd_domain(bounds, crs, path)
    return SourceInfo(path, "pointcloud", bounds, _crs_text(crs), assumed_crs is None or _has_las_crs(path),
                      detail=f"{count:,} points")


def _has_las_crs(path: Path) -> bool:
    import laspy

    with laspy.open(path) as reader:
        return reader.header.parse_crs() is not None


def _raster(path: Path, assumed_crs: str | None) -> SourceInfo:
    try:
        with rasterio.open(path) as source:
            crs = parse_crs(source_crs(source.crs, path, assumed_crs), path=str(path))
            bounds = _rd_bounds(*_box(*source.bounds), crs, path)
            kind = _elevation_kind(source)
            metres = crs.is_projected and crs.axis_info[0].unit_name in ("metre", "meter")
            cell = float(abs(source.transform.a)) if metres else None
            size = f"{source.width} × {source.height} cells" + (f" of {cell:g} m" if cell else "")
            in_file = source.crs is not None
    except RasterioError as exc:
        raise InputError(f"not a readable GeoTIFF: {exc}", path=path,
                         hint="check that the file is a complete GeoTIFF download") from exc
    what = "DSM (building and tree edges)" if kind == "dsm" else "DTM (no building edges)"
    return SourceInfo(path, kind, bounds, _crs_text(crs), in_file, cell_size=cell, detail=f"{what}, {size}")


def _elevation_kind(source) -> str:
    """``dsm`` when more than ``DSM_EDGE_FRACTION`` of neighbouring cells (on an overview of at most
    512 × 512) step more than ``DSM_STEP`` (roofs, crowns), else ``dtm`` (AHN DTMs leave buildings empty)."""
    factor = max(1, int(np.ceil(max(source.width, source.height) / 512)))
    shape = (max(1, source.height // factor), max(1, source.width // factor))
    band = source.read(1, out_shape=shape, masked=True).astype(np.float64).filled(np.nan)
    steps = np.concatenate([np.abs(np.diff(band, axis=0)).ravel(), np.abs(np.diff(band, axis=1)).ravel()])
    steps = steps[np.isfinite(steps)]
    if not len(steps):
        raise InputError("the raster holds only nodata/NaN cells", path=Path(source.name))
    return "dsm" if np.mean(steps > DSM_STEP * factor ** 0.5) > DSM_EDGE_FRACTION else "dtm"


def _klic(path: Path) -> SourceInfo:
    delivery = parse_imkl(path)
    bounds = delivery.area_bounds()
    if bounds is None:  # no request polygon: the networks' own extent
        lines = [line for f in delivery.features for line in f.lines]
        if not lines:
            raise InputError("the delivery holds neither a request polygon nor any cable or pipe", path=path)
        xy = np.vstack([line[:, :2] for line in lines])
        bounds = float(xy[:, 0].min()), float(xy[:, 1].min()), float(xy[:, 0].max()), float(xy[:, 1].max())
    return SourceInfo(path, "klic", bounds, "EPSG:28992", True,
                      detail=f"IMKL {delivery.version}, {len(delivery.features)} cables, pipes and containers")


def _cityjson(path: Path, assumed_crs: str | None) -> SourceInfo:
    buildings, bounds, crs = cityjson_bounds(path, assumed_crs=assumed_crs)
    bounds = _in_rd_domain(bounds, parse_crs(crs), path)
    return SourceInfo(path, "cityjson", bounds, crs, True, detail=f"{buildings} buildings")


#: Normalised names of tree-height columns (a tree register has one).
_TREE_HEIGHT = {name for name in COLUMN_NAMES["height"] if len(name) > 1}


def _vector(path: Path, assumed_crs: str | None, *, sqlite: bool = False) -> list[SourceInfo]:
    options = CSV_OPTIONS if path.suffix.lower() == ".csv" else {}
    try:
        layers = [str(name) for name, _ in pyogrio.list_layers(path)]
    except (DataSourceError, OSError) as exc:
        what = ("not a readable GeoPackage / SQLite file" if sqlite else "not a file stadstwin recognises "
                "(LAS/LAZ, GeoTIFF, CityJSON, KLIC zip, GeoPackage/SQLite/GeoJSON/CSV)")
        raise InputError(f"{what}: {exc}", path=path, hint="the file may be truncated; download it again") from exc
    found = []
    for layer in layers:
        try:
            info = pyogrio.read_info(path, layer=layer, force_total_bounds=True, **options)
        except (DataSourceError, DataLayerError) as exc:
            raise InputError(f"cannot read layer {layer!r}: {exc}", path=path) from exc
        fields = [str(f) for f in info["fields"]]
        normal = {"".join(c for c in f.lower() if c.isalnum()) for f in fields}
        kind = bgt_layer(layer, fields)
        kind_name = "bgt" if kind else ("trees" if normal & _TREE_HEIGHT else None)
        if kind_name is None or info["features"] == 0 or info.get("geometry_type") is None:
            continue
        crs_text = info.get("crs")
        if not crs_text and assumed_crs is None:
            parse_crs(None, path=str(path), feature=layer)  # raises MissingCRSError
        crs = parse_crs(crs_text or assumed_crs, path=str(path), feature=layer)
        bounds = _rd_bounds(*_box(*info["total_bounds"]), crs, path)
        what = f"BGT {kind}" if kind else "tree register"
        found.append(SourceInfo(path, kind_name, bounds, _crs_text(crs), bool(crs_text), layer=kind,
                                detail=f"{what}: layer {layer!r}, {info['features']} features"))
    if not found:
        raise InputError(f"no BGT layer or tree register among its layers ({', '.join(layers) or 'none'})",
                         path=path, hint="BGT layers are named for their class (pand, wegdeel, …); "
                         "a tree register has a height column (boomhoogte, height)")
    return found


def check_sources(scene: Scene) -> list[StadstwinError]:
    """Every problem ``build`` would meet in the scene's sources, one error each (empty: all good):
    each file opened with its reader (a truncated file fails), its CRS known and its coordinates RD
    New or convertible to it, its bounds meeting the extent; and some terrain."""
    extent = scene.extent.bounds
    grid = Raster.from_bounds(*extent, scene.cell_size)
    sources = scene.sources
    slots = [("pointcloud", s, None) for s in sources.pointclouds]
    slots += [(kind, s, None) for kind, s in (("dtm", sources.dtm), ("dsm", sources.dsm), ("trees", sources.trees))
              if s is not None]
    slots += [("cityjson", s, None) for s in sources.cityjson] + [("klic", s, None) for s in sources.klic]
    slots += [("bgt", s, layer.value) for layer, s in sources.bgt.items()]
    problems: list[StadstwinError] = []
    for kind, source, layer in slots:
        try:
            _check_source(kind, source.path, source.crs, layer, extent, grid)
        except StadstwinError as exc:
            problems.append(exc)
    if scene.terrain.constant_nap is None and not sources.pointclouds and sources.dtm is None:
        problems.append(SceneError("the scene has no terrain source", path=scene.path,
                                   hint="add sources.pointclouds (AHN LAZ), sources.dtm (GeoTIFF) "
                                   "or [terrain] constant_nap"))
    return problems


def _check_source(kind: str, path: Path, crs: str | None, layer: str | None, extent: Bounds, grid: Raster) -> None:
    """Raise the first problem of one source: unreadable, CRS, of another kind, outside the extent."""
    if kind == "bgt":  # read as build reads it: any single-layer file, whatever its layer's name
        bounds = tuple(shapely.total_bounds(read_bgt_layer(path, layer, assumed_crs=crs)))
    elif kind == "trees":
        trees = read_tree_register(path, assumed_crs=crs)
        bounds = (trees.x.min(), trees.y.min(), trees.x.max(), trees.y.max()) if len(trees) else (np.nan,) * 4
    else:
        infos = identify(path, crs)
        info = next((i for i in infos if i.kind == kind or {i.kind, kind} <= {"dtm", "dsm"}), None)
        if info is None:
            found = ", ".join(f"BGT {i.layer}" if i.layer else i.kind for i in infos)
            raise InputError(f"given as {kind} but it holds {found}", path=path)
        bounds = info.bounds
    if np.all(np.isfinite(bounds)) and not meets(bounds, extent):
        raise InputError(f"lies outside the scene extent: its bounds {describe_bounds(bounds)} (RD New) do not "
                         f"meet the extent {describe_bounds(extent)}", path=path,
                         hint="check the extent, the file and its CRS")
    if kind == "pointcloud":
        check_last_point(path)
    elif kind in ("dtm", "dsm"):
        read_elevation(path, grid, assumed_crs=crs)
