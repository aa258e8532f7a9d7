"""Thermal year by load class: same answer as the direct per-pair sum; step response against pygfunction."""

import math

import numpy as np
import pygfunction as gt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import erfc, exp1
from test_thermal_transient import _quad_erfc

from stadstwin.engines import transient_line_source
from stadstwin.engines.transient_line_source import (
    ERFC_NEGLIGIBLE,
    hourly_temperature_rise,
    load_classes,
    sampled_step_response,
    sampling_plan,
    time_nodes,
)
from stadstwin.thermal import temperature_rise, temperature_rise_hourly

ALPHA = 0.5e-6
X16, W16 = np.polynomial.legendre.leggauss(16)


def _numpy_erfc_integral(p, a, b, spreads):
    """∫ erfc(r/spread)/r ds along A→B at spreads (S,) in numpy, at each spread on its own (sinh
    substitution, half lines in closed form, Gauss–Legendre elsewhere) — the project integrates
    the heating rate over ln t from sample to sample instead."""
    length = np.linalg.norm(b - a)
    u = (b - a) / length
    along = (p - a) @ u
    h = max(np.linalg.norm(np.cross(p - a, u)), 1e-12 * (length + abs(along)))
    v1, v2 = math.asinh(-along / h), math.asinh((length - along) / h)
    out = np.zeros(len(spreads))
    for n, spread in enumerate(spreads):
        ratio = ERFC_NEGLIGIBLE * spread / h
        if ratio <= 1.0:
            continue
        reach = math.acosh(ratio)
        lo, hi = max(v1, -reach), min(v2, reach)
        if hi <= lo:
            continue
        if lo < 0.0 < hi:  # a side clipped at the reach is the half line E1(a²)/2
            parts = []
            for end in (lo, hi):
                if abs(end) == reach:
                    out[n] += 0.5 * exp1((h / spread) ** 2)
                else:
                    parts.append((min(end, 0.0), max(end, 0.0)))
        else:
            parts = [(lo, 0.5 * (lo + hi)), (0.5 * (lo + hi), hi)]
        for x0, x1 in parts:
            v = 0.5 * (x0 + x1) + 0.5 * (x1 - x0) * X16
            out[n] += 0.5 * (x1 - x0) * np.sum(W16 * erfc(h * np.cosh(v) / spread))
    return out


def _direct_per_pair(sources, watts, points, rho, initial, ratio, cutoff, step_seconds=3600.0):
    """Plain numpy: closed-form warm start + Σ over pairs within the cut-off of np.convolve(increments, g)."""
    n_steps = watts.shape[1]
    sampled, index, weights = sampling_plan(n_steps, ratio)
    spreads = 2.0 * np.sqrt(ALPHA * step_seconds * sampled)
    increments = np.diff(watts, axis=1, prepend=initial[:, None])
    out = np.repeat(temperature_rise(sources, initial, points, rho)[:, None], n_steps, axis=1)
    for p, point in enumerate(points):
        for m, (a, b) in enumerate(sources):
            foot = np.clip((point - a) @ (b - a) / ((b - a) @ (b - a)), 0.0, 1.0)
            if np.linalg.norm(point - a - foot * (b - a)) > cutoff:
                continue
            mirror = np.array([1.0, 1.0, -1.0])
            g_sampled = rho / (4 * math.pi) * (
                _numpy_erfc_integral(point, a, b, spreads) - _numpy_erfc_integral(point, a * mirror, b * mirror, spreads))
            g = np.sum(g_sampled[index] * weights, axis=1)
            out[p] += np.convolve(increments[m], g)[:n_steps]
    return out


def _layout(rng, n_sources, n_points, spread=6.0):
    ends = [np.c_[rng.uniform(-spread, spread, (n_sources, 2)), -rng.uniform(0.6, 2.0, n_sources)] for _ in range(2)]
    sources = np.stack(ends, axis=1)
    sources[:, 1, :2] += np.where(np.abs(sources[:, 1, :2] - sources[:, 0, :2]) < 0.5, 1.0, 0.0)  # no stubs
    points = np.c_[rng.uniform(-spread, spread, (n_points, 2)), -rng.uniform(0.5, 2.0, n_points)]
    return sources, points


def _class_loads(rng, n_sources, n_steps, n_profiles):
    """Loads that are factors times a few profiles (cables of one level) [W/m], (M, T)."""
    hours = np.arange(n_steps)
    profiles = np.stack([
        rng.uniform(0.3, 1.0, 24)[hours % 24] * (1 - 0.3 * np.cos(2 * np.pi * (hours / 24 - rng.uniform(0, 365)) / 365))
        for _ in range(n_profiles)])
    return rng.uniform(5.0, 40.0, n_sources)[:, None] * profiles[rng.integers(0, n_profiles, n_sources)]


