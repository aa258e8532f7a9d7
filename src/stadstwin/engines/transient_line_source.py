"""Hourly temperature rise in a half-space from finite 3D line segments with time-varying loads.

Step response. A segment switched on at t = 0 with 1 W/m raises the temperature at P by

    g(t) = ρ/(4π) · [I(segment, t) − I(image, t)],   I = ∫ erfc(r/(2√(αt)))/r ds,

the continuous point source in an infinite medium integrated along the segment, minus the same
for the image mirrored in the ground surface (the surface stays at the undisturbed temperature).
The finite segment is kept (not the infinite-line E1 form) because crossings are the common case
and a crossing cable is short seen from the water main. With s − s⊥ = h·sinh v (h the distance
from P to the segment's line, s⊥ the foot point) the integrand becomes erfc(h·cosh v/(2√(αt))) dv:
the 1/r singularity is gone and the integrand is smooth and monotone on each side of v = 0. Beyond
|v| = acosh(6·2√(αt)/h) erfc < 2.2e-17: a side of the segment that reaches that far is a half
infinite line, ∫₀^∞ erfc(a·cosh v) dv = E1(a²)/2 with a = h/(2√(αt)) (``exp1``); a shorter side
is integrated with a fixed Gauss–Legendre rule (a segment beside P, not over its foot point, in
two halves). For t → ∞ the rule integrates 1 over v, i.e. the steady closed form. This spatial
rule gives the first log-time sample only; from sample to sample the step response grows by the
integral over ln t of the instantaneous source, in closed form along the segment,

    dI/d ln t = ½·exp(−h²/s²)·[erf(u₂/s) − erf(u₁/s)],   s = 2√(αt),

u₁, u₂ the segment ends measured from the foot point: 3-point Gauss–Legendre on pieces of ln t
at most ``TIME_PIECE`` wide (one piece per step of the 1.04 grid) — 1e-13 of the steady value
against adaptive quadrature and about 5× fewer special functions than the spatial rule per sample.
The nodes in ln t are the same for every pair (``time_nodes``, 1/s tabulated once); a node before
the heat reaches the line (h > 6s) is skipped, and a horizontal segment shares u₁, u₂ with its
image, so one erf pair serves both (2 exp + 2 erf per node instead of 3 exp + 4 erf).

Load history. Loads W[m, k] [W/m] hold during step k, [kΔt, (k+1)Δt); the result at index n is
the rise at the end of step n. Before step 0 the load is ``initial`` (the annual mean for a warm
start: the ground is then in steady state under the mean load, computed in closed form from all
sources), so ΔT(n) = Σ_m initial_m·g_m(∞) + Σ_m Σ_{k≤n} (W[m,k] − W[m,k−1])·g_m((n+1−k)Δt).

Superposition by load class. The increment rows D = W[:, k] − W[:, k−1] are written as
D = C·B with K orthonormal class profiles B (K, T) (``load_classes``: greedy Gram–Schmidt on the
rows, residual ≤ 1e-13 of each source's load norm): sources whose loads are equal up to a factor
(the cables of one voltage level) share one class, seasonal pipe losses span two more. By
linearity ΔT(n) − steady = Σ_k (B_k ∗ G_pk)(n), G_pk = Σ_m C[m,k]·g_pm the step responses of all
sources of class k summed at receiver p — summed at the log-time samples (``sampling_plan``), then
interpolated to every step once per (receiver, class). The temporal sum is a linear convolution
by FFT (length ≥ 2T − 1): per class the profile spectrum once, per (receiver, class) the summed
response spectrum, accumulated per receiver, one inverse per receiver. With few log-time samples
(≤ ``KERNEL_SAMPLES``, the default 1.04 grid has 177 for a year) the interpolation and the
convolution are done once per (class, sample) instead — kernels B_k ∗ ψ_j by FFT, ψ_j the weight
of sample j at each step — and a receiver is one product of its K·S summed samples with that
(K·S, T) matrix (BLAS) — fewer than S columns per class, as the summed responses of all
receivers span few shapes in ln t (``compress``: ~35 of 177 on the street grid at 1e-13, the
classes' greedy bases built in parallel). When the loads need more classes than a receiver has sources
(unstructured loads) the rows are the pairs instead, each with its source's increments. Direct
convolution is O(T²) per row (≈ 3.8e7 multiply-adds for a year).

Cut-off. Only pairs whose segment comes within ``cutoff`` R of the receiver enter the transient
sum. g is non-decreasing in t (its time derivative is the instantaneous source, which is larger
for the source than for its farther image), so the neglected part of one source is at most
max_k |W[m,k] − initial_m| · g(T·Δt), and for a segment no closer than R

    g(t) ≤ ρ/(4π) · min(E1(R²/(4αt)), 4·zs·zr/R²),

zs, zr the largest depths below ground of source and receiver: the first bound extends the
segment to the infinite line at distance R, the second uses 1/r − 1/r′ ≤ 2·zs·zr/r³ and
∫ du/(R² + u²)^(3/2) = 2/R². ``cutoff_error_bound`` evaluates it.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.fft
import scipy.special
from numba import njit, prange

from stadstwin.engines.finite_line_source import steady_temperature_rise

ERFC_NEGLIGIBLE = 6.0
"""erfc(x) < 2.2e-17 beyond this argument; the integration range is clipped there."""
EULER_GAMMA = 0.5772156649015329
TIME_PIECE = 0.1
"""Widest piece of ln t [-] integrated by one 3-point Gauss–Legendre rule between samples."""
GAUSS3_NODES = np.array([-math.sqrt(0.6), 0.0, math.sqrt(0.6)])
GAUSS3_WEIGHTS = np.array([5.0 / 9.0, 8.0 / 9.0, 5.0 / 9.0])
KERNEL_SAMPLES = 256
"""Up to this many log-time samples a receiver's (K·S) summed samples times the (K·S, T) class
kernels cost less than K + 1 transforms of length ≥ 2T − 1 (BLAS against FFT, measured)."""
KERNEL_ELEMENTS = 2**25
"""Largest class-kernel matrix K·S·T [values] (268 MB)."""
COMPRESS_RTOL = 1e-13
"""Residual of the receivers' summed step responses left by their shape basis, relative to the largest."""


