"""A full hot day of Tmrt + UTCI: stadstwin against solweig (Rust SOLWEIG by the UMEP developers).

Same 1000 × 1000 DSM at 1 m as ``bench_shade`` (street blocks with 8–30 m buildings, street
trees as a canopy raster). Weather: the shipped hot day (clear sky, 18–30 °C, RH 50 %, 2 m/s),
24 hourly steps, given to both as the same Ta, RH, wind and measured direct/diffuse radiation.
Both sides start from the DSM and canopy (SVF included), compute Tmrt and UTCI at every hour
and reduce them to the day's mean Tmrt and highest UTCI; solweig keeps those in memory
(``outputs=[]``, isotropic sky as in stadstwin) and runs on its CPU and on its GPU backend
(on a machine without a GPU that is a software adapter). Peak memory is the sampled RSS growth
of a fresh process per megapixel. The street-ground rows compare the daily mean Tmrt and max
UTCI averaged over the cells without building or crown; the models differ by design (see
``stadstwin.engines.radiation``). solweig 0.1.0b96's CPU backend, given a canopy raster (even an
all-zero one), returns open-sun Tmrt near air temperature (29.6 °C where its GPU backend and the
run without canopy give 53 °C at 13 h, 28 °C, 800 W/m²), so its CPU timing is real but its
result is not; the GPU backend's result is the one to compare with.

Run: ``python benchmarks/bench_heatday.py`` (``--quick`` for a 400 × 400 DSM).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from datetime import date
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from bench_shade import ORIGIN, district
from harness import measure, report

from stadstwin.analyses.heat_stress import UTCI_WIND_RANGE, local_times, radiant_moments
from stadstwin.crs import rd_to_wgs84
from stadstwin.heat import utci
from stadstwin.io.weather import hot_day
from stadstwin.model.enums import Surface
from stadstwin.rules import load_rules
from stadstwin.shade import sky_view_factor

RULES = load_rules()
DAY = date.fromisoformat(RULES.climate.hot_day.date)
UTC_OFFSET = 2  # CEST
TRANSMISSIVITY = RULES.climate.vegetation.transmissivity_leaf_on
TRUNK = RULES.climate.vegetation.trunk_fraction


def site(n: int) -> tuple[float, float]:
    lat, lon = rd_to_wgs84(ORIGIN[0] + n / 2.0, ORIGIN[1] - n / 2.0)
    return float(lat), float(lon)


def day_weather(n: int):
    lat, lon = site(n)
    weather = hot_day(RULES.climate.hot_day, DAY, lat, lon)
    times = local_times(DAY, list(range(24)))
    return weather, times, weather.at(times)


def stadstwin_day(dsm: np.ndarray, canopy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Daily mean Tmrt and highest UTCI [°C] over 24 hourly steps."""
    n = dsm.shape[0]
    weather, times, _ = day_weather(n)
    lat, lon = site(n)
    svf = sky_view_factor(dsm, 1.0, canopy=canopy)
    codes = np.where(dsm > 0.0, int(Surface.BUILDING), int(Surface.UNKNOWN)).astype(np.int8)
    tmrt_sum = np.zeros(dsm.shape)
    utci_max = np.full(dsm.shape, -np.inf)
    for moment in radiant_moments(dsm, 1.0, canopy, canopy * TRUNK, svf, codes, times, weather, lat, lon,
                                  TRANSMISSIVITY, RULES.climate.person, RULES.surfaces):
        tmrt_sum += moment.tmrt
        wind = float(np.clip(moment.wind_10m, *UTCI_WIND_RANGE))
        utci_max = np.fmax(utci_max, utci(moment.ta, moment.tmrt, wind, moment.rh))
    return tmrt_sum / len(times), utci_max


