"""Hourly finite-segment transient: E1 at short times, steady at long times, superposition, cut-off."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.integrate import quad
from scipy.special import erfc, exp1

from stadstwin.engines.transient_line_source import erfc_segment_integral, segment_geometry
from stadstwin.thermal import cutoff_error_bound, temperature_rise, temperature_rise_hourly

ALPHA = 0.5e-6
coord = st.floats(-15.0, 15.0, allow_nan=False)


def _quad_erfc(a, b, p, spread):
    length = np.linalg.norm(b - a)
    u = (b - a) / length
    foot = float(np.clip((p - a) @ u, 0.0, length))

    def f(s):
        r = np.linalg.norm(p - a - s * u)
        return erfc(r / spread) / r

    parts = [(0.0, foot), (foot, length)]
    return sum(quad(f, lo, hi, epsabs=0, epsrel=1e-11, limit=400)[0] for lo, hi in parts if hi > lo)


@settings(max_examples=30, deadline=None)
@given(
    st.tuples(coord, coord, coord), st.tuples(coord, coord, coord), st.tuples(coord, coord, coord),
    st.integers(1, 8760), st.floats(0.0, 1.0), st.floats(0.01, 1.0), st.booleans(),
)
def test_segment_erfc_integral_matches_quadrature(a, b, p, hours, f, offset, crossing):
    a, b, p = np.array(a), np.array(b), np.array(p)
    if np.linalg.norm(b - a) < 0.1:
        return
    if crossing:
        p = a + f * (b - a) + np.array([0.0, 0.0, offset])
    spread = 2.0 * math.sqrt(ALPHA * 3600.0 * hours)
    x, w = np.polynomial.legendre.leggauss(16)
    geometry = segment_geometry(*p, *a, *b)
    if geometry[3] < 0.01:  # receivers keep off a source axis
        return
    steady = geometry[2] - geometry[1]  # ∫ ds/r along the segment, the t → ∞ value
    got = erfc_segment_integral(geometry[0], geometry[1], geometry[2], spread, x, w)
    assert abs(got - _quad_erfc(a, b, p, spread)) <= 2e-5 * steady


def test_short_times_match_infinite_line_e1():
    w, rho, z = 30.0, 1.0, -1.0
    sources = np.array([[[-500.0, 0.0, z], [500.0, 0.0, z]]])
    point = np.array([[3.0, 0.4, z - 0.3]])
    hours = 72
    got = temperature_rise_hourly(
        sources, np.full((1, hours), w), point, rho, ALPHA, cutoff=5.0, warm_start=False, sample_ratio=1.0
    )[0]
    t = 3600.0 * np.arange(1, hours + 1)
    r2 = 0.4**2 + 0.3**2
    r2_image = 0.4**2 + (2 * z - 0.3) ** 2
    e1 = w * rho / (4 * math.pi) * (exp1(r2 / (4 * ALPHA * t)) - exp1(r2_image / (4 * ALPHA * t)))
    np.testing.assert_allclose(got, e1, rtol=1e-5, atol=1e-12 * e1.max())


def test_long_times_reach_steady_state():
    rng = np.random.default_rng(7)
    sources = np.stack([np.c_[rng.uniform(-8, 8, (3, 2)), -rng.uniform(0.6, 2, 3)],
                        np.c_[rng.uniform(-8, 8, (3, 2)), -rng.uniform(0.6, 2, 3)]], axis=1)
    points = np.c_[rng.uniform(-8, 8, (5, 2)), -rng.uniform(0.5, 2, 5)]
    w = np.array([10.0, 25.0, 40.0])
    steady = temperature_rise(sources, w, points, 1.5)
    century = 100 * 365 * 86400.0
    late = temperature_rise_hourly(
        sources, np.repeat(w[:, None], 3, axis=1), points, 1.5, ALPHA, cutoff=100.0,
        step_seconds=1000 * century, warm_start=False, sample_ratio=1.0,
    )
    np.testing.assert_allclose(late[:, -1], steady, rtol=1e-6)
    warm = temperature_rise_hourly(sources, np.repeat(w[:, None], 48, axis=1), points, 1.5, ALPHA)
    np.testing.assert_allclose(warm, np.repeat(steady[:, None], 48, axis=1), rtol=1e-12)


def _direct_reference(sources, watts, points, rho, initial, step_seconds):
    """Plain sum over load increments of quadrature step responses, source minus image."""
    n_steps = watts.shape[1]
    out = np.zeros((len(points), n_steps))
    increments = np.diff(watts, axis=1, prepend=initial[:, None])
    for p, point in enumerate(points):
        for m, (a, b) in enumerate(sources):
            image_a, image_b = a * [1, 1, -1], b * [1, 1, -1]
            g = np.array([
                rho / (4 * math.pi) * (_quad_erfc(a, b, point, s) - _quad_erfc(image_a, image_b, point, s))
                for s in 2.0 * np.sqrt(ALPHA * step_seconds * np.arange(1, n_steps + 1))
            ])
            for n in range(n_steps):
                out[p, n] += increments[m, : n + 1] @ g[n::-1]
        out[p] += temperature_rise(sources, initial, point[None], rho)[0]
    return out


@pytest.mark.parametrize("warm_start", [False, True])
def test_fft_superposition_matches_direct_sum(warm_start):
    rng = np.random.default_rng(11)
    sources = np.array([[[-6.0, 0.0, -1.0], [6.0, 0.5, -1.2]], [[1.0, -5.0, -0.8], [1.5, 5.0, -0.8]]])
    points = np.array([[0.0, 0.8, -1.1], [2.0, -1.0, -0.9]])
    watts = rng.uniform(0, 40, (2, 30))
    initial = watts.mean(axis=1) if warm_start else np.zeros(2)
    got = temperature_rise_hourly(
        sources, watts, points, 1.2, ALPHA, cutoff=50.0, step_seconds=6 * 3600.0,
        warm_start=warm_start, sample_ratio=1.0,
    )
    expected = _direct_reference(sources, watts, points, 1.2, initial, 6 * 3600.0)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5 * np.abs(expected).max())


@settings(max_examples=10, deadline=None)
@given(st.integers(0, 2**31), st.floats(-3, 3), st.floats(-3, 3))
def test_hourly_superposition_is_linear(seed, alpha, beta):
    rng = np.random.default_rng(seed)
    sources = np.stack([np.c_[rng.uniform(-5, 5, (3, 2)), -rng.uniform(0.6, 2, 3)],
                        np.c_[rng.uniform(-5, 5, (3, 2)), -rng.uniform(0.6, 2, 3)]], axis=1)
    points = np.c_[rng.uniform(-5, 5, (4, 2)), -rng.uniform(0.5, 2, 4)]
    w1, w2 = rng.uniform(0, 30, (3, 40)), rng.uniform(0, 30, (3, 40))

    def run(w):
        return temperature_rise_hourly(sources, w, points, 1.0, ALPHA, cutoff=30.0)

    scale = np.abs(run(w1)).max() + np.abs(run(w2)).max()
    np.testing.assert_allclose(run(alpha * w1 + beta * w2), alpha * run(w1) + beta * run(w2), atol=1e-10 * scale)


def test_interpolated_step_response_matches_exact():
    rng = np.random.default_rng(5)
    sources = np.array([[[0.0, 0.0, -1.0], [40.0, 0.0, -1.0]], [[20.0, -20.0, -0.7], [20.0, 20.0, -0.7]]])
    points = np.c_[rng.uniform(-5, 45, (6,)), rng.uniform(0.3, 6, 6), -rng.uniform(0.8, 1.5, 6)]
    watts = rng.uniform(0, 40, (2, 2000))
    exact = temperature_rise_hourly(sources, watts, points, 1.0, ALPHA, sample_ratio=1.0)
    fast = temperature_rise_hourly(sources, watts, points, 1.0, ALPHA)
    np.testing.assert_allclose(fast, exact, atol=1e-5 * np.abs(exact).max())


def test_cutoff_error_within_bound():
    rng = np.random.default_rng(9)
    ys = np.array([0.5, 4.0, 9.0, 14.0, 22.0])
    sources = np.array([[[-60.0, y, -1.0], [60.0, y, -1.0]] for y in ys])
    point = np.array([[0.0, 0.0, -1.2]])
    watts = rng.uniform(5, 40, (5, 24 * 60))
    cutoff = 6.0
    full = temperature_rise_hourly(sources, watts, point, 1.0, ALPHA, cutoff=1000.0)
    cut = temperature_rise_hourly(sources, watts, point, 1.0, ALPHA, cutoff=cutoff)
    deviation = np.abs(watts - watts.mean(axis=1, keepdims=True)).max(axis=1)
    far = ys > cutoff
    bound = cutoff_error_bound(np.hypot(ys[far], 0.2), deviation[far], 1.0, ALPHA, 3600.0 * watts.shape[1], 1.0, 1.2)
    error = np.abs(full - cut).max()
    assert 0 < error <= bound.sum()


def test_bad_hourly_input():
    sources = np.array([[[0.0, 0.0, -1.0], [1.0, 0.0, -1.0]]])
    points = np.array([[0.0, 1.0, -1.0]])
    with pytest.raises(ValueError, match="watts_per_m_hourly"):
        temperature_rise_hourly(sources, np.ones(5), points, 1.0, ALPHA)
    with pytest.raises(ValueError, match="diffusivity"):
        temperature_rise_hourly(sources, np.ones((1, 5)), points, 1.0, 0.0)
    with pytest.raises(ValueError, match="cutoff"):
        temperature_rise_hourly(sources, np.ones((1, 5)), points, 1.0, ALPHA, cutoff=-1.0)