@njit(cache=True, nogil=True)
def segment_geometry(px, py, pz, ax, ay, az, bx, by, bz):
    """(h, v_start, v_end, nearest distance, u_start, u_end) of P against segment A→B: v in the sinh
    substitution, u the ends measured along the segment from the foot point [m]."""
    dx = bx - ax
    dy = by - ay
    dz = bz - az
    length = math.sqrt(dx * dx + dy * dy + dz * dz)
    qx = px - ax
    qy = py - ay
    qz = pz - az
    if length == 0.0:
        return 1.0, 0.0, 0.0, math.sqrt(qx * qx + qy * qy + qz * qz), 0.0, 0.0
    ux = dx / length
    uy = dy / length
    uz = dz / length
    along = qx * ux + qy * uy + qz * uz
    cx = qy * uz - qz * uy
    cy = qz * ux - qx * uz
    cz = qx * uy - qy * ux
    offset = math.sqrt(cx * cx + cy * cy + cz * cz)
    # A point on the line itself keeps a vanishing offset; off the segment the result converges.
    offset = max(offset, 1e-12 * (length + abs(along)))
    clamped = min(max(along, 0.0), length)
    nearest = math.sqrt(offset * offset + (along - clamped) ** 2)
    return offset, math.asinh(-along / offset), math.asinh((length - along) / offset), nearest, -along, length - along


@njit(cache=True, nogil=True)
def erfc_segment_integral(offset, v_start, v_end, spread, nodes, weights):
    """∫ erfc(r/spread)/r ds along a segment given by ``segment_geometry``; spread = 2√(αt) [m]."""
    ratio = ERFC_NEGLIGIBLE * spread / offset
    if ratio <= 1.0:
        return 0.0
    reach = math.acosh(ratio)
    lo = max(v_start, -reach)
    hi = min(v_end, reach)
    if hi <= lo:
        return 0.0
    if lo < 0.0 < hi:  # each side of the foot point: a half infinite line where clipped
        half_line = 0.5 * exp1((offset / spread) ** 2) if lo == -reach or hi == reach else 0.0
        left = half_line if lo == -reach else _gauss_legendre_erfc(offset, lo, 0.0, spread, nodes, weights)
        right = half_line if hi == reach else _gauss_legendre_erfc(offset, 0.0, hi, spread, nodes, weights)
        return left + right
    split = 0.5 * (lo + hi)
    return _gauss_legendre_erfc(offset, lo, split, spread, nodes, weights) + _gauss_legendre_erfc(
        offset, split, hi, spread, nodes, weights
    )