@pytest.mark.parametrize("ratio", [1.0, 1.04])
@pytest.mark.parametrize("warm_start", [True, False])
@pytest.mark.parametrize("horizontal", [False, True])
def test_class_superposition_equals_the_direct_per_pair_sum(ratio, warm_start, horizontal):
    """Sloping segments, and horizontal ones (cables, pipes) whose image shares the erf terms."""
    rng = np.random.default_rng(3)
    sources, points = _layout(rng, 8, 5)
    if horizontal:
        sources[:, 1, 2] = sources[:, 0, 2]
    watts = _class_loads(rng, 8, 600, 3)
    initial = watts.mean(axis=1) if warm_start else np.zeros(8)
    got = temperature_rise_hourly(sources, watts, points, 1.1, ALPHA, cutoff=6.0, warm_start=warm_start,
                                  sample_ratio=ratio)
    expected = _direct_per_pair(sources, watts, points, 1.1, initial, ratio, 6.0)
    assert np.abs(expected).max() > 1.0
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-6)


@settings(max_examples=25, deadline=None)
@given(
    st.integers(0, 2**31), st.integers(1, 5), st.integers(1, 4), st.integers(1, 150), st.integers(1, 3),
    st.booleans(), st.sampled_from(["auto", "classes", "pairs"]), st.sampled_from([1.0, 1.04, 1.3]),
)
def test_random_layouts_and_loads_match_the_direct_sum(seed, n_sources, n_points, n_steps, n_profiles, mixed,
                                                         superposition, ratio):
    rng = np.random.default_rng(seed)
    sources, points = _layout(rng, n_sources, n_points)
    watts = _class_loads(rng, n_sources, n_steps, n_profiles)
    if mixed:  # one source with a load of its own
        watts[0] = rng.uniform(0.0, 40.0, n_steps)
    initial = watts.mean(axis=1)
    got = hourly_temperature_rise(
        sources, watts, points, 1.0, ALPHA, np.zeros(n_sources), 8.0, 3600.0, initial, X16, W16, ratio,
        superposition)
    expected = _direct_per_pair(sources, watts, points, 1.0, initial, ratio, 8.0)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-6)


def test_load_classes_of_cable_profiles_and_seasonal_pipes():
    rng = np.random.default_rng(8)
    n_steps = 8760
    cables = _class_loads(rng, 40, n_steps, 3)
    days = np.arange(n_steps) / 24.0
    pipes = np.stack([  # fluid minus ground temperature over a resistance: mean + cos of own phase
        (rng.uniform(40, 80) + rng.uniform(5, 10) * np.cos(2 * np.pi * (days - rng.uniform(0, 60)) / 365)
         - 11.0 - 8.0 * np.cos(2 * np.pi * (days - rng.uniform(20, 80)) / 365)) / rng.uniform(2, 4)
        for _ in range(30)])
    loads = np.vstack([cables, pipes])
    increments = np.diff(loads, axis=1, prepend=loads.mean(axis=1)[:, None])
    scale = np.linalg.norm(loads, axis=1)
    coefficients, basis = load_classes(increments, scale, len(loads))
    assert basis.shape[0] == 3 + 2  # three cable profiles; pipe increments span those of cos and sin
    np.testing.assert_allclose(basis @ basis.T, np.eye(5), atol=1e-12)
    residual = np.linalg.norm(increments - coefficients @ basis, axis=1)
    assert np.all(residual <= 1e-13 * scale)
    assert load_classes(increments, scale, 4) is None


def _mean_step_response(a, b, receiver_a, receiver_b, times, rho, n=48):
    """Our point step response [K per W/m] averaged along a receiver segment by Gauss–Legendre."""
    sources = np.array([[a, b]], dtype=float)
    spreads = 2.0 * np.sqrt(ALPHA * times)
    x, w = np.polynomial.legendre.leggauss(n)
    total, out = np.zeros(len(times)), np.empty(len(times))
    for xi, wi in zip(x, w, strict=True):
        p = np.asarray(receiver_a) + 0.5 * (xi + 1.0) * (np.asarray(receiver_b) - np.asarray(receiver_a))
        sampled_step_response(p[0], p[1], p[2], sources, np.zeros(1), 0, spreads, rho / (4 * math.pi), X16, W16,
                              *time_nodes(spreads), out)
        total += 0.5 * wi * out
    return total


