"""Check 3: cover below the minimum for the utility and the surface type above it.

Cover = ground level (DTM, bilinear) − top of the asset (axis z + outer radius), sampled along
each segment at both ends and at most ``SAMPLE_SPACING`` apart. The minimum comes from
``rules.cover_matrix()`` for the surface code of the cell above the sample (``twin.surface``;
unknown surface takes the strictest value, water and building have no rule). With depth
uncertainty u the cover lies within ± u: certain when cover + u < minimum, possible when
cover − u < minimum. One row per segment and surface type: its worst sample.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from stadstwin.analyses.findings import empty_table, finding_table
from stadstwin.model.enums import Surface
from stadstwin.model.twin import Twin
from stadstwin.model.utilities import Utility
from stadstwin.rules import Rules

SAMPLE_SPACING = 1.0  # m


def surface_at(twin: Twin, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``Surface`` code of the cell under each point; UNKNOWN outside the raster or without one."""
    x = np.asarray(x, dtype=np.float64)
    if twin.surface is None:
        return np.full(x.shape, int(Surface.UNKNOWN), dtype=np.int64)
    row, col = twin.surface.fractional_index(x, y)
    rows, cols = twin.surface.shape
    inside = (row >= 0) & (row <= rows) & (col >= 0) & (col <= cols)  # the far edges belong to the last cells
    r = np.clip(np.floor(row).astype(np.int64), 0, rows - 1)
    c = np.clip(np.floor(col).astype(np.int64), 0, cols - 1)
    values = twin.surface.values()[r, c]
    valid = inside & np.isfinite(values)
    return np.where(valid, np.nan_to_num(values), float(Surface.UNKNOWN)).astype(np.int64)


def sample_params(length: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(row, s) of the samples along segments of plan ``length`` [m]: both ends and at most
    ``SAMPLE_SPACING`` apart."""
    pieces = np.maximum(1, np.ceil(length / SAMPLE_SPACING - 1e-9).astype(np.int64))
    rows = np.repeat(np.arange(len(length)), pieces + 1)
    start = np.repeat(np.cumsum(pieces + 1) - (pieces + 1), pieces + 1)
    k = np.arange(len(rows)) - start
    return rows, k / pieces[rows]


def cover_findings(twin: Twin, rules: Rules, subject: np.ndarray | None = None) -> pd.DataFrame:
    """Cover findings (unmerged) of the twin's networks, or of the ``subject`` rows only."""
    networks = twin.networks
    segs = np.flatnonzero(subject) if subject is not None else np.arange(len(networks))
    if not len(segs):
        return empty_table()
    p0, p1 = networks.p0[segs], networks.p1[segs]
    local, s = sample_params(np.linalg.norm((p1 - p0)[:, :2], axis=1))
    point = p0[local] + s[:, None] * (p1[local] - p0[local])
    rows = segs[local]
    surface = surface_at(twin, point[:, 0], point[:, 1])
    minimum = rules.cover_matrix()[networks.utility[rows], surface]
    cover = twin.dtm.sample(point[:, 0], point[:, 1]) - (point[:, 2] + networks.radius[rows])
    margin = cover - minimum
    u = networks.depth_uncertainty[rows]
    ruled = np.isfinite(margin) & (margin - u < 0.0)
    if not ruled.any():
        return empty_table()
    frame = pd.DataFrame({"seg": rows[ruled], "surface": surface[ruled], "margin": margin[ruled],
                          "k": np.flatnonzero(ruled)})
    worst = frame.loc[frame.groupby(["seg", "surface"])["margin"].idxmin()]
    k = worst["k"].to_numpy()
    seg = worst["seg"].to_numpy()
    rule = [f"cover {Utility(int(networks.utility[a])).key} under {Surface(int(b)).name.lower()} ≥ {m:.2f} m"
            for a, b, m in zip(seg, surface[k], minimum[k])]
    return finding_table(
        check="cover", rule=np.array(rule, dtype=object), required=minimum[k], seg=seg,
        other_kind=np.array([Surface(int(b)).name.lower() for b in surface[k]], dtype=object),
        margin=margin[k], best=margin[k] + u[k], worst=margin[k] - u[k],
        x=point[k, 0], y=point[k, 1], z=point[k, 2],
    )