@njit(cache=True, nogil=True)
def exp1(x):
    """Exponential integral E1(x) for x > 0: series up to 1, continued fraction beyond (≈1e-15)."""
    if x <= 1.0:
        term = x
        total = x
        for k in range(2, 60):
            term *= -x / k
            total += term / k
            if abs(term) < 1e-17 * abs(total):
                break
        return -EULER_GAMMA - math.log(x) + total
    b = x + 1.0
    c = 1e300
    d = 1.0 / b
    h = d
    for i in range(1, 500):  # modified Lentz
        a = -float(i * i)
        b += 2.0
        d = 1.0 / (a * d + b)
        c = b + a / c
        delta = c * d
        h *= delta
        if abs(delta - 1.0) < 1e-16:
            break
    return h * math.exp(-x)


@njit(cache=True, nogil=True)
def _gauss_legendre_erfc(offset, a, b, spread, nodes, weights):
    """∫ erfc(offset·cosh v/spread) dv over [a, b] by the Gauss–Legendre rule."""
    half = 0.5 * (b - a)
    mid = 0.5 * (b + a)
    scaled = 0.5 * offset / spread
    part = 0.0
    for k in range(nodes.shape[0]):
        grow = math.exp(mid + half * nodes[k])
        part += weights[k] * math.erfc(scaled * (grow + 1.0 / grow))  # offset·cosh v/spread
    return half * part


@njit(cache=True, nogil=True)
def within(px, py, pz, sources, m, cutoff):
    """Whether segment m comes within ``cutoff`` [m] of P (box test first, then the clamped foot)."""
    ax, ay, az = sources[m, 0, 0], sources[m, 0, 1], sources[m, 0, 2]
    bx, by, bz = sources[m, 1, 0], sources[m, 1, 1], sources[m, 1, 2]
    if (px < min(ax, bx) - cutoff or px > max(ax, bx) + cutoff or py < min(ay, by) - cutoff
            or py > max(ay, by) + cutoff or pz < min(az, bz) - cutoff or pz > max(az, bz) + cutoff):
        return False
    dx, dy, dz = bx - ax, by - ay, bz - az
    length2 = dx * dx + dy * dy + dz * dz
    f = 0.0 if length2 == 0.0 else min(max(((px - ax) * dx + (py - ay) * dy + (pz - az) * dz) / length2, 0.0), 1.0)
    return (px - ax - f * dx) ** 2 + (py - ay - f * dy) ** 2 + (pz - az - f * dz) ** 2 <= cutoff * cutoff


@njit(cache=True, nogil=True, parallel=True)
def pairs_within(points, sources, cutoff):
    """CSR (starts (P+1,), source index) of segments within ``cutoff`` [m] of each point."""
    n_points = points.shape[0]
    counts = np.zeros(n_points + 1, dtype=np.int64)
    for p in prange(n_points):
        n = 0
        for m in range(sources.shape[0]):
            if within(points[p, 0], points[p, 1], points[p, 2], sources, m, cutoff):
                n += 1
        counts[p + 1] = n
    starts = np.cumsum(counts)
    index = np.empty(starts[-1], dtype=np.int64)
    for p in prange(n_points):
        j = starts[p]
        for m in range(sources.shape[0]):
            if within(points[p, 0], points[p, 1], points[p, 2], sources, m, cutoff):
                index[j] = m
                j += 1
    return starts, index


def sampling_plan(n_steps, ratio):
    """Steps whose step response is evaluated, and per step 4 sample indices and Lagrange weights.

    Samples are every step up to where steps grow by ``ratio``, then geometric (ratio ≤ 1: every
    step). g at the other steps is the cubic Lagrange interpolant in ln t through 4 neighbouring
    samples; at a sample step it is the sample itself.
    """
    samples = [1]
    while samples[-1] < n_steps:
        samples.append(min(n_steps, max(samples[-1] + 1, round(samples[-1] * ratio))))
    sampled = np.asarray(samples, dtype=np.int64)
    if sampled.size < 4:
        sampled = np.arange(1, n_steps + 1)
        index = np.zeros((n_steps, 4), dtype=np.int64)
        weights = np.zeros((n_steps, 4))
        index[:, 0] = np.arange(n_steps)
        weights[:, 0] = 1.0
        return sampled, index, weights
    log_t = np.log(sampled.astype(float))
    steps = np.arange(1, n_steps + 1)
    first = np.clip(np.searchsorted(sampled, steps, side="right") - 2, 0, sampled.size - 4)
    index = first[:, None] + np.arange(4)[None, :]
    x = np.log(steps.astype(float))[:, None]
    nodes = log_t[index]
    weights = np.ones((n_steps, 4))
    for i in range(4):
        for j in range(4):
            if i != j:
                weights[:, i] *= (x[:, 0] - nodes[:, j]) / (nodes[:, i] - nodes[:, j])
    return sampled, index, weights


