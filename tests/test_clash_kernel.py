"""clearance_pairs against an independent numpy brute force, python-fcl and analytic cases."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stadstwin.clash import clearance_pairs
from stadstwin.engines.capsule_distance import segment_distance

BAND = 1e-9  # m: pairs whose reference distance lies this close to the clearance may go either way


# ---------------------------------------------------------------- independent numpy reference


def _point_segment(p, q0, q1):
    """Distance from points p to segments q0–q1, all (M, 3)."""
    v = q1 - q0
    vv = np.einsum("ij,ij->i", v, v)
    t = np.where(vv > 0, np.einsum("ij,ij->i", p - q0, v) / np.where(vv > 0, vv, 1.0), 0.0)
    t = np.clip(t, 0.0, 1.0)
    return np.linalg.norm(q0 + t[:, None] * v - p, axis=1)


def reference_segment_distance(a0, a1, b0, b1):
    """Closest distance of segment pairs (M, 3 each): min over the interior stationary point of
    the two lines (when it lies inside both segments) and the four end-point-to-segment distances."""
    best = np.minimum.reduce([
        _point_segment(a0, b0, b1), _point_segment(a1, b0, b1),
        _point_segment(b0, a0, a1), _point_segment(b1, a0, a1),
    ])
    u, v, w = a1 - a0, b1 - b0, a0 - b0
    n = np.cross(u, v)  # lines' closest points: s = ((b0 - a0) x v).n / |n|^2, t = ((b0 - a0) x u).n / |n|^2
    nn = np.einsum("ij,ij->i", n, n)
    safe = np.where(nn > 0, nn, 1.0)
    s = np.einsum("ij,ij->i", np.cross(-w, v), n) / safe
    t = np.einsum("ij,ij->i", np.cross(-w, u), n) / safe
    inside = (nn > 0) & (s >= 0) & (s <= 1) & (t >= 0) & (t <= 1)
    interior = np.linalg.norm(w + s[:, None] * u - t[:, None] * v, axis=1)
    return np.where(inside, np.minimum(best, interior), best)


def reference_pairs(p0, p1, radius, group=None):
    """All pairs i < j (lexicographic) with their surface distances, skipping the group rule's pairs."""
    i, j = np.triu_indices(len(p0), k=1)
    d = reference_segment_distance(p0[i], p1[i], p0[j], p1[j]) - radius[i] - radius[j]
    if group is not None:
        shared = np.zeros(len(i), bool)
        for a in (p0, p1):
            for b in (p0, p1):
                shared |= (a[i] == b[j]).all(axis=1)
        keep = ~((group[i] == group[j]) & shared)
        i, j, d = i[keep], j[keep], d[keep]
    return np.column_stack((i, j)), d


def assert_matches_reference(p0, p1, radius, clearance, group=None):
    pairs, distance = clearance_pairs(p0, p1, radius, clearance, group=group)
    ref_pairs, ref_d = reference_pairs(p0, p1, radius, group)
    assert pairs.dtype == np.int64 and pairs.shape == (len(distance), 2)
    assert (pairs[:, 0] < pairs[:, 1]).all()
    assert (np.lexsort((pairs[:, 1], pairs[:, 0])) == np.arange(len(pairs))).all()
    sure_in = ref_d < clearance - BAND
    maybe = ref_d < clearance + BAND
    got = {tuple(p): d for p, d in zip(pairs.tolist(), distance)}
    want = {tuple(p) for p in ref_pairs[sure_in].tolist()}
    allowed = {tuple(p): d for p, d in zip(ref_pairs[maybe].tolist(), ref_d[maybe])}
    assert want <= set(got), f"missed pairs {sorted(want - set(got))[:5]}"
    extra = sorted(set(got) - set(allowed))
    assert not extra, [(got[i, j], p0[[i, j]], p1[[i, j]], radius[[i, j]]) for i, j in extra[:3]]
    for (i, j), d in got.items():
        assert abs(d - allowed[i, j]) <= 1e-9, (d, allowed[i, j], p0[[i, j]], p1[[i, j]], radius[[i, j]])
    return pairs, distance


# ---------------------------------------------------------------- generated segment sets

coord = st.floats(-4.0, 4.0, allow_nan=False, allow_infinity=False)
point = st.tuples(coord, coord, coord).map(np.array)
fraction = st.floats(-0.5, 1.5, allow_nan=False)


