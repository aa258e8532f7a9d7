"""Check 4: assets that cross in plan at less than the minimum crossing angle.

Two axes cross where their plan projections meet at a point inside both assets (not at an end of
either asset, so a connection on its main is no crossing) at an acute angle above
``_STACKED_DEG`` (axes at a smaller angle run stacked or side by side: the clearance check covers
them). The depth at which they cross does not matter: the rule is about the plan. Plan geometry is
taken as exact, so these findings are certain; margins are in degrees.
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
    pairs = pairs[~networks.one_asset(pairs[:, 0], pairs[:, 1])]
    distance, s, t = capsule_closest_pairs(flat0, flat1, np.zeros(len(networks)), pairs)
    i, j = pairs[:, 0], pairs[:, 1]
    angle = plan_angle(networks, i, j)
    cross = (distance <= _TOUCH) & (angle > _STACKED_DEG) & ~at_asset_end(networks, i, s) & ~at_asset_end(networks, j, t)
    return pairs[cross], s[cross], t[cross], angle[cross]


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
