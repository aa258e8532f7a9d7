"""Shadow, sky view factor and sun hours: stadstwin against umep (Python) and solweig (Rust).

Same 1000 × 1000 DSM at 1 m (street blocks with buildings of 8–30 m and street trees) for all.
Rows: shadow per sun position (mean of three), SVF, a full UTC day of sun hours at 10-minute
steps (solweig: its shadow kernel summed over the same sun positions; its GPU backend, which finds
only a software device here, is timed for the shadow row only), SVF accuracy at the centre
of an analytic canyon (H = W), and peak memory per megapixel (RSS growth of a fresh process).
Peers' SVF with trees is UMEP's svfbuveg = svf − (1 − svfveg)(1 − ψ), ψ = 0.03.
umep's 153-patch SVF keeps three rows × cols × 153 float32 stacks and takes minutes per patch
set at 1 MP, so it runs on the 250 × 250 north-west crop, against stadstwin on the same crop.

Run: ``python benchmarks/bench_shade.py`` (add ``--quick`` for a 400 × 400 DSM).
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from datetime import date
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from harness import measure, report

from stadstwin.shade import shadow_mask, sky_view_factor, sun_hours, sun_positions

SUN = [(135.0, 30.0), (180.0, 58.0), (250.0, 15.0)]
ORIGIN = (121000.0, 488000.0)  # upper-left corner, RD New (Amsterdam)
DAY = date(2026, 6, 21)
TRANSMISSIVITY = 0.03
CROP = 250


def district(n: int, seed: int = 42) -> tuple[np.ndarray, np.ndarray]:
    """DSM [m] of blocks on a 60 m grid (20 m streets) with 8-30 m buildings, and a canopy
    height raster [m] of street trees; heights are float32-exact as when read from a GeoTIFF."""
    rng = np.random.default_rng(seed)
    dsm = np.zeros((n, n))
    for r in range(0, n, 60):
        for c in range(0, n, 60):
            for dr in (0, 20):
                for dc in (0, 20):
                    dsm[r + 10 + dr : r + 30 + dr, c + 10 + dc : c + 30 + dc] = rng.uniform(
                        8.0, 30.0
                    )
    canopy = np.zeros((n, n))
    for r in range(3, n - 3, 12):
        for c in range(3, n - 3, 12):
            if dsm[r - 3 : r + 4, c - 3 : c + 4].max() == 0.0 and rng.random() < 0.7:
                yy, xx = np.mgrid[-3:4, -3:4]
                crown = np.where(yy**2 + xx**2 <= 9, rng.uniform(6.0, 15.0), 0.0)
                canopy[r - 3 : r + 4, c - 3 : c + 4] = np.maximum(
                    canopy[r - 3 : r + 4, c - 3 : c + 4], crown
                )
    return dsm.astype(np.float32).astype(np.float64), canopy.astype(np.float32).astype(np.float64)


def umep_inputs(dsm: np.ndarray, canopy: np.ndarray):
    """UMEP's absolute canopy/trunk DSMs, bush layer and amaxvalue, prepared as SOLWEIG does."""
    vegdem = np.where(canopy > 0, canopy + dsm, 0.0)
    vegdem2 = np.where(canopy > 0, 0.25 * canopy + dsm, 0.0)
    bush = np.logical_not(vegdem2 * vegdem) * vegdem
    amax = float(max(dsm.max(), vegdem.max()) - dsm.min())
    return vegdem, vegdem2, bush, amax


def umep_shadow(dsm, canopy, azimuth, altitude):
    from umep.util.shadowingfunctions import shadowingfunction_20

    vegdem, vegdem2, bush, amax = umep_inputs(dsm, canopy)
    with np.errstate(divide="ignore", over="ignore"):
        out = shadowingfunction_20(dsm, vegdem, vegdem2, azimuth, altitude, 1.0, amax, bush, 1)
    return out["sh"] - (1.0 - out["vegsh"]) * (1.0 - TRANSMISSIVITY)


def umep_svf(dsm, canopy):
    import contextlib
    import io

    from umep.functions.svf_functions import svfForProcessing153

    vegdem, vegdem2, _, amax = umep_inputs(dsm, canopy)
    with contextlib.redirect_stderr(io.StringIO()), np.errstate(divide="ignore", over="ignore"):
        out = svfForProcessing153(dsm, vegdem, vegdem2, 1.0, 1 if canopy.any() else 0, amax)
    return (
        out["svf"] - (1.0 - out["svfveg"]) * (1.0 - TRANSMISSIVITY) if canopy.any() else out["svf"]
    )


