"""The shortest new cable or pipe route that satisfies every underground rule.

A 3D lattice of free underground space: plan nodes every ~``step`` m (x and y steps are adjusted
so that both end points are nodes) within ``margin`` m around the two end points, times depth
levels at cover c_k = (smallest rule cover of the kind) + design tolerance + k·``level_step``
below the DTM. Edges join plan neighbours (8-connected) on one level and a node to the level
below it. An edge is *blocked* where the new pipe's capsule along it would produce a finding of the
route check — judged by the same check functions (clearance and hard clash, crossing angle, cover,
tree zones, reservations; buildings by plan intersection with the footprint shrunk by the
tolerance, which is at least as strict), with the route's design tolerance as its depth
uncertainty. Dijkstra (``scipy.sparse.csgraph``) over the free edges minimises

    cost = length · (1 + ``depth_weight`` · extra cover) + ``crossing_penalty`` · crossings
           + ``level_penalty`` · depth changes (+ the vertical distance),

where a crossing is an edge whose plan axis crosses an existing asset. Where no path exists the
error names the rule families that block: those whose relaxation alone would open a path and
those (with their features) on the shortest path when every rule is relaxed.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import shapely
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from stadstwin.analyses.clearance_check import judge_pairs
from stadstwin.analyses.cover_check import surface_at
from stadstwin.analyses.crossing_check import crossing_findings, plan_crossings
from stadstwin.analyses.route_check import DESIGN_UNCERTAINTY, LAYING_MARGIN, ROUTE_ID
from stadstwin.analyses.zone_checks import BUILDING_TOLERANCE, tree_findings
from stadstwin.engines.capsule_distance import capsule_closest_pairs
from stadstwin.errors import InputError, StadstwinError
from stadstwin.model.enums import DepthSource, Status
from stadstwin.model.networks import NetworkTable
from stadstwin.model.twin import Twin
from stadstwin.model.utilities import Utility
from stadstwin.rules import Rules

FAMILIES = ("clearance", "crossing_angle", "cover", "tree_zone", "building", "reservation")


class NoRouteError(StadstwinError):
    """No path between the end points satisfies every rule."""


@dataclass(frozen=True)
class RouteOptions:
    """Search settings: plan step, depth levels [m], penalties [m of route per unit]."""

    step: float = 0.5
    levels: int = 5
    level_step: float = 0.25
    margin: float = 15.0
    crossing_penalty: float = 5.0
    level_penalty: float = 2.0
    depth_weight: float = 0.2
    uncertainty: float = DESIGN_UNCERTAINTY


@dataclass(eq=False)
class FoundRoute:
    """A route: axis vertices (K, 3) [m, z NAP], its kind and size, and its cost breakdown."""

    coordinates: np.ndarray
    utility: Utility
    diameter: float
    cost: dict[str, float]

    def geojson(self) -> dict:
        """The route as a GeoJSON Feature (EPSG:7415, 3D LineString) with its cost breakdown."""
        return {
            "type": "Feature",
            "geometry": {"type": "LineString", "coordinates": self.coordinates.round(4).tolist()},
            "properties": {"utility": self.utility.key, "outer_diameter_m": self.diameter, **self.cost},
        }


@dataclass(eq=False)
class _Lattice:
    x: np.ndarray  # (nx,)
    y: np.ndarray  # (ny,)
    cover: np.ndarray  # (levels,)
    ground: np.ndarray  # (ny, nx)
    z: np.ndarray  # (levels, ny, nx) axis height

    @property
    def shape(self) -> tuple[int, int, int]:
        return self.z.shape  # type: ignore[return-value]

    def node(self, k, j, i):
        _, ny, nx = self.shape
        return (np.asarray(k) * ny + np.asarray(j)) * nx + np.asarray(i)

    def xyz(self, node: np.ndarray) -> np.ndarray:
        _, ny, nx = self.shape
        k, rest = np.divmod(node, ny * nx)
        j, i = np.divmod(rest, nx)
        return np.column_stack([self.x[i], self.y[j], self.z[k, j, i]])


def _axis(a: float, b: float, step: float, margin: float, lo: float, hi: float) -> np.ndarray:
    """Lattice coordinates along one axis: ``a`` and ``b`` are nodes, spacing about ``step``."""
    span = abs(b - a)
    h = span / max(1, round(span / step)) if span > 1e-9 else step
    first = -int(np.floor((a - max(lo, min(a, b) - margin)) / h + 1e-9))
    last = int(np.floor((min(hi, max(a, b) + margin) - a) / h + 1e-9))
    return a + h * np.arange(first, last + 1)


def _lattice(twin: Twin, rules: Rules, start, end, utility: Utility, radius: float, options: RouteOptions) -> _Lattice:
    xmin, ymin, xmax, ymax = twin.dtm.bounds
    inset = 0.5 * twin.dtm.cell_size
    x = _axis(start[0], end[0], options.step, options.margin, xmin + inset, xmax - inset)
    y = _axis(start[1], end[1], options.step, options.margin, ymin + inset, ymax - inset)
    gx, gy = np.meshgrid(x, y)
    ground = twin.dtm.sample(gx.ravel(), gy.ravel()).reshape(gx.shape)
    table = rules.cover_matrix()[utility]
    cover = np.nanmin(table) + options.uncertainty + LAYING_MARGIN + options.level_step * np.arange(options.levels)
    z = ground[None] - cover[:, None, None] - radius
    return _Lattice(x, y, cover, ground, z)


def _edges(lat: _Lattice) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(from node, to node, plan-only index) of every edge; the plan index numbers the plan edges
    of one level (equal for every level), −1 for vertical edges."""
    levels, ny, nx = lat.shape
    j, i = np.meshgrid(np.arange(ny), np.arange(nx), indexing="ij")
    plan_a, plan_b = [], []
    for dj, di in ((0, 1), (1, 0), (1, 1), (1, -1)):
        ok = (j + dj < ny) & (i + di >= 0) & (i + di < nx)
        plan_a.append((j[ok], i[ok]))
        plan_b.append((j[ok] + dj, i[ok] + di))
    ja = np.concatenate([p[0] for p in plan_a])
    ia = np.concatenate([p[1] for p in plan_a])
    jb = np.concatenate([p[0] for p in plan_b])
    ib = np.concatenate([p[1] for p in plan_b])
    n_plan = len(ja)
    k = np.repeat(np.arange(levels), n_plan)
    a = np.concatenate([lat.node(k, np.tile(ja, levels), np.tile(ia, levels))])
    b = np.concatenate([lat.node(k, np.tile(jb, levels), np.tile(ib, levels))])
    plan_index = np.tile(np.arange(n_plan), levels)
    kv = np.repeat(np.arange(levels - 1), ny * nx)
    jv = np.tile(j.ravel(), levels - 1)
    iv = np.tile(i.ravel(), levels - 1)
    return (np.concatenate([a, lat.node(kv, jv, iv)]), np.concatenate([b, lat.node(kv + 1, jv, iv)]),
            np.concatenate([plan_index, np.full(len(kv), -1)]))


