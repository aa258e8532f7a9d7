"""A scene built tile by tile: one small twin per tile on disk, so memory is bounded by one tile.

The scene grid is cut into square tiles of ``tile_size`` metres (whole cells, aligned to the scene
grid). Each tile is built by the same builder as a whole scene, on its *padded* extent: the tile plus
``margin`` metres on every side (clipped to the scene extent), so the ground, trees and buildings
that cast shadow across the tile's edge are in its twin; buildings outside the scene extent with
heights in the sources (CityJSON) within the scene's ``shadow_buffer`` of the padded extent come in as
its ``context``, as the untiled twin has them.
Point clouds are streamed once and split into a LAS piece per tile (its padded extent widened to the
whole footprints of the BGT buildings that meet it, whose roof heights come from the points), only
from files whose header meets the tile (``io.pointcloud.split_pointclouds``); each tile decodes its
own piece, and the pieces are removed when the build is done. The vector sources (CityJSON, BGT
buildings, KLIC) are parsed once and clipped per tile.

Each tile is a folder ``SCENE/.stadstwin-cache/tiles/<key>/<row>_<col>/`` of COG rasters, GeoParquet
tables and a JSON manifest (``io.twin_folder``), written into a temporary folder and renamed, so a tile
folder that exists is complete and is not built again: an interrupted build resumes (its leftover
temporary folders are removed). ``key`` is the scene's twin key with the tile size and margin; a finished
build drops the other keys' tiles.
"""

from __future__ import annotations

import math
import shutil
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import shapely
from affine import Affine

from stadstwin.build import cache
from stadstwin.build.twin_builder import _build, _silent
from stadstwin.errors import InputError
from stadstwin.io.bgt import read_bgt_buildings
from stadstwin.io.pointcloud import split_pointclouds
from stadstwin.io.twin_folder import read_twin_folder, write_twin_folder
from stadstwin.model.buildings import Buildings
from stadstwin.model.scene import BgtLayer, Extent, Scene, SourceFile
from stadstwin.model.twin import Twin

#: ``progress(step, done, total)``, as the builder's.
Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class Tile:
    """One tile: ``row``, ``col`` (0, 0 in the north-west); ``core`` the cells it owns and ``padded`` the
    cells its twin covers, as (row0, row1, col0, col1) of the scene grid."""

    row: int
    col: int
    core: tuple[int, int, int, int]
    padded: tuple[int, int, int, int]

    @property
    def name(self) -> str:
        return f"{self.row}_{self.col}"

    @property
    def core_in_padded(self) -> tuple[slice, slice]:
        """(rows, cols) of the core inside the padded tile's grid."""
        r0, r1, c0, c1 = self.core
        p0, _, q0, _ = self.padded
        return slice(r0 - p0, r1 - p0), slice(c0 - q0, c1 - q0)

    @property
    def core_slices(self) -> tuple[slice, slice]:
        """(rows, cols) of the core in the scene grid."""
        r0, r1, c0, c1 = self.core
        return slice(r0, r1), slice(c0, c1)


@dataclass(frozen=True)
class TiledTwin:
    """A scene's tiles on disk: the scene grid (``shape`` cells of ``cell_size`` m, ``transform``) and
    where each tile's twin lies."""

    name: str
    folder: Path
    shape: tuple[int, int]
    cell_size: float
    transform: Affine
    tiles: tuple[Tile, ...]

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """(xmin, ymin, xmax, ymax) of the scene grid [m RD]."""
        xmin, ymax = self.transform.c, self.transform.f
        return xmin, ymax - self.shape[0] * self.cell_size, xmin + self.shape[1] * self.cell_size, ymax

    def owns(self, tile: Tile, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Which points (x, y) [m RD] lie in ``tile``'s core cells (points off the grid count for its edge
        cells), so every point belongs to exactly one tile."""
        col, row = ~self.transform @ (np.asarray(x, dtype=float), np.asarray(y, dtype=float))
        row = np.clip(np.floor(row), 0, self.shape[0] - 1)
        col = np.clip(np.floor(col), 0, self.shape[1] - 1)
        r0, r1, c0, c1 = tile.core
        return (row >= r0) & (row < r1) & (col >= c0) & (col < c1)

    def path(self, tile: Tile) -> Path:
        """The folder of one tile's twin."""
        return self.folder / tile.name

    def load(self, tile: Tile) -> Twin:
        """The twin of one tile (its padded extent); a missing or damaged file is an ``InputError`` naming it."""
        try:
            return read_twin_folder(self.path(tile))
        except InputError as exc:
            raise InputError(exc.message, path=exc.path, feature=f"tile {tile.name}",
                             hint="run `stadstwin build SCENE --tile-size M` again") from exc


def plan_tiles(shape: tuple[int, int], tile_cells: int, margin_cells: int) -> tuple[Tile, ...]:
    """Tiles of ``tile_cells`` square covering a grid of ``shape``, each padded by ``margin_cells``."""
    if tile_cells < 1 or margin_cells < 0:
        raise InputError(f"tiles need >= 1 cell and a margin >= 0 cells, got {tile_cells}, {margin_cells}",
                         feature="tile_size")
    rows, cols = shape
    out = []
    for i, r0 in enumerate(range(0, rows, tile_cells)):
        r1 = min(r0 + tile_cells, rows)
        for j, c0 in enumerate(range(0, cols, tile_cells)):
            c1 = min(c0 + tile_cells, cols)
            padded = (max(r0 - margin_cells, 0), min(r1 + margin_cells, rows),
                      max(c0 - margin_cells, 0), min(c1 + margin_cells, cols))
            out.append(Tile(i, j, (r0, r1, c0, c1), padded))
    return tuple(out)