@njit(cache=True, nogil=True)
def time_nodes(spreads):
    """Quadrature over ln t between the samples: (1/spread (Q,) [1/m], weight (Q,), ends (S,)).

    Interval n (sample n − 1 to n) is cut into pieces of ln t at most ``TIME_PIECE`` wide, each
    with the 3-point Gauss–Legendre rule; its nodes are ends[n − 1]:ends[n] (ends[0] = 0). The
    nodes depend on the samples only, so all pairs share them.
    """
    n_samples = spreads.shape[0]
    ends = np.zeros(n_samples, dtype=np.int64)
    for n in range(1, n_samples):
        width = 2.0 * math.log(spreads[n]) - 2.0 * math.log(spreads[n - 1])
        ends[n] = ends[n - 1] + 3 * max(1, math.ceil(width / TIME_PIECE))
    inverse = np.empty(ends[-1])
    weight = np.empty(ends[-1])
    for n in range(1, n_samples):
        y0 = 2.0 * math.log(spreads[n - 1])
        pieces = (ends[n] - ends[n - 1]) // 3
        half = 0.5 * (2.0 * math.log(spreads[n]) - y0) / pieces
        for piece in range(pieces):
            mid = y0 + (2 * piece + 1) * half
            for k in range(3):
                q = ends[n - 1] + 3 * piece + k
                inverse[q] = math.exp(-0.5 * (mid + half * GAUSS3_NODES[k]))
                weight[q] = half * GAUSS3_WEIGHTS[k]
    return inverse, weight, ends


@njit(cache=True, nogil=True)
def _first_reached(offset, inverse):
    """First time node where the heat has reached ``offset``: offset ≤ ``ERFC_NEGLIGIBLE``·spread."""
    q = 0
    while q < inverse.shape[0] and offset * inverse[q] > ERFC_NEGLIGIBLE:
        q += 1
    return q


@njit(cache=True, nogil=True)
def _erf(x):
    """erf(x), ±1 without the call where 1 − erf(|x|) < 2.2e-17 rounds to 1 (|x| ≥ ``ERFC_NEGLIGIBLE``)."""
    if x >= ERFC_NEGLIGIBLE:
        return 1.0
    if x <= -ERFC_NEGLIGIBLE:
        return -1.0
    return math.erf(x)


@njit(cache=True, nogil=True)
def sampled_step_response(px, py, pz, sources, ground_z, m, spreads, scale, nodes, weights, inverse, time_weight,
                          ends, out):
    """Step response of source m at P for each spread 2√(αt) (S,) into ``out`` [K per W/m];
    inverse, time_weight, ends: ``time_nodes(spreads)``."""
    mirror = 2.0 * ground_z[m]
    direct = segment_geometry(
        px, py, pz,
        sources[m, 0, 0], sources[m, 0, 1], sources[m, 0, 2],
        sources[m, 1, 0], sources[m, 1, 1], sources[m, 1, 2],
    )
    image = segment_geometry(
        px, py, pz,
        sources[m, 0, 0], sources[m, 0, 1], mirror - sources[m, 0, 2],
        sources[m, 1, 0], sources[m, 1, 1], mirror - sources[m, 1, 2],
    )
    out[0] = scale * (
        erfc_segment_integral(direct[0], direct[1], direct[2], spreads[0], nodes, weights)
        - erfc_segment_integral(image[0], image[1], image[2], spreads[0], nodes, weights)
    )
    h, u1, u2 = direct[0], direct[4], direct[5]
    h_img, u1_img, u2_img = image[0], image[4], image[5]
    # A horizontal segment and its image have the same ends along their lines: one erf pair for both.
    shared = u1 == u1_img and u2 == u2_img
    first, first_img = _first_reached(h, inverse), _first_reached(h_img, inverse)
    total = out[0]
    for n in range(1, spreads.shape[0]):
        part = 0.0
        for q in range(max(ends[n - 1], min(first, first_img)), ends[n]):
            x = inverse[q]
            near = math.exp(-((h * x) ** 2)) if q >= first else 0.0
            far = math.exp(-((h_img * x) ** 2)) if q >= first_img else 0.0
            if shared:
                part += time_weight[q] * (near - far) * (_erf(u2 * x) - _erf(u1 * x))
            else:
                part += time_weight[q] * (
                    near * (_erf(u2 * x) - _erf(u1 * x)) - far * (_erf(u2_img * x) - _erf(u1_img * x)))
        total += 0.5 * scale * part
        out[n] = total


