"""AHN-style point clouds (LAS/LAZ) → DTM, DSM, canopy height model and roof heights per footprint.

The files are streamed in chunks (``laspy.open(...).chunk_iterator``), never read whole, and every
chunk is binned into the scene grid by the numba kernel of ``engines.rasterize`` in one pass:

- DTM: mean (or minimum) of ground points (class 2) per cell, then gap filled (under buildings,
  water) by ``engines.gap_fill``;
- DSM: highest return per cell, noise (classes 7, 18) excluded; gaps up to ``DSM_FILL_DISTANCE``
  from a return are filled from the surrounding returns (holes in dark roofs), wider gaps (water,
  which returns no laser light) take the DTM, so no roof height is smeared across a canal;
- CHM: highest vegetation point (class 1 "other", as vegetation is left unclassified in AHN3, and
  classes 3–5 where present) above the DTM, 0 in cells that hold building points (class 6) or no
  vegetation, clipped at 0;
- per footprint (optional): 50th / 70th percentile and maximum of the building points (class 6)
  inside it, as 3DBAG gives roof heights (plus the 90th, the default LoD1 roof of 3dfier), and the ground level as the median of the DTM cells in a
  ring of ``GROUND_RING`` metres around it.

Point-in-footprint is exact (``shapely.contains_xy`` per footprint on the chunk's building points,
pre-selected by a sorted-x window of the footprint's bounding box); a rasterised footprint-id grid
was measured to be no faster at 0.1 m and misassigns edge points.

CRS: taken from the file (WKT or GeoTIFF keys); a file without one is refused unless a CRS to assume
is given. x, y in another CRS are reprojected to RD New; z is taken as NAP.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from os import PathLike
from pathlib import Path
from typing import Literal

import laspy
import lazrs
import numpy as np
import shapely
from pyproj import CRS

from stadstwin.crs import parse_crs, to_internal
from stadstwin.engines.footprint_heights import footprint_percentiles
from stadstwin.engines.gap_fill import fill_gaps
from stadstwin.engines.rasterize import accumulate_points, empty_accumulators, statistic_slots
from stadstwin.errors import CRSError, InputError, MissingCRSError, StadstwinError
from stadstwin.model.raster import Raster

GROUND, SURFACE, VEGETATION, BUILDING = range(4)
N_LAYERS = 4
MIN_LAYERS = [GROUND]  # per-cell statistics kept: minimum and sum (mean) of ground,
SUM_LAYERS = [GROUND]  # highest surface and vegetation point; counts of every layer
MAX_LAYERS = [SURFACE, VEGETATION]
GROUND_CLASSES = (2,)
NOISE_CLASSES = (7, 18)
VEGETATION_CLASSES = (1, 3, 4, 5)
BUILDING_CLASSES = (6,)
ROOF_PERCENTILES = np.array([50.0, 70.0, 90.0, 100.0])
DSM_FILL_DISTANCE = 2.0  # m
GROUND_RING = 3.0  # m around a footprint whose DTM cells give its ground level
_POLYGONAL = (shapely.GeometryType.POLYGON, shapely.GeometryType.MULTIPOLYGON)

Progress = Callable[[int, int], None]


def _class_layers() -> np.ndarray:
    table = np.zeros((256, N_LAYERS), dtype=np.bool_)
    table[list(GROUND_CLASSES), GROUND] = True
    table[:, SURFACE] = True
    table[list(NOISE_CLASSES), SURFACE] = False
    table[list(VEGETATION_CLASSES), VEGETATION] = True
    table[list(BUILDING_CLASSES), BUILDING] = True
    return table


@dataclass(frozen=True, eq=False)
class FootprintHeights:
    """Heights per footprint from the point cloud, in the order of the footprints given [m NAP].

    roof_50p, roof_70p, roof_90p, roof_max  percentiles of building points inside (NaN: no points)
    ground_z                      median of DTM cells in a ring around the footprint
    point_count                   building points inside
    """

    roof_50p: np.ndarray
    roof_70p: np.ndarray
    roof_90p: np.ndarray
    roof_max: np.ndarray
    ground_z: np.ndarray
    point_count: np.ndarray


@dataclass(frozen=True, eq=False)
class PointCloudRasters:
    """What a point cloud gives the twin, on the scene grid.

    dtm, dsm [m NAP], chm [m above the DTM]; ``points_read`` counts every point of every file read,
    ``points_in_grid`` those that fell inside the grid; ``footprints`` only when footprints were given;
    ``files_skipped``: files whose header bounds do not meet the grid (not decoded).
    """

    dtm: Raster
    dsm: Raster
    chm: Raster
    points_read: int
    points_in_grid: int
    footprints: FootprintHeights | None
    files_skipped: tuple[str, ...] = ()


class _FootprintIndex:
    """Exact point-in-footprint lookup for chunks of points, collecting z per footprint."""

    def __init__(self, footprints: Sequence[shapely.Geometry]) -> None:
        self.polygons = np.asarray(footprints, dtype=object)
        if not np.all(np.isin(shapely.get_type_id(self.polygons), _POLYGONAL)):
            raise ValueError("footprints must be shapely Polygon or MultiPolygon geometries")
        shapely.prepare(self.polygons)
        self.bounds = shapely.bounds(self.polygons)
        self.ids: list[np.ndarray] = []
        self.z: list[np.ndarray] = []

    def add(self, x: np.ndarray, y: np.ndarray, z: np.ndarray) -> None:
        order = np.argsort(x, kind="stable")
        xs, ys = x[order], y[order]
        ids = np.full(len(x), -1, dtype=np.int64)
        lo = np.searchsorted(xs, self.bounds[:, 0], side="left")
        hi = np.searchsorted(xs, self.bounds[:, 2], side="right")
        for k in np.nonzero(hi > lo)[0]:
            window = np.arange(lo[k], hi[k])
            window = window[(ys[window] >= self.bounds[k, 1]) & (ys[window] <= self.bounds[k, 3])]
            inside = window[shapely.contains_xy(self.polygons[k], xs[window], ys[window])]
            ids[order[inside]] = k
        keep = ids >= 0
        self.ids.append(ids[keep])
        self.z.append(z[keep])

    def heights(self, dtm: Raster) -> FootprintHeights:
        ids = np.concatenate(self.ids) if self.ids else np.empty(0, dtype=np.int64)
        z = np.concatenate(self.z) if self.z else np.empty(0)
        values, counts = footprint_percentiles(ids, z, len(self.polygons), ROOF_PERCENTILES)
        return FootprintHeights(*values.T, self._ground(dtm), counts)

    def _ground(self, dtm: Raster) -> np.ndarray:
        values = dtm.values()
        cx, cy = dtm.cell_centres()
        rings = shapely.difference(shapely.buffer(self.polygons, GROUND_RING), self.polygons)
        ground = np.full(len(self.polygons), np.nan)
        for k, ring in enumerate(rings):
            xmin, ymin, xmax, ymax = shapely.bounds(ring)
            row0, col0 = (int(np.floor(v)) for v in dtm.fractional_index(xmin, ymax))
            row1, col1 = (int(np.ceil(v)) for v in dtm.fractional_index(xmax, ymin))
            rows = slice(max(row0, 0), max(row1, 0))
            cols = slice(max(col0, 0), max(col1, 0))
            inside = shapely.contains_xy(ring, cx[rows, cols], cy[rows, cols])
            ring_values = values[rows, cols][inside]
            if np.any(np.isfinite(ring_values)):
                ground[k] = np.nanmedian(ring_values)
        return ground


def _source(item: str | PathLike[str] | object, assumed_crs: str | None) -> tuple[Path, str | None]:
    """(path, CRS to assume) of a path or of a scene ``SourceFile`` (which carries its own assumed CRS)."""
    if hasattr(item, "path"):
        return Path(item.path), getattr(item, "crs", None) or assumed_crs
    return Path(item), assumed_crs  # type: ignore[arg-type]


def _file_crs(header: laspy.LasHeader, path: Path, assumed_crs: str | None) -> CRS:
    try:
        crs = header.parse_crs()
    except Exception as exc:  # laspy raises several types for malformed CRS records
        raise CRSError(f"unreadable CRS record: {exc}", path=path,
                       hint="fix the file's WKT/GeoKey VLR, or remove it and name the CRS in the scene") from exc
    if crs is not None:
        return crs
    if assumed_crs is None:
        raise MissingCRSError("LAZ without CRS", path=path,
                              hint="assume RD only when the scene says so: give this point cloud crs = \"EPSG:28992\"")
    return parse_crs(assumed_crs, path=str(path))


def pointcloud_header(path: str | PathLike[str], assumed_crs: str | None = None
                      ) -> tuple[int, tuple[float, float, float, float], CRS]:
    """(point count, header bounds in RD New [m]: xmin, ymin, xmax, ymax, the file's CRS) of a LAS/LAZ
    file; ``assumed_crs`` only where the file has none."""
    path = Path(path)
    try:
        with laspy.open(path) as reader:
            header = reader.header
    except (laspy.LaspyException, lazrs.LazrsError, OSError, ValueError) as exc:
        raise InputError(f"not a readable LAS/LAZ file: {exc}", path=path,
                         hint="check that the file is a complete .las/.laz download") from exc
    crs = _file_crs(header, path, assumed_crs)
    (x0, y0, _), (x1, y1, _) = header.mins, header.maxs
    x, y = to_internal(np.array([x0, x1, x0, x1]), np.array([y0, y0, y1, y1]), crs, path=str(path))
    return int(header.point_count), (float(x.min()), float(y.min()), float(x.max()), float(y.max())), crs


def check_last_point(path: str | PathLike[str]) -> None:
    """Decode the last point the header announces (a seek through the LAZ chunk table): a truncated
    or corrupt file raises ``InputError`` without decoding the whole file."""
    path, total = Path(path), 0
    try:
        with laspy.open(path) as reader:
            total = reader.header.point_count
            if total:
                reader.seek(total - 1)
                if len(reader.read_points(1)) != 1:
                    raise ValueError("no point at the end")
    except (laspy.LaspyException, lazrs.LazrsError, OSError, ValueError) as exc:
        raise InputError(f"cannot read the last of {total:,} points: {exc}", path=path,
                         hint="the file is truncated or corrupt; download it again") from exc


def _meets(bounds: tuple[float, float, float, float], grid: Raster) -> bool:
    """Whether header bounds meet the grid (a reprojected box may bulge: 1 m of slack)."""
    return _overlaps(bounds, grid.bounds)


def _overlaps(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> bool:
    """Whether two (xmin, ymin, xmax, ymax) boxes [m] meet, with 1 m of slack."""
    return a[0] <= b[2] + 1.0 and a[2] >= b[0] - 1.0 and a[1] <= b[3] + 1.0 and a[3] >= b[1] - 1.0


def _chunks(path: Path, assumed: str | None, total: int, chunk_size: int
            ) -> Iterator[tuple[laspy.LasHeader, laspy.ScaleAwarePointRecord, np.ndarray, np.ndarray]]:
    """(header, points, x, y in RD New [m]) per chunk of a LAS/LAZ file announcing ``total`` points; a
    file that cannot be decoded or holds another number of points is an ``InputError`` naming it."""
    read = 0
    try:
        with laspy.open(path) as reader:
            crs = _file_crs(reader.header, path, assumed)
            for points in reader.chunk_iterator(chunk_size):
                x, y = to_internal(np.asarray(points.x), np.asarray(points.y), crs, path=str(path))
                yield reader.header, points, x, y
                read += len(points)
    except StadstwinError:
        raise  # already names the file (a CRS, a coordinate out of range)
    except (laspy.LaspyException, lazrs.LazrsError, OSError, ValueError) as exc:
        raise InputError(f"cannot read points after {read:,} of {total:,}: {exc}", path=path,
                         hint="the file is truncated or corrupt; download it again") from exc
    if read != total:
        raise InputError(f"the header announces {total:,} points but the file holds {read:,}", path=path,
                         hint="the file is truncated or corrupt; download it again")


def split_pointclouds(
    sources: Iterable[str | PathLike[str] | object],
    boxes: dict[str, tuple[float, float, float, float]],
    folder: Path,
    *,
    assumed_crs: str | None = None,
    chunk_size: int = 1_000_000,
    progress: Progress | None = None,
) -> dict[str, list[tuple[Path, str | None]]]:
    """Stream each LAS/LAZ file once and copy its points inside each box (xmin, ymin, xmax, ymax, RD New
    m) into a LAS piece per (box, file) in ``folder``, header and CRS kept; a tiled build then decodes
    each tile's own points only. Files whose header meets no box are not read. Returns box name → its
    pieces with the CRS to assume for each (its file's; a file without points in a box gives none).
    ``progress(points_done, points_total)``."""
    files = [_source(item, assumed_crs) for item in sources]
    headers = [pointcloud_header(path, assumed)[:2] for path, assumed in files]
    chosen = [(f, h[0], {n: b for n, b in boxes.items() if _overlaps(h[1], b)}) for f, h in zip(files, headers)]
    chosen = [c for c in chosen if c[2]]
    folder.mkdir(parents=True, exist_ok=True)
    pieces: dict[str, list[tuple[Path, str | None]]] = {name: [] for name in boxes}
    grand_total = sum(total for _, total, _ in chosen)
    done = 0
    for k, ((path, assumed), total, meeting) in enumerate(chosen):
        writers: dict[str, laspy.LasWriter] = {}
        try:
            for header, points, x, y in _chunks(path, assumed, total, chunk_size):
                for name, (x0, y0, x1, y1) in meeting.items():
                    keep = (x >= x0) & (x <= x1) & (y >= y0) & (y <= y1)
                    if not keep.any():
                        continue
                    if name not in writers:
                        piece = folder / f"{name}-{k}.las"
                        writers[name] = laspy.open(piece, mode="w", header=copy.deepcopy(header))
                        pieces[name].append((piece, assumed))
                    writers[name].write_points(points[keep])
                done += len(points)
                if progress is not None:
                    progress(done, grand_total)
        finally:
            for writer in writers.values():
                writer.close()
    return pieces


def read_pointclouds(
    sources: Iterable[str | PathLike[str] | object],
    grid: Raster,
    *,
    footprints: Sequence[shapely.Geometry] | None = None,
    assumed_crs: str | None = None,
    ground_statistic: Literal["mean", "min"] = "mean",
    chunk_size: int = 1_000_000,
    progress: Progress | None = None,
) -> PointCloudRasters:
    """Stream LAS/LAZ files (paths or scene ``SourceFile``s) into the cells of ``grid`` (a template raster).

    ``assumed_crs`` is used for files without a CRS; ``footprints`` (RD New polygons) get roof
    percentiles and a ground level. Only files whose header bounds meet the grid are decoded.
    ``progress(points_done, points_total)`` is called after each chunk.
    """
    if ground_statistic not in ("mean", "min"):
        raise ValueError(f"ground_statistic must be 'mean' or 'min', got {ground_statistic!r}")
    files = [_source(item, assumed_crs) for item in sources]
    if not files:
        raise InputError("no point cloud files given")
    headers = [pointcloud_header(path, assumed)[:2] for path, assumed in files]
    for (path, _), (total, _) in zip(files, headers):
        if total == 0:
            raise InputError("the point cloud holds no points", path=path)
    skipped = tuple(str(path) for (path, _), (_, bounds) in zip(files, headers) if not _meets(bounds, grid))
    names = ", ".join(str(path) for path, _ in files)
    chosen = [(f, h[0]) for f, h in zip(files, headers) if _meets(h[1], grid)]
    if not chosen:
        raise InputError(f"no point cloud meets the scene extent {grid.bounds}", path=names,
                         hint="check the scene extent and the point clouds' CRS (header bounds lie elsewhere)")
    files, totals = [f for f, _ in chosen], [t for _, t in chosen]
    rows, cols = grid.shape
    z_min, z_max, z_sum, count = empty_accumulators(
        N_LAYERS, rows, cols, len(MIN_LAYERS), len(MAX_LAYERS), len(SUM_LAYERS))
    layers = _class_layers()
    slots = (statistic_slots(MIN_LAYERS, N_LAYERS), statistic_slots(MAX_LAYERS, N_LAYERS),
             statistic_slots(SUM_LAYERS, N_LAYERS))
    x0, y0 = grid.origin
    index = None if footprints is None else _FootprintIndex(footprints)
    done = inside = 0
    for (path, assumed), total in zip(files, totals):
        for _, points, x, y in _chunks(path, assumed, total, chunk_size):
            z = np.asarray(points.z, dtype=np.float64)
            point_class = np.asarray(points.classification, dtype=np.uint8)
            inside += accumulate_points(x, y, z, point_class, layers, *slots, x0, y0, grid.cell_size,
                                        z_min, z_max, z_sum, count)
            if index is not None:
                building = np.isin(point_class, BUILDING_CLASSES)
                index.add(x[building], y[building], z[building])
            done += len(points)
            if progress is not None:
                progress(done, sum(totals))
    if inside == 0:
        raise InputError(f"no point lies inside the scene extent {grid.bounds}", path=names,
                         hint="check the scene extent and the point cloud's CRS")
    if not count[GROUND].any():
        raise InputError("no ground points (class 2) inside the scene extent", path=names,
                         hint="use a classified point cloud (AHN) or give a DTM GeoTIFF")
    return replace(_derive(grid, z_min, z_max, z_sum, count, ground_statistic, done, inside, index),
                   files_skipped=skipped)


def _derive(
    grid: Raster, z_min: np.ndarray, z_max: np.ndarray, z_sum: np.ndarray, count: np.ndarray,
    ground_statistic: str, done: int, inside: int, index: _FootprintIndex | None,
) -> PointCloudRasters:
    has = count > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        ground = (z_sum[SUM_LAYERS.index(GROUND)] / count[GROUND] if ground_statistic == "mean"
                  else z_min[MIN_LAYERS.index(GROUND)].copy())
    ground[~has[GROUND]] = np.nan
    surface = np.where(has[SURFACE], z_max[MAX_LAYERS.index(SURFACE)], np.nan)
    dtm = fill_gaps(ground)
    near = max(1, int(np.ceil(DSM_FILL_DISTANCE / grid.cell_size - 1e-9)))
    dsm = fill_gaps(surface, max_distance=near)
    dsm = np.where(np.isnan(dsm), dtm, dsm)
    canopy = np.where(has[VEGETATION] & ~has[BUILDING], z_max[MAX_LAYERS.index(VEGETATION)] - dtm, 0.0)
    chm = np.where(np.isnan(dtm), np.nan, np.clip(canopy, 0.0, None))
    dtm_raster = Raster(dtm, grid.transform, grid.crs)
    return PointCloudRasters(
        dtm=dtm_raster,
        dsm=Raster(dsm, grid.transform, grid.crs),
        chm=Raster(chm, grid.transform, grid.crs),
        points_read=done,
        points_in_grid=inside,
        footprints=None if index is None else index.heights(dtm_raster),
    )
