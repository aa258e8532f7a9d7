"""The underground clash analysis: the seven checks on a twin's networks, as one result.

1 hard clash, 2 clearance (``clearance_check``), 3 cover (``cover_check``), 4 crossing angle
(``crossing_check``), 5 tree root zones, 6 buildings, 7 space reservations (``zone_checks``).
Every finding is classified certain or possible under the depth uncertainty (``certainty``), and
the segment findings of one asset pair and rule are merged per run of consecutive segments
(``findings.merge_findings``). Abandoned and planned assets count like existing ones: they occupy
the space all the same.

Settings: ``parallel_below_deg`` (30) — plan angle below which a pair runs parallel;
``building_tolerance_m`` (0.25) — how far a network may reach inside a footprint.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from stadstwin.analyses.certainty import CERTAIN, POSSIBLE, severity
from stadstwin.analyses.clearance_check import PARALLEL_BELOW_DEG, pair_findings
from stadstwin.analyses.cover_check import cover_findings
from stadstwin.analyses.crossing_check import crossing_findings
from stadstwin.analyses.findings import count_metrics, empty_table, merge_findings, to_features
from stadstwin.analyses.result import AnalysisResult, with_defaults
from stadstwin.analyses.settings import number
from stadstwin.analyses.zone_checks import (
    BUILDING_TOLERANCE,
    building_findings,
    reservation_findings,
    tree_findings,
)
from stadstwin.errors import InputError
from stadstwin.model.twin import Twin
from stadstwin.rules import Rules

_SETTINGS = {"parallel_below_deg": PARALLEL_BELOW_DEG, "building_tolerance_m": BUILDING_TOLERANCE}


def _options(settings: dict[str, Any]) -> dict[str, float]:
    options = {k: number(v, k, "clashes") for k, v in with_defaults(settings, _SETTINGS, "clashes").items()}
    if not 0.0 < options["parallel_below_deg"] <= 90.0:
        raise InputError("parallel_below_deg must lie in (0, 90] degrees", feature="clashes")
    if not options["building_tolerance_m"] >= 0.0:
        raise InputError("building_tolerance_m must be ≥ 0 m", feature="clashes")
    return options


def underground_findings(twin: Twin, rules: Rules, settings: dict[str, Any] | None = None,
                         subject: np.ndarray | None = None) -> pd.DataFrame:
    """Merged findings of all seven checks; with ``subject`` (bool per network row) only the
    findings that involve a subject segment."""
    options = _options(settings or {})
    networks = twin.networks
    if subject is not None and len(subject) != len(networks):
        raise ValueError("subject must have one value per network row")
    tables = [
        pair_findings(networks, rules, subject, options["parallel_below_deg"]),
        cover_findings(twin, rules, subject),
        crossing_findings(networks, rules, subject),
        tree_findings(twin, rules, subject),
        building_findings(twin, rules, subject, options["building_tolerance_m"]),
        reservation_findings(twin, rules, subject),
    ]
    tables = [t for t in tables if not t.empty]
    if not tables:
        return empty_table()
    return merge_findings(pd.concat(tables, ignore_index=True), networks)


def run_clash_check(twin: Twin, rules: Rules, settings: dict[str, Any]) -> AnalysisResult:
    """The clash analysis: counts per check and severity as metrics, every finding as a GeoJSON
    Point, and in ``details["worst"]`` the worst certain and the worst possible pair finding (rows
    of the findings table, for cross-sections)."""
    table = underground_findings(twin, rules, settings)
    metrics = count_metrics(table)
    metrics["segments_checked"] = float(len(twin.networks))
    worst = {}
    levels = severity(table["best"].to_numpy(), table["worst"].to_numpy())
    pairs = (table["other_seg"] >= 0).to_numpy() & (table["check"] != "crossing_angle").to_numpy()
    for level in (CERTAIN, POSSIBLE):
        rows = np.flatnonzero(pairs & (levels == level))
        if len(rows):
            worst[level] = table.iloc[rows[np.argmin(table["margin"].to_numpy()[rows])]].to_dict()
    return AnalysisResult("clashes", metrics=metrics, findings=to_features(table, twin.networks),
                          details={"worst": worst})
