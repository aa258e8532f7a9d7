"""Check 4: assets that cross in plan at less than the minimum crossing angle.

Two axes cross where their plan projections meet at a point inside both assets (not at an end of
either asset, so a connection on its main is no crossing) at an acute angle above
``_STACKED_DEG`` (axes at a smaller angle run stacked or side by side: the clearance check covers
them). Two assets that share their plan axis over ``SHARED_AXIS_LENGTH`` or more (axes within
``SHARED_AXIS_WIDTH``, summed over their segments) run along each other, stacked or in one trench:
where one peels off, it meets the other at an angle but does not cross it (the clearance check
covers such pairs too). A cable never crosses its own container (``NetworkTable.nested``). The depth
at which they cross does not matter: the rule is about the plan. Plan geometry is taken as exact, so
these findings are certain; margins are in degrees.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from stadstwin.analyses.clearance_check import at_asset_end, plan_angle
from stadstwin.analyses.findings import empty_table, finding_table
from stadstwin.clash import clearance_pairs
from stadstwin.engines.capsule_distance import capsule_closest_pairs
from stadstwin.model.networks import NetworkTable
from stadstwin.model.utilities import Utility
from stadstwin.rules import Rules

_STACKED_DEG = 1e-3
_TOUCH = 1e-9  # m: plan axes this close meet
SHARED_AXIS_WIDTH = 0.05  # m: plan axes this close run along the same line
SHARED_AXIS_LENGTH = 1.0  # m: sharing the axis over this length makes two assets parallel


def shared_axis_length(p0: np.ndarray, p1: np.ndarray, i: np.ndarray, j: np.ndarray,
                       width: float = SHARED_AXIS_WIDTH) -> np.ndarray:
    """(K,) plan length [m] of segment j that lies within ``width`` of segment i (both ways: the
    shorter of the two), for segments (N, 3) ``p0``–``p1`` and pairs ``i``, ``j``."""
    return np.minimum(_length_near(p0, p1, i, j, width), _length_near(p0, p1, j, i, width))


def _length_near(p0: np.ndarray, p1: np.ndarray, i: np.ndarray, j: np.ndarray, width: float) -> np.ndarray:
    a, b = p0[i, :2], p1[i, :2]
    c, d = p0[j, :2], p1[j, :2]
    axis = b - a
    length_i = np.maximum(np.linalg.norm(axis, axis=1), 1e-12)
    along, across = axis / length_i[:, None], np.column_stack([-axis[:, 1], axis[:, 0]]) / length_i[:, None]
    # segment j as u ∈ [0, 1]: signed offset from i's axis and position along it, both linear in u
    off0, off1 = np.einsum("ij,ij->i", c - a, across), np.einsum("ij,ij->i", d - a, across)
    pos0, pos1 = np.einsum("ij,ij->i", c - a, along), np.einsum("ij,ij->i", d - a, along)
    lo, hi = np.zeros(len(i)), np.ones(len(i))
    for v0, v1, low, high in ((off0, off1, -width, width), (pos0, pos1, 0.0, length_i)):
        dv = v1 - v0
        flat = np.abs(dv) < 1e-12
        with np.errstate(divide="ignore", invalid="ignore"):
            u_a, u_b = (low - v0) / dv, (high - v0) / dv
        inside = (v0 >= low) & (v0 <= high)
        lo = np.where(flat, np.where(inside, lo, 1.0), np.maximum(lo, np.minimum(u_a, u_b)))
        hi = np.where(flat, np.where(inside, hi, 0.0), np.minimum(hi, np.maximum(u_a, u_b)))
    return np.maximum(hi - lo, 0.0) * np.linalg.norm(d - c, axis=1)


def plan_crossings(networks: NetworkTable, pairs: np.ndarray | None = None,
                   subject: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(pairs (K, 2), s, t, angle [deg]) of segment pairs whose plan axes cross inside both assets;
    candidates from ``pairs`` or, when None, from a plan-view query of the whole table."""
    flat0 = networks.p0.copy()
    flat1 = networks.p1.copy()
    flat0[:, 2] = 0.0
    flat1[:, 2] = 0.0
    if pairs is None:
        pairs, _ = clearance_pairs(flat0, flat1, np.zeros(len(networks)), 2 * _TOUCH, networks.asset)
    if subject is not None:
        pairs = pairs[subject[pairs[:, 0]] | subject[pairs[:, 1]]]
    pairs = pairs[~networks.one_asset(pairs[:, 0], pairs[:, 1]) & ~networks.nested(pairs[:, 0], pairs[:, 1])]
    distance, s, t = capsule_closest_pairs(flat0, flat1, np.zeros(len(networks)), pairs)
    i, j = pairs[:, 0], pairs[:, 1]
    angle = plan_angle(networks, i, j)
    cross = (distance <= _TOUCH) & (angle > _STACKED_DEG) & ~at_asset_end(networks, i, s) & ~at_asset_end(networks, j, t)
    cross[cross] = ~runs_along(networks, flat0, flat1, i[cross], j[cross])
    return pairs[cross], s[cross], t[cross], angle[cross]


