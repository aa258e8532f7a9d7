"""The district as an AHN-like airborne point cloud: LAZ 1.4, point format 6, EPSG:7415 in a WKT VLR.

Classes follow AHN3: 2 ground, 6 building, 1 other/vegetation, 9 water. Points are uniform at
``density`` per m² (water keeps one in five returns, as water absorbs the pulse); a tree crown returns
a first echo on an ellipsoidal crown and, for some pulses, a last echo on the ground below.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import laspy
import numpy as np
import shapely
from pyproj import CRS

from stadstwin.sample.district import District, ground_z

DENSITY = 9.0  # points per m² (AHN3 averages 8–10)
GROUND, VEGETATION, BUILDING, WATER = 2, 1, 6, 9
CROWN_BASE = 0.35  # crown starts at this fraction of the tree height
GROUND_ECHO = 0.4  # share of crown pulses that also return from the ground


def point_cloud(
    district: District, rng: np.random.Generator, density: float = DENSITY
) -> dict[str, np.ndarray]:
    """Points of the district: x, y, z [m], classification, return_number, number_of_returns."""
    x0, y0, x1, y1 = district.extent
    n = round(density * (x1 - x0) * (y1 - y0))
    x = np.round(rng.uniform(x0, x1, n), 3)
    y = np.round(rng.uniform(y0, y1, n), 3)
    order = np.argsort(x, kind="stable")
    x, y = x[order], y[order]
    z = ground_z(x, y, district.extent) + rng.normal(0.0, 0.02, n)
    cls = np.full(n, GROUND, np.uint8)
    returns = np.ones(n, np.uint8)

    for building in district.buildings:
        bx0, by0, bx1, by1 = building.footprint
        lo, hi = np.searchsorted(x, [bx0, bx1])
        inside = lo + np.flatnonzero((y[lo:hi] >= by0) & (y[lo:hi] <= by1))
        z[inside] = building.roof_z(x[inside], y[inside]) + rng.normal(0.0, 0.03, inside.size)
        cls[inside] = BUILDING

    for area in district.areas:
        if area.layer == "waterdeel":
            inside = np.flatnonzero(shapely.contains_xy(area.polygon, x, y))
            z[inside] = district.water_level + rng.normal(0.0, 0.01, inside.size)
            cls[inside] = WATER

    echo_x, echo_y = [], []
    for tree in district.trees:
        radius = tree.crown / 2.0
        lo, hi = np.searchsorted(x, [tree.x - radius, tree.x + radius])
        rho = np.hypot(x[lo:hi] - tree.x, y[lo:hi] - tree.y) / radius
        hit = lo + np.flatnonzero((rho < 1.0) & (rng.random(hi - lo) < 0.9))
        half = (1.0 - CROWN_BASE) * tree.height / 2.0
        top = tree.height - half + half * np.sqrt(1.0 - (rho[hit - lo]) ** 2)
        depth = np.minimum(rng.exponential(0.4, hit.size), top - CROWN_BASE * tree.height)
        z[hit] = ground_z(x[hit], y[hit], district.extent) + top - depth
        cls[hit] = VEGETATION
        returns[hit] = 2
        echo = hit[rng.random(hit.size) < GROUND_ECHO]
        echo_x.append(x[echo])
        echo_y.append(y[echo])

    keep = (cls != WATER) | (rng.random(n) < 0.2)
    ex, ey = np.concatenate(echo_x), np.concatenate(echo_y)
    return {
        "x": np.concatenate([x[keep], ex]),
        "y": np.concatenate([y[keep], ey]),
        "z": np.round(
            np.concatenate(
                [z[keep], ground_z(ex, ey, district.extent) + rng.normal(0.0, 0.02, ex.size)]
            ),
            3,
        ),
        "classification": np.concatenate([cls[keep], np.full(ex.size, GROUND, np.uint8)]),
        "return_number": np.concatenate(
            [np.ones(int(keep.sum()), np.uint8), np.full(ex.size, 2, np.uint8)]
        ),
        "number_of_returns": np.concatenate([returns[keep], np.full(ex.size, 2, np.uint8)]),
    }


def write_laz(district: District, path: Path, rng: np.random.Generator) -> dict[int, int]:
    """Write the point cloud to ``path``; returns the point count per class."""
    points = point_cloud(district, rng)
    header = laspy.LasHeader(point_format=6, version="1.4")
    header.offsets = np.array([district.extent[0], district.extent[1], 0.0])
    header.scales = np.array([0.001, 0.001, 0.001])
    header.add_crs(CRS.from_epsg(7415))
    header.system_identifier = "stadstwin sample"
    header.generating_software = "stadstwin sample district"
    header.creation_date = dt.date(2026, 1, 1)
    las = laspy.LasData(header)
    for name in ("x", "y", "z", "classification", "return_number", "number_of_returns"):
        setattr(las, name, points[name])
    count = points["x"].size
    las.gps_time = 3.0e8 + np.arange(count) * 1e-5  # adjusted GPS time, one pulse train
    las.intensity = np.where(points["classification"] == VEGETATION, 40, 90).astype(np.uint16)
    las.point_source_id = np.ones(count, np.uint16)
    las.write(path, laz_backend=laspy.LazBackend.Lazrs)
    classes, counts = np.unique(points["classification"], return_counts=True)
    return {int(c): int(k) for c, k in zip(classes, counts)}
