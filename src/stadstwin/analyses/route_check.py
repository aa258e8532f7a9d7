"""Check a proposed cable or pipe route against everything underground, by chainage.

The route is laid as a new asset: a 3D line keeps its z as the axis height [m NAP]; a 2D line is
given a vertex at least every ``ROUTE_SPACING`` so its depth follows the terrain, and lies at
``cover`` below the DTM (top of the pipe), by default the rule cover for its kind and the surface
above each vertex plus the design tolerance ``DESIGN_UNCERTAINTY`` and ``LAYING_MARGIN`` (so that
the route clears the cover rule at every height within that tolerance). The new asset carries that tolerance as its
depth uncertainty. All seven checks run on the twin with the route added, keeping only findings
that involve the route; each is placed at its chainage (plan distance along the route from its start).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from stadstwin.analyses.cover_check import surface_at
from stadstwin.analyses.findings import to_features
from stadstwin.analyses.underground import underground_findings
from stadstwin.crs import parse_crs, to_internal
from stadstwin.errors import InputError
from stadstwin.model.enums import DepthSource, Status
from stadstwin.model.networks import NetworkTable
from stadstwin.model.twin import Twin
from stadstwin.model.utilities import Utility
from stadstwin.rules import Rules

ROUTE_SPACING = 1.0  # m: largest vertex spacing of a 2D route, so its depth follows the terrain
DESIGN_UNCERTAINTY = 0.10  # m: construction tolerance of a new route's height
ROUTE_ID = "route"
LAYING_MARGIN = 0.001  # m below the rule cover + tolerance, so rounding never lays a route on the limit


@dataclass(eq=False)
class RouteCheck:
    """The outcome of a route check.

    twin      the twin with the route added (its rows are ``route_rows`` of ``twin.networks``)
    findings  merged findings involving the route, the route always as ``seg``, sorted by chainage
    chainage  (K,) plan distance along the route [m] of each finding
    """

    twin: Twin
    route_rows: np.ndarray
    findings: pd.DataFrame
    chainage: np.ndarray

    def features(self) -> list[dict[str, Any]]:
        """The findings as GeoJSON Point features with a ``chainage_m`` property."""
        return to_features(self.findings, self.twin.networks, {"chainage_m": self.chainage})

    @property
    def route_length(self) -> float:
        """Plan length of the route [m]."""
        nets = self.twin.networks
        return float(np.linalg.norm((nets.p1 - nets.p0)[self.route_rows, :2], axis=1).sum())


def _densify(xy: np.ndarray) -> np.ndarray:
    pieces = np.maximum(1, np.ceil(np.linalg.norm(np.diff(xy, axis=0), axis=1) / ROUTE_SPACING - 1e-9).astype(int))
    parts = [xy[k] + np.outer(np.arange(m) / m, xy[k + 1] - xy[k]) for k, m in enumerate(pieces)]
    return np.vstack([*parts, xy[-1:]])


def route_coordinates(geojson: dict[str, Any], *, source: str = "route") -> np.ndarray:
    """(K, 2 or 3) vertices [m, EPSG:7415] of the one LineString in a GeoJSON object (geometry,
    Feature or FeatureCollection) whose ``crs`` member names its CRS; x, y are reprojected to RD New."""
    crs = parse_crs((geojson.get("crs") or {}).get("properties", {}).get("name"), path=source, feature="crs")
    if geojson.get("type") == "FeatureCollection":
        lines = [f.get("geometry") for f in geojson.get("features", [])]
    elif geojson.get("type") == "Feature":
        lines = [geojson.get("geometry")]
    else:
        lines = [geojson]
    lines = [g for g in lines if g and g.get("type") == "LineString"]
    if len(lines) != 1:
        raise InputError(f"expected exactly one LineString, found {len(lines)}", path=source,
                         hint="give the route as one GeoJSON LineString (2D, or 3D with the axis height in m NAP)")
    try:
        coordinates = np.asarray(lines[0]["coordinates"], dtype=np.float64)
    except (KeyError, ValueError, TypeError) as exc:
        raise InputError(f"unreadable LineString coordinates: {exc}", path=source) from None
    if coordinates.ndim != 2 or coordinates.shape[1] not in (2, 3):
        raise InputError("coordinates must be [x, y] or [x, y, z] pairs", path=source)
    x, y = to_internal(coordinates[:, 0], coordinates[:, 1], crs, path=source)
    return np.column_stack([x, y, coordinates[:, 2:]])


def route_table(twin: Twin, rules: Rules, coordinates: np.ndarray, utility: Utility, *,
                diameter: float | None = None, cover: float | None = None, owner: str = "new route",
                uncertainty: float = DESIGN_UNCERTAINTY, feature_id: str = ROUTE_ID) -> NetworkTable:
    """The route as a one-asset network table (see the module docstring for how it is laid)."""
    coordinates = np.asarray(coordinates, dtype=np.float64)
    if coordinates.ndim != 2 or coordinates.shape[1] not in (2, 3) or len(coordinates) < 2:
        raise InputError("a route needs at least two (x, y) or (x, y, z) vertices", feature=feature_id)
    if not np.isfinite(coordinates).all():
        raise InputError("the route holds NaN or infinite coordinates", feature=feature_id)
    size = float(diameter) if diameter is not None else rules.utility(utility).outer_diameter
    if not 0.0 < size <= 5.0:
        raise InputError(f"outer diameter must lie in (0, 5] m, got {size}", feature=feature_id)
    r = 0.5 * size
    if coordinates.shape[1] == 3:
        vertices = coordinates
    else:
        xy = _densify(coordinates)
        ground = twin.dtm.sample(xy[:, 0], xy[:, 1])
        if not np.isfinite(ground).all():
            bad = xy[int(np.flatnonzero(~np.isfinite(ground))[0])]
            raise InputError(f"the route leaves the terrain at ({bad[0]:.2f}, {bad[1]:.2f})", feature=feature_id,
                             hint="keep the route inside the scene extent")
        if cover is None:
            table = rules.cover_matrix()[utility]
            depth = table[surface_at(twin, xy[:, 0], xy[:, 1])]
            depth = np.where(np.isfinite(depth), depth, np.nanmax(table)) + uncertainty + LAYING_MARGIN
        else:
            if cover < 0.0:
                raise InputError(f"cover must be ≥ 0 m, got {cover}", feature=feature_id)
            depth = np.full(len(xy), float(cover))
        vertices = np.column_stack([xy, ground - depth - r])
    return NetworkTable.from_polylines(
        [vertices], outer_diameter=[size], utility=[int(utility)], owner=[owner], status=[Status.PLANNED],
        depth_source=[DepthSource.DESIGN], depth_uncertainty=[uncertainty], feature_id=[feature_id])


def _route_first(table: pd.DataFrame, on_route: np.ndarray, networks: NetworkTable) -> pd.DataFrame:
    """Swap pair rows so that the route segment is ``seg``."""
    table = table.copy()
    swap = ~on_route[table["seg"].to_numpy()]
    if swap.any():
        rows = table.index[swap]
        for a, b in (("seg", "other_seg"), ("x", "ox"), ("y", "oy"), ("z", "oz")):
            table.loc[rows, [a, b]] = table.loc[rows, [b, a]].to_numpy()
        table.loc[rows, "other_kind"] = [Utility(int(networks.utility[k])).key for k in table.loc[rows, "other_seg"]]
    return table


def check_route(twin: Twin, rules: Rules, route: NetworkTable, settings: dict[str, Any] | None = None) -> RouteCheck:
    """Every finding that involves ``route`` (a table from ``route_table``), by chainage."""
    networks = NetworkTable.concat([twin.networks, route])
    rows = np.arange(len(twin.networks), len(networks))
    on_route = np.zeros(len(networks), bool)
    on_route[rows] = True
    combined = replace(twin, networks=networks)
    table = _route_first(underground_findings(combined, rules, settings, on_route), on_route, networks)
    seg = table["seg"].to_numpy().astype(np.int64)
    plan = np.linalg.norm((networks.p1 - networks.p0)[:, :2], axis=1)
    start = np.concatenate([[0.0], np.cumsum(plan[rows])])[seg - rows[0]] if len(seg) else np.zeros(0)
    along = np.hypot(table["x"].to_numpy() - networks.p0[seg, 0], table["y"].to_numpy() - networks.p0[seg, 1])
    chainage = start + along
    order = np.argsort(chainage, kind="stable")
    return RouteCheck(combined, rows, table.iloc[order].reset_index(drop=True), chainage[order])


def worst_finding(check: RouteCheck) -> int | None:
    """Index of the finding to draw: the most certain, then the smallest margin among distance
    checks (crossing-angle margins are degrees and come last)."""
    table = check.findings
    if table.empty:
        return None
    certain = (table["best"] < 0).to_numpy()
    angle = (table["check"] == "crossing_angle").to_numpy()
    order = np.lexsort((table["margin"].to_numpy(), ~certain, angle))
    return int(order[0])