def solweig_shadow(dsm, canopy, azimuth, altitude):
    from solweig import rustalgos

    vegdem, vegdem2, bush, amax = umep_inputs(dsm, canopy)
    f32 = np.float32
    res = rustalgos.shadowing.calculate_shadows_wall_ht_25(
        azimuth,
        altitude,
        1.0,
        amax,
        dsm.astype(f32),
        vegdem.astype(f32),
        vegdem2.astype(f32),
        bush.astype(f32),
    )
    return np.asarray(res.bldg_sh) - (1.0 - np.asarray(res.veg_sh)) * (1.0 - TRANSMISSIVITY)


def solweig_svf(dsm, canopy):
    from solweig import rustalgos

    vegdem, vegdem2, _, amax = umep_inputs(dsm, canopy)
    f32 = np.float32
    res = rustalgos.skyview.calculate_svf(
        dsm.astype(f32), vegdem.astype(f32), vegdem2.astype(f32), 1.0, bool(canopy.any()), amax
    )
    svf = np.asarray(res.svf)
    return svf - (1.0 - np.asarray(res.svf_veg)) * (1.0 - TRANSMISSIVITY) if canopy.any() else svf


def solweig_sun_hours(dsm, canopy, azimuths, altitudes, hours_per_step):
    total = np.zeros(dsm.shape)
    for azimuth, altitude in zip(azimuths, altitudes):
        total += solweig_shadow(dsm, canopy, float(azimuth), float(altitude))
    return total * hours_per_step


def set_solweig_gpu(enabled: bool) -> None:
    import solweig

    (solweig.enable_gpu if enabled else solweig.disable_gpu)()


def canyon_accuracy() -> dict[str, float]:
    """|SVF − cos(atan(2H/W))| at the centre of a 200 m long canyon, H = W = 20 m."""
    dsm = np.zeros((200, 200))
    dsm[:, :90] = 20.0
    dsm[:, 110:] = 20.0
    none = np.zeros_like(dsm)
    exact = math.cos(math.atan(2.0))
    return {
        "stadstwin": abs(float(sky_view_factor(dsm, 1.0)[100, 100]) - exact),
        "solweig": abs(float(solweig_svf(dsm, none)[100, 100]) - exact),
        "umep": abs(float(umep_svf(dsm, none)[100, 100]) - exact),
    }


def memory_child(task: str, n: int) -> None:
    """Run one task once on a fresh process; print peak RSS growth [MiB] as JSON."""
    dsm, canopy = district(n)
    small_dsm, small_canopy = district(120)
    warm = {
        "stadstwin shadow": lambda d, c: shadow_mask(d, 1.0, *SUN[0], canopy=c),
        "solweig shadow": lambda d, c: solweig_shadow(d, c, *SUN[0]),
        "umep shadow": lambda d, c: umep_shadow(d, c, *SUN[0]),
        "stadstwin svf": lambda d, c: sky_view_factor(d, 1.0, canopy=c),
        "solweig svf": solweig_svf,
    }[task]
    if task.startswith("solweig"):
        set_solweig_gpu(False)
    warm(small_dsm, small_canopy)
    before = _status_kib("VmRSS")
    Path("/proc/self/clear_refs").write_text("5")  # reset the peak-RSS mark (Linux)
    warm(dsm, canopy)
    print(json.dumps({"mib": (_status_kib("VmHWM") - before) / 1024}))


def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def peak_mib_per_mpx(task: str, n: int) -> float:
    out = subprocess.run(
        [sys.executable, __file__, "--memory", task, str(n)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])["mib"] / (n * n / 1e6)


