"""Sources → one twin: terrain, surface, buildings, trees and networks with depth, in EPSG:7415.

``build_twin(scene)`` reads every source through the readers in ``io/``, joins them on the scene
grid and caches the result keyed by the content of its inputs (``build.cache``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np
import shapely
from rasterio.features import rasterize

from stadstwin.build import cache
from stadstwin.errors import SceneError
from stadstwin.io.bgt import burn_surfaces, read_bgt_buildings, surface_shapes
from stadstwin.io.cityjson import read_cityjson
from stadstwin.io.geotiff import read_elevation
from stadstwin.io.imkl import ImklDelivery, network_table, parse_imkl
from stadstwin.io.pointcloud import read_pointclouds
from stadstwin.io.trees import detect_trees, read_tree_register
from stadstwin.model.buildings import Buildings
from stadstwin.model.networks import NetworkTable
from stadstwin.model.raster import Raster
from stadstwin.model.scene import BgtLayer, Scene
from stadstwin.model.trees import Trees
from stadstwin.model.twin import Twin
from stadstwin.rules import Rules

#: ``progress(step, done, total)``: called during long steps (points read, files parsed).
Progress = Callable[[str, int, int], None]

_BAG_PREFIX = "NL.IMBAG.Pand."


def build_twin(scene: Scene | str | Path, *, use_cache: bool = True, progress: Progress | None = None) -> Twin:
    """Build (or load from the cache) the twin of a scene."""
    if not isinstance(scene, Scene):
        scene = Scene.load(scene)
    key = cache.twin_key(scene)
    if use_cache and (cached := cache.load_cached(scene, key)) is not None:
        return cached
    twin = _build(scene, scene.load_rules(), progress or _silent)
    if use_cache:
        cache.store(scene, key, twin)
    return twin


def _silent(step: str, done: int, total: int) -> None:
    """A progress callback that reports nothing."""


def _build(scene: Scene, rules: Rules, progress: Progress, parsed: dict | None = None) -> Twin:
    """The twin of ``scene``; ``parsed`` (optional) keeps the vector sources parsed (CityJSON, BGT
    buildings and surfaces, KLIC) by file, for builds of several extents of one scene (``build.tiled``)."""
    parsed = {} if parsed is None else parsed
    grid = Raster.from_bounds(*scene.extent.bounds, scene.cell_size)
    extent = shapely.box(*scene.extent.bounds)
    sources = scene.sources

    read = _cityjson_buildings(scene, progress, parsed)
    modelled = _clip(read, extent)
    context = _context(read, scene)
    footprints_only = _bgt_buildings(scene, extent, modelled.source_id, parsed)
    dtm, dsm, chm, footprints_only = _terrain(scene, grid, footprints_only, progress)
    buildings = _concat_buildings([modelled, footprints_only])
    if dsm is None:
        dsm = _burn_buildings(dtm, buildings)
    surface = _surface(scene, grid, parsed) if sources.bgt else None
    trees = _trees(scene, dtm, chm)
    networks = _networks(scene, dtm, rules, extent, progress, parsed)
    return Twin(scene.name, dtm, buildings, trees, networks, dsm=dsm, chm=chm, surface=surface,
                terrain=scene.terrain_used, context=context)


def _surface(scene: Scene, grid: Raster, parsed: dict) -> Raster:
    """The BGT surface codes on ``grid``; the layers are read once per ``parsed`` dict."""
    layers = {k.value: v for k, v in scene.sources.bgt.items()}
    key = tuple(sorted((name, str(source.path)) for name, source in layers.items()))
    return burn_surfaces(*_parsed(parsed, "bgt surfaces", key, lambda: surface_shapes(layers)), grid)


def _bag_id(value: str) -> str:
    return value.removeprefix(_BAG_PREFIX)


def _clip(buildings: Buildings, extent: shapely.Geometry) -> Buildings:
    if not len(buildings):
        return buildings
    return buildings.select(shapely.intersects(buildings.footprint, extent))


def _parsed(parsed: dict, kind: str, path: Path, read: Callable[[], object]):
    """``read()`` of the file at ``path``, parsed once per ``parsed`` dict."""
    if (kind, path) not in parsed:
        parsed[kind, path] = read()
    return parsed[kind, path]


def _cityjson_buildings(scene: Scene, progress: Progress, parsed: dict) -> Buildings:
    files = scene.sources.cityjson
    parts = []
    for i, source in enumerate(files):
        parts.append(_parsed(parsed, "cityjson", source.path,
                             lambda s=source: read_cityjson(s.path, assumed_crs=s.crs)))
        progress("CityJSON buildings", i + 1, len(files))
    return _concat_buildings(parts)


def _context(buildings: Buildings, scene: Scene) -> Buildings:
    """Buildings with a roof height that lie wholly outside the extent but meet the box ``shadow_buffer``
    metres around it: they cast shadow into the extent. Only sources with heights beyond the extent
    give them (CityJSON); BGT footprints outside the point cloud or DTM have no height."""
    if not len(buildings) or scene.shadow_buffer <= 0.0:
        return Buildings.empty()
    xmin, ymin, xmax, ymax = scene.extent.bounds
    b = scene.shadow_buffer
    ring = shapely.box(xmin - b, ymin - b, xmax + b, ymax + b)
    outside = ~shapely.intersects(buildings.footprint, shapely.box(xmin, ymin, xmax, ymax))
    return buildings.select(outside & shapely.intersects(buildings.footprint, ring) & np.isfinite(buildings.roof_z))


def _bgt_buildings(scene: Scene, extent: shapely.Geometry, exclude: np.ndarray, parsed: dict) -> Buildings:
    pand = scene.sources.bgt.get(BgtLayer.PAND)
    if pand is None:
        return Buildings.empty()
    buildings = _clip(_parsed(parsed, "bgt pand", pand.path,
                              lambda: read_bgt_buildings(pand.path, assumed_crs=pand.crs)), extent)
    modelled = {_bag_id(str(i)) for i in exclude}
    keep = np.array([_bag_id(str(i)) not in modelled for i in buildings.source_id], dtype=bool)
    return buildings.select(keep) if len(buildings) else buildings


def _terrain(scene: Scene, grid: Raster, footprints_only: Buildings, progress: Progress):
    """(dtm, dsm, chm, buildings with heights from the point cloud); a constant ``[terrain]
    constant_nap`` level [m NAP] gives a flat DTM and no DSM."""
    sources = scene.sources
    if scene.terrain.constant_nap is not None:
        dtm = Raster(np.full(grid.shape, scene.terrain.constant_nap), grid.transform, grid.crs)
        if len(footprints_only):
            footprints_only = Buildings(footprints_only.footprint, np.full(len(footprints_only), dtm.array.flat[0]),
                                        np.full(len(footprints_only), np.nan), footprints_only.source_id)
        return dtm, None, None, footprints_only
    if sources.pointclouds:
        rasters = read_pointclouds(
            sources.pointclouds, grid,
            footprints=list(footprints_only.footprint) if len(footprints_only) else None,
            progress=lambda done, total: progress("point cloud", done, total),
        )
        if rasters.footprints is not None:
            h = rasters.footprints
            footprints_only = Buildings(
                footprints_only.footprint, h.ground_z, h.roof_70p, footprints_only.source_id,
                None, {**footprints_only.attributes, "roof_50p": h.roof_50p, "roof_90p": h.roof_90p,
                       "roof_max": h.roof_max, "point_count": h.point_count},
            )
        return rasters.dtm, rasters.dsm, rasters.chm, footprints_only
    if sources.dtm is None:
        raise SceneError("the scene has no terrain source", path=scene.path,
                         hint="add sources.pointclouds (AHN LAZ), sources.dtm (GeoTIFF) or [terrain] constant_nap")
    dtm = read_elevation(sources.dtm.path, grid, assumed_crs=sources.dtm.crs)
    dsm = read_elevation(sources.dsm.path, grid, assumed_crs=sources.dsm.crs) if sources.dsm else None
    if len(footprints_only):
        ground = _footprint_median(dtm, footprints_only.footprint)
        roof = _footprint_median(dsm, footprints_only.footprint) if dsm is not None else np.full(len(ground), np.nan)
        footprints_only = Buildings(footprints_only.footprint, ground, roof, footprints_only.source_id)
    chm = None
    if dsm is not None:
        chm = Raster(np.clip(dsm.values() - dtm.values(), 0.0, None), grid.transform, grid.crs)
    return dtm, dsm, chm, footprints_only


def _footprint_median(raster: Raster, footprints: np.ndarray) -> np.ndarray:
    ids = rasterize(((f, i + 1) for i, f in enumerate(footprints)), out_shape=raster.shape,
                    transform=raster.transform, fill=0, dtype="int32")
    values = raster.values()
    return np.array([np.nanmedian(values[ids == i + 1]) if np.any(ids == i + 1) else np.nan
                     for i in range(len(footprints))])


def _burn_buildings(dtm: Raster, buildings: Buildings) -> Raster:
    """A surface model of terrain plus LoD 1.2 blocks, for scenes without a point cloud or DSM."""
    surface = dtm.values()
    ok = np.isfinite(buildings.roof_z)
    if ok.any():
        roofs = rasterize(zip(buildings.footprint[ok], buildings.roof_z[ok]), out_shape=dtm.shape,
                          transform=dtm.transform, fill=np.nan, dtype="float64")
        surface = np.fmax(surface, roofs)
    return Raster(surface, dtm.transform, dtm.crs)


def _concat_buildings(parts: list[Buildings]) -> Buildings:
    parts = [p for p in parts if len(p)]
    if not parts:
        return Buildings.empty()
    if len(parts) == 1:
        return parts[0]
    keys = {k for p in parts for k in p.attributes}
    has_mesh = any(p.mesh is not None for p in parts)
    return Buildings(
        np.concatenate([p.footprint for p in parts]),
        np.concatenate([p.ground_z for p in parts]),
        np.concatenate([p.roof_z for p in parts]),
        np.concatenate([p.source_id.astype(str) for p in parts]),
        [m for p in parts for m in (p.mesh or [None] * len(p))] if has_mesh else None,
        {k: np.concatenate([p.attributes.get(k, np.full(len(p), np.nan)) for p in parts]) for k in keys},
    )


def _trees(scene: Scene, dtm: Raster, chm: Raster | None) -> Trees:
    register = scene.sources.trees
    if register is not None:
        return read_tree_register(register.path, dtm=dtm, assumed_crs=register.crs)
    if chm is not None:
        return detect_trees(chm, dtm)
    return Trees.empty()


def _networks(scene: Scene, dtm: Raster, rules: Rules, extent: shapely.Geometry, progress: Progress,
              parsed: dict) -> NetworkTable:
    """The KLIC deliveries clipped to the extent, then given depths on the DTM (a delivery may reach
    beyond the DTM, which covers the extent only)."""
    files = scene.sources.klic
    tables = []
    for i, source in enumerate(files):
        delivery = _clip_delivery(_parsed(parsed, "klic", source.path, lambda s=source: parse_imkl(s.path)), extent)
        tables.append(network_table(delivery, ground=dtm, rules=rules))
        progress("KLIC deliveries", i + 1, len(files))
    return NetworkTable.concat(tables)


def _clip_delivery(delivery: ImklDelivery, extent: shapely.Geometry) -> ImklDelivery:
    """The delivery with each feature's lines cut to the extent; features wholly outside dropped."""
    features = []
    for feature in delivery.features:
        lines = tuple(part for line in feature.lines for part in _clip_line(line, extent))
        if lines:
            features.append(replace(feature, lines=lines))
    return replace(delivery, features=features)


def _clip_line(line: np.ndarray, extent: shapely.Geometry) -> list[np.ndarray]:
    """The parts (vertex arrays, same columns as ``line``) of a line inside the extent."""
    inside = shapely.intersection(shapely.LineString(line), extent)
    parts = shapely.get_parts(shapely.line_merge(inside) if inside.geom_type == "MultiLineString" else inside)
    out = [shapely.get_coordinates(p, include_z=line.shape[1] == 3) for p in parts if p.geom_type == "LineString"]
    return [p for p in out if len(p) >= 2]
