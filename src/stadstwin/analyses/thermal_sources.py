"""The twin's heat sources as finite line segments with an hourly loss [W/m] over the year.

Which kinds are heat sources is the ``heat_source`` flag of ``rules.utilities``; their default
loads come from ``rules.heat_sources``. Power cables (``heat_sources.cables.<kind>``): the peak
loss n·I²·R of a cable of the kind's default diameter, scaled by the cable's cross-section,
(D/D_kind)² — equal current density — so house connections carry less than mains; times the load
profile it names (``heat_sources.load_profiles``). Pipes (``heat_sources.pipes.<kind>``, district
heating): losses from the fluid temperature, the undisturbed ground temperature at the pipe's depth
(Kusuda–Achenbach) and the pre-insulated pipe size (``heat_sources.pipe_series``, EN 253 series 1)
that matches its casing diameter, by the REFERENCE formulas (``pipe_pair_heat_losses`` with the
pair's mutual term for supply/return pipes of one kind running side by side,
``single_pipe_heat_loss`` otherwise). An operating point's ``watts_per_m`` rescales a source's
hourly losses to that peak; its ``fluid_temperature`` is the pipe's winter (peak) temperature,
summer follows the default seasonal swing of its role. A heat-source kind in neither table needs
``watts_per_m`` on every feature, else ``RuleError`` names the kind. Abandoned assets carry no load
and are left out.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from stadstwin.errors import RuleError
from stadstwin.model.enums import Status
from stadstwin.model.twin import Twin
from stadstwin.model.utilities import Utility
from stadstwin.rules import Rules
from stadstwin.rules.tables import FluidTemperatures, GroundClimate, LoadProfile, SoilProperties
from stadstwin.thermal import (
    CableProfile,
    cable_load_profile,
    pair_mutual_resistance,
    pipe_insulation_resistance,
    pipe_pair_heat_losses,
    pipe_soil_resistance,
    seasonal_temperature,
    single_pipe_heat_loss,
    undisturbed_ground_temperature,
)

HOUR = 3600.0
DAY = 86400.0

PAIR_MAX_SPACING = 1.5
"""Two district-heating pipes whose axes run parallel within this distance [m] form a pair."""
PAIR_MIN_COSINE = 0.98
"""Parallel means |cos| of the angle between the axes at least this (≈ 11°)."""

@dataclass(frozen=True)
class HeatSources:
    """Source segments and their hourly losses.

    segments     (M, 2, 3) axis end points [m, EPSG:7415]
    watts_per_m  (M, T) loss per hour [W/m]
    ground_z     (M,) ground surface above each segment [m NAP]
    depth        (M,) axis depth below ground at the midpoint [m]
    feature_id   (M,) network feature id;  owner (M,) organisation;  role (M,) e.g. "supply"
    """

    segments: np.ndarray
    watts_per_m: np.ndarray
    ground_z: np.ndarray
    depth: np.ndarray
    feature_id: np.ndarray
    owner: np.ndarray
    role: np.ndarray

    def __len__(self) -> int:
        return len(self.segments)


def ground_temperature_hourly(depth, n_hours: int, climate: GroundClimate, diffusivity: float) -> np.ndarray:
    """Undisturbed ground temperature [°C] (len(depth), n_hours) at the end of each hour."""
    times = (np.arange(n_hours) + 1.0) * HOUR
    return undisturbed_ground_temperature(
        np.asarray(depth, dtype=float)[:, None], times[None, :], climate.mean_temperature, climate.amplitude,
        (climate.coldest_day - 1) * DAY, diffusivity, climate.urban_offset,
    )


def ground_level(twin: Twin, points: np.ndarray) -> np.ndarray:
    """Terrain height [m NAP] above points (N, 2+); the terrain's median where it has no data."""
    ground = twin.dtm.sample(points[:, 0], points[:, 1])
    return np.where(np.isfinite(ground), ground, np.nanmedian(twin.dtm.values()))


