"""The twin's heat sources as finite line segments with an hourly loss [W/m] over the year.

Power cables: a default peak loss per voltage level (practice values below, n·I²·R_ac at a
typical peak current) scaled by the cable's cross-section, (D/D_kind)² — equal current density —
so house connections carry less than mains; times the voltage level's load profile
(``DEFAULT_CABLE_PROFILES``). District heating: losses from the fluid temperature, the
undisturbed ground temperature at the pipe's depth (Kusuda–Achenbach) and the EN 253 series-1
pipe that matches its casing diameter, by the REFERENCE formulas (``pipe_pair_heat_losses`` with
the pair's mutual term for supply/return pipes running side by side, ``single_pipe_heat_loss``
otherwise). An operating point's ``watts_per_m`` rescales a source's hourly losses to that peak;
its ``fluid_temperature`` is the pipe's winter (peak) temperature, summer follows the default
seasonal swing of its role. Abandoned assets carry no load and are left out.
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
from stadstwin.rules.tables import GroundClimate, SoilProperties
from stadstwin.thermal import (
    DEFAULT_CABLE_PROFILES,
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

CABLE_PROFILE = {
    Utility.ELECTRICITY_LV: "laagspanning",
    Utility.ELECTRICITY_MV: "middenspanning",
    Utility.ELECTRICITY_HV: "hoogspanning",
    Utility.ELECTRICITY_EHV: "hoogspanning",
}
"""IMKL voltage level whose default load profile each cable kind follows."""

CABLE_PEAK_W_PER_M = {
    Utility.ELECTRICITY_LV: 3 * 120.0**2 * 0.253e-3,  # 4x150 Al, 120 A peak, R_ac(50 °C)
    Utility.ELECTRICITY_MV: 3 * 200.0**2 * 0.144e-3,  # 3x1x240 Al, 200 A peak, R_ac(60 °C)
    Utility.ELECTRICITY_HV: 3 * 600.0**2 * 0.0335e-3,  # 3x1x1000 Al, 600 A peak, R_ac(65 °C)
    Utility.ELECTRICITY_EHV: 3 * 1500.0**2 * 0.0105e-3,  # 3x1x2500 Cu, 1500 A peak, R_ac(70 °C)
}
"""Peak Joule losses of a main of the kind's default diameter [W/m] (practice values, no norm)."""

SUPPLY_WINTER_SUMMER = (90.0, 70.0)
RETURN_WINTER_SUMMER = (50.0, 40.0)
"""Default district-heating fluid temperatures [°C], winter peak and summer low (practice values)."""
FLUID_PEAK_DAY = 15.0
"""Day of the year of the highest fluid temperature (mid January)."""

PAIR_MAX_SPACING = 1.5
"""Two district-heating pipes whose axes run parallel within this distance [m] form a pair."""
PAIR_MIN_COSINE = 0.98
"""Parallel means |cos| of the angle between the axes at least this (≈ 11°)."""

SERIES_1 = np.array([
    # steel outer diameter, steel wall, casing outer diameter, casing wall [m] (EN 253 series 1)
    (0.0337, 0.0026, 0.090, 0.0030),
    (0.0483, 0.0026, 0.110, 0.0030),
    (0.0603, 0.0029, 0.125, 0.0030),
    (0.0761, 0.0029, 0.140, 0.0030),
    (0.0889, 0.0032, 0.160, 0.0030),
    (0.1143, 0.0036, 0.200, 0.0032),
    (0.1397, 0.0036, 0.225, 0.0034),
    (0.1683, 0.0040, 0.250, 0.0039),
    (0.2191, 0.0045, 0.315, 0.0049),
    (0.2730, 0.0050, 0.400, 0.0063),
    (0.3239, 0.0056, 0.450, 0.0070),
    (0.4064, 0.0063, 0.560, 0.0090),
    (0.5080, 0.0063, 0.710, 0.0110),
])
LAYER_CONDUCTIVITY = (50.0, 0.027, 0.43)
"""Steel, PUR foam, PE casing [W/(m·K)]."""


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
    is_source = np.array([rules.utility(Utility(u)).heat_source for u in range(len(Utility))])
    rows = np.flatnonzero(is_source[net.utility] & (net.status != Status.ABANDONED)) if len(net) else np.zeros(0, int)
    mid = 0.5 * (net.p0[rows] + net.p1[rows])
    ground = ground_level(twin, mid)
    depth = np.maximum(ground - mid[:, 2], net.outer_diameter[rows] / 2)
    watts = np.zeros((len(rows), n_hours))
    role = np.full(len(rows), "cable", dtype=object)
    kinds = net.utility[rows]
    for kind, profile in CABLE_PROFILE.items():
        k = np.flatnonzero(kinds == kind)
        scale = (net.outer_diameter[rows[k]] / rules.utility(kind).outer_diameter) ** 2
        watts[k] = CABLE_PEAK_W_PER_M[kind] * scale[:, None] * cable_load_profile(
            DEFAULT_CABLE_PROFILES[profile], n_hours)[None, :]
    pipes = np.flatnonzero(kinds == Utility.DISTRICT_HEATING)
    if len(pipes):
        watts[pipes], role[pipes] = _pipe_losses(twin, rows[pipes], depth[pipes], rules, soil, n_hours)
    features = net.feature_id[rows]
    peaks = [(i, twin.operating[f].watts_per_m) for i, f in enumerate(features)
             if f in twin.operating and twin.operating[f].watts_per_m is not None]
    for i, peak in peaks:
        top = np.max(np.abs(watts[i]))
        watts[i] = peak * (watts[i] / top if top > 0 else 1.0)
    given = np.zeros(len(rows), dtype=bool)
    given[[i for i, _ in peaks]] = True
    other = ~given & ~np.isin(kinds, [*CABLE_PROFILE, Utility.DISTRICT_HEATING])
    if other.any():
        kind = Utility(int(kinds[other][0]))
        raise RuleError(f"utility kind {kind.key} is a heat source but has no default load",
                        feature=str(features[other][0]),
                        hint="give the feature an operating point with watts_per_m, or set heat_source = false")
    return HeatSources(
        segments=np.stack([net.p0[rows], net.p1[rows]], axis=1), watts_per_m=watts, ground_z=ground,
        depth=depth, feature_id=features, owner=net.owner_name[rows], role=role,
    )


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


