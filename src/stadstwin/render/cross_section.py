"""A vertical cross-section of the underground at one point, as a PNG (matplotlib).

The section plane is vertical through ``centre`` with its normal along ``along`` (the direction of
the asset or route being examined), so assets running alongside it show as circles at their true
size, each with a dashed clearance envelope (outer radius + the clearance the rules require to the
``reference`` kind; parallel or crossing by the plan angle) and an error bar of ± its depth
uncertainty; assets crossing it within ``SLAB`` of the plane show as bands. The ground line is the
DTM along the section. Offsets run left to right across ``along`` (looking along it), heights in m NAP.
"""

from __future__ import annotations

import io

import numpy as np

from stadstwin.analyses.clearance_check import PARALLEL_BELOW_DEG
from stadstwin.model.twin import Twin
from stadstwin.model.utilities import Utility
from stadstwin.rules import Rules

SLAB = 0.5  # m: a segment lying within this distance of the plane is drawn as a band


def _label(feature_id: str) -> str:
    return feature_id.rsplit(".", 1)[-1]


def section_png(twin: Twin, rules: Rules, centre: tuple[float, float], along: tuple[float, float],
                reference: Utility, *, highlight: np.ndarray | None = None, half_width: float = 4.0,
                title: str = "") -> bytes:
    """PNG of the section; ``highlight`` (bool per network row) marks the assets under examination
    (drawn with a black edge and without an envelope). Trees whose root zone reaches the plane show
    their trunk and root zone (crown radius + margin wide, ``root_depth`` deep)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Circle, Polygon

    n = np.asarray(along, dtype=np.float64)
    n = n / np.linalg.norm(n)
    across = np.array([n[1], -n[0]])  # to the right when looking along n
    c = np.asarray(centre, dtype=np.float64)
    nets = twin.networks
    parallel, crossing = rules.clearance_matrices()
    d0 = (nets.p0[:, :2] - c) @ n
    d1 = (nets.p1[:, :2] - c) @ n
    direction = (nets.p1 - nets.p0)[:, :2]
    length = np.linalg.norm(direction, axis=1)
    cos = np.abs(direction @ n) / np.where(length > 0, length, 1.0)
    runs_along = (length > 0) & (np.degrees(np.arccos(np.clip(cos, 0, 1))) < PARALLEL_BELOW_DEG)
    required = np.where(runs_along, parallel[reference, nets.utility], crossing[reference, nets.utility])
    marked = np.zeros(len(nets), bool) if highlight is None else highlight

    fig, ax = plt.subplots(figsize=(8, 5.5), dpi=110)
    offsets = np.linspace(-half_width, half_width, 161)
    ground = twin.dtm.sample(c[0] + offsets * across[0], c[1] + offsets * across[1])
    ax.plot(offsets, ground, color="#6b4f2a", lw=2, label="ground (DTM)")
    ax.fill_between(offsets, np.nanmin(ground) - 3.5, ground, color="#efe3cf", zorder=0)
    seen: set[int] = set()
    lowest = np.nanmin(ground)
    cutting = (d0 * d1 <= 0) & (d0 != d1)
    s = np.where(cutting, d0 / np.where(d0 != d1, d0 - d1, 1.0), 0.0)
    point = nets.p0 + s[:, None] * (nets.p1 - nets.p0)
    offset = (point[:, :2] - c) @ across
    for k in np.flatnonzero(cutting & (np.abs(offset) <= half_width)):
        kind = Utility(int(nets.utility[k]))
        colour = rules.utility(kind).colour
        r = float(nets.radius[k])
        x, z = float(offset[k]), float(point[k, 2])
        if not marked[k]:
            ax.add_patch(Circle((x, z), r + required[k], fill=False, ls="--", lw=0.8, ec=colour))
        ax.add_patch(Circle((x, z), r, fc=colour, ec="black" if marked[k] else colour, lw=2.0 if marked[k] else 0.5,
                            label=kind.key if int(kind) not in seen else None, zorder=3))
        ax.errorbar(x, z, yerr=float(nets.depth_uncertainty[k]), color=colour, lw=0.8, capsize=3, zorder=2)
        ax.annotate(_label(str(nets.feature_id[k])), (x, z + r), textcoords="offset points", xytext=(0, 4),
                    ha="center", fontsize=6)
        seen.add(int(kind))
        lowest = min(lowest, z - r - required[k])
    lying = ~cutting & (np.abs(d0) <= SLAB) & (np.abs(d1) <= SLAB)
    for k in np.flatnonzero(lying):
        kind = Utility(int(nets.utility[k]))
        colour = rules.utility(kind).colour
        ends = np.array([(nets.p0[k, :2] - c) @ across, (nets.p1[k, :2] - c) @ across])
        if ends.max() < -half_width or ends.min() > half_width:
            continue
        r = float(nets.radius[k])
        z = np.array([nets.p0[k, 2], nets.p1[k, 2]])
        band = np.array([[ends[0], z[0] - r], [ends[1], z[1] - r], [ends[1], z[1] + r], [ends[0], z[0] + r]])
        ax.add_patch(Polygon(band, fc=colour, ec="black" if marked[k] else colour, alpha=0.8,
                             label=kind.key if int(kind) not in seen else None, zorder=3))
        seen.add(int(kind))
        lowest = min(lowest, float(z.min()) - r)
    trees = twin.trees
    zone = 0.5 * trees.crown_diameter + rules.trees.crown_margin.value
    tree_d = (np.column_stack([trees.x, trees.y]) - c) @ n if len(trees) else np.zeros(0)
    for k in np.flatnonzero(np.abs(tree_d) < zone):
        x = float((np.array([trees.x[k], trees.y[k]]) - c) @ across)
        half = float(np.sqrt(zone[k] ** 2 - tree_d[k] ** 2))
        if abs(x) > half_width + half:
            continue
        top = float(trees.ground_z[k])
        ax.add_patch(Polygon([[x - half, top], [x + half, top], [x + half, top - rules.trees.root_depth.value],
                              [x - half, top - rules.trees.root_depth.value]], fill=False, hatch="//",
                             ec="#2e7d32", lw=0.6, label="root zone" if -1 not in seen else None))
        seen.add(-1)
        if abs(tree_d[k]) < 1.0:
            ax.plot([x, x], [top, top + 0.3], color="#2e7d32", lw=4)
        ax.annotate(str(trees.source_id[k]), (x, top + 0.05), fontsize=6, color="#2e7d32", ha="center")
    ax.set_xlim(-half_width, half_width)
    ax.set_ylim(lowest - 0.5, np.nanmax(ground) + 0.3)
    ax.set_aspect("equal")
    ax.set_xlabel("offset across the section [m]")
    ax.set_ylabel("height [m NAP]")
    ax.set_title(title or f"cross-section at ({c[0]:.2f}, {c[1]:.2f})", fontsize=9)
    ax.legend(loc="lower right", fontsize=7)
    ax.text(0.01, 0.01, f"dashed: outer radius + clearance to {reference.key}; bars: ± depth uncertainty",
            transform=ax.transAxes, fontsize=6)
    ax.grid(alpha=0.3)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", bbox_inches="tight")
    plt.close(fig)
    return buffer.getvalue()
