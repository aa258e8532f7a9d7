"""The kansenkaart (programmeringskaart): every party's planned works, koppelkansen and graafrust conflicts."""

from __future__ import annotations

import io
from collections.abc import Sequence
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