def _pipe_losses(twin, rows, depth, rules, soil, n_hours):
    """Hourly losses [W/m] (k, T) and roles of the district-heating segments ``rows``."""
    net = twin.networks
    climate = rules.climate.ground
    ground_t = ground_temperature_hourly(depth, n_hours, climate, soil.diffusivity)
    casing = net.outer_diameter[rows]
    pipe = SERIES_1[np.argmin(np.abs(SERIES_1[:, 2][None, :] - casing[:, None]), axis=1)]
    steel, wall, casing_ref, casing_wall = pipe.T
    layers = np.stack([steel - 2 * wall, steel, casing_ref - 2 * casing_wall, casing_ref], axis=1) * (
        casing / casing_ref)[:, None]
    r_ins = pipe_insulation_resistance(layers, np.broadcast_to(LAYER_CONDUCTIVITY, (len(rows), 3)))
    r_soil = pipe_soil_resistance(depth, casing, soil.resistivity)
    winter = np.array([_given_temperature(twin, f) for f in net.feature_id[rows]])
    partner, spacing = pair_partners(net.p0[rows], net.p1[rows], net.asset[rows])
    paired = partner >= 0
    mate = np.where(paired, partner, np.arange(len(rows)))
    role = _roles(winter, winter[mate], paired)
    fluid = np.stack([_fluid_curve(r, w, n_hours) for r, w in zip(role, winter, strict=True)]) if len(rows) else (
        np.zeros((0, n_hours)))
    losses = single_pipe_heat_loss(fluid, ground_t, r_ins[:, None], r_soil[:, None])
    if paired.any():
        i = np.flatnonzero(paired)
        j = mate[i]
        z = 0.5 * (depth[i] + depth[j])
        r_m = pair_mutual_resistance(z, np.maximum(spacing[i], casing[i]), soil.resistivity)
        own = 0.5 * (r_ins[i] + r_soil[i] + r_ins[j] + r_soil[j])
        losses[i] = pipe_pair_heat_losses(fluid[i], fluid[j], ground_t[i], own[:, None], 0.0, r_m[:, None])[0]
    return losses, role


def _given_temperature(twin: Twin, feature: str) -> float:
    point = twin.operating.get(feature)
    return math.nan if point is None or point.fluid_temperature is None else float(point.fluid_temperature)


def _roles(own: np.ndarray, mate: np.ndarray, paired: np.ndarray) -> np.ndarray:
    """supply / return / unknown per pipe: in a pair the warmer pipe supplies; a lone or unset pipe
    with a temperature is a supply above the mean of the default supply and return, else a return."""
    split = 0.5 * (SUPPLY_WINTER_SUMMER[0] + RETURN_WINTER_SUMMER[0])
    role = np.full(len(own), "unknown", dtype=object)
    known_both = paired & np.isfinite(own) & np.isfinite(mate)
    role[known_both] = np.where(own[known_both] >= mate[known_both], "supply", "return")
    one = np.isfinite(own) & ~known_both
    role[one] = np.where(own[one] >= split, "supply", "return")
    mate_only = paired & ~np.isfinite(own) & np.isfinite(mate)
    role[mate_only] = np.where(mate[mate_only] >= split, "return", "supply")
    return role


def _fluid_curve(role: str, winter: float, n_hours: int) -> np.ndarray:
    """Fluid temperature per hour [°C]: the default curve of the role shifted to a given winter value;
    a pipe of unknown role runs at the mean of the default supply and return curves."""
    curves = {name: seasonal_temperature((w + s) / 2, (w - s) / 2, FLUID_PEAK_DAY, n_hours)
              for name, (w, s) in (("supply", SUPPLY_WINTER_SUMMER), ("return", RETURN_WINTER_SUMMER))}
    if role == "unknown":
        return 0.5 * (curves["supply"] + curves["return"])
    default_winter = (SUPPLY_WINTER_SUMMER if role == "supply" else RETURN_WINTER_SUMMER)[0]
    return curves[role] + (winter - default_winter if math.isfinite(winter) else 0.0)
