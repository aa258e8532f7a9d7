"""The kansenkaart (programmeringskaart): every party's planned works, koppelkansen and graafrust conflicts."""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import date
from typing import Any

import matplotlib.pyplot as plt
import shapely
from matplotlib.patches import Patch

from stadstwin.model.plans import Plan
from stadstwin.render.maps import north_arrow, scale_bar  # also selects the Agg backend


def _fill(ax, geometry: shapely.Geometry, **style) -> None:
    for part in getattr(geometry, "geoms", [geometry]):
        if part.geom_type == "Polygon" and not part.is_empty:
            x, y = part.exterior.xy
            ax.fill(x, y, **style)


def kansenkaart_png(plans: Sequence[Plan], chances: list[dict[str, Any]], conflicts: list[dict[str, Any]],
                    bounds: tuple[float, float, float, float], *, outlines: Sequence[shapely.Geometry] = (),
                    years: tuple[int, int] | None = None, dpi: int = 110) -> bytes:
    """PNG map of the plans (by party) whose works fall in ``years`` (all without), the koppelkansen
    among them (green) and graafrust conflicts (red), with legend, scale bar and north arrow."""
    shown = [p for p in plans if years is None or (p.works.start.year <= years[1] and p.works.end.year >= years[0])]
    ids = {p.id for p in shown}
    xmin, ymin, xmax, ymax = bounds
    fig, ax = plt.subplots(figsize=(8.0, 8.0 * (ymax - ymin) / (xmax - xmin) + 1.2), dpi=dpi)
    for outline in outlines:
        _fill(ax, outline, facecolor="#dddddd", edgecolor="#999999", linewidth=0.4)
    parties = sorted({p.party for p in shown})
    colours = {party: plt.get_cmap("tab10")(k % 10) for k, party in enumerate(parties)}
    for p in shown:
        _fill(ax, p.footprint, facecolor=colours[p.party], alpha=0.55, edgecolor=colours[p.party], linewidth=0.8)
    kept = [f for f in chances if set(f["properties"]["plans"]) <= ids]
    for f in kept:
        _fill(ax, shapely.geometry.shape(f["geometry"]), facecolor="none", edgecolor="#1a9850", hatch="////",
              linewidth=1.2)
    clashes = [f for f in conflicts if {f["properties"]["plan"], f["properties"]["after"]} <= ids]
    for f in clashes:
        _fill(ax, shapely.geometry.shape(f["geometry"]), facecolor="#d73027", alpha=0.9, edgecolor="#a50026")
    handles = [Patch(facecolor=colours[party], alpha=0.55, label=party) for party in parties]
    handles += [Patch(facecolor="none", edgecolor="#1a9850", hatch="////", label=f"koppelkans ({len(kept)})"),
                Patch(facecolor="#d73027", label=f"graafrust conflict ({len(clashes)})")]
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    span = f"{years[0]}–{years[1]}" if years else "all years"
    ax.set_title(f"Kansenkaart: {len(shown)} plans of {len(parties)} parties, {span}")
    ax.set_xlim(xmin, xmax)
    ax.set_ylim(ymin, ymax)
    ax.set_aspect("equal")
    ax.set_xlabel("x RD New [m]")
    ax.set_ylabel("y RD New [m]")
    ax.ticklabel_format(useOffset=False, style="plain")
    ax.tick_params(labelsize=7)
    scale_bar(ax, xmin, ymin, xmax, ymax)
    north_arrow(ax)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", bbox_inches="tight")
    plt.close(fig)
    return buffer.getvalue()


def year_windows(plans: Sequence[Plan], span: int = 5) -> list[tuple[int, int]]:
    """Consecutive ``span``-year windows from the first to the last year of works (the report's time filter)."""
    first = min(p.works.start.year for p in plans)
    last = max(p.works.end.year for p in plans)
    return [(y, min(y + span - 1, last)) for y in range(first, last + 1, span)]


