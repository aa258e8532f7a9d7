"""Benchmark: capsule clearance pairs at street density against python-fcl.

Synthetic district: parallel streets, each with a realistic profile of mains (low- and
medium-voltage cables, telecom, gas, water, heat supply/return, sewer) whose vertices wander by a
few centimetres, and house connections every few metres on both sides that cross the other mains
up to the façades. Nearly every segment has neighbours within a few metres. Clearance 0.5 m.

Peer: python-fcl's DynamicAABBTreeCollisionManager over capsules inflated by half the clearance
(a collision of inflated capsules is a pair closer than the clearance), with ``fcl.distance`` on
the original capsules in the callback for the exact surface distance. Both must return the same
pair set; distances are compared too.

Run: ``python benchmarks/bench_clash.py [--sizes 10000 100000 1000000] [--fcl-max 100000]``.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from functools import partial
from pathlib import Path

import numpy as np
from harness import measure, report

from stadstwin.clash import clearance_pairs

CLEARANCE = 0.5  # m

# street profile: (lateral offset from the street axis [m], axis depth below ground [m], radius [m])
_MAINS = (
    (-7.2, 0.60, 0.025), (-7.0, 0.60, 0.025), (-6.8, 0.65, 0.030),   # low-voltage cables
    (-6.3, 0.90, 0.040), (-6.0, 0.90, 0.040),                        # medium-voltage cables
    (-5.5, 0.60, 0.020), (-5.35, 0.60, 0.020), (-5.2, 0.65, 0.025),  # telecom
    (-4.5, 0.90, 0.060),                                             # gas
    (0.0, 2.50, 0.300),                                              # gravity sewer
    (4.5, 1.10, 0.080),                                              # drinking water
    (5.8, 1.00, 0.150), (6.3, 1.00, 0.150),                          # heat supply / return
    (7.0, 0.50, 0.020), (7.2, 0.50, 0.020),                          # fibre
)
_CONNECTED = (0, 5, 8, 10)  # mains with house connections: LV, telecom, gas, water
_STREET_LENGTH = 200.0  # m
_HALF_WIDTH = 9.0  # m from street axis to the façades
_HOUSE_PITCH = 6.0  # m
_GROUND = 1.0  # m NAP


def street_network(n_segments: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """About ``n_segments`` capsules: p0, p1 (N, 3) [m, RD/NAP], radius (N,) [m], asset (N,) int64."""
    rng = np.random.default_rng(seed)
    p0s, p1s, radii, assets = [], [], [], []
    asset = 0
    count = 0
    street = 0
    n_cols = max(1, int(np.sqrt(n_segments / 900.0) * 0.5))
    while count < n_segments:
        ox = 155_000.0 + (street % n_cols) * (_STREET_LENGTH + 25.0)
        oy = 463_000.0 + (street // n_cols) * 2.0 * (_HALF_WIDTH + 12.0)
        street += 1
        for lateral, depth, radius in _MAINS:
            nv = int(_STREET_LENGTH / 8.0) + 1
            x = ox + np.sort(np.concatenate(([0.0, _STREET_LENGTH], rng.uniform(0, _STREET_LENGTH, nv - 2))))
            y = oy + lateral + rng.normal(0.0, 0.04, nv)
            z = _GROUND - depth + rng.normal(0.0, 0.04, nv)
            pts = np.column_stack((x, y, z))
            p0s.append(pts[:-1])
            p1s.append(pts[1:])
            radii.append(np.full(nv - 1, radius))
            assets.append(np.full(nv - 1, asset))
            asset += 1
            count += nv - 1
        for side in (-1.0, 1.0):
            for hx in np.arange(3.0, _STREET_LENGTH, _HOUSE_PITCH):
                for m in _CONNECTED:
                    lateral, depth, radius = _MAINS[m]
                    x = ox + hx + rng.normal(0.0, 0.3)
                    bend = rng.uniform(0.3, 0.7)
                    ys = oy + np.array([lateral, lateral + bend * (side * _HALF_WIDTH - lateral),
                                        side * _HALF_WIDTH])
                    xs = np.array([x, x + rng.normal(0.0, 0.4), x + rng.normal(0.0, 0.4)])
                    zs = _GROUND - np.array([depth, 0.7, 0.6]) + rng.normal(0.0, 0.03, 3)
                    pts = np.column_stack((xs, ys, zs))
                    p0s.append(pts[:-1])
                    p1s.append(pts[1:])
                    radii.append(np.full(2, min(radius, 0.03)))
                    assets.append(np.full(2, asset))
                    asset += 1
                    count += 2
    p0 = np.concatenate(p0s)[:n_segments]
    p1 = np.concatenate(p1s)[:n_segments]
    return p0, p1, np.concatenate(radii)[:n_segments], np.concatenate(assets)[:n_segments]


def fcl_clearance_pairs(p0, p1, radius, clearance, group):
    """The same query through python-fcl: inflated-capsule broadphase, exact capsule distance.

    Returns pairs, distances and the seconds spent building the objects and the tree.
    """
    import fcl

    start = time.perf_counter()
    n = p0.shape[0]
    axis = p1 - p0
    length = np.linalg.norm(axis, axis=1)
    inflated, exact = [], []
    index = {}
    for i in range(n):
        tf = fcl.Transform(_rotation_z_to(axis[i] / length[i]), 0.5 * (p0[i] + p1[i]))
        big = fcl.Capsule(radius[i] + 0.5 * clearance, length[i])
        inflated.append(fcl.CollisionObject(big, tf))
        exact.append(fcl.CollisionObject(fcl.Capsule(radius[i], length[i]), tf))
        index[id(big)] = i
    manager = fcl.DynamicAABBTreeCollisionManager()
    manager.registerObjects(inflated)
    manager.setup()
    build_s = time.perf_counter() - start
    found_i, found_j, found_d = [], [], []

    def callback(o1, o2, _data):
        result = fcl.DistanceResult()
        fcl.distance(o1, o2, fcl.DistanceRequest(), result)  # inflated: names the two geometries
        i, j = index[id(result.o1)], index[id(result.o2)]
        if i > j:
            i, j = j, i
        if group[i] == group[j] and _share_end_point(p0, p1, i, j):
            return False
        d = fcl.distance(exact[i], exact[j])
        if d < clearance:
            found_i.append(i)
            found_j.append(j)
            found_d.append(d)
        return False

    manager.collide(None, callback)
    pairs = np.column_stack((np.array(found_i, np.int64), np.array(found_j, np.int64)))
    distance = np.array(found_d)
    order = np.lexsort((pairs[:, 1], pairs[:, 0]))
    return pairs[order], distance[order], build_s


def _share_end_point(p0, p1, i, j):
    return any(np.array_equal(a[i], b[j]) for a in (p0, p1) for b in (p0, p1))


def _rotation_z_to(direction: np.ndarray) -> np.ndarray:
    """Rotation matrix taking the local z axis onto the unit vector ``direction``."""
    z = np.array([0.0, 0.0, 1.0])
    c = float(direction @ z)
    v = np.cross(z, direction)
    s = float(np.linalg.norm(v))
    if s < 1e-12:
        return np.eye(3) if c > 0 else np.diag([1.0, -1.0, -1.0])
    k = np.array([[0, -v[2], v[1]], [v[2], 0, -v[0]], [-v[1], v[0], 0]]) / s
    return np.eye(3) + s * k + (1 - c) * (k @ k)


def _status_kib(key: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    raise KeyError(key)


def _peak_extra_mib(tool: str, n: int) -> float:
    """Peak resident memory [MiB] a single run of ``tool`` adds on top of its input, measured in
    a fresh interpreter (``--peak-of``) so that earlier runs do not mask it."""
    out = subprocess.run([sys.executable, __file__, "--peak-of", tool, "--size", str(n)],
                         capture_output=True, text=True, check=True)
    return float(out.stdout.split()[-1])


def _print_peak_of(tool: str, n: int) -> None:
    p0, p1, radius, asset = street_network(n)
    if tool == "stadstwin":
        clearance_pairs(p0[:100], p1[:100], radius[:100], CLEARANCE, group=asset[:100])  # load numba code
    Path("/proc/self/clear_refs").write_text("5")  # reset the peak (VmHWM) to the current RSS
    before = _status_kib("VmRSS")
    if tool == "stadstwin":
        clearance_pairs(p0, p1, radius, CLEARANCE, group=asset)
    else:
        fcl_clearance_pairs(p0, p1, radius, CLEARANCE, asset)
    print((_status_kib("VmHWM") - before) / 1024)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--fcl-max", type=int, default=100_000,
                        help="largest size also run through python-fcl (it takes minutes at 1M)")
    parser.add_argument("--peak-of", choices=["stadstwin", "fcl"], help=argparse.SUPPRESS)
    parser.add_argument("--size", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.peak_of:
        _print_peak_of(args.peak_of, args.size)
        return
    rows = []
    for n in args.sizes:
        p0, p1, radius, asset = street_network(n)
        project_s, (pairs, distance) = measure(
            partial(clearance_pairs, p0, p1, radius, CLEARANCE, group=asset), repeat=3)
        row = {"segments": n, "pairs": len(pairs), "stadstwin_s": project_s,
               "stadstwin_peak_MiB": _peak_extra_mib("stadstwin", n)}
        if n <= args.fcl_max:
            start = time.perf_counter()
            fcl_pairs, fcl_distance, fcl_build_s = fcl_clearance_pairs(p0, p1, radius, CLEARANCE, asset)
            fcl_s = time.perf_counter() - start
            same = len(fcl_pairs) == len(pairs) and bool(np.array_equal(fcl_pairs, pairs))
            row.update({
                "fcl_s": fcl_s, "fcl_build_s": fcl_build_s, "fcl_peak_MiB": _peak_extra_mib("fcl", n),
                "ratio": fcl_s / project_s,
                "same_pairs": same,
                "max_abs_diff_m": float(np.abs(fcl_distance - distance).max()) if same and len(pairs) else "",
            })
        rows.append(row)
    notes = (f"clearance {CLEARANCE} m, street-density network (15 mains + house connections per street); "
             "stadstwin: best of 3 after a warm-up (numba compilation excluded), 2 threads; fcl: one run "
             "including building its objects (DynamicAABBTree over capsules inflated by clearance/2, "
             "fcl.distance per candidate in a Python callback); fcl skipped above "
             f"{args.fcl_max} segments (its time grows linearly: 100k takes over a minute, 1M would "
             "take over 10 minutes); "
             "peak MiB = extra peak RSS of one call over its input, measured in a fresh process.")
    report("clash", rows, notes=notes)


if __name__ == "__main__":
    main()
