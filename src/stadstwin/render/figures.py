"""The pictures of one analysis result, drawn on demand from its data (analyses never draw).

``heat``: maps of sun hours, shade at 15 h, mean PET and highest UTCI; ``clashes``: cross-sections
at the worst certain and the worst possible pair finding; ``thermal``: the temperature field across
the warmest water main at its worst hour and that main's year; ``water``: the water depth map (the
count of wet entrances in its title); ``sightlines``: the visibility map with the viewpoints,
landmarks and sight lines (free green, blocked red to where they are blocked). Other analyses have
no figures.
"""

from __future__ import annotations

import numpy as np

from stadstwin.analyses.heat_stress import SHADE_HOUR
from stadstwin.analyses.result import AnalysisResult
from stadstwin.model.raster import Raster
from stadstwin.model.twin import Twin
from stadstwin.render.maps import map_png
from stadstwin.render.sections import finding_section_png
from stadstwin.render.thermal_figures import cross_section_png, year_plot_png
from stadstwin.rules import Rules

WET_M = 0.01
"""Water shallower than this [m] is drawn as dry ground."""


def analysis_figures(result: AnalysisResult, twin: Twin, rules: Rules) -> dict[str, bytes]:
    """Figure name → PNG of ``result`` computed on ``twin`` under ``rules``."""
    if result.analysis == "heat":
        return heat_maps(result, twin)
    if result.analysis == "clashes":
        return {f"section_worst_{level}": finding_section_png(twin, rules, row)
                for level, row in result.details.get("worst", {}).items()}
    if result.analysis == "thermal":
        water = result.details["water"]
        if water.worst < 0:
            return {}
        return {"thermal_cross_section": cross_section_png(twin, rules, water),
                "thermal_year": year_plot_png(rules, water)}
    if result.analysis == "water":
        return {"water_depth": water_map(result, twin)}
    if result.analysis == "sightlines" and result.details.get("viewpoints"):
        return {"visible_count": sightlines_map(result, twin)}
    return {}


def water_map(result: AnalysisResult, twin: Twin) -> bytes:
    """Water depth after the design storm (cells under 1 cm left blank) with the building outlines."""
    raster = result.rasters["water_depth"]
    shown = Raster(np.where(raster.values() >= WET_M, raster.values(), np.nan), raster.transform, raster.crs)
    storm = f"{result.metrics['storm_mm']:.0f} mm ({result.details['storm']})"
    wet = int(result.metrics["buildings_wet_entrance"])
    return map_png(shown, title=f"Water depth after {storm}: {wet} wet entrances", label="water depth [m]",
                   cmap="Blues", vmin=0.0, vmax=max(0.3, float(np.nanmax(raster.values()))),
                   outlines=list(twin.buildings.footprint))


def sightlines_map(result: AnalysisResult, twin: Twin) -> bytes:
    """How many viewpoints see each cell (unseen cells blank), the building outlines, the viewpoints
    (triangles), landmarks (stars) and each sight line: green when free, red up to its blocker."""
    raster = result.rasters["visible_count"]
    shown = Raster(np.where(raster.values() > 0, raster.values(), np.nan), raster.transform, raster.crs)
    details = result.details
    marks = {line["landmark"] for line in details["sight_lines"]}
    landmarks = {m["name"]: (m["x"], m["y"]) for m in result.settings["landmarks"]}

    def draw(ax) -> None:
        points = {v["name"]: (v["x"], v["y"]) for v in details["viewpoints"]}
        for line in details["sight_lines"]:
            (x0, y0) = points[line["viewpoint"]]
            if line["blocked"]:
                bx, by = line["blocked_at"]
                ax.plot([x0, bx], [y0, by], color="red", linewidth=1.6)
                ax.plot(bx, by, "x", color="red", markersize=8)
            else:
                x1, y1 = landmarks[line["landmark"]]
                ax.plot([x0, x1], [y0, y1], color="green", linewidth=1.6)
        for name, (x, y) in points.items():
            ax.plot(x, y, "^", color="black", markersize=8)
            ax.annotate(name, (x, y), xytext=(4, 4), textcoords="offset points", fontsize=7)
        for name in sorted(marks):
            x, y = landmarks[name]
            ax.plot(x, y, "*", color="gold", markeredgecolor="black", markersize=12)
            ax.annotate(name, (x, y), xytext=(4, -10), textcoords="offset points", fontsize=7)
        ax.plot([], [], "^", color="black", label="viewpoint")
        ax.plot([], [], "*", color="gold", markeredgecolor="black", label="landmark")
        ax.plot([], [], color="green", label="sight line free")
        ax.plot([], [], color="red", label="sight line blocked (x: blocker)")
        ax.legend(loc="lower right", fontsize=7, framealpha=0.8)

    blocked = int(result.metrics["blocked_sight_lines"])
    return map_png(shown, title=f"Seen from {len(details['viewpoints'])} viewpoint(s): "
                               f"{blocked} of {int(result.metrics['sight_lines'])} sight lines blocked",
                   label="viewpoints that see the cell", cmap="YlGn", vmin=0.0,
                   vmax=max(1.0, float(np.nanmax(raster.values()))), outlines=list(twin.buildings.footprint),
                   draw=draw)


def heat_maps(result: AnalysisResult, twin: Twin) -> dict[str, bytes]:
    """Maps of the heat result's sun hours, shade, PET and UTCI with the building outlines."""
    rasters, outlines, when = result.rasters, list(twin.buildings.footprint), result.details.get("day", "")
    shade = f"shade_{SHADE_HOUR:02d}h"
    return {
        "sun_hours": map_png(rasters["sun_hours"], title=f"Sun hours {when}", label="hours of direct sun [h]",
                             cmap="magma", outlines=outlines),
        f"shade_{SHADE_HOUR}h": map_png(rasters[shade], title=f"Direct sun at {SHADE_HOUR}:00 {when}",
                                        label="direct-sun fraction (0 shade, 1 sun)", cmap="cividis",
                                        vmin=0.0, vmax=1.0, outlines=outlines),
        "pet_mean_12_18": map_png(rasters["pet_mean_12_18"], title=f"Mean PET 12–18 h {when}", label="PET [°C]",
                                  cmap="inferno", outlines=outlines),
        "utci_max": map_png(rasters["utci_max"], title=f"Highest UTCI 12–18 h {when}", label="UTCI [°C]",
                            cmap="inferno", outlines=outlines),
    }