def _row_order(plans: Sequence[Plan], chances: list[dict[str, Any]]) -> tuple[list[Plan], dict[str, str]]:
    """Plans in table order (each koppelkans group together, groups and the rest by start of works) and the
    label K1, K2, … of each group's plans."""
    groups = list(dict.fromkeys(tuple(f["properties"]["group"]) for f in chances))
    by_id = {p.id: p for p in plans}
    groups = sorted((g for g in groups if all(pid in by_id for pid in g)),
                    key=lambda g: min(by_id[pid].works.start for pid in g))
    label = {pid: f"K{k}" for k, g in enumerate(groups, 1) for pid in g}
    blocks = [sorted((by_id[pid] for pid in g), key=lambda p: p.works.start) for g in groups]
    blocks += [[p] for p in plans if p.id not in label]
    blocks.sort(key=lambda b: b[0].works.start)
    return [p for b in blocks for p in b], label


def programming_table_png(plans: Sequence[Plan], chances: list[dict[str, Any]], conflicts: list[dict[str, Any]],
                          *, dpi: int = 110) -> bytes:
    """PNG of the programming table (Gantt-like): one row per plan, a bar per planned phase over the years,
    the realisation bar of a koppelkans group's plans framed green and labelled K1, K2, …, and per graafrust
    conflict the closed period (hatched) and the plan that digs in it (red frame)."""
    import matplotlib.dates as mdates
    from matplotlib.lines import Line2D

    from stadstwin.model.enums import Phase

    rows, label = _row_order(plans, chances)
    phases = list(Phase)
    colours = {phase: plt.get_cmap("tab10")(k) for k, phase in enumerate(phases)}
    fig, ax = plt.subplots(figsize=(11.0, 1.4 + 0.32 * len(rows)), dpi=dpi)
    y_of = {p.id: len(rows) - 1 - k for k, p in enumerate(rows)}
    clashing = {f["properties"]["plan"] for f in conflicts}
    for p in rows:
        y = y_of[p.id]
        for phase, window in p.planning.items():
            start, end = mdates.date2num(window.start), mdates.date2num(window.end)
            realised = phase == Phase.REALISATIE
            edge = "#d73027" if realised and p.id in clashing else "#1a9850" if realised and p.id in label else "none"
            ax.broken_barh([(start, max(end - start, 1.0))], (y - 0.35, 0.7), facecolors=colours[phase],
                           edgecolors=edge, linewidth=2.0 if edge != "none" else 0.0)
    for f in conflicts:
        q = f["properties"]
        after = next((p for p in rows if p.id == q["after"]), None)
        if after is None or q["plan"] not in y_of:
            continue
        start, end = mdates.date2num(after.works.end), mdates.date2num(date.fromisoformat(q["closed_until"]))
        ax.broken_barh([(start, end - start)], (y_of[after.id] - 0.2, 0.4), facecolors="none",
                       edgecolors="#d73027", hatch="////", linewidth=0.6)
    ax.set_yticks([y_of[p.id] for p in rows])
    ax.set_yticklabels([f"{label.get(p.id, '  ')}  {p.id} ({p.party})" for p in rows], fontsize=7)
    ax.xaxis_date()
    ax.xaxis.set_major_locator(mdates.YearLocator(base=2))
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%Y"))
    ax.tick_params(axis="x", labelsize=7)
    ax.grid(axis="x", color="#dddddd", linewidth=0.5)
    ax.set_ylim(-0.7, len(rows) - 0.3)
    used = [phase for phase in phases if any(phase in p.planning for p in rows)]
    handles = [Patch(facecolor=colours[phase], label=phase.value) for phase in used]
    handles += [Patch(facecolor="none", edgecolor="#1a9850", linewidth=2.0, label="koppelkans (K1, K2, …)"),
                Patch(facecolor="none", edgecolor="#d73027", linewidth=2.0, label="digs during graafrust"),
                Patch(facecolor="none", edgecolor="#d73027", hatch="////", label="graafrust (closed)"),
                Line2D([], [], color="none", label=f"{len(plans)} plans, {len({p.party for p in plans})} parties")]
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=7, frameon=False)
    ax.set_title("Programming table: every party's works by phase")
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", bbox_inches="tight")
    plt.close(fig)
    return buffer.getvalue()
