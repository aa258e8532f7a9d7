"""Exact closest distance (and closest points) between two straight segments, and between two capsules.

A capsule is an axis segment swept by a sphere of radius r, so the surface-to-surface distance of
two capsules is the axis distance minus both radii (negative when they overlap).

The segment–segment distance minimises |(a0 + s·u) − (b0 + t·v)| over s, t in [0, 1] with
u = a1 − a0, v = b1 − b0 (Ericson, *Real-Time Collision Detection*, §5.1.9), with the degenerate
cases handled explicitly:

- zero-length segments (|u|² or |v|² not above ``_POINT_SQ``) are points: point–segment or
  point–point distance;
- parallel and collinear segments (sin² of the angle at most ``_PARALLEL_SIN_SQ``) fix s = 0,
  project onto the other segment, clamp, and project back; for parallel segments every stationary
  point is a minimiser, so the clamped pair is exact, and overlapping collinear segments give 0;
- otherwise the line–line minimiser s = ((b − a) × v)·n / |n|², n = u × v, is clamped to [0, 1],
  t follows from s and is clamped, and s is recomputed from a clamped t; this is exact for the
  convex quadratic. The cross-product form (rather than (u·v)(v·r) − (u·r)(v·v) over
  |u|²|v|² − (u·v)²) avoids cancellation for nearly parallel segments: the distance error stays
  at rounding level times the segment separation.

All vectors are formed as differences *before* any products, so large EPSG:7415 coordinates
(x ~ 1e5, y ~ 4e5 m) do not cost precision. Lengths in metres.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

_POINT_SQ = 1e-24
"""Squared length [m²] at or below which a segment is treated as a point (1e-12 m)."""

_PARALLEL_SIN_SQ = 1e-28
"""sin²(angle) at or below which two segments are treated as parallel (angle 1e-14 rad)."""


@njit(cache=True, nogil=True, inline="always")
def _clamp01(x: float) -> float:
    if x < 0.0:
        return 0.0
    if x > 1.0:
        return 1.0
    return x


@njit(cache=True, nogil=True, inline="always")
def segment_closest_xyz(
    ax: float, ay: float, az: float, ux: float, uy: float, uz: float,
    bx: float, by: float, bz: float, vx: float, vy: float, vz: float,
) -> tuple[float, float, float]:
    """Closest distance [m] between segment a + s·u and segment b + t·v, and the minimising s, t in [0, 1].

    a, b are start points, u, v the segment vectors (end − start), all in metres. Returns
    (distance, s, t); the closest points are a + s·u and b + t·v.
    """
    rx = ax - bx
    ry = ay - by
    rz = az - bz
    aa = ux * ux + uy * uy + uz * uz
    ee = vx * vx + vy * vy + vz * vz
    ff = vx * rx + vy * ry + vz * rz
    if aa <= _POINT_SQ and ee <= _POINT_SQ:
        s = 0.0
        t = 0.0
    elif aa <= _POINT_SQ:
        s = 0.0
        t = _clamp01(ff / ee)
    else:
        cc = ux * rx + uy * ry + uz * rz
        if ee <= _POINT_SQ:
            t = 0.0
            s = _clamp01(-cc / aa)
        else:
            bb = ux * vx + uy * vy + uz * vz
            nx = uy * vz - uz * vy
            ny = uz * vx - ux * vz
            nz = ux * vy - uy * vx
            nn = nx * nx + ny * ny + nz * nz
            if nn > _PARALLEL_SIN_SQ * aa * ee:
                # ((b - a) x v) . n with b - a = -r
                wx = vy * rz - vz * ry
                wy = vz * rx - vx * rz
                wz = vx * ry - vy * rx
                s = _clamp01((wx * nx + wy * ny + wz * nz) / nn)
            else:
                s = 0.0
            t = (bb * s + ff) / ee
            if t < 0.0:
                t = 0.0
                s = _clamp01(-cc / aa)
            elif t > 1.0:
                t = 1.0
                s = _clamp01((bb - cc) / aa)
    dx = rx + s * ux - t * vx
    dy = ry + s * uy - t * vy
    dz = rz + s * uz - t * vz
    return math.sqrt(dx * dx + dy * dy + dz * dz), s, t


@njit(cache=True, nogil=True, inline="always")
def segment_distance_xyz(
    ax: float, ay: float, az: float, ux: float, uy: float, uz: float,
    bx: float, by: float, bz: float, vx: float, vy: float, vz: float,
) -> float:
    """Closest distance [m] between segment a + s·u and segment b + t·v, s, t in [0, 1]."""
    return segment_closest_xyz(ax, ay, az, ux, uy, uz, bx, by, bz, vx, vy, vz)[0]


@njit(cache=True, nogil=True)
def segment_distance(a0: np.ndarray, a1: np.ndarray, b0: np.ndarray, b1: np.ndarray) -> float:
    """Closest distance [m] between segments a0–a1 and b0–b1 (each a length-3 array [m])."""
    return segment_distance_xyz(
        a0[0], a0[1], a0[2], a1[0] - a0[0], a1[1] - a0[1], a1[2] - a0[2],
        b0[0], b0[1], b0[2], b1[0] - b0[0], b1[1] - b0[1], b1[2] - b0[2],
    )


@njit(cache=True, nogil=True, inline="always")
def capsule_closest_rows(
    p0: np.ndarray, p1: np.ndarray, radius: np.ndarray, i: int, j: int
) -> tuple[float, float, float]:
    """(surface distance [m], s, t) of capsules i and j of an (N, 3) end-point table; distance < 0
    overlaps; the closest axis points are p0[i] + s·(p1[i] − p0[i]) and p0[j] + t·(p1[j] − p0[j])."""
    d, s, t = segment_closest_xyz(
        p0[i, 0], p0[i, 1], p0[i, 2],
        p1[i, 0] - p0[i, 0], p1[i, 1] - p0[i, 1], p1[i, 2] - p0[i, 2],
        p0[j, 0], p0[j, 1], p0[j, 2],
        p1[j, 0] - p0[j, 0], p1[j, 1] - p0[j, 1], p1[j, 2] - p0[j, 2],
    )
    return d - radius[i] - radius[j], s, t


@njit(cache=True, nogil=True, inline="always")
def capsule_distance_rows(p0: np.ndarray, p1: np.ndarray, radius: np.ndarray, i: int, j: int) -> float:
    """Surface-to-surface distance [m] of capsules i and j of an (N, 3) end-point table; < 0 overlaps."""
    return capsule_closest_rows(p0, p1, radius, i, j)[0]


@njit(cache=True, nogil=True)
def capsule_closest_pairs(
    p0: np.ndarray, p1: np.ndarray, radius: np.ndarray, pairs: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(distance, s, t), each (K,), of the capsule pairs (K, 2) of an (N, 3) end-point table (see
    ``capsule_closest_rows``). Serial: a pair costs tens of nanoseconds, less than starting threads
    for the short lists the analyses pass in loops."""
    k = pairs.shape[0]
    distance = np.empty(k)
    s = np.empty(k)
    t = np.empty(k)
    for m in range(k):
        distance[m], s[m], t[m] = capsule_closest_rows(p0, p1, radius, pairs[m, 0], pairs[m, 1])
    return distance, s, t