def main(n: int) -> None:
    dsm, canopy = district(n)
    rows: list[dict] = []

    def row(task, ours_s, peer, peer_s, **extra):
        rows.append(
            {
                "task": task,
                "stadstwin_s": ours_s,
                "peer": peer,
                "peer_s": peer_s,
                "speedup": peer_s / ours_s,
                **extra,
            }
        )

    # shadow per sun position
    ours_t, ours_masks = [], []
    for az, alt in SUN:
        t, m = measure(
            lambda az=az, alt=alt: shadow_mask(
                dsm, 1.0, az, alt, canopy=canopy, transmissivity=TRANSMISSIVITY
            )
        )
        ours_t.append(t)
        ours_masks.append(m)
    ours_shadow = float(np.mean(ours_t))
    umep_t, agree = [], []
    for (az, alt), mine in zip(SUN, ours_masks):
        t, theirs = measure(
            lambda az=az, alt=alt: umep_shadow(dsm, canopy, az, alt), repeat=1, warmup=False
        )
        umep_t.append(t)
        agree.append(float(np.isclose(mine, theirs, atol=1e-6).mean()))
    row(
        "shadow / sun position",
        ours_shadow,
        "umep",
        float(np.mean(umep_t)),
        agree_pct=100 * min(agree),
    )
    for gpu in (False, True):
        set_solweig_gpu(gpu)
        sw_t, agree = [], []
        for (az, alt), mine in zip(SUN, ours_masks):
            t, theirs = measure(
                lambda az=az, alt=alt: solweig_shadow(dsm, canopy, az, alt), repeat=3
            )
            sw_t.append(t)
            agree.append(float(np.isclose(mine, theirs, atol=1e-6).mean()))
        row(
            "shadow / sun position",
            ours_shadow,
            f"solweig ({'gpu' if gpu else 'cpu'})",
            float(np.mean(sw_t)),
            agree_pct=100 * min(agree),
        )

    # sky view factor
    ours_svf_t, ours_svf = measure(lambda: sky_view_factor(dsm, 1.0, canopy=canopy), repeat=2)
    set_solweig_gpu(False)
    t, theirs = measure(lambda: solweig_svf(dsm, canopy), repeat=1, warmup=False)
    row(
        "svf", ours_svf_t, "solweig (cpu)", t, mean_abs_diff=float(np.abs(ours_svf - theirs).mean())
    )
    crop_dsm, crop_canopy = dsm[:CROP, :CROP].copy(), canopy[:CROP, :CROP].copy()
    ours_crop_t, ours_crop = measure(lambda: sky_view_factor(crop_dsm, 1.0, canopy=crop_canopy))
    umep_crop_t, umep_crop = measure(
        lambda: umep_svf(crop_dsm, crop_canopy), repeat=1, warmup=False
    )
    row(
        f"svf {CROP}x{CROP} crop",
        ours_crop_t,
        "umep",
        umep_crop_t,
        mean_abs_diff=float(np.abs(ours_crop - umep_crop).mean()),
    )
    errors = canyon_accuracy()
    rows.append(
        {
            "task": "svf |error| canyon H=W",
            "stadstwin_s": "",
            "peer": "solweig / umep",
            "peer_s": "",
            "speedup": "",
            "stadstwin_err": errors["stadstwin"],
            "solweig_err": errors["solweig"],
            "umep_err": errors["umep"],
        }
    )

    # a full day of sun hours at 10-minute steps
    from stadstwin.crs import rd_to_wgs84

    lat, lon = rd_to_wgs84(ORIGIN[0] + n / 2, ORIGIN[1] - n / 2)
    azimuths, altitudes = sun_positions(float(lat), float(lon), DAY, 10)
    ours_day_t, ours_day = measure(
        lambda: sun_hours(dsm, 1.0, ORIGIN, DAY, 10, canopy=canopy), repeat=1
    )
    t, theirs = measure(
        lambda: solweig_sun_hours(dsm, canopy, azimuths, altitudes, 10 / 60), repeat=1, warmup=False
    )
    row(
        f"sun hours, day at 10 min ({azimuths.size} positions)",
        ours_day_t,
        "solweig (cpu)",
        t,
        max_abs_diff_h=float(np.abs(ours_day - theirs).max()),
    )

    # peak memory per megapixel (fresh process per task)
    for task in (
        "stadstwin shadow",
        "solweig shadow",
        "umep shadow",
        "stadstwin svf",
        "solweig svf",
    ):
        rows.append(
            {"task": "peak MiB / Mpx", "peer": task, "mib_per_mpx": peak_mib_per_mpx(task, n)}
        )

    report(
        "shade",
        rows,
        notes=(
            f"DSM {n}x{n} at 1 m with street trees; shadow = mean of {len(SUN)} sun positions; "
            f"umep SVF on the {CROP}x{CROP} crop (153 patches); solweig shadow run with its GPU "
            "backend off and on (this machine has no GPU: its 'gpu' backend runs on whatever wgpu "
            "finds, a software device, and is 2-3x slower than its CPU path, so SVF and sun hours "
            "use the CPU path). agree_pct: share of cells with the same shadow value as the peer."
        ),
    )


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--memory":
        memory_child(sys.argv[2], int(sys.argv[3]))
    else:
        main(400 if "--quick" in sys.argv else 1000)
