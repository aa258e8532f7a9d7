"""Figures of the thermal check: the temperature field across the worst water main at its worst
hour (ground line, pipes and cables cut by the section, isotherms) and that main's year."""

from __future__ import annotations

import io
from dataclasses import replace

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import Circle

from stadstwin.analyses.thermal_sources import ground_temperature_hourly
from stadstwin.analyses.water_warming import WaterWarming, hourly_rise
from stadstwin.model.twin import Twin
from stadstwin.rules import Rules

HALF_WIDTH = 4.0
"""The section spans this far either side of the water main [m]."""
DEPTH = 3.0
"""and this deep below ground [m]."""
GRID = (21, 29)
"""(rows in depth, columns across) of the computed field."""


def section_field(twin: Twin, rules: Rules, result: WaterWarming, segment: int):
    """(across (C,), depth (R,), temperature (R, C) [°C], ground z) in the vertical plane through the
    worst receiver of ``segment``, square to it, at its worst hour; NaN inside sources."""
    point = result.worst_point[segment]
    direction, across_unit = _frame(result.segments[segment])
    ground = point[2] + result.worst_depth[segment]
    across = np.linspace(-HALF_WIDTH, HALF_WIDTH, GRID[1])
    depth = np.linspace(0.0, DEPTH, GRID[0])
    grid = np.empty((GRID[0], GRID[1], 3))
    grid[..., :2] = point[:2] + across[None, :, None] * across_unit[None, None, :2]
    grid[..., 2] = ground - depth[:, None]
    hour = int(result.worst_hour[segment])
    rise = rise_at_hour(result, grid.reshape(-1, 3), hour)
    undisturbed = ground_temperature_hourly(depth, hour + 1, rules.climate.ground, result.soil.diffusivity)[:, hour]
    field = undisturbed[:, None] + rise.reshape(GRID)
    for cut in _cuts(twin, point, direction, across_unit, ground):
        inside = (across[None, :] - cut[0]) ** 2 + (depth[:, None] - cut[1]) ** 2 < cut[2] ** 2
        field[inside] = np.nan
    return across, depth, field, ground


def rise_at_hour(result: WaterWarming, points: np.ndarray, hour: int) -> np.ndarray:
    """The hourly rise [K] at ``points`` at the end of ``hour`` as in the year run (equal to the step
    response interpolation, ≤ 1e-6 relative) but cheaper: loads after that hour cannot act before it,
    so the history ends there, plus one padding step that keeps the mean load — the warm start —
    that of the whole period."""
    sources = result.sources
    if not len(sources):
        return np.zeros(len(points))
    head = sources.watts_per_m[:, : hour + 1]
    pad = sources.watts_per_m.mean(axis=1) * (hour + 2) - head.sum(axis=1)
    history = replace(sources, watts_per_m=np.column_stack([head, pad]))
    return hourly_rise(history, points, result.soil, result.cutoff, hour + 2)[:, hour]