@st.composite
def segment_sets(draw):
    """Random segments plus ones built from earlier ones: parallel, collinear-overlapping,
    touching (shared end point or end on the other), crossing, and zero-length."""
    n = draw(st.integers(1, 24))
    p0, p1 = [draw(point)], [draw(point)]
    for _ in range(n - 1):
        k = draw(st.integers(0, len(p0) - 1))
        a, b = p0[k], p1[k]
        kind = draw(st.sampled_from(["random", "parallel", "collinear", "shared", "on", "crossing", "point"]))
        if kind == "random":
            q0, q1 = draw(point), draw(point)
        elif kind == "parallel":
            q0 = a + draw(point) * draw(st.sampled_from([0.0, 0.01, 0.1, 1.0]))
            q1 = q0 + (b - a) * draw(st.sampled_from([1.0, -0.5, 2.0, 0.25]))
        elif kind == "collinear":
            q0, q1 = a + draw(fraction) * (b - a), a + draw(fraction) * (b - a)
        elif kind == "shared":
            q0, q1 = (a if draw(st.booleans()) else b), draw(point)
        elif kind == "on":
            q0, q1 = a + draw(st.floats(0, 1)) * (b - a), draw(point)
        elif kind == "crossing":
            m = a + draw(st.floats(0, 1)) * (b - a)
            w = draw(point)
            q0, q1 = m - w, m + draw(st.floats(0.1, 2.0)) * w
        else:
            q0 = draw(point)
            q1 = q0.copy()
        if draw(st.booleans()):
            q0, q1 = q1, q0
        p0.append(q0)
        p1.append(q1)
    radius = np.array(draw(st.lists(st.sampled_from([0.0, 0.02, 0.1, 0.3]) | st.floats(0, 0.5),
                                    min_size=n, max_size=n)))
    group = np.array(draw(st.lists(st.integers(0, 2), min_size=n, max_size=n)), np.int64)
    return np.array(p0), np.array(p1), radius, group


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(segment_sets(), st.sampled_from([0.0, 0.25, 0.5]) | st.floats(0.0, 3.0), st.booleans())
def test_pairs_match_brute_force(segments, clearance, with_group):
    p0, p1, radius, group = segments
    assert_matches_reference(p0, p1, radius, clearance, group if with_group else None)


def test_many_mixed_segments_match_brute_force():
    rng = np.random.default_rng(4)
    n = 700
    p0 = rng.uniform([0, 0, -3], [60, 40, 0], (n, 3))
    length = np.where(rng.random(n) < 0.2, rng.uniform(10, 40, n), rng.uniform(0, 3, n))
    direction = rng.normal(size=(n, 3)) * [1, 1, 0.1]
    direction /= np.linalg.norm(direction, axis=1)[:, None]
    p1 = p0 + length[:, None] * direction
    radius = rng.uniform(0, 0.4, n)
    pairs, _ = assert_matches_reference(p0, p1, radius, 0.5, rng.integers(0, 50, n))
    assert len(pairs) > 100


def test_far_from_origin_same_as_near_it():
    rng = np.random.default_rng(5)
    p0 = rng.uniform(0, 20, (300, 3))
    p1 = p0 + rng.normal(0, 2, (300, 3))
    radius = rng.uniform(0, 0.2, 300)
    shift = np.array([155_000.0, 463_000.0, -2.0])
    near = clearance_pairs(p0, p1, radius, 0.5)
    far = clearance_pairs(p0 + shift, p1 + shift, radius, 0.5)
    np.testing.assert_array_equal(near[0], far[0])
    np.testing.assert_allclose(near[1], far[1], atol=1e-9)


# ---------------------------------------------------------------- against python-fcl


def _fcl_capsule(a, b, r):
    import fcl

    axis = b - a
    length = float(np.linalg.norm(axis))
    z = np.array([0.0, 0.0, 1.0])
    d = axis / length
    v = np.cross(z, d)
    s, c = float(np.linalg.norm(v)), float(d @ z)
    if s < 1e-12:
        rot = np.eye(3) if c > 0 else np.diag([1.0, -1.0, -1.0])
    else:
        k = np.array([[0, -v[2], v[1]], [v[2], 0, -v[0]], [-v[1], v[0], 0]]) / s
        rot = np.eye(3) + s * k + (1 - c) * (k @ k)
    return fcl.CollisionObject(fcl.Capsule(r, length), fcl.Transform(rot, 0.5 * (a + b)))


def test_distances_agree_with_fcl():
    fcl = pytest.importorskip("fcl")
    rng = np.random.default_rng(7)
    n = 60
    p0 = rng.uniform(-3, 3, (n, 3))
    p1 = p0 + rng.normal(0, 1.5, (n, 3))
    radius = rng.uniform(0.01, 0.3, n)
    pairs, distance = clearance_pairs(p0, p1, radius, 100.0)
    assert len(pairs) == n * (n - 1) // 2
    objects = [_fcl_capsule(p0[i], p1[i], radius[i]) for i in range(n)]
    peer = np.array([fcl.distance(objects[i], objects[j]) for i, j in pairs])
    separated = peer > 0  # fcl reports penetration only approximately for some configurations
    assert separated.sum() > 0.8 * len(pairs)
    np.testing.assert_allclose(distance[separated], peer[separated], atol=1e-6, rtol=0)


