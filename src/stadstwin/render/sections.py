"""Cross-section pictures of underground findings: across the asset of a clash finding, and across a
proposed route at one of its conflicts (both drawn by ``render.cross_section``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from stadstwin.analyses.certainty import severity
from stadstwin.analyses.route_check import RouteCheck
from stadstwin.model.twin import Twin
from stadstwin.model.utilities import Utility
from stadstwin.render.cross_section import section_png
from stadstwin.rules import Rules


def _short(feature_id: object) -> str:
    return str(feature_id).rsplit(".", 1)[-1]


def finding_section_png(twin: Twin, rules: Rules, row: Mapping[str, Any]) -> bytes:
    """Cross-section across the asset of one finding (a row of the findings table), at its point,
    both parties highlighted."""
    nets = twin.networks
    seg, other = int(row["seg"]), int(row["other_seg"])
    highlight = np.zeros(len(nets), bool)
    highlight[seg] = True
    if other >= 0:
        highlight[other] = True
    label = _short(nets.feature_id[other]) if other >= 0 else str(row["other_id"] or row["other_kind"])
    level = severity(np.array([row["best"]]), np.array([row["worst"]]))[0]
    title = (f"{row['check']}: {_short(nets.feature_id[seg])} / {label} — {row['rule']}, "
             f"margin {row['margin']:.2f} ({level})")
    along = (nets.p1 - nets.p0)[seg, :2]
    if not np.any(along):
        along = np.array([1.0, 0.0])
    return section_png(twin, rules, (float(row["x"]), float(row["y"])), tuple(along),
                       Utility(int(nets.utility[seg])), highlight=highlight, title=title)


def route_section_png(check: RouteCheck, rules: Rules, index: int) -> bytes:
    """Cross-section PNG across the route at finding ``index``."""
    row = check.findings.iloc[index]
    nets = check.twin.networks
    seg = int(row["seg"])
    along = (nets.p1 - nets.p0)[seg, :2]
    highlight = np.zeros(len(nets), bool)
    highlight[check.route_rows] = True
    if row["other_seg"] >= 0:
        highlight[int(row["other_seg"])] = True
    other = row["other_id"] or nets.feature_id[int(row["other_seg"])]
    title = (f"chainage {check.chainage[index]:.1f} m: {row['check']} with {other}"
             f" — {row['rule']}, margin {row['margin']:.2f}")
    return section_png(check.twin, rules, (float(row["x"]), float(row["y"])), tuple(along),
                       Utility(int(nets.utility[seg])), highlight=highlight, title=title)
