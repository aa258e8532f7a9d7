"""Drinking-water mains warmed by power cables and heat networks: water temperature over the year.

Per water segment (every kind whose ``drinking_water`` flag is set in ``rules.utilities``, not abandoned) receivers lie on its axis every
``receiver_spacing`` metres. The wall temperature at a receiver is the undisturbed ground
temperature at its depth (Kusuda–Achenbach with the urban offset, ``rules.climate.ground``) plus
the hourly rise from every heat source (``temperature_rise_hourly``: finite segments with images,
warm start under the mean load, transient part from sources within ``cutoff``). The segment's
temperature per hour is that of its warmest receiver.

Stagnation (``stagnation_hours`` τ, default 0 = off): off, the water takes the wall temperature
(water at rest for long, the usual worst case). With τ > 0 the water follows the wall as a
first-order lag, dT_w/dt = (T_wall − T_w)/τ — flowing water with a residence time τ damps the
daily cycle and lags the season; the lag starts at the wall temperature of hour 0.

Settings: hours (8760), cutoff [m] (10), receiver_spacing [m] (2.5), stagnation_hours (0),
soil (name in the soil rules), resistivity [K·m/W] and diffusivity [m²/s] (override the soil),
top_sources (3). The rise left out by the cut-off is bounded per receiver by the sum of
``cutoff_error_bound`` over the sources beyond it; the largest such bound is reported.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.signal

from stadstwin.analyses.result import AnalysisResult, with_defaults
from stadstwin.analyses.settings import number
from stadstwin.analyses.thermal_sources import (
    HeatSources,
    ground_level,
    ground_temperature_hourly,
    heat_sources,
)
from stadstwin.errors import InputError
from stadstwin.model.enums import Status
from stadstwin.model.scene import Scene
from stadstwin.model.twin import Twin
from stadstwin.rules import Rules
from stadstwin.rules.tables import SoilProperties
from stadstwin.thermal import cutoff_error_bound, temperature_rise, temperature_rise_hourly

DEFAULTS: dict[str, Any] = {
    "hours": 8760, "cutoff": 10.0, "receiver_spacing": 2.5, "stagnation_hours": 0.0, "soil": None,
    "resistivity": None, "diffusivity": None, "top_sources": 3,
}
CHUNK_RECEIVERS = 1024
"""Receivers per hourly run (memory: receivers × hours × 8 bytes per array)."""
BEYOND_CUTOFF = "sources beyond the cut-off"


@dataclass(frozen=True)
class Contribution:
    """One source feature's part of the rise at a segment's worst hour."""

    feature_id: str
    owner: str
    rise_k: float
    share: float


@dataclass(frozen=True)
class WaterWarming:
    """Per water segment (S rows) over T hours; ``rows`` index ``twin.networks``."""

    rows: np.ndarray
    segments: np.ndarray  # (S, 2, 3)
    feature_id: np.ndarray
    owner: np.ndarray
    length: np.ndarray
    temperature: np.ndarray  # (S, T) water temperature of the warmest receiver [°C]
    max_temperature: np.ndarray  # (S,) [°C]
    worst_hour: np.ndarray  # (S,) hour index of the maximum
    worst_point: np.ndarray  # (S, 3) receiver of the maximum
    worst_depth: np.ndarray  # (S,) its depth below ground [m]
    rise_at_worst: np.ndarray  # (S,) wall rise over the undisturbed ground at the maximum [K]
    hours_above_limit: np.ndarray  # (S,) [h]
    hours_above_warning: np.ndarray  # (S,) [h]
    contributions: dict[int, list[Contribution]]  # segment index → ranked sources (segments above warning)
    sources: HeatSources
    soil: SoilProperties
    limit: float
    warning: float
    cutoff: float
    cutoff_error_k: float
    stagnation_hours: float

    @property
    def worst(self) -> int:
        """Index of the segment with the highest water temperature (−1 without water mains)."""
        return int(np.argmax(self.max_temperature)) if len(self.rows) else -1


def scene_settings(scene: Scene) -> dict[str, Any]:
    """The thermal settings a scene implies: its soil name and own soil values."""
    soil = scene.soil
    return {k: v for k, v in (("soil", soil.soil), ("resistivity", soil.resistivity),
                              ("diffusivity", soil.diffusivity)) if v is not None}


def water_temperatures(twin: Twin, rules: Rules, settings: dict[str, Any]) -> WaterWarming:
    """Hourly water temperature of every water segment and its ranked heat sources (module doc)."""
    options = _options(settings)
    hours, cutoff = options["hours"], options["cutoff"]
    base = rules.soil_properties(options["soil"])
    soil = SoilProperties(
        resistivity=options["resistivity"] or base.resistivity, diffusivity=options["diffusivity"] or base.diffusivity,
        source=base.source, practice=base.practice,
    )
    limit, warning = rules.drinking_water.limit.value, rules.drinking_water.warning.value
    sources = heat_sources(twin, rules, soil, hours)
    net = twin.networks
    rows = np.flatnonzero(rules.utility_flags("drinking_water")[net.utility] & (net.status != Status.ABANDONED))
    segments = np.stack([net.p0[rows], net.p1[rows]], axis=1)
    owner_of, points = receivers(segments, options["receiver_spacing"])
    ground = ground_level(twin, points)
    depth = np.maximum(ground - points[:, 2], 0.0)
    n = len(rows)
    temperature = np.full((n, hours), -np.inf)
    best = np.full(n, -np.inf)
    worst_hour = np.zeros(n, dtype=np.int64)
    worst_receiver = np.zeros(n, dtype=np.int64)
    rise_at_worst = np.zeros(n)
    for first in range(0, len(points), CHUNK_RECEIVERS):
        block = slice(first, first + CHUNK_RECEIVERS)
        rise = hourly_rise(sources, points[block], soil, cutoff, hours)
        wall = ground_temperature_hourly(depth[block], hours, rules.climate.ground, soil.diffusivity) + rise
        water = lagged(wall, options["stagnation_hours"])
        owners = owner_of[block]
        np.maximum.at(temperature, owners, water)
        hour = np.argmax(water, axis=1)
        peak = water[np.arange(len(hour)), hour]
        for k in np.flatnonzero(peak > best[owners]):
            s = owners[k]
            if peak[k] > best[s]:
                best[s], worst_hour[s], worst_receiver[s] = peak[k], hour[k], first + k
                rise_at_worst[s] = rise[k, hour[k]]
    worst_point = points[worst_receiver] if n else np.zeros((0, 3))
    above_warning = np.flatnonzero(best > warning)
    contributions = rank_sources(
        sources, worst_point[above_warning], worst_hour[above_warning], soil, cutoff, hours)
    return WaterWarming(
        rows=rows, segments=segments, feature_id=net.feature_id[rows], owner=net.owner_name[rows],
        length=net.length[rows], temperature=temperature, max_temperature=best, worst_hour=worst_hour,
        worst_point=worst_point, worst_depth=depth[worst_receiver] if n else np.zeros(0),
        rise_at_worst=rise_at_worst,
        hours_above_limit=np.count_nonzero(temperature > limit, axis=1),
        hours_above_warning=np.count_nonzero(temperature > warning, axis=1),
        contributions={s: ranked[: options["top_sources"]]
                       for s, ranked in zip(above_warning.tolist(), contributions, strict=True)},
        sources=sources, soil=soil, limit=limit, warning=warning, cutoff=cutoff,
        cutoff_error_k=cutoff_bound(sources, points, depth, soil, cutoff, hours),
        stagnation_hours=options["stagnation_hours"],
    )


def water_warming(twin: Twin, rules: Rules, settings: dict[str, Any]) -> AnalysisResult:
    """The ``thermal`` analysis: metrics, findings (water segments above the warning level) and, in
    ``details["water"]``, the per-segment ``WaterWarming`` (for tables, GeoPackages and figures)."""
    result = water_temperatures(twin, rules, settings)
    return AnalysisResult("thermal", metrics=metrics(result), findings=findings(result), details={"water": result})


def metrics(result: WaterWarming) -> dict[str, float]:
    """Scalar results: the worst water segment's temperature and hours, metres above the levels."""
    return {
        "water_max_temperature_c": float(result.max_temperature.max()) if len(result.rows) else math.nan,
        "water_hours_above_limit_h": float(result.hours_above_limit.max(initial=0)),
        "water_metres_above_limit_m": float(result.length[result.hours_above_limit > 0].sum()),
        "water_hours_above_warning_h": float(result.hours_above_warning.max(initial=0)),
        "water_metres_above_warning_m": float(result.length[result.hours_above_warning > 0].sum()),
        "water_max_rise_k": float(result.rise_at_worst.max(initial=0.0)),
        "cutoff_error_bound_k": result.cutoff_error_k,
    }