def _edge_table(existing: NetworkTable, p0: np.ndarray, p1: np.ndarray, utility: Utility, diameter: float,
                uncertainty: float, owner: str) -> NetworkTable:
    """Existing rows followed by one row per lattice edge (all edges one asset of a new owner, so
    that no edge counts as joined to an existing asset of the same network)."""
    e = len(p0)
    owners = (*existing.owners, "\x00" + owner)  # never an existing owner: the search relies on no joint
    return NetworkTable(
        p0=np.vstack([existing.p0, p0]), p1=np.vstack([existing.p1, p1]),
        outer_diameter=np.r_[existing.outer_diameter, np.full(e, diameter)],
        utility=np.r_[existing.utility, np.full(e, int(utility), np.int8)],
        owner=np.r_[existing.owner, np.full(e, len(owners) - 1, np.int32)],
        status=np.r_[existing.status, np.full(e, int(Status.PLANNED), np.int8)],
        depth_source=np.r_[existing.depth_source, np.full(e, int(DepthSource.DESIGN), np.int8)],
        depth_uncertainty=np.r_[existing.depth_uncertainty, np.full(e, uncertainty)],
        feature_id=np.concatenate([existing.feature_id.astype(object), np.full(e, ROUTE_ID, dtype=object)]),
        asset=np.r_[existing.asset, np.full(e, int(existing.asset.max(initial=-1)) + 1, np.int64)],
        container=np.concatenate([existing.container.astype(object), np.full(e, "", dtype=object)]),
        owners=owners,
    )


