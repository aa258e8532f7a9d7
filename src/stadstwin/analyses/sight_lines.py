"""Sight lines (zichtlijnen): what named viewpoints see, and whether they still see their landmarks.

1. **Surface model.** The twin's ground (gaps filled) with its LoD 1.2 blocks on top and the tree
   crowns (canopy height model, or crown discs of the tree table) over that; with
   ``transparent_trees`` the crowns are left out. Built from the twin's objects, not its point-cloud
   DSM, so a variant that adds, raises or removes a building or a tree changes the view. Each cell
   knows what forms its top: a building (BAG id), a tree (tree id) or the ground. A crown is solid
   down to the ground: the view below a crown (between its trunk and its base) is not modelled.
2. **Viewsheds.** Per viewpoint (``[sightlines]`` in the scene, :mod:`stadstwin.model.viewpoints`) the
   eye stands ``eye_height`` (1.75 m) above the ground of its cell and looks ``radius`` metres far
   (``engines.viewshed``; earth curvature and refraction optional). A route or area viewpoint looks
   from observers every ``spacing`` metres on it and sees the union of their viewsheds. Visible area = visible cells ×
   cell area [m², in plan]; the visibility map counts the viewpoints that see each cell.
3. **Sight lines.** From each viewpoint to each of its landmarks (the top of the surface at the
   landmark, plus ``height``): the first cell above the line names what blocks it. A line that first
   meets the landmark's own building or tree reaches it. A route or area sees a landmark when any of
   its observers does; otherwise its observer nearest to the landmark names the blocker.

Metrics: ``visible_area_m2`` (all viewpoints), ``visible_area_m2_<viewpoint>``, ``sight_lines`` and
``blocked_sight_lines``; findings: one ``blocked_sight_line`` per blocked line (identified by
viewpoint and landmark, so a comparison shows the lines a plan newly blocks or frees).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import shapely
from pydantic import ValidationError
from rasterio.features import rasterize
from scipy.spatial import cKDTree

from stadstwin.analyses.heat_inputs import building_dsm, canopy_height, ground
from stadstwin.analyses.result import AnalysisResult
from stadstwin.engines.viewshed import line_of_sight, viewshed
from stadstwin.errors import InputError
from stadstwin.model.raster import Raster
from stadstwin.model.toml_file import validation_problems
from stadstwin.model.twin import Twin
from stadstwin.model.viewpoints import SightlineSettings, Viewpoint, observer_shape
from stadstwin.rules import Rules

CROWN_MARGIN_M = 2.0
"""How far [m] beyond its register crown radius a canopy cell is still taken as that tree's crown."""


def parse_settings(settings: dict[str, Any]) -> SightlineSettings:
    """The sight-line settings (scene ``[sightlines]`` plus overrides); ``InputError`` naming the key."""
    try:
        return SightlineSettings.model_validate(settings)
    except ValidationError as exc:
        raise InputError(f"sightlines settings: {validation_problems(exc)}", feature="sightlines") from None