@njit(cache=True, nogil=True, parallel=True)
def pair_step_responses(points, sources, ground_z, pair_point, pair_source, spreads, scale, nodes, weights):
    """Step responses (pairs, S) [K per W/m] at the sampled spreads 2√(αt); scale = ρ/(4π)."""
    out = np.empty((pair_point.shape[0], spreads.shape[0]))
    inverse, time_weight, ends = time_nodes(spreads)
    for j in prange(pair_point.shape[0]):
        p = pair_point[j]
        sampled_step_response(
            points[p, 0], points[p, 1], points[p, 2], sources, ground_z, pair_source[j], spreads, scale,
            nodes, weights, inverse, time_weight, ends, out[j],
        )
    return out


@njit(cache=True, nogil=True, parallel=True)
def expand_samples(sampled, sample_index, sample_weights, width):
    """Rows sampled at the log-time samples (N, S) → every step, interpolated as ``sampling_plan``,
    zero-padded to ``width`` ≥ T columns (N, width)."""
    n_steps = sample_index.shape[0]
    out = np.zeros((sampled.shape[0], width))
    for j in prange(sampled.shape[0]):
        for n in range(n_steps):
            value = 0.0
            for i in range(4):
                value += sample_weights[n, i] * sampled[j, sample_index[n, i]]
            out[j, n] = value
    return out


@njit(cache=True, nogil=True, parallel=True)
def class_step_responses(points, sources, ground_z, starts, pair_source, coefficients, spreads, scale, nodes, weights):
    """Per receiver and class Σ_m C[m, k]·g_m at the sampled spreads (P, K, S) over the CSR pairs."""
    n_points = starts.shape[0] - 1
    n_classes = coefficients.shape[1]
    n_samples = spreads.shape[0]
    out = np.zeros((n_points, n_classes, n_samples))
    inverse, time_weight, ends = time_nodes(spreads)
    for p in prange(n_points):
        sampled = np.empty(n_samples)
        for j in range(starts[p], starts[p + 1]):
            m = pair_source[j]
            sampled_step_response(
                points[p, 0], points[p, 1], points[p, 2], sources, ground_z, m, spreads, scale, nodes, weights,
                inverse, time_weight, ends, sampled,
            )
            for k in range(n_classes):
                c = coefficients[m, k]
                if c != 0.0:
                    for n in range(n_samples):
                        out[p, k, n] += c * sampled[n]
    return out


@njit(cache=True, nogil=True, parallel=True)
def accumulate_spectra(response_spectra, load_spectra, row_load, local_starts):
    """Per receiver Σ over its rows of response spectrum × spectrum of the row's load (source or class)."""
    n_receivers = local_starts.shape[0] - 1
    out = np.zeros((n_receivers, response_spectra.shape[1]), dtype=np.complex128)
    for r in prange(n_receivers):
        for j in range(local_starts[r], local_starts[r + 1]):
            m = row_load[j]
            for f in range(response_spectra.shape[1]):
                out[r, f] += response_spectra[j, f] * load_spectra[m, f]
    return out


def load_classes(increments, scale, max_classes, rtol=1e-13):
    """(C (M, K), B (K, T)) with increments ≈ C·B, B orthonormal rows, or None beyond ``max_classes``.

    ``greedy_basis`` until every row's residual norm is ≤ ``rtol``·``scale`` (M,), the norm of the
    source's loads (increments are differences of loads and carry their round-off); C = increments·Bᵀ.
    """
    increments = np.ascontiguousarray(increments, dtype=float)
    basis = np.empty((max_classes, increments.shape[1]))
    residual = empty_rows(*increments.shape)
    residual[:] = increments
    count = greedy_basis(residual, rtol * np.asarray(scale, dtype=float), basis)
    if count < 0:
        return None
    basis = basis[:count].copy()
    return increments @ basis.T, basis