def _candidates(table: NetworkTable, n_old: int, lat: _Lattice, edge_rows: np.ndarray, edge_cell: np.ndarray,
                rules: Rules, utility: Utility, radius: float, uncertainty: float) -> np.ndarray:
    """(edge row, existing row) pairs that could break a clearance rule or cross in plan."""
    if n_old == 0:
        return np.empty((0, 2), np.int64)
    parallel, crossing = rules.clearance_matrices()
    old = np.arange(n_old)
    need = np.maximum(parallel[utility, table.utility[old]], crossing[utility, table.utility[old]])
    pad = table.radius[old] + radius + need + table.depth_uncertainty[old] + uncertainty + 0.01
    lo = np.minimum(table.p0[old, :2], table.p1[old, :2]) - pad[:, None]
    hi = np.maximum(table.p0[old, :2], table.p1[old, :2]) + pad[:, None]
    _, ny, nx = lat.shape
    hx, hy = np.diff(lat.x[:2])[0] if nx > 1 else 1.0, np.diff(lat.y[:2])[0] if ny > 1 else 1.0
    i0 = np.clip(np.floor((lo[:, 0] - lat.x[0]) / hx).astype(int) - 1, 0, nx)
    i1 = np.clip(np.ceil((hi[:, 0] - lat.x[0]) / hx).astype(int) + 1, 0, nx)
    j0 = np.clip(np.floor((lo[:, 1] - lat.y[0]) / hy).astype(int) - 1, 0, ny)
    j1 = np.clip(np.ceil((hi[:, 1] - lat.y[0]) / hy).astype(int) + 1, 0, ny)
    # edges grouped by their start cell: for each existing row, every edge starting in its window
    order = np.argsort(edge_cell, kind="stable")
    starts = np.searchsorted(edge_cell[order], np.arange(ny * nx + 1))
    pairs = []
    for e in np.flatnonzero((i1 > i0) & (j1 > j0)):
        cells = (np.arange(j0[e], j1[e])[:, None] * nx + np.arange(i0[e], i1[e])[None, :]).ravel()
        counts = starts[cells + 1] - starts[cells]
        first = np.repeat(starts[cells], counts)
        offset = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
        rows = edge_rows[order[first + offset]]
        pairs.append(np.column_stack([rows, np.full(len(rows), e)]))
    return np.vstack(pairs) if pairs else np.empty((0, 2), np.int64)


