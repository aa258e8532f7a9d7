"""Findings of the underground checks as one table, merged per asset pair, and as GeoJSON.

One row per violated rule per segment (pair). Columns:

check        ``hard_clash``, ``clearance``, ``cover``, ``crossing_angle``, ``tree_zone``,
             ``building``, ``reservation``
rule         the rule in words, with its required value
required     the required value [m, or degrees for the crossing angle]
seg          network row of the asset the finding is on
other_seg    network row of the other asset, −1 when the other party is no network asset
other_kind   utility key of the other asset, or ``tree``/``building``/``reservation``/a surface name
other_id     feature id of the other party (tree, building, reservation id; "" for a surface)
other_owner  owner of the other party ("" where none)
margin       margin at the recorded heights [m or degrees]; negative = the rule is broken
best, worst  margin at the most / least favourable heights within the depth uncertainty
standard_only  the rule is broken only because of standard-depth uncertainty (``certainty.standard_depth_only``)
x, y, z      the point on the asset [m, EPSG:7415]
ox, oy, oz   the point on the other party (NaN where none)
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from stadstwin.analyses.certainty import severity
from stadstwin.model.networks import NetworkTable
from stadstwin.model.utilities import Utility

CHECKS = ("hard_clash", "clearance", "cover", "crossing_angle", "tree_zone", "building", "reservation")
#: Metric name (as the assessment frame uses it) per check.
METRIC_OF_CHECK = {
    "hard_clash": "hard_clashes",
    "clearance": "clearance_violations",
    "cover": "cover_violations",
    "crossing_angle": "crossing_angle_violations",
    "tree_zone": "tree_zone_violations",
    "building": "building_conflicts",
    "reservation": "reservation_conflicts",
}
COLUMNS = ("check", "rule", "required", "seg", "other_seg", "other_kind", "other_id", "other_owner",
           "margin", "best", "worst", "standard_only", "x", "y", "z", "ox", "oy", "oz")


_DEFAULTS = {"other_seg": -1, "other_kind": "", "other_id": "", "other_owner": "", "standard_only": False,
             "ox": np.nan, "oy": np.nan, "oz": np.nan}


def finding_table(**columns: Any) -> pd.DataFrame:
    """A findings table from the columns of the module docstring: arrays of one length (``seg``'s)
    or scalars, which are repeated; the ``other_*`` and ``o*`` columns may be left out."""
    unknown = sorted(set(columns) - set(COLUMNS))
    missing = sorted(set(COLUMNS) - set(columns) - set(_DEFAULTS))
    if unknown or missing:
        raise ValueError(f"finding columns: unknown {unknown}, missing {missing}")
    n = len(columns["seg"])
    data = {}
    for name in COLUMNS:
        value = columns.get(name, _DEFAULTS.get(name))
        data[name] = np.full(n, value, dtype=object if isinstance(value, str) else None) if np.ndim(value) == 0 else np.asarray(value)
    return pd.DataFrame(data)


def empty_table() -> pd.DataFrame:
    """A findings table without rows."""
    return finding_table(**{name: np.empty(0) for name in COLUMNS if name not in _DEFAULTS} | {"seg": np.empty(0, np.int64)})


def merge_findings(table: pd.DataFrame, networks: NetworkTable) -> pd.DataFrame:
    """One finding per check, asset pair (or asset and other party) and run of consecutive
    segments: the row with the smallest margin (its rule, point and margin), with the smallest best
    and worst margins of the run; standard-depth only when every row of the run is.

    Only rows whose worst margin is negative are kept (a rule broken at some height).
    """
    table = table[table["worst"] < 0.0]
    if table.empty:
        return table.reset_index(drop=True)
    other = table["other_seg"].to_numpy()
    keyed = table.assign(
        _asset=networks.asset[table["seg"].to_numpy()],
        _other=np.where(other >= 0, networks.asset[np.maximum(other, 0)].astype(str),
                        table["other_kind"].astype(str) + ":" + table["other_id"].astype(str)),
    ).sort_values(["check", "_asset", "_other", "seg", "other_seg"], kind="stable").reset_index(drop=True)
    seg = keyed["seg"].to_numpy()
    other = keyed["other_seg"].to_numpy()
    group = pd.MultiIndex.from_frame(keyed[["check", "_asset", "_other"]]).factorize()[0]
    new_group = np.r_[True, group[1:] != group[:-1]]
    seg_jump = np.r_[True, np.abs(np.diff(seg)) > 1]
    other_jump = np.r_[True, (np.abs(np.diff(other)) > 1) | (other[1:] < 0)]
    run = np.cumsum(new_group | (seg_jump & other_jump))
    runs = keyed.groupby(run)
    merged = keyed.loc[runs["margin"].idxmin().to_numpy()].copy()
    merged["best"] = runs["best"].min().to_numpy()
    merged["worst"] = runs["worst"].min().to_numpy()
    merged["standard_only"] = runs["standard_only"].all().to_numpy()
    return merged.drop(columns=["_asset", "_other"]).reset_index(drop=True)


def count_metrics(table: pd.DataFrame) -> dict[str, float]:
    """Finding counts per check (metric names of the assessment frame), per severity, and of the
    findings that exist only because of standard-depth uncertainty."""
    levels = severity(table["best"].to_numpy(), table["worst"].to_numpy())
    metrics = {METRIC_OF_CHECK[c]: float((table["check"] == c).sum()) for c in CHECKS}
    metrics["certain_findings"] = float((levels == "certain").sum())
    metrics["possible_findings"] = float((levels == "possible").sum())
    metrics["standard_depth_only_findings"] = float(table["standard_only"].astype(bool).sum())
    return metrics


def to_features(table: pd.DataFrame, networks: NetworkTable, extra: dict[str, np.ndarray] | None = None) -> list[dict[str, Any]]:
    """GeoJSON Point features (EPSG:7415, x y z) at the point on the asset, one per finding.

    ``margin_m`` and its best/worst values are metres, except for ``crossing_angle`` findings, whose
    margins are degrees (``margin_unit``).

    ``extra`` adds per-row properties (e.g. ``chainage_m``).
    """
    levels = severity(table["best"].to_numpy(), table["worst"].to_numpy())
    owners = networks.owner_name
    features = []
    for k, row in enumerate(table.itertuples(index=False)):
        seg, other = int(row.seg), int(row.other_seg)
        has_other = not np.isnan(row.ox)
        props = {
            "check": row.check,
            "rule": row.rule,
            "severity": levels[k],
            "margin_m": round(float(row.margin), 4),
            "margin_unit": "deg" if row.check == "crossing_angle" else "m",
            "margin_best_m": round(float(row.best), 4),
            "margin_worst_m": round(float(row.worst), 4),
            "standard_depth_only": bool(row.standard_only),
            "required": float(row.required),
            "feature_a": str(networks.feature_id[seg]),
            "owner_a": str(owners[seg]),
            "utility_a": Utility(int(networks.utility[seg])).key,
            "depth_uncertainty_a_m": float(networks.depth_uncertainty[seg]),
            "feature_b": str(networks.feature_id[other]) if other >= 0 else str(row.other_id),
            "owner_b": str(owners[other]) if other >= 0 else str(row.other_owner),
            "utility_b": str(row.other_kind),
            "depth_uncertainty_b_m": float(networks.depth_uncertainty[other]) if other >= 0 else None,
            "other_point": [float(row.ox), float(row.oy), float(row.oz)] if has_other else None,
        }
        for name, values in (extra or {}).items():
            props[name] = float(values[k])
        features.append({
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [float(row.x), float(row.y), float(row.z)]},
            "properties": props,
        })
    return features