def heat_sources(twin: Twin, rules: Rules, soil: SoilProperties, n_hours: int) -> HeatSources:
    """Every active heat-source segment of the twin with its hourly losses (module doc)."""
    net = twin.networks
    is_source = rules.utility_flags("heat_source")
    rows = np.flatnonzero(is_source[net.utility] & (net.status != Status.ABANDONED)) if len(net) else np.zeros(0, int)
    mid = 0.5 * (net.p0[rows] + net.p1[rows])
    ground = ground_level(twin, mid)
    depth = np.maximum(ground - mid[:, 2], net.outer_diameter[rows] / 2)
    watts = np.zeros((len(rows), n_hours))
    role = np.full(len(rows), "cable", dtype=object)
    kinds = net.utility[rows]
    table = rules.heat_sources
    profiles = cable_profiles(rules)
    for key, cable in table.cables.items():
        kind = Utility.from_key(key)
        k = np.flatnonzero(kinds == kind)
        if not len(k):
            continue
        scale = (net.outer_diameter[rows[k]] / rules.utility(kind).outer_diameter) ** 2
        watts[k] = cable.peak_watts_per_m * scale[:, None] * cable_load_profile(
            profiles[cable.profile], n_hours)[None, :]
    for key, fluid in table.pipes.items():
        pipes = np.flatnonzero(kinds == Utility.from_key(key))
        if len(pipes):
            watts[pipes], role[pipes] = _pipe_losses(twin, rows[pipes], depth[pipes], rules, fluid, soil, n_hours)
    features = net.feature_id[rows]
    peaks = [(i, twin.operating[f].watts_per_m) for i, f in enumerate(features)
             if f in twin.operating and twin.operating[f].watts_per_m is not None]
    for i, peak in peaks:
        top = np.max(np.abs(watts[i]))
        watts[i] = peak * (watts[i] / top if top > 0 else 1.0)
    given = np.zeros(len(rows), dtype=bool)
    given[[i for i, _ in peaks]] = True
    modelled = [Utility.from_key(k) for k in (*table.cables, *table.pipes)]
    other = ~given & ~np.isin(kinds, modelled)
    if other.any():
        kind = Utility(int(kinds[other][0]))
        raise RuleError(f"utility kind {kind.key} is a heat source but has no default load",
                        feature=str(features[other][0]),
                        hint=f"give the feature an operating point with watts_per_m, add heat_sources.cables.{kind.key} "
                             f"or heat_sources.pipes.{kind.key} to the rules, or set heat_source = false")
    return HeatSources(
        segments=np.stack([net.p0[rows], net.p1[rows]], axis=1), watts_per_m=watts, ground_z=ground,
        depth=depth, feature_id=features, owner=net.owner_name[rows], role=role,
    )


def cable_profiles(rules: Rules) -> dict[str, CableProfile]:
    """The cable load profiles of ``rules.heat_sources.load_profiles`` as kernel parameters."""
    return {name: load_profile(p) for name, p in rules.heat_sources.load_profiles.items()}


def load_profile(rule: LoadProfile) -> CableProfile:
    """One rule-table load profile as the kernel's ``CableProfile``."""
    return CableProfile(daily=tuple(rule.daily), seasonal_drop=rule.seasonal_drop, peak_day=rule.peak_day,
                        note=rule.source)


