"""Heat & shade of a tiled twin: one Dask task per tile, stitched into one COG per output.

Each task loads its tile's twin (the tile plus its margin, with its context buildings), runs the
ordinary heat analysis on it and keeps the tile's own cells, so shadows and sky crossing a tile edge
come from the margin as in an untiled run. The client writes each tile's cells into the outputs as
it arrives (memory: one tile) and adds up, per metric, the sum and count of the cells each metric
averages; the metrics are those sums over the stitched rasters. ``scheduler=None`` starts a local
cluster; an address uses a running one whose workers see the scene folder (the tiles are read there).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from dask.distributed import as_completed

from stadstwin.analyses import heat_inputs as inputs
from stadstwin.analyses.heat_stress import HeatGrids, heat_stress, metric_arrays, metric_masks
from stadstwin.batch.runner import PROCESSES_BY_DEFAULT, cluster_client
from stadstwin.build.tiled import Tile, TiledTwin
from stadstwin.io.geotiff import StitchedCog
from stadstwin.rules import Rules

#: ``progress(step, done, total)`` after every tile.
Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class TileHeat:
    """The heat rasters of one tile's own cells and, per metric, (sum, count) of the cells it averages."""

    tile: Tile
    rasters: dict[str, np.ndarray]
    sums: dict[str, tuple[float, int]]
    day: str
    terrain: str


@dataclass(frozen=True)
class TiledHeat:
    """Metrics of the stitched rasters, the COG per output and the day analysed."""

    metrics: dict[str, float]
    paths: dict[str, Path]
    day: str
    terrain: str


def heat_tile(tiled: TiledTwin, tile: Tile, rules: Rules, settings: dict[str, Any]) -> TileHeat:
    """Run the heat analysis on one tile's twin and keep the tile's core cells."""
    twin = tiled.load(tile)
    result = heat_stress(twin, rules, dict(settings))
    core = tile.core_in_padded
    rasters = {name: raster.array[core] for name, raster in result.rasters.items()}
    codes = inputs.surface_codes(twin, inputs.building_mask(twin))[core]
    area = settings.get("area")
    area_cells = None if area is None else inputs.area_mask(twin.dtm, area)[core]
    shade = {int(name[6:8]): values for name, values in rasters.items() if name.startswith("shade_")}
    grids = HeatGrids(rasters["sun_hours"], shade, rasters["svf"], rasters["tmrt_mean_12_18"],
                      rasters["utci_max"], rasters["pet_mean_12_18"])
    sums = {}
    for suffix, mask in metric_masks(codes, area_cells).items():
        for name, values in metric_arrays(grids).items():
            picked = values[mask]
            picked = picked[np.isfinite(picked)]
            sums[name + suffix] = (float(picked.sum()), int(picked.size))
    return TileHeat(tile, rasters, sums, result.details["day"], twin.terrain)


def run_tiled_heat(tiled: TiledTwin, rules: Rules, settings: dict[str, Any], folder: Path, *,
                   scheduler: str | None = None, workers: int = 2, processes: bool = PROCESSES_BY_DEFAULT,
                   progress: Progress | None = None) -> TiledHeat:
    """Heat of every tile on the cluster, stitched into ``folder/<output>.tif`` (COG, EPSG:28992)."""
    folder.mkdir(parents=True, exist_ok=True)
    writers: dict[str, StitchedCog] = {}
    totals: dict[str, list[float]] = {}
    day = terrain = ""
    total = len(tiled.tiles)
    if progress is not None:
        progress("heat tiles", 0, total)
    with cluster_client(scheduler, workers, processes) as client:
        rules_future, settings_future = client.scatter([rules, settings], broadcast=True)
        futures = (client.submit(heat_tile, tiled, tile, rules_future, settings_future,
                                 key=f"stadstwin-heat-{tiled.folder.name}-{tile.name}") for tile in tiled.tiles)
        for done, future in enumerate(as_completed(futures), start=1):
            part: TileHeat = future.result()
            day, terrain = part.day, part.terrain
            for name, values in part.rasters.items():
                if name not in writers:
                    writers[name] = StitchedCog(folder / f"{name}.tif", tiled.shape, tiled.transform)
                writers[name].write(values, part.tile.core[0], part.tile.core[2])
            for key, (value, count) in part.sums.items():
                entry = totals.setdefault(key, [0.0, 0])
                entry[0] += value
                entry[1] += count
            if progress is not None:
                progress("heat tiles", done, total)
    paths = {name: writer.close() for name, writer in writers.items()}
    metrics = {key: value / count for key, (value, count) in totals.items() if count}
    return TiledHeat(metrics, paths, day, terrain)
