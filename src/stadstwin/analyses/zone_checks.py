"""Checks 5–7: tree root zones, building footprints and space reservations.

- **Trees** (``rules.trees``): an asset must keep ``trunk_clearance`` horizontally from the trunk
  centre (surface to trunk centre; certain: plan geometry is taken as exact), and within the crown
  radius + ``crown_margin`` its top must lie below ``root_depth`` under the ground at the tree.
  Root-zone margin = max(horizontal margin, vertical margin) (either one clear is enough); the
  vertical part moves with the depth uncertainty.
- **Buildings**: no asset may run under a footprint further than ``BUILDING_TOLERANCE`` inside it
  (a house connection ends at the facade); margin = tolerance − deepest plan penetration; certain.
- **Reservations**: a prism claimed by a party other than the asset's owner must not hold any part
  of the asset (plan overlap of the capsule and vertical overlap of its band with the prism);
  margin = vertical separation (negative = overlap), shifted by the depth uncertainty.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import shapely

from stadstwin.analyses.findings import empty_table, finding_table
from stadstwin.model.networks import NetworkTable
from stadstwin.model.twin import Twin
from stadstwin.rules import Rules

BUILDING_TOLERANCE = 0.25  # m: plan accuracy of a facade line and of a connection's end


def _rows(networks: NetworkTable, subject: np.ndarray | None) -> np.ndarray:
    return np.flatnonzero(subject) if subject is not None else np.arange(len(networks))


def _lines(networks: NetworkTable, rows: np.ndarray) -> np.ndarray:
    """Plan LineStrings of the rows."""
    coords = np.stack([networks.p0[rows, :2], networks.p1[rows, :2]], axis=1)
    return shapely.linestrings(coords)


def _point_on(networks: NetworkTable, rows: np.ndarray, s: np.ndarray) -> np.ndarray:
    return networks.p0[rows] + s[:, None] * (networks.p1[rows] - networks.p0[rows])


def tree_findings(twin: Twin, rules: Rules, subject: np.ndarray | None = None) -> pd.DataFrame:
    """Trunk-clearance and root-zone findings (unmerged)."""
    networks, trees = twin.networks, twin.trees
    rows = _rows(networks, subject)
    if not len(rows) or not len(trees):
        return empty_table()
    trunk = rules.trees.trunk_clearance.value
    zone = 0.5 * trees.crown_diameter + rules.trees.crown_margin.value
    reach = max(trunk, float(zone.max())) + float(networks.radius[rows].max())
    tree_index = shapely.STRtree(shapely.points(trees.x, trees.y))
    seg_k, tree_k = tree_index.query(_lines(networks, rows), predicate="dwithin", distance=reach)
    seg = rows[seg_k]
    a, d = networks.p0[seg, :2], (networks.p1 - networks.p0)[seg, :2]
    c = np.column_stack([trees.x[tree_k], trees.y[tree_k]])
    dd = (d * d).sum(axis=1)
    s = np.clip(np.where(dd > 0, ((c - a) * d).sum(axis=1) / np.where(dd > 0, dd, 1.0), 0.0), 0.0, 1.0)
    r = networks.radius[seg]
    horizontal = np.linalg.norm(a + s[:, None] * d - c, axis=1) - r
    trunk_margin = horizontal - trunk
    zone_margin = horizontal - zone[tree_k]
    # the part of the axis within the zone (plan distance <= zone + r): s in [lo, hi]
    reach_sq = (zone[tree_k] + r) ** 2
    off = ((a - c) ** 2).sum(axis=1) - reach_sq
    half = ((a - c) * d).sum(axis=1)
    root = np.sqrt(np.maximum(half ** 2 - dd * off, 0.0))
    lo = np.clip(np.where(dd > 0, (-half - root) / np.where(dd > 0, dd, 1.0), 0.0), 0.0, 1.0)
    hi = np.clip(np.where(dd > 0, (-half + root) / np.where(dd > 0, dd, 1.0), 1.0), 0.0, 1.0)
    z0, z1 = networks.p0[seg, 2], networks.p1[seg, 2]
    top = np.maximum(z0 + lo * (z1 - z0), z0 + hi * (z1 - z0)) + r
    vertical = trees.ground_z[tree_k] - rules.trees.root_depth.value - top
    u = networks.depth_uncertainty[seg]
    at_trunk = trunk_margin < 0.0
    margin = np.where(at_trunk, trunk_margin, np.maximum(zone_margin, vertical))
    best = np.where(at_trunk, trunk_margin, np.maximum(zone_margin, vertical + u))
    worst = np.where(at_trunk, trunk_margin, np.maximum(zone_margin, vertical - u))
    rule = np.where(at_trunk, f"trunk clearance ≥ {trunk:.2f} m",
                    f"root zone: crown radius + {rules.trees.crown_margin.value:.2f} m, "
                    f"top below {rules.trees.root_depth.value:.2f} m").astype(object)
    keep = worst < 0.0
    point = _point_on(networks, seg, s)
    return finding_table(
        check="tree_zone", rule=rule[keep], required=np.where(at_trunk, trunk, zone[tree_k])[keep], seg=seg[keep],
        other_kind="tree", other_id=trees.source_id[tree_k][keep].astype(object), margin=margin[keep],
        best=best[keep], worst=worst[keep], x=point[keep, 0], y=point[keep, 1], z=point[keep, 2],
        ox=trees.x[tree_k][keep], oy=trees.y[tree_k][keep], oz=trees.ground_z[tree_k][keep],
    )


def building_findings(twin: Twin, rules: Rules, subject: np.ndarray | None = None,
                      tolerance: float = BUILDING_TOLERANCE) -> pd.DataFrame:
    """Findings (unmerged) of assets under building footprints deeper than ``tolerance`` [m]."""
    networks, buildings = twin.networks, twin.buildings
    rows = _rows(networks, subject)
    if not len(rows) or not len(buildings):
        return empty_table()
    lines = _lines(networks, rows)
    inner = shapely.buffer(buildings.footprint, -tolerance)
    seg_k, b_k = shapely.STRtree(inner).query(lines, predicate="intersects")
    found = []
    for k, b in zip(seg_k, b_k):
        seg = rows[k]
        footprint = buildings.footprint[b]
        inside = shapely.intersection(lines[k], footprint)
        points = shapely.get_coordinates(shapely.segmentize(inside, 0.05))
        depth = shapely.distance(shapely.points(points), footprint.boundary)
        deepest = int(np.argmax(depth))
        x, y = points[deepest]
        s = shapely.line_locate_point(lines[k], shapely.Point(x, y), normalized=True)
        z = networks.p0[seg, 2] + s * (networks.p1[seg, 2] - networks.p0[seg, 2])
        edge = shapely.get_coordinates(shapely.shortest_line(shapely.Point(x, y), footprint.boundary))[1]
        found.append((seg, buildings.source_id[b], tolerance - depth[deepest], x, y, z, edge[0], edge[1],
                      buildings.ground_z[b]))
    if not found:
        return empty_table()
    seg, bid, margin, x, y, z, ox, oy, oz = (np.array(c) for c in zip(*found))
    return finding_table(
        check="building", rule=f"not under a building footprint (tolerance {tolerance:.2f} m)",
        required=tolerance, seg=seg.astype(np.int64), other_kind="building", other_id=bid.astype(object),
        margin=margin, best=margin, worst=margin, x=x, y=y, z=z, ox=ox, oy=oy, oz=oz,
    )


def reservation_findings(twin: Twin, rules: Rules, subject: np.ndarray | None = None) -> pd.DataFrame:
    """Findings (unmerged) of assets inside prisms reserved by a party other than their owner."""
    networks, claims = twin.networks, twin.reservations
    rows = _rows(networks, subject)
    if not len(rows) or not len(claims):
        return empty_table()
    lines = _lines(networks, rows)
    reach = float(networks.radius[rows].max())
    seg_k, c_k = shapely.STRtree(claims.footprint).query(lines, predicate="dwithin", distance=reach)
    owners = networks.owner_name
    found = []
    for k, c in zip(seg_k, c_k):
        seg = rows[k]
        if str(owners[seg]).strip().lower() == str(claims.party[c]).strip().lower():
            continue
        r = float(networks.radius[seg])
        part = shapely.intersection(lines[k], shapely.buffer(claims.footprint[c], r))
        if part.is_empty:
            continue
        s = shapely.line_locate_point(lines[k], shapely.points(shapely.get_coordinates(part)), normalized=True)
        if shapely.length(lines[k]) == 0:
            s = np.zeros(1)
        z = networks.p0[seg, 2] + np.array([s.min(), s.max()]) * (networks.p1[seg, 2] - networks.p0[seg, 2])
        above = claims.z_bottom[c] - (z.max() + r)  # > 0: the asset lies above the prism
        below = (z.min() - r) - claims.z_top[c]  # > 0: the asset lies below it
        u = float(networks.depth_uncertainty[seg])
        # separation after raising the asset by a shift: max(above − shift, below + shift), convex
        shifts = np.array([-u, u, np.clip((above - below) / 2.0, -u, u)])
        margin, best = max(above, below), max(above, below) + u
        worst = float(np.maximum(above - shifts, below + shifts).min())
        if worst >= 0.0:
            continue
        at = float(s[np.argmin(np.abs(s - s.mean()))])
        point = networks.p0[seg] + at * (networks.p1[seg] - networks.p0[seg])
        centroid = claims.footprint[c].representative_point()
        found.append((seg, claims.reservation_id[c], claims.party[c], margin, best, worst, *point,
                      centroid.x, centroid.y, 0.5 * (claims.z_bottom[c] + claims.z_top[c])))
    if not found:
        return empty_table()
    seg, rid, party, margin, best, worst, x, y, z, ox, oy, oz = (np.array(col) for col in zip(*found))
    return finding_table(
        check="reservation", rule=np.array([f"space reserved by {p}" for p in party], dtype=object), required=0.0,
        seg=seg.astype(np.int64), other_kind="reservation", other_id=rid.astype(object),
        other_owner=party.astype(object), margin=margin, best=best, worst=worst,
        x=x, y=y, z=z, ox=ox, oy=oy, oz=oz,
    )
