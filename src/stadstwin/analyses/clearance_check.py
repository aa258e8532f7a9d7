"""Checks 1 and 2: hard clashes and clearance violations between pairs of cables and pipes.

Candidates come from the capsule query (``stadstwin.clash.clearance_pairs``) at the largest
required clearance plus the largest depth uncertainty of a pair, so nothing that could break a rule
at some height is missed; each candidate is then judged against its own rule.

- **Parallel or crossing**: the acute plan-view angle between the two axes; below
  ``parallel_below`` degrees (default 30°) the pair runs parallel and the parallel clearance of the
  rule table applies, otherwise the crossing clearance. A segment without plan length (a vertical
  riser) counts as crossing.
- **Not compared**: segments of one asset (one polyline, or the lines of one feature); a cable and its own container
  (anywhere along them once the cable lies in it somewhere: ``NetworkTable.nested``), or two segments in the
  same container (``NetworkTable.container``); and *joined* assets: two assets of one network (same
  utility and owner) where an end point of one lies within both radii + ``JOINT_GAP`` of the other's
  axis (a house connection on its main, a branch on a through main; standard depths refer to the top
  of each, so their axes differ by the difference of the radii) — every segment pair of a joined
  asset pair is skipped.
- **Hard clash** (required 0 m) and **clearance** are judged separately; a clearance finding is kept
  only where it says more than the hard-clash finding of the same segment pair (e.g. certainly too
  close but only possibly overlapping), so one pair is not counted twice for the same evidence.
- **Standard-depth only**: the distance range is computed a second time with standard and profile
  depths taken as exact (``certainty.delivered_uncertainty``); a finding that disappears then is
  marked ``standard_only``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from stadstwin.analyses.certainty import (
    CERTAIN,
    POSSIBLE,
    delivered_uncertainty,
    pair_distance_range,
    severity,
    standard_depth_only,
)
from stadstwin.analyses.findings import empty_table, finding_table
from stadstwin.clash import clearance_pairs
from stadstwin.engines.capsule_distance import capsule_closest_pairs
from stadstwin.model.networks import NetworkTable
from stadstwin.model.utilities import Utility
from stadstwin.rules import Rules

PARALLEL_BELOW_DEG = 30.0
JOINT_GAP = 0.05  # m: an asset end this far beyond touching another asset's surface is still joined to it


def _rank(levels: np.ndarray) -> np.ndarray:
    """0 for no finding, 1 possible, 2 certain."""
    return (levels == POSSIBLE).astype(np.int8) + 2 * (levels == CERTAIN).astype(np.int8)


def plan_angle(networks: NetworkTable, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    """Acute plan-view angle [deg] between the axes of segments i and j; 90 where one has no plan length."""
    d = (networks.p1 - networks.p0)[:, :2]
    length = np.linalg.norm(d, axis=1)
    dot = np.abs((d[i] * d[j]).sum(axis=1))
    norm = length[i] * length[j]
    cosine = np.where(norm > 0, dot / np.where(norm > 0, norm, 1.0), 0.0)
    return np.degrees(np.arccos(np.clip(cosine, 0.0, 1.0)))


def asset_ends(networks: NetworkTable) -> tuple[np.ndarray, np.ndarray]:
    """(first, last): whether each row is the first / last segment of its asset."""
    asset = networks.asset
    first = np.r_[True, asset[1:] != asset[:-1]] if len(asset) else np.zeros(0, bool)
    last = np.r_[asset[1:] != asset[:-1], True] if len(asset) else np.zeros(0, bool)
    return first, last


def at_asset_end(networks: NetworkTable, rows: np.ndarray, param: np.ndarray) -> np.ndarray:
    """Whether the point at ``param`` (0–1) along each row is an end point of its asset."""
    first, last = asset_ends(networks)
    return ((param == 0.0) & first[rows]) | ((param == 1.0) & last[rows])


def _point_segment_distance(points: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """3D distance [m] of points (K, 3) to segments a–b (K, 3 each)."""
    d = b - a
    dd = (d * d).sum(axis=1)
    t = np.clip(np.where(dd > 0, ((points - a) * d).sum(axis=1) / np.where(dd > 0, dd, 1.0), 0.0), 0.0, 1.0)
    return np.linalg.norm(a + t[:, None] * d - points, axis=1)


def _end_touches(networks: NetworkTable, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    """Whether an asset end point on segment i lies within the joint reach of segment j's axis."""
    first, last = asset_ends(networks)
    reach = networks.radius[i] + networks.radius[j] + JOINT_GAP
    touches = np.zeros(len(i), dtype=bool)
    for is_end, point in ((first[i], networks.p0[i]), (last[i], networks.p1[i])):
        touches |= is_end & (_point_segment_distance(point, networks.p0[j], networks.p1[j]) <= reach)
    return touches


def compared(networks: NetworkTable, pairs: np.ndarray) -> np.ndarray:
    """Which candidate pairs are compared at all (see the module docstring for what is skipped)."""
    i, j = pairs[:, 0], pairs[:, 1]
    asset = networks.asset
    container, fid = networks.container, networks.feature_id
    in_container = ((container[i] != "") & ((container[i] == container[j]) | (container[i] == fid[j]))) | (
        (container[j] != "") & (container[j] == fid[i]))
    same_network = (networks.utility[i] == networks.utility[j]) & (networks.owner[i] == networks.owner[j])
    one = networks.one_asset(i, j)
    joint = same_network & ~one
    joint[joint] = _end_touches(networks, i[joint], j[joint]) | _end_touches(networks, j[joint], i[joint])
    lo, hi = np.minimum(asset[i], asset[j]), np.maximum(asset[i], asset[j])
    key = lo * (int(asset.max(initial=0)) + 1) + hi
    joined = np.isin(key, key[joint])
    return ~one & ~in_container & ~joined & ~networks.nested(i, j)