def tiled_twin(scene: Scene, tile_size: float, margin: float | None = None) -> TiledTwin:
    """Where the tiles of ``scene`` lie for ``tile_size`` [m] and ``margin`` [m, default the scene's
    ``shadow_buffer``], and which cells each covers (nothing is built)."""
    cell = scene.cell_size
    margin = scene.shadow_buffer if margin is None else margin
    if not tile_size > 0.0:
        raise InputError(f"tile size must be positive, got {tile_size} m", feature="--tile-size")
    if margin < 0.0:
        raise InputError(f"margin must be >= 0, got {margin} m", feature="--margin")
    tile_cells = max(1, round(tile_size / cell))
    margin_cells = math.ceil(margin / cell - 1e-9)
    xmin, ymin, xmax, ymax = scene.extent.bounds
    shape = (math.ceil((ymax - ymin) / cell - 1e-9), math.ceil((xmax - xmin) / cell - 1e-9))
    key = cache.content_key(cache.twin_key(scene), f"tiles {tile_cells} margin {margin_cells}")
    folder = scene.root / cache.CACHE_FOLDER / "tiles" / key
    return TiledTwin(scene.name, folder, shape, cell, Affine(cell, 0.0, xmin, 0.0, -cell, ymax),
                     plan_tiles(shape, tile_cells, margin_cells))


def tile_scene(scene: Scene, tiled: TiledTwin, tile: Tile,
               points: list[tuple[Path, str | None]] | None = None) -> Scene:
    """The scene of one tile: the same sources and settings on the tile's padded extent; ``points``
    (pieces of the point clouds, with the CRS to assume) replace the scene's point clouds when given."""
    r0, r1, c0, c1 = tile.padded
    x0, y1 = tiled.transform @ (c0, r0)
    x1, y0 = tiled.transform @ (c1, r1)
    update: dict = {"extent": Extent(xmin=x0, ymin=y0, xmax=x1, ymax=y1), "name": f"{scene.name} tile {tile.name}"}
    if points:
        pieces = [SourceFile(path=path, crs=crs) for path, crs in points]
        update["sources"] = scene.sources.model_copy(update={"pointclouds": pieces})
    return scene.model_copy(update=update)


def _point_boxes(scene: Scene, tiled: TiledTwin, tiles: list[Tile]) -> dict[str, tuple[float, float, float, float]]:
    """Per tile the box [RD New m] its point-cloud piece must cover: its padded extent and the whole
    footprints of the BGT buildings that meet it (their roof statistics take all their points)."""
    pand = scene.sources.bgt.get(BgtLayer.PAND)
    footprints = read_bgt_buildings(pand.path, assumed_crs=pand.crs).footprint if pand is not None else None
    boxes = {}
    for tile in tiles:
        box = shapely.box(*tile_scene(scene, tiled, tile).extent.bounds)
        if footprints is not None and len(footprints):
            box = shapely.union_all([box, *footprints[shapely.intersects(footprints, box)]])
        boxes[tile.name] = tuple(float(v) for v in box.bounds)
    return boxes


def _outside(context: Buildings, scene: Scene) -> Buildings:
    """The context buildings outside the scene extent (as the untiled twin has them): inside it the margin
    holds what casts shadow into the tile, and a context there would widen every tile's casters."""
    if not len(context):
        return context
    return context.select(~shapely.intersects(context.footprint, shapely.box(*scene.extent.bounds)))


def build_tiled(scene: Scene | str | Path, tile_size: float, *, margin: float | None = None,
                use_cache: bool = True, progress: Progress | None = None) -> TiledTwin:
    """Build every tile of ``scene`` not yet on disk (all with ``use_cache=False``), one at a time."""
    if not isinstance(scene, Scene):
        scene = Scene.load(scene)
    tiled = tiled_twin(scene, tile_size, margin)
    progress = progress or _silent
    rules = scene.load_rules()
    total = len(tiled.tiles)
    parsed: dict = {}  # the vector sources, parsed once for all tiles (small next to the rasters)
    for partial in tiled.folder.glob(".*.partial"):  # left by an interrupted build
        shutil.rmtree(partial, ignore_errors=True)
    todo = [tile for tile in tiled.tiles if not (use_cache and tiled.path(tile).is_dir())]
    points = tiled.folder / "points"
    pieces = {}
    if todo and scene.sources.pointclouds:
        pieces = split_pointclouds(scene.sources.pointclouds, _point_boxes(scene, tiled, todo), points,
                                   progress=lambda done, all_: progress("splitting point clouds", done, all_))
    progress("tiles", 0, total)
    for done, tile in enumerate(tiled.tiles, start=1):
        if tile in todo:
            twin = _build(tile_scene(scene, tiled, tile, pieces.get(tile.name)), rules, _silent, parsed)
            # the tile's terrain names the scene's sources, not the temporary piece of them it was built from
            write_twin_folder(replace(twin, context=_outside(twin.context, scene), terrain=scene.terrain_used),
                              tiled.path(tile))
        progress("tiles", done, total)
    shutil.rmtree(points, ignore_errors=True)
    for old in tiled.folder.parent.iterdir():  # tiles of older inputs or other tile sizes, as cache.store does
        if old != tiled.folder:
            shutil.rmtree(old, ignore_errors=True)
    return tiled
