"""Steady temperature rise in a half-space from finite 3D line-segment heat sources.

A straight segment A→B of length L releasing q [W/m] into soil of thermal resistivity ρ [K·m/W]
raises the temperature at a point P by the point-source solution integrated along the segment,

    ΔT = q·ρ/(4π) · ∫ ds/|P − s| = q·ρ/(4π) · ln((rA + rB + L)/(rA + rB − L)),

rA, rB the distances from P to A and B. The ground surface z = g stays at the undisturbed
temperature by subtracting the same integral for the image segment mirrored in z = g. The
denominator rA + rB − L is summed from two non-negative parts so that it keeps full precision
close to the segment's line; on the segment itself the rise is +inf (receivers must keep at least
the pipe radii away from a source axis).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange


@njit(cache=True, nogil=True, error_model="numpy")
def segment_potential(px, py, pz, ax, ay, az, bx, by, bz):
    """∫ ds/|P − s| along the segment A→B [-]; +inf for P on the segment, 0 for a zero-length one."""
    outer, excess = _potential_ratio(px, py, pz, ax, ay, az, bx, by, bz)
    return math.log(outer / excess)


@njit(cache=True, nogil=True, error_model="numpy")
def _potential_ratio(px, py, pz, ax, ay, az, bx, by, bz):
    """(rA + rB + L, rA + rB − L) of the segment A→B [m], (1, 1) for a zero-length one."""
    dx = bx - ax
    dy = by - ay
    dz = bz - az
    length = math.sqrt(dx * dx + dy * dy + dz * dz)
    if length == 0.0:
        return 1.0, 1.0
    return _ratio_along(px, py, pz, ax, ay, az, bx, by, bz, dx / length, dy / length, dz / length, length)


@njit(cache=True, nogil=True, error_model="numpy")
def _ratio_along(px, py, pz, ax, ay, az, bx, by, bz, ux, uy, uz, length):
    """``_potential_ratio`` given the unit vector u along A→B and its length L > 0 [m]."""
    qx = px - ax
    qy = py - ay
    qz = pz - az
    along = qx * ux + qy * uy + qz * uz
    cx = qy * uz - qz * uy
    cy = qz * ux - qx * uz
    cz = qx * uy - qy * ux
    offset2 = cx * cx + cy * cy + cz * cz
    ra = math.sqrt(qx * qx + qy * qy + qz * qz)
    rb = math.sqrt((px - bx) ** 2 + (py - by) ** 2 + (pz - bz) ** 2)
    # rA + rB − L = (rA − along) + (rB − (L − along)), each part ≥ 0 and free of cancellation.
    excess_a = offset2 / (ra + along) if along > 0.0 else ra - along
    beyond = length - along
    excess_b = offset2 / (rb + beyond) if beyond > 0.0 else rb - beyond
    return ra + rb + length, excess_a + excess_b


@njit(cache=True, nogil=True, error_model="numpy")
def source_minus_image(px, py, pz, ax, ay, az, bx, by, bz, ground_z):
    """Segment potential of A→B minus that of its image mirrored in z = ground_z [-] (one logarithm)."""
    outer, excess = _potential_ratio(px, py, pz, ax, ay, az, bx, by, bz)
    outer_img, excess_img = _potential_ratio(px, py, pz, ax, ay, 2.0 * ground_z - az, bx, by, 2.0 * ground_z - bz)
    return math.log((outer * excess_img) / (excess * outer_img))


@njit(cache=True, nogil=True, error_model="numpy")
def _loaded_segments(sources, watts_per_m, ground_z):
    """Per loaded segment (L, 13): A, B, the image ends' z, unit vector, length [m] and W/m.

    Serial on purpose: array expressions in a parallel function become parallel regions of their own.
    """
    loaded = np.nonzero(watts_per_m)[0]
    out = np.zeros((loaded.shape[0], 13))
    for i in range(loaded.shape[0]):
        m = loaded[i]
        for c in range(3):
            out[i, c] = sources[m, 0, c]
            out[i, 3 + c] = sources[m, 1, c]
        dx, dy, dz = out[i, 3] - out[i, 0], out[i, 4] - out[i, 1], out[i, 5] - out[i, 2]
        length = math.sqrt(dx * dx + dy * dy + dz * dz)
        out[i, 6] = 2.0 * ground_z[m] - sources[m, 0, 2]
        out[i, 7] = 2.0 * ground_z[m] - sources[m, 1, 2]
        if length > 0.0:
            out[i, 8], out[i, 9], out[i, 10] = dx / length, dy / length, dz / length
        out[i, 11] = length
        out[i, 12] = watts_per_m[m]
    return out


@njit(cache=True, nogil=True, parallel=True, error_model="numpy")
def steady_temperature_rise(sources, watts_per_m, points, resistivity, ground_z):
    """Steady rise [K] at points (P, 3) from segments (M, 2, 3) of W/m (M,), ground z (M,), ρ [K·m/W]."""
    n_points = points.shape[0]
    out = np.zeros(n_points)
    scale = resistivity / (4.0 * math.pi)
    geometry = _loaded_segments(sources, watts_per_m, ground_z)
    for p in prange(n_points):
        px, py, pz = points[p, 0], points[p, 1], points[p, 2]
        total = 0.0
        for i in range(geometry.shape[0]):
            g = geometry[i]
            if g[11] == 0.0:  # zero-length segment
                continue
            outer, excess = _ratio_along(px, py, pz, g[0], g[1], g[2], g[3], g[4], g[5], g[8], g[9], g[10], g[11])
            outer_img, excess_img = _ratio_along(
                px, py, pz, g[0], g[1], g[6], g[3], g[4], g[7], g[8], g[9], -g[10], g[11])
            total += g[12] * math.log((outer * excess_img) / (excess * outer_img))
        out[p] = scale * total
    return out


@njit(cache=True, nogil=True, parallel=True, error_model="numpy")
def mean_temperature_rise_on_segments(
    sources, watts_per_m, receivers, resistivity, ground_z, nodes, weights
):
    """Mean steady rise [K] along receiver segments (R, 2, 3) by Gauss–Legendre (nodes on [−1, 1])."""
    n_receivers = receivers.shape[0]
    out = np.zeros(n_receivers)
    scale = resistivity / (4.0 * math.pi)
    for r in prange(n_receivers):
        total = 0.0
        for k in range(nodes.shape[0]):
            f = 0.5 * (nodes[k] + 1.0)
            px = receivers[r, 0, 0] + f * (receivers[r, 1, 0] - receivers[r, 0, 0])
            py = receivers[r, 0, 1] + f * (receivers[r, 1, 1] - receivers[r, 0, 1])
            pz = receivers[r, 0, 2] + f * (receivers[r, 1, 2] - receivers[r, 0, 2])
            at_node = 0.0
            for m in range(sources.shape[0]):
                if watts_per_m[m] == 0.0:
                    continue
                at_node += watts_per_m[m] * source_minus_image(
                    px, py, pz,
                    sources[m, 0, 0], sources[m, 0, 1], sources[m, 0, 2],
                    sources[m, 1, 0], sources[m, 1, 1], sources[m, 1, 2],
                    ground_z[m],
                )
            total += 0.5 * weights[k] * at_node
        out[r] = scale * total
    return out