def findings(result: WaterWarming) -> list[dict[str, Any]]:
    """GeoJSON lines of the water segments above the warning level, hottest first."""
    out = []
    for s in sorted(result.contributions, key=lambda s: -result.max_temperature[s]):
        severity = "limit" if result.hours_above_limit[s] > 0 else "warning"
        top = result.contributions[s]
        out.append({
            "type": "Feature",
            "geometry": {"type": "LineString", "coordinates": result.segments[s].round(3).tolist()},
            "properties": {
                "severity": severity,
                "check": "water_warming",
                "feature_id": str(result.feature_id[s]),
                "owner": str(result.owner[s]),
                "max_temperature_c": round(float(result.max_temperature[s]), 2),
                "hours_above_limit_h": int(result.hours_above_limit[s]),
                "hours_above_warning_h": int(result.hours_above_warning[s]),
                "worst_hour": int(result.worst_hour[s]),
                "rise_k": round(float(result.rise_at_worst[s]), 2),
                "top_sources": [
                    {"feature_id": c.feature_id, "owner": c.owner, "rise_k": round(c.rise_k, 3),
                     "share": round(c.share, 3)} for c in top
                ],
                "message": (
                    f"water main {result.feature_id[s]} reaches {result.max_temperature[s]:.1f} °C, "
                    f"{int(result.hours_above_limit[s])} h above {result.limit:g} °C"
                    + (f"; mostly from {top[0].feature_id} ({top[0].owner}, {100 * top[0].share:.0f}%)" if top else "")
                ),
            },
        })
    return out