def _borehole_ends(x, y, depth, length, tilt, orientation):
    direction = np.array([math.sin(tilt) * math.cos(orientation), math.sin(tilt) * math.sin(orientation),
                          -math.cos(tilt)])
    start = np.array([x, y, -depth])
    return start, start + length * direction


@pytest.mark.parametrize(
    ("source", "receiver"),
    [
        ((0.0, 0.0, 1.0, 40.0, 0.0, 0.0), (3.0, 1.0, 2.0, 30.0, 0.0, 0.0)),  # vertical boreholes
        ((0.0, 0.0, 1.0, 40.0, 0.7, 0.0), (3.0, 2.0, 1.5, 20.0, 0.7, math.pi / 3)),  # inclined
        ((0.0, 0.0, 1.0, 40.0, math.pi / 2, 0.0), (5.0, 0.8, 0.7, 20.0, math.pi / 2, 0.0)),  # cable and main
        ((0.0, 0.0, 1.2, 30.0, math.pi / 2, 0.0), (-4.0, 3.0, 0.9, 25.0, math.pi / 2, 0.4)),  # skew, no crossing
    ],
)
def test_step_response_matches_pygfunction_finite_line_source(source, receiver):
    """pygfunction's h (mean over the receiver, with image) times ρ/(2π) is our mean step response."""
    rho = 1.3
    times = np.array([86400.0, 30 * 86400.0, 365 * 86400.0, 10 * 365 * 86400.0])
    expected = rho / (2 * math.pi) * gt.heat_transfer.finite_line_source(
        times, ALPHA, gt.boreholes.Borehole(source[3], source[2], 0.05, source[0], source[1], source[4], source[5]),
        gt.boreholes.Borehole(receiver[3], receiver[2], 0.05, receiver[0], receiver[1], receiver[4], receiver[5]),
        M=201)
    got = _mean_step_response(*_borehole_ends(*source), *_borehole_ends(*receiver), times, rho)
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-12)


@settings(max_examples=12, deadline=None)
@given(st.integers(0, 2**31), st.booleans())
def test_step_response_over_the_year_matches_quadrature(seed, crossing):
    """The first sample by the spatial rule, the others by integrating the instantaneous source over
    ln t: against adaptive quadrature of the erfc integral, source minus image, to 1e-9 of steady."""
    rng = np.random.default_rng(seed)
    a, b, p = (np.r_[rng.uniform(-20, 20, 2), -rng.uniform(0.5, 2.0)] for _ in range(3))
    if crossing:
        p = a + rng.uniform(0, 1) * (b - a) + np.array([0.0, 0.0, rng.uniform(0.05, 0.5)])
    sampled, _, _ = sampling_plan(8760, 1.04)
    spreads = 2.0 * np.sqrt(ALPHA * 3600.0 * sampled)
    got = np.empty(len(spreads))
    sampled_step_response(*p, np.array([[a, b]]), np.zeros(1), 0, spreads, 1.0, X16, W16, *time_nodes(spreads), got)
    mirror = np.array([1.0, 1.0, -1.0])
    steady = transient_line_source.segment_geometry(*p, *a, *b)
    for j in (0, 3, 24, 60, 120, len(spreads) - 1):
        expected = _quad_erfc(a, b, p, spreads[j]) - _quad_erfc(a * mirror, b * mirror, p, spreads[j])
        assert abs(got[j] - expected) <= 1e-9 * (steady[2] - steady[1])


def test_exp1_matches_scipy():
    x = np.geomspace(1e-12, 40.0, 500)
    np.testing.assert_allclose([transient_line_source.exp1(v) for v in x], exp1(x), rtol=1e-13)


def test_many_receivers_compressed_classes_equal_the_per_pair_path():
    """200 receivers: their summed responses span few shapes (``compress`` truncates), the answer
    stays that of one FFT per source–receiver pair."""
    rng = np.random.default_rng(4)
    sources, _ = _layout(rng, 6, 1, spread=10.0)
    points = np.c_[np.linspace(-10, 10, 200), rng.uniform(-3, 3, 200), -rng.uniform(0.5, 2.0, 200)]
    watts = _class_loads(rng, 6, 1500, 2)

    def run(superposition):
        return hourly_temperature_rise(sources, watts, points, 1.0, ALPHA, np.zeros(6), 8.0, 3600.0,
                                       watts.mean(axis=1), X16, W16, 1.04, superposition)

    summed = np.ones((200, 1, 1)) @ np.ones((1, 1, 90)) * np.linspace(0, 1, 90)  # rank one
    left, _ = transient_line_source.compress(summed, np.eye(90))
    assert left.shape == (200, 1)
    np.testing.assert_allclose(run("classes"), run("pairs"), rtol=0, atol=1e-9)