def solweig_day(dsm: np.ndarray, canopy: np.ndarray, gpu: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """solweig's daily mean Tmrt and highest UTCI [°C] over the same 24 hours, CPU or GPU backend."""
    import solweig

    (solweig.enable_gpu if gpu else solweig.disable_gpu)()
    n = dsm.shape[0]
    _, times, state = day_weather(n)
    lat, lon = site(n)
    surface = solweig.SurfaceData(dsm=dsm.astype(np.float32), cdsm=canopy.astype(np.float32), pixel_size=1.0,
                                  trunk_ratio=TRUNK)
    surface.compute_svf()
    hours = [
        solweig.Weather(datetime=t.tz_convert(f"Etc/GMT-{UTC_OFFSET}").tz_localize(None).to_pydatetime(),
                        ta=float(row.ta), rh=float(row.rh), global_rad=float(row.ghi), ws=float(row.wind_10m),
                        measured_direct_rad=float(row.dni), measured_diffuse_rad=float(row.dhi))
        for t, row in zip(times, state.itertuples())
    ]
    with tempfile.TemporaryDirectory() as folder:
        summary = solweig.calculate(
            surface=surface, weather=hours,
            location=solweig.Location(latitude=lat, longitude=lon, utc_offset=UTC_OFFSET),
            output_dir=folder, use_anisotropic_sky=False, outputs=[],
        )
    return np.asarray(summary.tmrt_mean, dtype=np.float64), np.asarray(summary.utci_max, dtype=np.float64)


TASKS = {"stadstwin": stadstwin_day, "solweig": solweig_day}


def _rss_mib() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def memory_child(task: str, n: int) -> None:
    """Run one task on a fresh process after a small warm-up; print its peak RSS growth [MiB] as JSON.

    The resident set is sampled every 5 ms during the run (the warm-up's numba compilation peak
    would hide the run's own peak from ``ru_maxrss``)."""
    TASKS[task](*district(60))
    dsm, canopy = district(n)
    before = _rss_mib()
    peak = [before]
    running = threading.Event()
    running.set()

    def sample() -> None:
        while running.is_set():
            peak[0] = max(peak[0], _rss_mib())
            time.sleep(0.005)

    sampler = threading.Thread(target=sample)
    sampler.start()
    TASKS[task](dsm, canopy)
    running.clear()
    sampler.join()
    print(json.dumps({"mib": max(peak[0], _rss_mib()) - before}))


def peak_mib_per_mpx(task: str, n: int) -> float:
    out = subprocess.run([sys.executable, __file__, "--memory", task, str(n)], capture_output=True,
                         text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])["mib"] / (n * n / 1e6)


def main(n: int) -> None:
    dsm, canopy = district(n)
    small = district(60)
    stadstwin_day(*small)  # numba compilation outside the timing
    solweig_day(*small)
    solweig_day(*small, True)
    ours_s, (ours_tmrt, ours_utci) = measure(lambda: stadstwin_day(dsm, canopy), repeat=1, warmup=False)
    street = (dsm == 0.0) & (canopy == 0.0)
    rows = []
    for gpu in (False, True):
        backend = "gpu" if gpu else "cpu"
        peer_s, (peer_tmrt, peer_utci) = measure(lambda gpu=gpu: solweig_day(dsm, canopy, gpu), repeat=1,
                                                 warmup=False)
        rows.append({"task": f"hot day Tmrt+UTCI, 24 h, {n}x{n}", "peer": f"solweig ({backend})",
                     "stadstwin": ours_s, "solweig": peer_s, "speedup": peer_s / ours_s})
        rows.append({"task": "street ground: daily mean Tmrt [°C]", "peer": f"solweig ({backend})",
                     "stadstwin": float(np.nanmean(ours_tmrt[street])),
                     "solweig": float(np.nanmean(peer_tmrt[street])), "speedup": ""})
        rows.append({"task": "street ground: max UTCI [°C]", "peer": f"solweig ({backend})",
                     "stadstwin": float(np.nanmean(ours_utci[street])),
                     "solweig": float(np.nanmean(peer_utci[street])), "speedup": ""})
    rows.append({"task": "peak MiB / megapixel", "peer": "solweig (cpu)",
                 "stadstwin": peak_mib_per_mpx("stadstwin", n), "solweig": peak_mib_per_mpx("solweig", n),
                 "speedup": ""})
    report("heatday", rows, notes=(
        "Times in s. Both include SVF and 24 hourly Tmrt+UTCI steps; solweig with outputs=[] (summary "
        "grids in memory), isotropic sky. Memory: MiB per megapixel (sampled RSS growth of a fresh "
        "process). Street-ground rows compare the results: stadstwin's balance is a simplified SOLWEIG "
        "(no wall-aspect scheme, own cell as ground, no surface thermal delay). solweig's CPU backend "
        "mishandles a canopy raster (open-sun Tmrt near air temperature), see the module docstring."))


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--memory":
        memory_child(sys.argv[2], int(sys.argv[3]))
    else:
        main(400 if "--quick" in sys.argv else 1000)