def receivers(segments: np.ndarray, spacing: float) -> tuple[np.ndarray, np.ndarray]:
    """(segment index, point (3,)) of receivers at the centres of equal pieces ≤ ``spacing`` long."""
    length = np.linalg.norm(segments[:, 1] - segments[:, 0], axis=1)
    count = np.maximum(np.ceil(length / spacing).astype(np.int64), 1)
    owner = np.repeat(np.arange(len(segments)), count)
    starts = np.cumsum(count) - count
    fraction = (np.arange(count.sum()) - starts[owner] + 0.5) / count[owner]
    points = segments[owner, 0] + fraction[:, None] * (segments[owner, 1] - segments[owner, 0])
    return owner, points.reshape(-1, 3)


def lagged(wall: np.ndarray, tau_hours: float) -> np.ndarray:
    """First-order lag of hourly series (rows) with time constant ``tau_hours``; 0 returns ``wall``."""
    if tau_hours <= 0:
        return wall
    a = math.exp(-1.0 / tau_hours)
    zi = (a * wall[:, :1])
    return scipy.signal.lfilter([1.0 - a], [1.0, -a], wall, axis=1, zi=zi)[0]


def rank_sources(sources: HeatSources, points, hours_at, soil, cutoff, n_hours) -> list[list[Contribution]]:
    """Per point, the rise at its hour split by source feature, largest first (superposition: one
    hourly run per feature near any point; sources beyond the cut-off lumped as one entry)."""
    if not len(points):
        return []
    distance = segment_distance(points, sources.segments)  # (P, M)
    near = distance <= cutoff
    rises: dict[str, np.ndarray] = {}
    total = _rise_at(sources, np.arange(len(sources)), points, hours_at, soil, cutoff, n_hours)
    features = np.unique(sources.feature_id[near.any(axis=0)])
    for feature in features:
        rises[feature] = _rise_at(sources, np.flatnonzero(sources.feature_id == feature), points, hours_at,
                                  soil, cutoff, n_hours)
    owners = {f: str(o) for f, o in zip(sources.feature_id, sources.owner, strict=True)}
    ranked = []
    for p in range(len(points)):
        parts = [(f, float(r[p])) for f, r in rises.items() if near[p, sources.feature_id == f].any()]
        parts.append((BEYOND_CUTOFF, float(total[p]) - sum(r for _, r in parts)))
        scale = float(total[p]) if total[p] > 0 else 1.0
        parts.sort(key=lambda fr: -fr[1])
        ranked.append([Contribution(f, owners.get(f, ""), r, r / scale) for f, r in parts if abs(r) > 1e-6])
    return ranked