def runs_along(networks: NetworkTable, flat0: np.ndarray, flat1: np.ndarray, i: np.ndarray,
               j: np.ndarray) -> np.ndarray:
    """(K,) whether the assets of segments ``i`` and ``j`` share their plan axis over
    ``SHARED_AXIS_LENGTH`` or more, summed over all their segments (a cable digitised along another
    one and peeling off meets it at the split at an angle: that is no crossing)."""
    near, _ = clearance_pairs(flat0, flat1, np.zeros(len(networks)), SHARED_AXIS_WIDTH, networks.asset)
    if len(i) == 0 or len(near) == 0:
        return np.zeros(len(i), dtype=bool)
    a, b = networks.asset[near[:, 0]], networks.asset[near[:, 1]]
    length = shared_axis_length(flat0, flat1, near[:, 0], near[:, 1])
    key = np.minimum(a, b) * (networks.asset.max() + 1) + np.maximum(a, b)
    keys, where = np.unique(key, return_inverse=True)
    shared = np.bincount(where, weights=length, minlength=len(keys))
    ai, aj = networks.asset[i], networks.asset[j]
    wanted = np.minimum(ai, aj) * (networks.asset.max() + 1) + np.maximum(ai, aj)
    found = np.minimum(np.searchsorted(keys, wanted), len(keys) - 1)
    return (keys[found] == wanted) & (shared[found] >= SHARED_AXIS_LENGTH)


def crossing_findings(networks: NetworkTable, rules: Rules, subject: np.ndarray | None = None,
                      pairs: np.ndarray | None = None) -> pd.DataFrame:
    """Crossing-angle findings (unmerged); ``subject`` and ``pairs`` as in ``plan_crossings``."""
    minimum = rules.clearances.min_crossing_angle.value
    pairs, s, t, angle = plan_crossings(networks, pairs, subject)
    low = angle < minimum
    if not low.any():
        return empty_table()
    pairs, s, t, angle = pairs[low], s[low], t[low], angle[low]
    i, j = pairs[:, 0], pairs[:, 1]
    p0, p1 = networks.p0, networks.p1
    a = p0[i] + s[:, None] * (p1[i] - p0[i])
    b = p0[j] + t[:, None] * (p1[j] - p0[j])
    margin = angle - minimum
    return finding_table(
        check="crossing_angle", rule=f"crossing angle ≥ {minimum:g}°", required=minimum, seg=i, other_seg=j,
        other_kind=np.array([Utility(int(k)).key for k in networks.utility[j]], dtype=object),
        margin=margin, best=margin, worst=margin, x=a[:, 0], y=a[:, 1], z=a[:, 2], ox=b[:, 0], oy=b[:, 1], oz=b[:, 2],
    )
