"""Cost per cell of the heat analysis's shadow part (sun hours, shade snapshots, SVF) against raster size.

The scene is ``bench_shade.district`` (60 m blocks of 8–30 m buildings and street trees at 1 m)
repeated to 0.25, 1 and 4 Mpx (``--full`` adds 16 Mpx), once as it is and once with a single 80 m
tower at the centre: a real city's highest building rises with the extent, and rays that must climb
above it were what made the cost grow with scene size. Per size the work of ``heat_grids``: a UTC
day of sun hours at 10-minute steps, the shadow masks at 12 and 15 h and at 12:30 … 17:30, and the
sky view factor. Reported: CPU time per cell [µs] (the machine is shared, so process time rather than
wall time is the figure to compare), its ratio to the smallest size, and as baseline UMEP's numpy
``shadowingfunction_20`` (as in ``bench_shade``) per cell for the lowest snapshot sun, up to 1 Mpx.

Run: ``python benchmarks/bench_heat_scaling.py`` (``--full`` adds the 16 Mpx size, several minutes).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from bench_shade import DAY, ORIGIN, district, umep_shadow
from harness import measure, report

from stadstwin.analyses.heat_stress import local_times, period_moments
from stadstwin.crs import rd_to_wgs84
from stadstwin.shade import shadow_mask, sky_view_factor, sun_hours
from stadstwin.sun import solar_position

TOWER_HEIGHT = 80.0
PEER_MAX_CELLS = 1_000_000


def scene(n: int, tower: bool) -> tuple[np.ndarray, np.ndarray]:
    """The district at n × n cells, with a 20 × 20 m tower of ``TOWER_HEIGHT`` at the centre if asked."""
    dsm, canopy = district(n)
    if tower:
        dsm[n // 2 - 10 : n // 2 + 10, n // 2 - 10 : n // 2 + 10] = TOWER_HEIGHT
        canopy[n // 2 - 10 : n // 2 + 10, n // 2 - 10 : n // 2 + 10] = 0.0
    return dsm, canopy


def snapshots(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Sun azimuth and altitude [deg] of the shade snapshots heat_grids takes (12, 15 h, 12:30 … 17:30)."""
    lat, lon = rd_to_wgs84(ORIGIN[0] + n / 2.0, ORIGIN[1] - n / 2.0)
    times = local_times(DAY, [12.0, 15.0]).append(period_moments(DAY))
    zenith, azimuth = solar_position(times, float(lat), float(lon))
    return azimuth, 90.0 - zenith


def cpu_seconds(fn) -> float:
    """Process CPU time of one call of ``fn`` [s] (all threads)."""
    start = time.process_time()
    measure(fn, repeat=1, warmup=False)
    return time.process_time() - start


def parts(dsm: np.ndarray, canopy: np.ndarray) -> dict[str, float]:
    """CPU seconds of each shadow part of heat_grids on one scene."""
    azimuth, altitude = snapshots(dsm.shape[0])
    return {
        "sun hours": cpu_seconds(lambda: sun_hours(dsm, 1.0, ORIGIN, DAY, 10, canopy=canopy)),
        "shade snapshots": cpu_seconds(lambda: [shadow_mask(dsm, 1.0, a, h, canopy=canopy)
                                                for a, h in zip(azimuth, altitude)]),
        "svf": cpu_seconds(lambda: sky_view_factor(dsm, 1.0, canopy=canopy)),
    }


def peer_ratio(dsm: np.ndarray, canopy: np.ndarray) -> float:
    """CPU time of UMEP's shadowingfunction_20 over stadstwin's shadow_mask for the lowest snapshot sun."""
    azimuth, altitude = snapshots(dsm.shape[0])
    low = int(np.argmin(altitude))
    ours = cpu_seconds(lambda: shadow_mask(dsm, 1.0, azimuth[low], altitude[low], canopy=canopy))
    return cpu_seconds(lambda: umep_shadow(dsm, canopy, azimuth[low], altitude[low])) / ours


def main(sizes: list[int]) -> None:
    parts(*scene(64, True))  # numba compilation outside the timing
    rows = []
    for tower in (False, True):
        first = None
        for n in sizes:
            dsm, canopy = scene(n, tower)
            cells = dsm.size
            seconds = parts(dsm, canopy)
            per_cell = {k: v / cells * 1e6 for k, v in seconds.items()}
            total = sum(per_cell.values())
            first = first or total
            row = {"scene": "district + 80 m tower" if tower else "district", "Mpx": cells / 1e6,
                   **{f"{k} [us/cell]": v for k, v in per_cell.items()},
                   "total [us/cell]": total, "ratio to smallest": total / first}
            if cells <= PEER_MAX_CELLS:
                row["low-sun mask: umep / stadstwin"] = peer_ratio(dsm, canopy)
            rows.append(row)
            print(row, flush=True)
    report("heat_scaling", rows, notes=(
        "CPU time per cell [us] of heat_grids' shadow part on a repeated synthetic district at 1 m "
        "(sun hours of a day at 10 min, 8 shade snapshots, SVF with 64 directions); ratio = total per "
        "cell / total per cell at the smallest size of the same scene (target 0.8-1.2). Last column: "
        "UMEP's numpy shadowingfunction_20 over stadstwin for the lowest snapshot sun (<= 1 Mpx)."))


if __name__ == "__main__":
    main([500, 1000, 2000] + ([4000] if "--full" in sys.argv else []))