def segment_distance(points: np.ndarray, segments: np.ndarray) -> np.ndarray:
    """(P, M) shortest 3D distance [m] from each point to each segment."""
    a, b = segments[None, :, 0], segments[None, :, 1]
    ab = b - a
    t = np.clip(np.einsum("pmk,pmk->pm", points[:, None] - a, np.broadcast_to(ab, (len(points), *ab.shape[1:])))
                / np.maximum(np.einsum("pmk,pmk->pm", ab, ab), 1e-18), 0.0, 1.0)
    return np.linalg.norm(points[:, None] - (a + t[..., None] * ab), axis=2)


def cutoff_bound(sources: HeatSources, points, depth, soil, cutoff, n_hours) -> float:
    """Largest over receivers of the summed ``cutoff_error_bound`` of the sources beyond ``cutoff`` [K]."""
    if not len(points) or not len(sources):
        return 0.0
    deviation = np.abs(sources.watts_per_m - sources.watts_per_m.mean(axis=1, keepdims=True)).max(axis=1)
    deepest = sources.ground_z - sources.segments[:, :, 2].min(axis=1)
    worst = 0.0
    for first in range(0, len(points), CHUNK_RECEIVERS):
        block = slice(first, first + CHUNK_RECEIVERS)
        distance = segment_distance(points[block], sources.segments)
        bound = cutoff_error_bound(
            np.maximum(distance, cutoff), deviation[None, :], soil.resistivity, soil.diffusivity,
            n_hours * 3600.0, deepest[None, :], depth[block, None],
        )
        worst = max(worst, float(np.where(distance > cutoff, bound, 0.0).sum(axis=1).max()))
    return worst


def hourly_rise(sources: HeatSources, points, soil, cutoff, n_hours) -> np.ndarray:
    """Hourly rise (P, T): sources within ``cutoff`` of any point run hourly, the others enter with
    their mean load in steady state — exactly what ``temperature_rise_hourly`` gives them."""
    near = (segment_distance(points, sources.segments) <= cutoff).any(axis=0)
    far = ~near
    rise = np.zeros((len(points), n_hours))
    if near.any():
        rise += temperature_rise_hourly(sources.segments[near], sources.watts_per_m[near], points,
                                        soil.resistivity, soil.diffusivity, sources.ground_z[near], cutoff)
    if far.any():
        rise += temperature_rise(sources.segments[far], sources.watts_per_m[far].mean(axis=1), points,
                                 soil.resistivity, sources.ground_z[far])[:, None]
    return rise


def _rise_at(sources: HeatSources, index, points, hours_at, soil, cutoff, n_hours) -> np.ndarray:
    rise = temperature_rise_hourly(sources.segments[index], sources.watts_per_m[index], points,
                                   soil.resistivity, soil.diffusivity, sources.ground_z[index], cutoff)
    return rise[np.arange(len(points)), hours_at]


def _options(settings: dict[str, Any]) -> dict[str, Any]:
    options = with_defaults(settings, DEFAULTS, "thermal")
    value = {name: number(options[name], name, "thermal", integer=name in ("hours", "top_sources"))
             for name in ("hours", "cutoff", "receiver_spacing", "stagnation_hours", "top_sources")}
    for name in ("resistivity", "diffusivity"):  # own soil values, None = the soil's
        value[name] = None if options[name] is None else number(options[name], name, "thermal")
    checks = (
        ("hours", 1 <= value["hours"] <= 8784, "1 … 8784"),
        ("cutoff", value["cutoff"] > 0, "> 0 m"),
        ("receiver_spacing", value["receiver_spacing"] > 0, "> 0 m"),
        ("stagnation_hours", value["stagnation_hours"] >= 0, "≥ 0 h"),
        ("top_sources", value["top_sources"] >= 1, "≥ 1"),
        ("resistivity", value["resistivity"] is None or 0.05 < value["resistivity"] <= 20.0, "0.05 … 20 K·m/W"),
        ("diffusivity", value["diffusivity"] is None or 1e-8 < value["diffusivity"] <= 1e-5, "1e-8 … 1e-5 m²/s"),
    )
    for name, ok, allowed in checks:
        if not ok:
            raise InputError(f"thermal setting {name} = {options[name]!r} is out of range",
                             feature=name, hint=f"allowed: {allowed}")
    return {**options, **value}