@njit(cache=True, nogil=True)
def greedy_basis(residual, limit, basis):
    """Greedy Gram–Schmidt on the rows (N, T), in place: the row least represented so far adds its
    residual, re-orthogonalised and normalised, as the next row of ``basis`` (L, T) until every
    row norm is ≤ ``limit`` (N,). Returns the rows used, −1 if L are not enough."""
    n_rows, width = residual.shape
    left = np.empty(n_rows)
    for i in range(n_rows):
        left[i] = math.sqrt(np.dot(residual[i], residual[i]))
    count = 0
    while np.any(left > limit):
        if count == basis.shape[0]:
            return -1
        q = residual[np.argmax(left)].copy()
        for j in range(count):  # re-orthogonalise against round-off
            q -= np.dot(basis[j], q) * basis[j]
        q /= math.sqrt(np.dot(q, q))
        basis[count] = q
        count += 1
        for i in range(n_rows):
            c = np.dot(residual[i], q)
            total = 0.0
            for t in range(width):
                residual[i, t] -= c * q[t]
                total += residual[i, t] * residual[i, t]
            left[i] = math.sqrt(total)
    return count


def class_kernels(basis, sample_index, sample_weights, n_samples, n_fft):
    """(K·S, T) rise at each step from a unit summed step response at one log-time sample, per class.

    Row (k, j) is the class profile B_k convolved (FFT) with ψ_j, the weight of sample j in the
    interpolated step response at each step.
    """
    n_classes, n_steps = basis.shape
    psi = np.zeros((n_samples, n_steps))
    np.add.at(psi, (sample_index, np.arange(n_steps)[:, None]), sample_weights)
    psi_spectra = scipy.fft.rfft(psi, n_fft, axis=1, workers=-1)
    out = np.empty((n_classes, n_samples, n_steps))
    for k in range(n_classes):
        spectrum = scipy.fft.rfft(basis[k], n_fft)
        out[k] = scipy.fft.irfft(psi_spectra * spectrum, n_fft, axis=1, workers=-1)[:, :n_steps]
    return out.reshape(n_classes * n_samples, n_steps)


def compress(summed, kernels, rtol=COMPRESS_RTOL):
    """(P, R) and (R, T) factors of Σ_k summed[:, k] @ kernels_k, R ≤ K·S.

    The summed step responses of all receivers, as functions of ln t, span few shapes: per class
    an orthonormal basis of them (``greedy_basis`` on the rows, residual ≤ ``rtol`` of the largest
    row) replaces the S samples.
    """
    n_points, n_classes, n_samples = summed.shape
    bases, counts = class_shapes(summed, rtol)
    left, right = [np.zeros((n_points, 0))], [np.zeros((0, kernels.shape[1]))]
    for k in range(n_classes):
        basis = bases[k, : counts[k]] if counts[k] >= 0 else np.eye(n_samples)
        left.append(summed[:, k] @ basis.T)
        right.append(basis @ kernels[k * n_samples : (k + 1) * n_samples])
    return np.hstack(left), np.vstack(right)


@njit(cache=True, nogil=True, parallel=True)
def class_shapes(summed, rtol):
    """Per class the ``greedy_basis`` of the receivers' summed responses (K, S, S) and its rows (K,),
    classes in parallel (one parallel region, not one per basis row)."""
    n_points, n_classes, n_samples = summed.shape
    bases = np.zeros((n_classes, n_samples, n_samples))
    counts = np.empty(n_classes, dtype=np.int64)
    for k in prange(n_classes):
        rows = summed[:, k, :].copy()
        largest = 0.0
        for p in range(n_points):
            largest = max(largest, math.sqrt(np.dot(rows[p], rows[p])))
        counts[k] = greedy_basis(rows, np.full(n_points, rtol * largest), bases[k])
    return bases, counts


@njit(cache=True, nogil=True)
def empty_rows(n_rows, n_columns):
    """Uninitialised (rows, columns) float64 array in the pages the system gives by default.

    numpy asks the kernel for transparent huge pages on large arrays; on a busy machine each 2 MB
    page may first be compacted: 0.1–1.5 s of system time for the 0.7 GB year of 10k receivers,
    0.3–0.6 s in 4 KiB pages in most runs (numba's allocator does not ask)."""
    return np.empty((n_rows, n_columns))


