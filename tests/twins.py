"""A small hand-built twin for scenario tests: a sloped 40 m x 30 m street with one building,
one tree and one water main."""

import numpy as np
import shapely

from stadstwin.model.buildings import Buildings
from stadstwin.model.enums import DepthSource, Status, Surface
from stadstwin.model.networks import NetworkTable
from stadstwin.model.raster import Raster
from stadstwin.model.trees import Trees
from stadstwin.model.twin import Twin
from stadstwin.model.utilities import Utility

X0, Y0 = 155_000.0, 463_000.0


def square(x, y, size):
    return {"type": "Polygon", "coordinates": [[[x, y], [x + size, y], [x + size, y + size], [x, y + size], [x, y]]]}


def small_twin() -> Twin:
    grid = Raster.from_bounds(X0, Y0, X0 + 40, Y0 + 30, 1.0)
    cx, cy = grid.cell_centres()
    dtm = Raster(1.0 + 0.01 * (cx - X0), grid.transform)  # gentle slope, 1.0-1.4 m NAP
    footprint = shapely.box(X0 + 5, Y0 + 20, X0 + 15, Y0 + 28)
    buildings = Buildings(np.array([footprint], dtype=object), np.array([1.1]), np.array([10.1]), np.array(["NL.IMBAG.Pand.1"]))
    dsm = dtm.values()
    inside = shapely.contains_xy(footprint, cx, cy)
    dsm[inside] = 10.1
    surface = np.full(grid.shape, float(Surface.PAVEMENT))
    surface[cy < Y0 + 10] = Surface.CARRIAGEWAY
    trees = Trees(np.array([X0 + 30.0]), np.array([Y0 + 15.0]), np.array([1.3]), np.array([10.0]),
                  np.array([6.0]), np.array([2.5]), np.array(["Tilia"]), np.array(["boom-1"]))
    chm = np.zeros(grid.shape)
    chm[(cx - (X0 + 30)) ** 2 + (cy - (Y0 + 15)) ** 2 <= 9] = 10.0
    water = NetworkTable.from_polylines(
        [np.array([[X0, Y0 + 12, 0.0], [X0 + 40, Y0 + 12, 0.4]])], outer_diameter=[0.11], utility=[Utility.WATER],
        owner=["Vitens"], status=[Status.EXISTING], depth_source=[DepthSource.STANDARD_DEPTH],
        depth_uncertainty=[0.3], feature_id=["nl.imkl-W1"],
    )
    return Twin("t", dtm, buildings, trees, water, dsm=Raster(dsm, grid.transform),
                chm=Raster(chm, grid.transform), surface=Raster(surface, grid.transform))




def small_site(analyses, cache_folder=None, rules=None):
    """The small twin as a pipeline site (no scene) with these analyses and a result cache folder."""
    from stadstwin.rules import load_rules
    from stadstwin.scenario.pipeline import ResultCache, Site

    return Site(None, rules or load_rules(), small_twin(), "k0", ResultCache(cache_folder), analyses)


def write_scene_toml(folder, bounds, body: str, *, cell_size: float = 1.0, **top):
    """``folder/scene.toml`` (folder created) named after the folder, on ``bounds`` (xmin, ymin, xmax, ymax,
    RD New m), with top-level numbers ``top`` (e.g. ``shadow_buffer=40``) and ``body`` (sources, terrain, …)
    after the extent; returns the folder."""
    xmin, ymin, xmax, ymax = bounds
    folder.mkdir(parents=True, exist_ok=True)
    settings = "".join(f"{key} = {value}\n" for key, value in top.items())
    (folder / "scene.toml").write_text(
        f'name = "{folder.name}"\ncell_size = {cell_size}\n{settings}'
        f"[extent]\nxmin = {xmin}\nymin = {ymin}\nxmax = {xmax}\nymax = {ymax}\n{body}", encoding="utf-8")
    return folder