def surface_model(twin: Twin, transparent_trees: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(ground [m NAP], surface [m NAP], what forms the top of each cell): 0 ground, k > 0 building
    k − 1, k < 0 tree −k − 1 (−len(trees) − 1: a crown of the canopy model no tree of the table holds)."""
    terrain = ground(twin)
    surface = building_dsm(twin, terrain)
    top = np.zeros(terrain.shape, dtype=np.int64)
    b = twin.buildings
    ok = np.flatnonzero(np.isfinite(b.roof_z)) if len(b) else np.zeros(0, dtype=np.int64)
    if len(ok):
        order = ok[np.argsort(b.roof_z[ok])]  # as building_dsm: the highest roof wins
        labels = rasterize(((b.footprint[i], i + 1) for i in order), out_shape=terrain.shape,
                           transform=twin.dtm.transform, fill=0, dtype="int32")
        top = np.where(surface > terrain, labels, 0).astype(np.int64)
    if transparent_trees:
        return terrain, surface, top
    canopy = canopy_height(twin)
    crowns = (canopy > 0.0) & (terrain + canopy > surface)
    surface = np.where(crowns, terrain + canopy, surface)
    top[crowns] = _crown_owners(twin, crowns)
    return terrain, surface, top


def _crown_owners(twin: Twin, crowns: np.ndarray) -> np.ndarray:
    """``top`` label of each crown cell: the nearest tree of the table when the cell lies within its
    crown radius + ``CROWN_MARGIN_M`` (a measured crown is rarely the register's disc), else the
    label of a crown without a tree."""
    trees = twin.trees
    owners = np.full(int(crowns.sum()), -len(trees) - 1, dtype=np.int64)
    if not len(trees):
        return owners
    cx, cy = twin.dtm.cell_centres()
    distance, nearest = cKDTree(np.column_stack([trees.x, trees.y])).query(
        np.column_stack([cx[crowns], cy[crowns]]))
    near = distance <= trees.crown_diameter[nearest] / 2.0 + CROWN_MARGIN_M
    owners[near] = -nearest[near] - 1
    return owners


def _object(twin: Twin, label: int) -> tuple[str, str]:
    """(kind, id) of a ``top`` label: ("building", BAG id), ("tree", tree id) or ("ground", "")."""
    if label > 0:
        return "building", str(twin.buildings.source_id[label - 1])
    if label < 0:
        i = -label - 1
        return "tree", str(twin.trees.source_id[i]) if i < len(twin.trees) else "canopy"
    return "ground", ""


def _cell(twin: Twin, x: float, y: float, what: str) -> tuple[int, int]:
    """(row, col) of the cell holding point (x, y); ``InputError`` naming ``what`` outside the twin."""
    row, col = (int(np.floor(v)) for v in twin.dtm.fractional_index(x, y))
    rows, cols = twin.dtm.shape
    if not (0 <= row < rows and 0 <= col < cols):
        raise InputError(f"{what} at ({x:.1f}, {y:.1f}) lies outside the twin {twin.bounds}", feature=what)
    return row, col


def _observers(twin: Twin, vp: Viewpoint, top: np.ndarray) -> list[tuple[int, int]]:
    """(row, col) of the cells a viewpoint looks from: its point, or every ``spacing`` metres along its
    route / on a grid inside its area (cells under a building or crown left out)."""
    shape = observer_shape(vp.along, vp.within)
    if shape is None:
        row, col = _cell(twin, vp.x, vp.y, f"viewpoint {vp.name}")
        if top[row, col] > 0:
            raise InputError(f"viewpoint {vp.name} stands inside building {_object(twin, top[row, col])[1]}",
                             feature=vp.name, hint="move it onto open ground")
        return [(row, col)]
    if shape.geom_type == "LineString":
        steps = [*np.arange(0.0, shape.length, vp.spacing), shape.length]
        points = [shape.interpolate(d) for d in steps]
        xy = [(p.x, p.y) for p in points]
    else:
        x0, y0, x1, y1 = shape.bounds
        gx, gy = np.meshgrid(np.arange(x0 + vp.spacing / 2, x1, vp.spacing), np.arange(y0 + vp.spacing / 2, y1, vp.spacing))
        inside = shapely.contains_xy(shape, gx, gy)
        xy = list(zip(gx[inside], gy[inside])) or [(shape.representative_point().x, shape.representative_point().y)]
    cells = dict.fromkeys(_cell(twin, x, y, f"viewpoint {vp.name}") for x, y in xy)
    open_cells = [c for c in cells if top[c] == 0]
    if not open_cells:
        raise InputError(f"viewpoint {vp.name}: every observer of its route or area stands in a building or tree",
                         feature=vp.name, hint="draw it over open ground")
    return open_cells


def _first_blocker(surface: np.ndarray, top: np.ndarray, eye_cell: tuple[int, int], eye: float,
                   target: tuple[int, int], target_z: float, cell: float, kernel: dict[str, Any]
                   ) -> tuple[int, int] | None:
    """The first cell that blocks the line from an eye to a target, or None when the line reaches it (a
    line that first meets the target's own building or tree reaches it)."""
    if eye_cell == target:
        return None
    hit = line_of_sight(surface, eye_cell, eye, target, target_z, cell, **kernel)
    if hit is not None and top[hit] != 0 and top[hit] == top[target]:
        return None
    return hit


def _blocked_for_all(surface: np.ndarray, top: np.ndarray, observers: list[tuple[int, int]], eyes: list[float],
                     target: tuple[int, int], target_z: float, cell: float, kernel: dict[str, Any]
                     ) -> tuple[int, int] | None:
    """None when any observer sees the target (nearest first, stopping at the first that does); else the
    cell that blocks the observer nearest to it."""
    order = sorted(range(len(observers)),
                   key=lambda k: np.hypot(observers[k][0] - target[0], observers[k][1] - target[1]))
    hits = []
    for k in order:
        hits.append(_first_blocker(surface, top, observers[k], eyes[k], target, target_z, cell, kernel))
        if hits[-1] is None:
            return None
    return hits[0]


def sight_lines(twin: Twin, rules: Rules, settings: dict[str, Any]) -> AnalysisResult:
    """Viewsheds of the scene's viewpoints and their sight lines to landmarks (module doc); a scene
    without viewpoints gives a result without metrics."""
    options = parse_settings(settings)
    if not options.viewpoints:
        return AnalysisResult("sightlines", details={"viewpoints": [], "sight_lines": []},
                              settings=options.model_dump())
    terrain, surface, top = surface_model(twin, options.transparent_trees)
    cell = twin.dtm.cell_size
    cx, cy = twin.dtm.cell_centres()
    landmarks = {m.name: m for m in options.landmarks}
    count = np.zeros(terrain.shape)
    metrics: dict[str, float] = {}
    findings: list[dict[str, Any]] = []
    viewpoints, lines, criteria = [], [], []
    kernel = {"curvature": options.curvature, "refraction": options.refraction}
    for vp in options.viewpoints:
        observers = _observers(twin, vp, top)
        eyes = [float(terrain[r, c] + vp.eye_height) for r, c in observers]
        seen = np.zeros(terrain.shape, dtype=bool)
        for (row, col), eye in zip(observers, eyes):
            seen |= viewshed(surface, row, col, eye, cell, radius=options.radius, **kernel).astype(bool)
        count += seen
        area = float(seen.sum()) * cell * cell
        metrics[f"visible_area_m2_{vp.name}"] = area
        criteria.append({"metric": f"sightlines.visible_area_m2_{vp.name}", "better": "higher", "weight": 0.0,
                         "label": f"Area seen from viewpoint {vp.name} (m²)"})
        viewpoints.append({"name": vp.name, "x": vp.x, "y": vp.y, "eye_z": eyes[0], "observers": len(observers),
                           "visible_area_m2": area})
        for name in vp.targets if vp.targets is not None else list(landmarks):
            mark = landmarks[name]
            t_row, t_col = _cell(twin, mark.x, mark.y, f"landmark {name}")
            target_z = float(surface[t_row, t_col] + mark.height)
            hit = _blocked_for_all(surface, top, observers, eyes, (t_row, t_col), target_z, cell, kernel)
            line = {"viewpoint": vp.name, "landmark": name, "blocked": hit is not None,
                    "distance_m": float(np.hypot(mark.x - vp.x, mark.y - vp.y))}
            if hit is not None:
                kind, ident = _object(twin, int(top[hit]))
                bx, by = float(cx[hit]), float(cy[hit])
                line.update(blocked_by=ident, blocker_kind=kind, blocked_at=[bx, by],
                            blocked_at_m=float(np.hypot(bx - vp.x, by - vp.y)))
                what = f"{kind} {ident}".strip() if kind != "ground" else "the ground"
                findings.append({
                    "type": "Feature",
                    "geometry": {"type": "LineString", "coordinates": [[vp.x, vp.y], [mark.x, mark.y]]},
                    "properties": {"check": "blocked_sight_line", "severity": "warning",
                                   "feature_viewpoint": vp.name, "feature_landmark": name,
                                   "blocked_by": ident, "blocker_kind": kind, "blocked_at": [bx, by],
                                   "message": f"the view from {vp.name} to {name} is blocked by {what} "
                                              f"{line['blocked_at_m']:.0f} m from the viewpoint"},
                })
            lines.append(line)
    metrics["visible_area_m2"] = float(sum(v["visible_area_m2"] for v in viewpoints))
    metrics["sight_lines"] = float(len(lines))
    metrics["blocked_sight_lines"] = float(sum(line["blocked"] for line in lines))
    raster = Raster(count, twin.dtm.transform, twin.dtm.crs, nodata=None)
    details = {"viewpoints": viewpoints, "sight_lines": lines, "radius_m": options.radius,
               "transparent_trees": options.transparent_trees, "curvature": options.curvature,
               "refraction": options.refraction if options.curvature else 0.0, "criteria": criteria}
    return AnalysisResult("sightlines", metrics, findings, {"visible_count": raster}, details,
                          options.model_dump())