# ---------------------------------------------------------------- analytic cases and the group rule


def test_pipes_on_one_axis():
    p0 = np.array([[0.0, 0, -1], [12, 0, -1], [10.3, 0, -1], [5, 0, -1]])
    p1 = np.array([[10.0, 0, -1], [20, 0, -1], [11, 0, -1], [15, 0, -1]])
    radius = np.array([0.1, 0.1, 0.1, 0.1])
    pairs, distance = clearance_pairs(p0, p1, radius, 2.0)
    got = dict(zip(map(tuple, pairs.tolist()), distance))
    assert got == pytest.approx({(0, 1): 1.8, (0, 2): 0.1, (0, 3): -0.2, (1, 2): 0.8,
                                 (1, 3): -0.2, (2, 3): -0.2}, abs=1e-12)
    deep, _ = clearance_pairs(p0, p1, radius, -0.1)  # negative clearance: overlaps deeper than 0.1 m
    assert deep.tolist() == [[0, 3], [1, 3], [2, 3]]


def test_parallel_pipes_side_by_side():
    p0 = np.array([[0.0, 0, -1], [3, 0.3, -1]])
    p1 = np.array([[10.0, 0, -1], [40, 0.3, -1]])
    pairs, distance = clearance_pairs(p0, p1, np.array([0.05, 0.08]), 0.5)
    assert pairs.tolist() == [[0, 1]]
    assert distance[0] == pytest.approx(0.3 - 0.13, abs=1e-12)


def test_right_angle_crossing_with_vertical_gap():
    p0 = np.array([[0.0, 5, -1], [5, 0, -1.6]])
    p1 = np.array([[10.0, 5, -1], [5, 10, -1.6]])
    radius = np.array([0.05, 0.1])
    pairs, distance = clearance_pairs(p0, p1, radius, 0.5)
    assert pairs.tolist() == [[0, 1]] and distance[0] == pytest.approx(0.45, abs=1e-12)
    assert len(clearance_pairs(p0, p1, radius, 0.45)[0]) == 0


def test_group_skips_only_neighbours_sharing_an_end_point():
    # a U-shaped cable: 0-1 and 1-2 share end points; 0 and 2 are parallel 0.2 m apart
    vertices = np.array([[0.0, 0, -1], [10, 0, -1], [10, 0.2, -1], [0, 0.2, -1]])
    p0, p1 = vertices[:-1], vertices[1:]
    radius = np.full(3, 0.02)
    pairs, distance = clearance_pairs(p0, p1, radius, 0.5, group=np.array([7, 7, 7]))
    assert pairs.tolist() == [[0, 2]] and distance[0] == pytest.approx(0.16, abs=1e-12)
    pairs, _ = clearance_pairs(p0, p1, radius, 0.5, group=np.array([7, 8, 7]))
    assert pairs.tolist() == [[0, 1], [0, 2], [1, 2]]
    pairs, _ = clearance_pairs(p0, p1, radius, 0.5)
    assert pairs.tolist() == [[0, 1], [0, 2], [1, 2]]


def test_zero_length_segments_are_spheres():
    a = np.array([1.0, 2.0, 3.0])
    assert segment_distance(a, a, a + [3, 4, 0], a + [3, 4, 0]) == pytest.approx(5.0, abs=1e-15)
    assert segment_distance(a, a, a + [-1, 1, 0], a + [1, 1, 0]) == pytest.approx(1.0, abs=1e-15)


def test_empty_input():
    pairs, distance = clearance_pairs(np.empty((0, 3)), np.empty((0, 3)), np.empty(0), 0.5)
    assert pairs.shape == (0, 2) and distance.shape == (0,)


@pytest.mark.parametrize(("args", "message"), [
    ((np.zeros((2, 2)), np.zeros((2, 3)), np.zeros(2), 0.5, None), "p0 must have shape"),
    ((np.zeros((2, 3)), np.zeros((3, 3)), np.zeros(2), 0.5, None), "same number of rows"),
    ((np.zeros((2, 3)), np.zeros((2, 3)), np.zeros(3), 0.5, None), "radius must have shape"),
    ((np.zeros((2, 3)), np.zeros((2, 3)), np.array([0.1, -0.1]), 0.5, None), "radius must be finite"),
    ((np.zeros((2, 3)), np.array([[0, 0, 0], [np.nan, 0, 0]]), np.zeros(2), 0.5, None), "p1 holds NaN.*row 1"),
    ((np.zeros((2, 3)), np.zeros((2, 3)), np.zeros(2), np.inf, None), "clearance must be a finite"),
    ((np.zeros((2, 3)), np.zeros((2, 3)), np.zeros(2), 0.5, np.array([0.5, 1.0])), "group must be an integer"),
])
def test_bad_input_is_refused(args, message):
    with pytest.raises(ValueError, match=message):
        clearance_pairs(*args)