def cross_section_png(twin: Twin, rules: Rules, result: WaterWarming) -> bytes:
    """PNG of the temperature field across the worst water main at its worst hour."""
    s = result.worst
    across, depth, field, ground = section_field(twin, rules, result, s)
    direction, across_unit = _frame(result.segments[s])
    fig, ax = plt.subplots(figsize=(8, 4.2), dpi=110)
    levels = np.arange(np.floor(np.nanmin(field)), min(np.nanmax(field), 60.0) + 1.0, 1.0)
    shown = ax.contourf(across, depth, np.minimum(field, 60.0), levels=levels, cmap="inferno")
    lines = ax.contour(across, depth, field, levels=levels[::2], colors="white", linewidths=0.5)
    ax.clabel(lines, fmt="%.0f °C", fontsize=7)
    if np.nanmin(field) < result.limit < np.nanmax(field):
        ax.contour(across, depth, field, levels=[result.limit], colors="cyan", linewidths=1.5)
    ax.axhline(0.0, color="saddlebrown", linewidth=2)
    ax.text(-HALF_WIDTH + 0.05, -0.05, "maaiveld", color="saddlebrown", fontsize=8, va="bottom")
    water, heat = rules.utility_flags("drinking_water"), rules.utility_flags("heat_source")
    for x, d, r, kind, label in _cuts(twin, result.worst_point[s], direction, across_unit, ground):
        colour = "deepskyblue" if water[kind] else ("red" if heat[kind] else "lightgrey")
        ax.add_patch(Circle((x, d), max(r, 0.03), facecolor="none", edgecolor=colour, linewidth=1.5))
        if water[kind] or heat[kind]:
            ax.annotate(label.rsplit(".", 1)[-1].rsplit("/", 1)[-1], (x, d - r), fontsize=6, color=colour,
                        ha="left", va="bottom", rotation=35)
    ax.set_xlim(-HALF_WIDTH, HALF_WIDTH)
    ax.set_ylim(DEPTH, -0.3)
    ax.set_aspect("equal")
    ax.set_xlabel("across the water main [m]")
    ax.set_ylabel("depth below ground [m]")
    hour = int(result.worst_hour[s])
    ax.set_title(f"{result.feature_id[s]}: {result.max_temperature[s]:.1f} °C, day {hour // 24 + 1} "
                 f"{hour % 24:02d}:00 (cyan: {result.limit:g} °C)", fontsize=9)
    fig.colorbar(shown, ax=ax, label="soil temperature [°C]", shrink=0.8)
    return _png(fig)


def year_plot_png(rules: Rules, result: WaterWarming) -> bytes:
    """PNG of the worst water main's temperature over the period with the limit and warning lines."""
    s = result.worst
    hours = result.temperature.shape[1]
    days = (np.arange(hours) + 1.0) / 24.0
    undisturbed = ground_temperature_hourly(result.worst_depth[s:s + 1], hours, rules.climate.ground,
                                            result.soil.diffusivity)[0]
    fig, ax = plt.subplots(figsize=(8, 3.6), dpi=110)
    ax.plot(days, result.temperature[s], color="tab:red", linewidth=0.6, label="water (warmest point)")
    ax.plot(days, undisturbed, color="tab:brown", linewidth=1.0, label="undisturbed ground")
    ax.axhline(result.limit, color="black", linewidth=1.2, label=f"limit {result.limit:g} °C")
    ax.axhline(result.warning, color="tab:orange", linestyle="--", linewidth=1.0,
               label=f"warning {result.warning:g} °C")
    ax.set_xlabel("day of the year")
    ax.set_ylabel("temperature [°C]")
    ax.set_title(f"{result.feature_id[s]} ({result.owner[s]}): max {result.max_temperature[s]:.1f} °C, "
                 f"{int(result.hours_above_limit[s])} h above {result.limit:g} °C", fontsize=9)
    ax.legend(fontsize=7, loc="upper left")
    ax.grid(alpha=0.3)
    return _png(fig)


def _frame(segment: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unit vectors along the segment (horizontal) and across it (horizontal, to its left)."""
    along = segment[1] - segment[0]
    along = np.array([along[0], along[1], 0.0])
    along /= max(float(np.linalg.norm(along)), 1e-12)
    return along, np.array([-along[1], along[0], 0.0])


def _cuts(twin: Twin, point, along, across_unit, ground) -> list[tuple[float, float, float, int, str]]:
    """(across, depth, radius, utility, feature id) of every network segment the section plane cuts."""
    net = twin.networks
    if not len(net):
        return []
    start = (net.p0 - point) @ along
    end = (net.p1 - point) @ along
    crosses = (start * end <= 0) & (start != end)
    t = np.where(crosses, start / np.where(start != end, start - end, 1.0), 0.0)
    hit = net.p0 + t[:, None] * (net.p1 - net.p0)
    x = (hit - point) @ across_unit
    d = ground - hit[:, 2]
    keep = np.flatnonzero(crosses & (np.abs(x) <= HALF_WIDTH) & (d <= DEPTH) & (d >= 0))
    return [(float(x[i]), float(d[i]), float(net.radius[i]), int(net.utility[i]), str(net.feature_id[i]))
            for i in keep]


def _png(fig) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", bbox_inches="tight")
    plt.close(fig)
    return buffer.getvalue()