def hourly_temperature_rise(
    sources, watts_per_m, points, resistivity, diffusivity, ground_z, cutoff, step_seconds,
    initial, nodes, weights, sample_ratio, superposition="auto", rows_per_chunk=1024,
):
    """Rise [K] (P, T) at the end of each step; arrays validated by the caller (see module doc).

    superposition: "classes" (per receiver and load class), "pairs" (per source–receiver pair) or
    "auto" (classes unless the loads need more classes than the mean pairs per receiver).
    """
    n_points = points.shape[0]
    n_steps = watts_per_m.shape[1]
    increments = empty_rows(*watts_per_m.shape)  # W[:, k] − W[:, k − 1] in one (M, T) buffer
    np.subtract(watts_per_m[:, 0], initial, out=increments[:, 0])
    np.subtract(watts_per_m[:, 1:], watts_per_m[:, :-1], out=increments[:, 1:])
    n_fft = scipy.fft.next_fast_len(2 * n_steps - 1, real=True)
    sampled, sample_index, sample_weights = sampling_plan(n_steps, sample_ratio)
    spreads = 2.0 * np.sqrt(diffusivity * step_seconds * sampled)
    scale = resistivity / (4.0 * math.pi)
    starts, pair_source = pairs_within(points, sources, cutoff)
    steady = steady_temperature_rise(sources, initial, points, resistivity, ground_z)
    classes = None
    if superposition != "pairs":  # a class costs one transform per receiver, as a pair does
        limit = increments.shape[0] if superposition == "classes" else 1 + -(-int(starts[-1]) // max(n_points, 1))
        classes = load_classes(increments, np.sqrt(np.einsum("ij,ij->i", watts_per_m, watts_per_m)), limit)
    if classes is None:  # rows: pairs, each convolved with its source's increments
        rows = pair_step_responses(
            points, sources, ground_z, np.repeat(np.arange(n_points), np.diff(starts)), pair_source, spreads, scale,
            nodes, weights,
        )
        row_load, row_starts, loads = pair_source, starts, increments
    else:  # rows: (receiver, class), each convolved with the class profile
        coefficients, loads = classes
        n_classes = loads.shape[0]
        rows = class_step_responses(
            points, sources, ground_z, starts, pair_source, np.ascontiguousarray(coefficients), spreads, scale,
            nodes, weights,
        ).reshape(n_points * n_classes, sampled.size)
        if sampled.size <= KERNEL_SAMPLES and n_classes * sampled.size * n_steps <= KERNEL_ELEMENTS:
            kernels = class_kernels(loads, sample_index, sample_weights, sampled.size, n_fft)
            left, right = compress(rows.reshape(n_points, n_classes, sampled.size), kernels)
            out = np.matmul(left, right, out=empty_rows(n_points, n_steps))
            out += steady[:, None]
            return out
        row_load = np.tile(np.arange(n_classes), n_points)
        row_starts = np.arange(n_points + 1) * n_classes
    load_spectra = scipy.fft.rfft(loads, n_fft, axis=1, workers=-1)
    out = empty_rows(n_points, n_steps)
    out[:] = steady[:, None]
    first = 0
    while first < n_points:
        last = int(np.searchsorted(row_starts, row_starts[first] + rows_per_chunk, side="right")) - 1
        last = min(max(last, first + 1), n_points)
        lo, hi = row_starts[first], row_starts[last]
        if hi > lo:
            responses = expand_samples(rows[lo:hi], sample_index, sample_weights, n_fft)
            spectra = scipy.fft.rfft(responses, axis=1, workers=-1)
            summed = accumulate_spectra(spectra, load_spectra, row_load[lo:hi], row_starts[first : last + 1] - lo)
            out[first:last] += scipy.fft.irfft(summed, n_fft, axis=1, workers=-1)[:, :n_steps]
        first = last
    return out


def cutoff_error_bound(cutoff, load_deviation, resistivity, diffusivity, duration, source_depth, receiver_depth):
    """Upper bound [K] on the rise one source beyond ``cutoff`` [m] leaves out (module doc).

    load_deviation: max |W − initial| of that source [W/m]; duration: T·Δt [s]; depths below
    ground [m]. Broadcasts over numpy arrays.
    """
    cutoff = np.asarray(cutoff, dtype=float)
    along_line = scipy.special.exp1(cutoff**2 / (4.0 * diffusivity * duration))
    image_damped = 4.0 * np.asarray(source_depth) * np.asarray(receiver_depth) / cutoff**2
    return np.abs(load_deviation) * resistivity / (4.0 * math.pi) * np.minimum(along_line, image_damped)
