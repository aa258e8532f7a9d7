"""Certain or possible: a finding under the depth uncertainty of the assets involved.

Every check computes a *margin* [m] (negative = the rule is broken) at the recorded heights, and
its range when each asset lies anywhere within ± its ``depth_uncertainty`` of its recorded axis
height (a rigid vertical shift of the segment): ``best`` is the margin at the most favourable
heights, ``worst`` at the least favourable. A finding is

- **certain** when the rule is broken even at the most favourable heights (best < 0);
- **possible** when it is broken at some heights within the uncertainty (worst < 0 ≤ best).

For two capsules the surface distance at a relative height shift Δ is the distance from Δ·ẑ to the
Minkowski difference of the two axis segments (a convex set) minus both radii, a convex function of
Δ: its largest value over Δ ∈ [−u_a − u_b, u_a + u_b] lies at an end of that interval and its
smallest is found by golden-section search. This is exact for rigid shifts and never looser than
the simple bound distance ± (u_a + u_b).

A possible finding is **standard-depth only** when it would not exist if the heights taken from the
network's IMKL ``standaardDieptelegging`` or the profile default depth (no depth delivered) were
exact: the grid operator's filter for findings that rest on assumed, not delivered, depths.
"""

from __future__ import annotations

import numpy as np

from stadstwin.engines.capsule_distance import capsule_closest_pairs
from stadstwin.model.enums import DepthSource
from stadstwin.model.networks import NetworkTable

CERTAIN = "certain"
POSSIBLE = "possible"

_GOLDEN = (np.sqrt(5.0) - 1.0) / 2.0
_SEARCH_STEPS = 44  # golden-section steps: the interval shrinks to 0.618^44 ≈ 7e-10 of its width


def severity(best: np.ndarray, worst: np.ndarray) -> np.ndarray:
    """``certain``/``possible`` per finding from its best and worst margin [m]; "" where no rule is
    broken at any height within the uncertainty."""
    best = np.asarray(best, dtype=np.float64)
    worst = np.asarray(worst, dtype=np.float64)
    out = np.full(best.shape, "", dtype=object)
    out[worst < 0.0] = POSSIBLE
    out[best < 0.0] = CERTAIN
    return out


def delivered_uncertainty(networks: NetworkTable) -> np.ndarray:
    """Depth uncertainty [m] per segment counting only delivered depths: 0 where the height is a
    standard depth or the profile default (``DepthSource.STANDARD_DEPTH``/``PROFILE_DEFAULT``)."""
    assumed = np.isin(networks.depth_source, (DepthSource.STANDARD_DEPTH, DepthSource.PROFILE_DEFAULT))
    return np.where(assumed, 0.0, networks.depth_uncertainty)


def standard_depth_only(worst: np.ndarray, worst_delivered: np.ndarray) -> np.ndarray:
    """Whether a rule is broken at some height (``worst`` < 0 [m]) only because of standard-depth
    uncertainty: not when standard and profile depths are taken as exact (``worst_delivered`` ≥ 0)."""
    return (np.asarray(worst) < 0.0) & (np.asarray(worst_delivered) >= 0.0)


def shifted_distance(p0: np.ndarray, p1: np.ndarray, radius: np.ndarray, pairs: np.ndarray,
                     shift: np.ndarray) -> np.ndarray:
    """Surface distance [m] of each capsule pair (K, 2) when the second one is raised by ``shift`` (K,) [m]."""
    return _Shifter(p0, p1, radius, pairs)(shift)


class _Shifter:
    """The pairs as one stacked table (first members, then second members) to raise the second ones in."""

    def __init__(self, p0: np.ndarray, p1: np.ndarray, radius: np.ndarray, pairs: np.ndarray) -> None:
        a, b = pairs[:, 0], pairs[:, 1]
        self.k = len(pairs)
        self.table0 = np.concatenate([p0[a], p0[b]])
        self.table1 = np.concatenate([p1[a], p1[b]])
        self.radii = np.concatenate([radius[a], radius[b]])
        self.index = np.column_stack([np.arange(self.k), np.arange(self.k, 2 * self.k)])
        self.z0 = self.table0[self.k:, 2].copy()
        self.z1 = self.table1[self.k:, 2].copy()

    def __call__(self, shift: np.ndarray) -> np.ndarray:
        self.table0[self.k:, 2] = self.z0 + shift
        self.table1[self.k:, 2] = self.z1 + shift
        return capsule_closest_pairs(self.table0, self.table1, self.radii, self.index)[0]


def pair_distance_range(p0: np.ndarray, p1: np.ndarray, radius: np.ndarray, pairs: np.ndarray,
                        uncertainty: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(smallest, largest) surface distance [m] of each capsule pair (K, 2) over relative height
    shifts within ± (u_a + u_b), with ``uncertainty`` (N,) the per-segment depth uncertainty [m]."""
    pairs = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
    u = uncertainty[pairs[:, 0]] + uncertainty[pairs[:, 1]]
    distance = _Shifter(p0, p1, radius, pairs)
    at_ends = np.stack([distance(-u), distance(u)])
    lo, hi = -u, u.copy()
    x1 = hi - _GOLDEN * (hi - lo)
    x2 = lo + _GOLDEN * (hi - lo)
    f1 = distance(x1)
    f2 = distance(x2)
    for _ in range(_SEARCH_STEPS):
        left = f1 < f2  # the minimum lies in [lo, x2]: drop (x2, hi], else drop [lo, x1)
        hi = np.where(left, x2, hi)
        lo = np.where(left, lo, x1)
        kept_x, kept_f = np.where(left, x1, x2), np.where(left, f1, f2)
        probe = np.where(left, hi - _GOLDEN * (hi - lo), lo + _GOLDEN * (hi - lo))
        f_probe = distance(probe)
        x1, f1 = np.where(left, probe, kept_x), np.where(left, f_probe, kept_f)
        x2, f2 = np.where(left, kept_x, probe), np.where(left, kept_f, f_probe)
    candidates = [f1, f2, distance(0.5 * (lo + hi)), distance(np.zeros_like(u)), *at_ends]
    return np.minimum.reduce(candidates), at_ends.max(axis=0)
