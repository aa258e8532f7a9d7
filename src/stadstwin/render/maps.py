"""Map pictures of rasters as PNG: colour legend, scale bar and north arrow, RD New axes.

Used for effect maps (shade, sun hours, PET) and their differences between variants.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import TwoSlopeNorm

from stadstwin.model.raster import Raster

_NICE_LENGTHS = (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000)


def scale_bar_length(width_m: float) -> float:
    """A round scale-bar length of about a fifth of the map width [m]."""
    target = width_m / 5
    return float(max([n for n in _NICE_LENGTHS if n <= target], default=_NICE_LENGTHS[0]))


def map_png(
    raster: Raster,
    *,
    title: str,
    label: str,
    cmap: str = "viridis",
    vmin: float | None = None,
    vmax: float | None = None,
    diverging: bool = False,
    outlines: list | None = None,
    draw: Callable[[Any], None] | None = None,
    dpi: int = 110,
) -> bytes:
    """A north-up map of ``raster`` as PNG bytes.

    ``label`` names the quantity and unit on the legend. ``diverging`` centres the colours on 0
    (for differences between variants). ``outlines`` are shapely polygons drawn on top (buildings);
    ``draw(ax)`` adds more on top in RD New coordinates (points, lines, their legend).
    """
    values = raster.values()
    finite = values[np.isfinite(values)]
    xmin, ymin, xmax, ymax = raster.bounds
    fig, ax = plt.subplots(figsize=(7.0, 7.0 * (ymax - ymin) / (xmax - xmin) + 0.8), dpi=dpi)
    norm = None
    if diverging:
        bound = float(np.max(np.abs(finite))) if finite.size else 1.0
        bound = bound or 1.0
        norm = TwoSlopeNorm(vcenter=0.0, vmin=-bound, vmax=bound)
        vmin = vmax = None
    image = ax.imshow(values, extent=(xmin, xmax, ymin, ymax), origin="upper", cmap=cmap,
                      vmin=vmin, vmax=vmax, norm=norm, interpolation="nearest")
    for polygon in outlines or []:
        for ring in getattr(polygon, "geoms", [polygon]):
            x, y = ring.exterior.xy
            ax.plot(x, y, color="black", linewidth=0.6)
    if draw is not None:
        draw(ax)
    colorbar = fig.colorbar(image, ax=ax, fraction=0.04, pad=0.02)
    colorbar.set_label(label)
    ax.set_title(title)
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


def scale_bar(ax, xmin: float, ymin: float, xmax: float, ymax: float) -> None:
    length = scale_bar_length(xmax - xmin)
    x0 = xmin + 0.05 * (xmax - xmin)
    y0 = ymin + 0.05 * (ymax - ymin)
    ax.plot([x0, x0 + length], [y0, y0], color="black", linewidth=3, solid_capstyle="butt")
    ax.plot([x0, x0 + length], [y0, y0], color="white", linewidth=1, solid_capstyle="butt")
    ax.text(x0 + length / 2, y0 + 0.02 * (ymax - ymin), f"{length:g} m", ha="center", va="bottom",
            fontsize=8, bbox={"facecolor": "white", "alpha": 0.7, "edgecolor": "none", "pad": 1})


def north_arrow(ax) -> None:
    ax.annotate("N", xy=(0.94, 0.95), xytext=(0.94, 0.84), xycoords="axes fraction",
                ha="center", va="center", fontsize=10, fontweight="bold",
                arrowprops={"facecolor": "black", "width": 3, "headwidth": 9, "headlength": 8},
                bbox={"facecolor": "white", "alpha": 0.7, "edgecolor": "none", "pad": 1})