def pair_partners(p0: np.ndarray, p1: np.ndarray, asset: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(partner index or −1, axis spacing [m]) of each pipe segment: the nearest parallel segment of
    another pipe whose line passes within ``PAIR_MAX_SPACING`` of the midpoint, beside its extent."""
    n = len(p0)
    mid = 0.5 * (p0 + p1)
    axis = p1 - p0
    length = np.maximum(np.linalg.norm(axis, axis=1), 1e-9)
    unit = axis / length[:, None]
    rel = mid[:, None, :] - p0[None, :, :]  # (i, j, 3): midpoint i from start of j
    along = np.einsum("ijk,jk->ij", rel, unit)
    gap = np.linalg.norm(rel - along[..., None] * unit[None, :, :], axis=2)
    ok = (
        (np.abs(unit @ unit.T) >= PAIR_MIN_COSINE)
        & (asset[:, None] != asset[None, :])
        & (along >= 0) & (along <= length[None, :])
        & (gap <= PAIR_MAX_SPACING)
    )
    gap = np.where(ok, gap, np.inf)
    partner = np.argmin(gap, axis=1) if n else np.zeros(0, int)
    spacing = gap[np.arange(n), partner] if n else np.zeros(0)
    return np.where(np.isfinite(spacing), partner, -1), spacing


def _pipe_losses(twin, rows, depth, rules, fluid: FluidTemperatures, soil, n_hours):
    """Hourly losses [W/m] (k, T) and roles of the pipe segments ``rows`` (one kind, defaults ``fluid``)."""
    net = twin.networks
    climate = rules.climate.ground
    ground_t = ground_temperature_hourly(depth, n_hours, climate, soil.diffusivity)
    casing = net.outer_diameter[rows]
    series = rules.heat_sources.pipe_series.table()
    pipe = series[np.argmin(np.abs(series[:, 2][None, :] - casing[:, None]), axis=1)]
    steel, wall, casing_ref, casing_wall = pipe.T
    layers = np.stack([steel - 2 * wall, steel, casing_ref - 2 * casing_wall, casing_ref], axis=1) * (
        casing / casing_ref)[:, None]
    k = rules.heat_sources.pipe_conductivity
    r_ins = pipe_insulation_resistance(layers, np.broadcast_to((k.steel, k.insulation, k.casing), (len(rows), 3)))
    r_soil = pipe_soil_resistance(depth, casing, soil.resistivity)
    winter = np.array([_given_temperature(twin, f) for f in net.feature_id[rows]])
    partner, spacing = pair_partners(net.p0[rows], net.p1[rows], net.asset[rows])
    paired = partner >= 0
    mate = np.where(paired, partner, np.arange(len(rows)))
    role = _roles(winter, winter[mate], paired, fluid)
    curves = np.stack([_fluid_curve(r, w, fluid, n_hours) for r, w in zip(role, winter, strict=True)]) if len(rows) else (
        np.zeros((0, n_hours)))
    losses = single_pipe_heat_loss(curves, ground_t, r_ins[:, None], r_soil[:, None])
    if paired.any():
        i = np.flatnonzero(paired)
        j = mate[i]
        z = 0.5 * (depth[i] + depth[j])
        r_m = pair_mutual_resistance(z, np.maximum(spacing[i], casing[i]), soil.resistivity)
        own = 0.5 * (r_ins[i] + r_soil[i] + r_ins[j] + r_soil[j])
        losses[i] = pipe_pair_heat_losses(curves[i], curves[j], ground_t[i], own[:, None], 0.0, r_m[:, None])[0]
    return losses, role


def _given_temperature(twin: Twin, feature: str) -> float:
    point = twin.operating.get(feature)
    return math.nan if point is None or point.fluid_temperature is None else float(point.fluid_temperature)


def _roles(own: np.ndarray, mate: np.ndarray, paired: np.ndarray, fluid: FluidTemperatures) -> np.ndarray:
    """supply / return / unknown per pipe: in a pair the warmer pipe supplies; a lone or unset pipe
    with a temperature is a supply above the mean of the default supply and return, else a return."""
    split = 0.5 * (fluid.supply_winter + fluid.return_winter)
    role = np.full(len(own), "unknown", dtype=object)
    known_both = paired & np.isfinite(own) & np.isfinite(mate)
    role[known_both] = np.where(own[known_both] >= mate[known_both], "supply", "return")
    one = np.isfinite(own) & ~known_both
    role[one] = np.where(own[one] >= split, "supply", "return")
    mate_only = paired & ~np.isfinite(own) & np.isfinite(mate)
    role[mate_only] = np.where(mate[mate_only] >= split, "return", "supply")
    return role


def _fluid_curve(role: str, winter: float, fluid: FluidTemperatures, n_hours: int) -> np.ndarray:
    """Fluid temperature per hour [°C]: the default curve of the role shifted to a given winter value;
    a pipe of unknown role runs at the mean of the default supply and return curves."""
    curves = {name: seasonal_temperature((w + s) / 2, (w - s) / 2, fluid.peak_day, n_hours)
              for name, (w, s) in ((r, fluid.winter_summer(r)) for r in ("supply", "return"))}
    if role == "unknown":
        return 0.5 * (curves["supply"] + curves["return"])
    default_winter = fluid.winter_summer(role)[0]
    return curves[role] + (winter - default_winter if math.isfinite(winter) else 0.0)