def find_route(twin: Twin, rules: Rules, start: tuple[float, float], end: tuple[float, float], utility: Utility, *,
               diameter: float | None = None, owner: str = "new route", options: RouteOptions | None = None) -> FoundRoute:
    """The cheapest rule-abiding route from ``start`` to ``end`` (plan x, y [m]) for ``owner`` (its own
    reservations are open to it); raises ``NoRouteError`` naming the blocking rules when there is none."""
    options = options or RouteOptions()
    if np.hypot(end[0] - start[0], end[1] - start[1]) < options.step:
        raise InputError("the route's start and end lie closer than one lattice step", feature=ROUTE_ID,
                         hint="give two different end points")
    size = float(diameter) if diameter is not None else rules.utility(utility).outer_diameter
    radius = 0.5 * size
    for name, point in (("start", start), ("end", end)):
        if not np.isfinite(twin.dtm.sample(np.array([point[0]]), np.array([point[1]]))).all():
            raise InputError(f"the route's {name} ({point[0]:.2f}, {point[1]:.2f}) lies outside the terrain",
                             feature=ROUTE_ID, hint="choose end points inside the scene extent")
    lat = _lattice(twin, rules, start, end, utility, radius, options)
    levels, ny, nx = lat.shape
    a, b, plan_index = _edges(lat)
    pa, pb = lat.xyz(a), lat.xyz(b)
    n_old = len(twin.networks)
    table = _edge_table(twin.networks, pa, pb, utility, size, options.uncertainty, owner)
    edge_rows = n_old + np.arange(len(a))
    edge_cell = a % (ny * nx)
    blocked = {f: np.zeros(len(a), bool) for f in FAMILIES}
    blocker: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {f: [] for f in FAMILIES}

    def block(family: str, rows: np.ndarray, names: np.ndarray) -> None:
        blocked[family][rows - n_old] = True
        blocker[family].append((rows - n_old, np.asarray(names, dtype=object)))

    pairs = _candidates(table, n_old, lat, edge_rows, edge_cell, rules, utility, radius, options.uncertainty)
    crossings = np.zeros(len(a), np.int64)
    if len(pairs):
        d, _, _ = capsule_closest_pairs(table.p0, table.p1, table.radius, pairs)
        parallel, crossing = rules.clearance_matrices()
        u = table.depth_uncertainty
        near = d - u[pairs[:, 0]] - u[pairs[:, 1]] < np.maximum(parallel, crossing)[utility, table.utility[pairs[:, 1]]]
        judged = judge_pairs(table, rules, pairs[near])
        rows = judged["seg"].to_numpy().astype(np.int64)
        block("clearance", rows, table.feature_id[judged["other_seg"].to_numpy().astype(np.int64)])
        angled = crossing_findings(table, rules, pairs=pairs)
        block("crossing_angle", angled["seg"].to_numpy().astype(np.int64),
              table.feature_id[angled["other_seg"].to_numpy().astype(np.int64)])
        crossed, _, _, _ = plan_crossings(table, pairs)
        np.add.at(crossings, crossed[:, 0] - n_old, 1)
    # cover at each node: the level's cover against the rule for the surface above it (± tolerance)
    minimum = rules.cover_matrix()[utility][surface_at(twin, *np.meshgrid(lat.x, lat.y))]
    shallow = (lat.cover[:, None, None] - options.uncertainty < minimum[None]).ravel()
    bad = np.flatnonzero(shallow[a] | shallow[b])
    block("cover", bad + n_old, np.full(len(bad), "cover below the minimum", dtype=object))
    edges_twin = replace(twin, networks=table)
    subject = np.zeros(len(table), bool)
    subject[edge_rows] = True
    trees = tree_findings(edges_twin, rules, subject)
    block("tree_zone", trees["seg"].to_numpy().astype(np.int64), trees["other_id"].to_numpy())
    _block_buildings(twin, pa, pb, plan_index, block, n_old)
    _block_reservations(twin, table, edge_rows, radius, options.uncertainty, owner, block, n_old)
    # no ground level (a gap in the DTM): no place to lay it
    void = np.flatnonzero(~np.isfinite(pa[:, 2]) | ~np.isfinite(pb[:, 2]))
    block("cover", void + n_old, np.full(len(void), "no ground level", dtype=object))

    any_block = np.logical_or.reduce([blocked[f] for f in FAMILIES])
    length = np.linalg.norm(pb - pa, axis=1)
    vertical = plan_index < 0
    extra = lat.cover[a // (ny * nx)] - lat.cover[0]
    weight = np.where(vertical, length + options.level_penalty,
                      length * (1.0 + options.depth_weight * extra)) + options.crossing_penalty * crossings
    n_nodes = levels * ny * nx
    first = lat.node(np.arange(levels), *_index(lat, start))
    last = lat.node(np.arange(levels), *_index(lat, end))

    def shortest(free: np.ndarray):
        graph = csr_matrix((weight[free], (a[free], b[free])), shape=(n_nodes, n_nodes))
        dist, pred, _ = dijkstra(graph, directed=False, indices=first, min_only=True, return_predecessors=True)
        target = last[np.argmin(dist[last])]
        return (None if not np.isfinite(dist[target]) else _path(pred, target)), graph

    path, _ = shortest(~any_block)
    if path is None:
        raise NoRouteError(_blocking_message(a, b, blocked, blocker, shortest, start, end, utility),
                           feature=ROUTE_ID, hint="widen the search area (margin), allow more depth levels or relax a rule")
    used = _edges_of(a, b, path)
    cost = {
        "length_m": float(length[used][~vertical[used]].sum()),
        "vertical_m": float(length[used][vertical[used]].sum()),
        "crossings": float(crossings[used].sum()),
        "crossing_cost": float(options.crossing_penalty * crossings[used].sum()),
        "depth_changes": float(vertical[used].sum()),
        "depth_change_cost": float(options.level_penalty * vertical[used].sum()),
        "extra_depth_cost": float((length * options.depth_weight * extra)[used][~vertical[used]].sum()),
        "total_cost": float(weight[used].sum()),
    }
    return FoundRoute(lat.xyz(np.asarray(path)), utility, size, cost)


def _edges_of(a: np.ndarray, b: np.ndarray, path: list[int]) -> np.ndarray:
    """Edge indices of the consecutive node pairs of ``path`` (edges are undirected)."""
    key = np.minimum(a, b) * (max(int(a.max()), int(b.max())) + 1) + np.maximum(a, b)
    order = np.argsort(key)
    nodes = np.asarray(path)
    lo, hi = np.minimum(nodes[:-1], nodes[1:]), np.maximum(nodes[:-1], nodes[1:])
    wanted = lo * (max(int(a.max()), int(b.max())) + 1) + hi
    return order[np.searchsorted(key[order], wanted)]


def _index(lat: _Lattice, point) -> tuple[int, int]:
    return int(np.argmin(np.abs(lat.y - point[1]))), int(np.argmin(np.abs(lat.x - point[0])))


def _path(pred: np.ndarray, target: int) -> list[int]:
    path = [int(target)]
    while pred[path[-1]] >= 0:
        path.append(int(pred[path[-1]]))
    return path[::-1]


def _block_buildings(twin: Twin, pa, pb, plan_index, block, n_old: int) -> None:
    """Block edges whose plan line enters a footprint shrunk by the building tolerance."""
    buildings = twin.buildings
    if not len(buildings):
        return
    plan_edges = np.flatnonzero(plan_index >= 0)
    n_plan = int(plan_index.max()) + 1
    lines = shapely.linestrings(np.stack([pa[:n_plan, :2], pb[:n_plan, :2]], axis=1))
    inner = shapely.buffer(buildings.footprint, -BUILDING_TOLERANCE)
    line_k, b_k = shapely.STRtree(inner).query(lines, predicate="intersects")
    hit = np.zeros(n_plan, bool)
    hit[line_k] = True
    names = {int(k): str(buildings.source_id[b]) for k, b in zip(line_k, b_k)}
    rows = plan_edges[hit[plan_index[plan_edges]]]
    block("building", rows + n_old, np.array([names[int(plan_index[r])] for r in rows], dtype=object))


def _block_reservations(twin: Twin, table: NetworkTable, edge_rows, radius: float, u: float, owner: str, block,
                        n_old: int) -> None:
    """Block edges whose capsule (whole height range ± tolerance) meets a prism claimed by another party."""
    claims = twin.reservations
    if not len(claims):
        return
    lines = shapely.linestrings(np.stack([table.p0[edge_rows, :2], table.p1[edge_rows, :2]], axis=1))
    line_k, c_k = shapely.STRtree(claims.footprint).query(lines, predicate="dwithin", distance=radius)
    rows = edge_rows[line_k]
    top = np.maximum(table.p0[rows, 2], table.p1[rows, 2]) + radius + u
    bottom = np.minimum(table.p0[rows, 2], table.p1[rows, 2]) - radius - u
    other_party = np.char.lower(np.char.strip(claims.party[c_k].astype(str))) != owner.strip().lower()
    meets = (bottom < claims.z_top[c_k]) & (top > claims.z_bottom[c_k]) & other_party
    block("reservation", rows[meets], claims.reservation_id[c_k[meets]])


def _blocking_message(a, b, blocked, blocker, shortest, start, end, utility: Utility) -> str:
    alone = []
    for family in FAMILIES:
        others = np.logical_or.reduce([blocked[f] for f in FAMILIES if f != family])
        if blocked[family].any() and shortest(~others)[0] is not None:
            alone.append(family)
    free_path, _ = shortest(np.ones(len(a), bool))
    on_path: dict[str, set[str]] = {}
    if free_path is not None:
        used = np.zeros(len(a), bool)
        used[_edges_of(a, b, free_path)] = True
        for family in FAMILIES:
            for rows, names in blocker[family]:
                hit = used[rows]
                if hit.any():
                    on_path.setdefault(family, set()).update(str(n) for n in names[hit])
    parts = [f"{family} ({', '.join(sorted(names)[:5])}{', …' if len(names) > 5 else ''})"
             for family, names in on_path.items()]
    text = (f"no route for {utility.key} from ({start[0]:.2f}, {start[1]:.2f}) to ({end[0]:.2f}, {end[1]:.2f}) "
            f"satisfies every rule: the shortest path ignoring the rules is blocked by {'; '.join(parts) or 'nothing'}")
    if alone:
        text += f"; relaxing {' or '.join(alone)} alone would open a route"
    return text
