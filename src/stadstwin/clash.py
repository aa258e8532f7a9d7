"""Underground clearance query: every pair of cable/pipe capsules closer than a clearance.

A segment is a capsule: its axis from ``p0`` to ``p1`` (EPSG:7415 metres, z the axis height in
NAP) swept by its outer radius. Pair-specific clearances (rule tables) are applied by the clash
analysis on top of this query, with ``clearance`` the largest clearance of interest.
"""

from __future__ import annotations

import numpy as np

from stadstwin.engines.clearance import clearance_pairs_kernel
from stadstwin.errors import InputError

__all__ = ["clearance_pairs"]


def clearance_pairs(
    p0: np.ndarray,
    p1: np.ndarray,
    radius: np.ndarray,
    clearance: float,
    group: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """All capsule pairs whose surface-to-surface distance is below ``clearance``.

    p0, p1     (N, 3) float64 axis end points [m]; zero-length segments (spheres) are allowed
    radius     (N,) float64 outer radius [m], ≥ 0
    clearance  scalar [m]; 0 finds the hard clashes (overlapping surfaces; touching, d = 0, is
               not below 0), a negative value the overlaps deeper than |clearance|
    group      (N,) int labels of the asset each segment belongs to, or None; two segments of one
               group that share an end point (exactly equal coordinates) are consecutive pieces of
               one cable or pipe and are not reported

    Returns ``pairs`` (K, 2) int64 with i < j, sorted lexicographically, and ``distance`` (K,)
    float64 surface-to-surface [m] (axis distance − r_i − r_j, negative for overlap).
    Raises InputError (a ValueError) for arrays of the wrong shape, non-finite values or negative radii.
    """
    p0 = _points("p0", p0)
    p1 = _points("p1", p1)
    n = p0.shape[0]
    if p1.shape[0] != n:
        raise InputError(f"p0 and p1 must have the same number of rows, got {n} and {p1.shape[0]}", feature="p1")
    radius = np.ascontiguousarray(radius, dtype=np.float64)
    if radius.shape != (n,):
        raise InputError(f"radius must have shape ({n},) to match p0, got {radius.shape}", feature="radius")
    if not np.isfinite(radius).all() or (radius < 0).any():
        raise InputError("radius must be finite and ≥ 0 m for every segment", feature="radius")
    clearance = float(clearance)
    if not np.isfinite(clearance):
        raise InputError(f"clearance must be a finite number of metres, got {clearance}", feature="clearance")
    if group is None:
        labels = np.zeros(n, np.int64)
    else:
        labels = np.asarray(group)
        if labels.shape != (n,) or not np.issubdtype(labels.dtype, np.integer):
            raise InputError(f"group must be an integer array of shape ({n},), got {labels.dtype} {labels.shape}",
                             feature="group")
        labels = np.ascontiguousarray(labels, dtype=np.int64)
    return clearance_pairs_kernel(p0, p1, radius, clearance, labels, group is not None,
                                  _cell_size(p0, p1, radius, clearance))


def _points(name: str, points: np.ndarray) -> np.ndarray:
    points = np.ascontiguousarray(points, dtype=np.float64)
    if points.ndim != 2 or points.shape[1] != 3:
        raise InputError(f"{name} must have shape (N, 3) (x, y, z in metres), got {points.shape}", feature=name)
    if not np.isfinite(points).all():
        bad = int(np.flatnonzero(~np.isfinite(points).all(axis=1))[0])
        raise InputError(f"{name} holds NaN or infinite coordinates, first at row {bad}", feature=name)
    return points


def _cell_size(p0: np.ndarray, p1: np.ndarray, radius: np.ndarray, clearance: float) -> float:
    """Grid cell side [m]: the median plan-view extent of the padded boxes (at least 1 mm), grown
    until the boxes cover at most 16 cells each on average (a few very long diagonal segments
    must not flood the grid)."""
    n = p0.shape[0]
    if n == 0:
        return 1.0
    extent = np.abs(p1[:, :2] - p0[:, :2]) + (2 * radius + max(clearance, 0.0))[:, None]
    cell = max(float(np.median(extent.max(axis=1))), 1e-3)
    while ((np.floor(extent[:, 0] / cell) + 2) * (np.floor(extent[:, 1] / cell) + 2)).sum() > 16 * n:
        cell *= 2.0
    return cell
