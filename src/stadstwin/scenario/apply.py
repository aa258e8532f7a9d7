"""Apply a plan variant's edits to a twin, giving a new twin; the base twin is never changed.

Arrays that an edit does not touch are shared between base and variant (copy-on-write): each edit
copies only the table or raster it changes.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import shapely
from rasterio.features import geometry_mask

from stadstwin.errors import SceneError
from stadstwin.model.buildings import Buildings
from stadstwin.model.enums import DepthSource, Status, Surface
from stadstwin.model.networks import NetworkTable
from stadstwin.model.operating import OperatingPoint
from stadstwin.model.raster import Raster
from stadstwin.model.reservations import Reservations
from stadstwin.model.retention import Retention
from stadstwin.model.trees import Trees
from stadstwin.model.twin import Twin
from stadstwin.model.variant import Variant
from stadstwin.rules import Rules
from stadstwin.scenario import edits as e

#: Uncertainty of the axis height of a planned asset laid at its design depth [m] (construction tolerance).
DESIGN_UNCERTAINTY = 0.10
#: Vertex spacing of a new route, so that its depth follows the terrain [m].
ROUTE_VERTEX_SPACING = 1.0
#: Default trunk height of a planted tree as a fraction of its height (UMEP default).
TRUNK_FRACTION = 0.25


def apply_variant(twin: Twin, variant: Variant, rules: Rules, *, origin: str = "") -> Twin:
    """The twin with every edit of ``variant`` applied in order; refuses invalid edits by name."""
    where = origin or f"variant {variant.id}"
    result = replace(twin, name=f"{twin.name}:{variant.id}")
    for edit in e.parse_edits(variant, origin=where):
        context = _Context(variant, edit, where)
        _check_inside(result, edit, context)
        result = _APPLY[type(edit)](result, edit, rules, context)
    return result


class _Context:
    """Names the variant file and edit in errors."""

    def __init__(self, variant: Variant, edit: e._Edit, where: str) -> None:
        self.variant = variant
        self.edit = edit
        self.where = where

    def error(self, message: str) -> SceneError:
        return SceneError(message, path=self.where, feature=f"edit {self.edit.id!r} ({self.edit.type})")

    def feature_id(self) -> str:
        return f"{self.variant.id}/{self.edit.id}"


def _geometries(edit: e._Edit) -> list[shapely.Geometry]:
    shapes = [getattr(edit, name) for name in ("footprint", "route", "area") if hasattr(edit, name)]
    geoms = [shapely.geometry.shape(s) for s in shapes]
    if isinstance(edit, e.AddTrees):
        geoms.append(shapely.MultiPoint(edit.points))
    return geoms


def _check_inside(twin: Twin, edit: e._Edit, context: _Context) -> None:
    scene = shapely.box(*twin.bounds)
    for geometry in _geometries(edit):
        if not scene.contains(geometry):
            raise context.error(
                f"geometry lies (partly) outside the scene extent {tuple(round(b) for b in twin.bounds)}"
            )


def _mask(raster: Raster, geometry: shapely.Geometry) -> np.ndarray:
    """Cells whose area touches ``geometry``."""
    return geometry_mask([geometry], out_shape=raster.shape, transform=raster.transform,
                         invert=True, all_touched=True)


def _ground_level(twin: Twin, geometry: shapely.Geometry, context: _Context) -> float:
    values = twin.dtm.values()[_mask(twin.dtm, geometry)]
    values = values[np.isfinite(values)]
    if not len(values):
        raise context.error("no terrain height under the geometry (gap in the DTM)")
    return float(np.median(values))


def _find(ids: np.ndarray, wanted: list[str], kind: str, context: _Context) -> np.ndarray:
    found = np.isin(ids, wanted)
    missing = sorted(set(wanted) - set(ids[found].tolist()))
    if missing:
        raise context.error(f"unknown {kind} id(s) {missing}")
    return found


def _set_cells(raster: Raster | None, mask: np.ndarray, values: np.ndarray | float) -> Raster | None:
    if raster is None:
        return None
    array = raster.array.copy()
    array[mask] = values if np.isscalar(values) else values[mask]
    return replace(raster, array=array)


def _add_building(twin: Twin, edit: e.AddBuilding, rules: Rules, context: _Context) -> Twin:
    footprint = shapely.geometry.shape(edit.footprint)
    ground = _ground_level(twin, footprint, context)
    added = Buildings(np.array([footprint], dtype=object), np.array([ground]),
                      np.array([ground + edit.height]), np.array([context.feature_id()]))
    buildings = _concat_buildings(twin.buildings, added)
    mask = _mask(twin.dtm, footprint)
    return replace(twin, buildings=buildings, dsm=_set_cells(twin.dsm, mask, ground + edit.height),
                   surface=_set_cells(twin.surface, mask, float(Surface.BUILDING)))


def _concat_buildings(a: Buildings, b: Buildings) -> Buildings:
    mesh = None if a.mesh is None and b.mesh is None else [*(a.mesh or [None] * len(a)), *(b.mesh or [None] * len(b))]
    keys = set(a.attributes) | set(b.attributes)
    attributes = {k: np.concatenate([a.attributes.get(k, np.full(len(a), np.nan)),
                                     b.attributes.get(k, np.full(len(b), np.nan))]) for k in keys}
    return Buildings(np.concatenate([a.footprint, b.footprint]), np.concatenate([a.ground_z, b.ground_z]),
                     np.concatenate([a.roof_z, b.roof_z]), np.concatenate([a.source_id, b.source_id]).astype(str),
                     mesh, attributes)


def _remove_buildings(twin: Twin, edit: e.RemoveBuildings, rules: Rules, context: _Context) -> Twin:
    found = _find(twin.buildings.source_id, edit.buildings, "building", context)
    mask = _mask(twin.dtm, shapely.union_all(twin.buildings.footprint[found]))
    dtm = twin.dtm.values()
    return replace(twin, buildings=twin.buildings.select(~found), dsm=_set_cells(twin.dsm, mask, dtm),
                   surface=_set_cells(twin.surface, mask, float(Surface.PAVEMENT)))


def _raise_buildings(twin: Twin, edit: e.RaiseBuildings, rules: Rules, context: _Context) -> Twin:
    found = _find(twin.buildings.source_id, edit.buildings, "building", context)
    b = twin.buildings
    roof = b.roof_z.copy()
    roof[found] = b.ground_z[found] + edit.height if edit.height is not None else roof[found] + edit.by
    if np.any(roof[found] <= b.ground_z[found]):
        raise context.error("the new roof would lie at or below ground level")
    dsm = twin.dsm
    if dsm is not None:
        array = dsm.array.copy()
        for i in np.flatnonzero(found):
            array[_mask(dsm, b.footprint[i])] = roof[i]
        dsm = replace(dsm, array=array)
    return replace(twin, buildings=replace(b, roof_z=roof), dsm=dsm)


def _crowns(raster: Raster, x: np.ndarray, y: np.ndarray, diameter: np.ndarray) -> np.ndarray:
    """Index of the tree whose crown covers each cell (-1 where none), later trees on top."""
    cx, cy = raster.cell_centres()
    owner = np.full(raster.shape, -1, dtype=np.int64)
    for i in range(len(x)):
        owner[(cx - x[i]) ** 2 + (cy - y[i]) ** 2 <= (diameter[i] / 2) ** 2] = i
    return owner


def _add_trees(twin: Twin, edit: e.AddTrees, rules: Rules, context: _Context) -> Twin:
    xy = np.asarray(edit.points, dtype=np.float64)
    n = len(xy)
    ground = twin.dtm.sample(xy[:, 0], xy[:, 1])
    if np.any(~np.isfinite(ground)):
        raise context.error("a tree stands where the DTM has no height")
    trunk = edit.trunk_height if edit.trunk_height is not None else TRUNK_FRACTION * edit.height
    added = Trees(xy[:, 0], xy[:, 1], ground, np.full(n, edit.height), np.full(n, edit.crown_diameter),
                  np.full(n, trunk), np.full(n, edit.species), np.array([f"{context.feature_id()}/{i}" for i in range(n)]))
    crown = _crowns(twin.dtm, xy[:, 0], xy[:, 1], np.full(n, edit.crown_diameter)) >= 0
    chm = twin.chm
    if chm is not None:
        chm = replace(chm, array=np.where(crown, np.fmax(chm.array, edit.height), chm.array))
    dsm = twin.dsm
    if dsm is not None:
        top = twin.dtm.values() + edit.height
        dsm = replace(dsm, array=np.where(crown, np.fmax(dsm.array, top), dsm.array))
    return replace(twin, trees=Trees.concat([twin.trees, added]), chm=chm, dsm=dsm)


def _remove_trees(twin: Twin, edit: e.RemoveTrees, rules: Rules, context: _Context) -> Twin:
    t = twin.trees
    found = _find(t.source_id, edit.trees, "tree", context)
    crown = _crowns(twin.dtm, t.x[found], t.y[found], t.crown_diameter[found]) >= 0
    if len(twin.buildings):
        crown &= ~_mask(twin.dtm, shapely.union_all(twin.buildings.footprint))
    return replace(twin, trees=t.select(~found), chm=_set_cells(twin.chm, crown, 0.0),
                   dsm=_set_cells(twin.dsm, crown, twin.dtm.values()))


def _route_table(twin: Twin, route: shapely.LineString, *, utility, diameter: float, owner: str,
                 status: Status, edit: e._Depth, rules: Rules, feature_id: str, context: _Context) -> NetworkTable:
    _check_route_clear_of_buildings(twin, route, context)
    line = shapely.segmentize(route, ROUTE_VERTEX_SPACING)
    xy = shapely.get_coordinates(line)
    ground = twin.dtm.sample(xy[:, 0], xy[:, 1])
    if np.any(~np.isfinite(ground)):
        raise context.error("the route runs where the DTM has no height")
    radius = diameter / 2
    if edit.axis_z is not None:
        z = np.full(len(xy), edit.axis_z)
    else:
        cover = edit.cover if edit.cover is not None else _default_cover(twin, xy, utility, rules)
        z = ground - cover - radius
    if np.any(z + radius > ground):
        raise context.error("the route would lie above ground level")
    vertices = np.column_stack([xy, z])
    return NetworkTable.from_polylines(
        [vertices], outer_diameter=[diameter], utility=[utility], owner=[owner], status=[status],
        depth_source=[DepthSource.DESIGN], depth_uncertainty=[DESIGN_UNCERTAINTY], feature_id=[feature_id],
    )


def _default_cover(twin: Twin, xy: np.ndarray, utility, rules: Rules) -> np.ndarray:
    table = rules.cover_matrix()[utility]
    if twin.surface is None:
        return np.full(len(xy), table[Surface.UNKNOWN])
    row, col = twin.surface.fractional_index(xy[:, 0], xy[:, 1])
    rows, cols = twin.surface.shape
    codes = twin.surface.array[np.clip(row.astype(int), 0, rows - 1), np.clip(col.astype(int), 0, cols - 1)]
    cover = table[codes.astype(int)]
    return np.where(np.isfinite(cover), cover, table[Surface.UNKNOWN])


def _check_route_clear_of_buildings(twin: Twin, route: shapely.LineString, context: _Context) -> None:
    footprints = twin.buildings.footprint
    if not len(footprints):
        return
    hits = np.flatnonzero(shapely.intersects(footprints, route))
    if len(hits):
        i = hits[0]
        where = shapely.intersection(footprints[i], route).representative_point()
        raise context.error(
            f"the route runs through building {twin.buildings.source_id[i]} at "
            f"({where.x:.1f}, {where.y:.1f}); route it around the footprint"
        )


def _add_network(twin: Twin, edit: e.AddNetwork, rules: Rules, context: _Context) -> Twin:
    kind = edit.utility_kind
    diameter = edit.outer_diameter or rules.utility(kind).outer_diameter
    feature_id = context.feature_id()
    added = _route_table(twin, shapely.geometry.shape(edit.route), utility=kind, diameter=diameter,
                         owner=edit.owner, status=edit.status_code, edit=edit, rules=rules,
                         feature_id=feature_id, context=context)
    operating = dict(twin.operating)
    if edit.watts_per_m is not None or edit.fluid_temperature is not None:
        operating[feature_id] = OperatingPoint(watts_per_m=edit.watts_per_m,
                                               fluid_temperature=edit.fluid_temperature)
    return replace(twin, networks=NetworkTable.concat([twin.networks, added]), operating=operating)


def _abandoned(networks: NetworkTable, features: list[str], context: _Context) -> NetworkTable:
    found = _find(networks.feature_id, features, "network feature", context)
    status = networks.status.copy()
    status[found] = Status.ABANDONED
    return replace(networks, status=status)


def _abandon_network(twin: Twin, edit: e.AbandonNetwork, rules: Rules, context: _Context) -> Twin:
    return replace(twin, networks=_abandoned(twin.networks, edit.features, context))


def _relocate_network(twin: Twin, edit: e.RelocateNetwork, rules: Rules, context: _Context) -> Twin:
    networks = _abandoned(twin.networks, [edit.feature], context)
    first = int(np.flatnonzero(networks.feature_id == edit.feature)[0])
    feature_id = context.feature_id()
    moved = _route_table(
        twin, shapely.geometry.shape(edit.route), utility=int(networks.utility[first]),
        diameter=float(networks.outer_diameter[first]), owner=networks.owners[networks.owner[first]],
        status=Status.PLANNED, edit=edit, rules=rules, feature_id=feature_id, context=context,
    )
    operating = dict(twin.operating)
    if edit.feature in operating:
        operating[feature_id] = operating[edit.feature]
    return replace(twin, networks=NetworkTable.concat([networks, moved]), operating=operating)


def _claim_space(twin: Twin, edit: e.ClaimSpace, rules: Rules, context: _Context) -> Twin:
    area = shapely.geometry.shape(edit.area)
    ground = _ground_level(twin, area, context)
    claim = Reservations(np.array([area], dtype=object), np.array([ground - edit.depth_bottom]),
                         np.array([ground - edit.depth_top]), np.array([context.feature_id()]),
                         np.array([edit.party]))
    return replace(twin, reservations=Reservations.concat([twin.reservations, claim]))


def _change_surface(twin: Twin, edit: e.ChangeSurface, rules: Rules, context: _Context) -> Twin:
    if twin.surface is None:
        raise context.error("the twin has no surface map (no BGT source) to change")
    mask = _mask(twin.surface, shapely.geometry.shape(edit.area))
    return replace(twin, surface=_set_cells(twin.surface, mask, float(edit.surface_code)))


def _add_retention(twin: Twin, edit: e.AddRetention, rules: Rules, context: _Context) -> Twin:
    facility = Retention(np.array([shapely.geometry.shape(edit.area)], dtype=object), np.array([edit.volume]),
                         np.array([context.feature_id()]))
    return replace(twin, retention=Retention.concat([twin.retention, facility]))


_APPLY = {
    e.AddBuilding: _add_building,
    e.RemoveBuildings: _remove_buildings,
    e.RaiseBuildings: _raise_buildings,
    e.AddTrees: _add_trees,
    e.RemoveTrees: _remove_trees,
    e.AddNetwork: _add_network,
    e.AbandonNetwork: _abandon_network,
    e.RelocateNetwork: _relocate_network,
    e.ClaimSpace: _claim_space,
    e.ChangeSurface: _change_surface,
    e.AddRetention: _add_retention,
}