def required_clearance(networks: NetworkTable, rules: Rules, i: np.ndarray, j: np.ndarray,
                       parallel_below: float = PARALLEL_BELOW_DEG) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(required clearance [m], is parallel, plan angle [deg]) of segment pairs i, j."""
    parallel, crossing = rules.clearance_matrices()
    angle = plan_angle(networks, i, j)
    is_parallel = angle < parallel_below
    ui, uj = networks.utility[i], networks.utility[j]
    return np.where(is_parallel, parallel[ui, uj], crossing[ui, uj]), is_parallel, angle


def largest_reach(networks: NetworkTable, rules: Rules) -> float:
    """Clearance [m] for the candidate query: the largest rule among the kinds present plus the
    largest depth uncertainty of a pair."""
    if not len(networks):
        return 0.0
    parallel, crossing = rules.clearance_matrices()
    kinds = np.unique(networks.utility)
    rule = max(parallel[np.ix_(kinds, kinds)].max(), crossing[np.ix_(kinds, kinds)].max())
    u = float(networks.depth_uncertainty.max())
    return float(rule) + 2.0 * u + 1e-6


def candidate_pairs(networks: NetworkTable, rules: Rules, subject: np.ndarray | None = None) -> np.ndarray:
    """Segment pairs (K, 2) that could break a clearance rule at some height; with ``subject``
    (bool per row) only pairs with at least one subject segment."""
    pairs, _ = clearance_pairs(networks.p0, networks.p1, networks.radius, largest_reach(networks, rules),
                               networks.asset)
    if subject is not None:
        pairs = pairs[subject[pairs[:, 0]] | subject[pairs[:, 1]]]
    return pairs


def judge_pairs(networks: NetworkTable, rules: Rules, pairs: np.ndarray,
                parallel_below: float = PARALLEL_BELOW_DEG) -> pd.DataFrame:
    """Hard-clash and clearance findings (unmerged) of candidate segment pairs (K, 2)."""
    if not len(pairs):
        return empty_table()
    p0, p1, radius, u = networks.p0, networks.p1, networks.radius, networks.depth_uncertainty
    distance, s, t = capsule_closest_pairs(p0, p1, radius, pairs)
    keep = compared(networks, pairs)
    i, j = pairs[:, 0], pairs[:, 1]
    required, is_parallel, _ = required_clearance(networks, rules, i, j, parallel_below)
    keep &= distance - u[i] - u[j] < required
    # a vertical shift never brings two capsules closer than their plan-view distance
    flat0, flat1 = p0.copy(), p1.copy()
    flat0[:, 2] = 0.0
    flat1[:, 2] = 0.0
    keep[keep] = capsule_closest_pairs(flat0, flat1, radius, pairs[keep])[0] < required[keep]
    pairs, distance, s, t, required, is_parallel = (
        a[keep] for a in (pairs, distance, s, t, required, is_parallel))
    if not len(pairs):
        return empty_table()
    i, j = pairs[:, 0], pairs[:, 1]
    smallest, largest = pair_distance_range(p0, p1, radius, pairs, u)
    smallest_delivered = pair_distance_range(p0, p1, radius, pairs, delivered_uncertainty(networks))[0]
    hard = severity(largest, smallest)
    near = severity(largest - required, smallest - required)
    more = _rank(near) > _rank(hard)
    a_point = p0[i] + s[:, None] * (p1[i] - p0[i])
    b_point = p0[j] + t[:, None] * (p1[j] - p0[j])
    combos, which = np.unique(np.column_stack([networks.utility[i], networks.utility[j], is_parallel]),
                              axis=0, return_inverse=True)
    rules_text = np.array([
        f"{rules.utility(Utility(int(a))).clearance_class}-{rules.utility(Utility(int(b))).clearance_class} "
        f"{'parallel' if par else 'crossing'} clearance ≥ {req:.2f} m"
        for (a, b, par), req in zip(combos, required[np.unique(which.ravel(), return_index=True)[1]])
    ], dtype=object)[which.ravel()]
    tables = []
    for check, rows, need, rule in (
        ("hard_clash", hard != "", np.zeros(len(pairs)), np.full(len(pairs), "surfaces overlap", dtype=object)),
        ("clearance", more, required, rules_text),
    ):
        if not rows.any():
            continue
        tables.append(finding_table(
            check=check, rule=rule[rows], required=need[rows], seg=i[rows], other_seg=j[rows],
            other_kind=np.array([Utility(int(k)).key for k in networks.utility[j[rows]]], dtype=object),
            margin=(distance - need)[rows], best=(largest - need)[rows], worst=(smallest - need)[rows],
            standard_only=standard_depth_only(smallest - need, smallest_delivered - need)[rows],
            x=a_point[rows, 0], y=a_point[rows, 1], z=a_point[rows, 2],
            ox=b_point[rows, 0], oy=b_point[rows, 1], oz=b_point[rows, 2],
        ))
    return pd.concat(tables, ignore_index=True) if tables else empty_table()


def pair_findings(networks: NetworkTable, rules: Rules, subject: np.ndarray | None = None,
                  parallel_below: float = PARALLEL_BELOW_DEG) -> pd.DataFrame:
    """Hard-clash and clearance findings (unmerged) of a network table."""
    return judge_pairs(networks, rules, candidate_pairs(networks, rules, subject), parallel_below)
