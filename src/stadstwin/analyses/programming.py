"""Programming works across parties: koppelkansen (chances to dig once) and graafrust conflicts.

Koppelkans: two digging plans of different parties whose works lie within
``rules.programming.koppelkans.distance_m`` of each other and whose realisation windows are at most
``gap_years`` apart (0 when they overlap). What they share: the ground within reach of both (the
footprints, each grown by half the distance, intersected) and, for routes, the length of one route
inside the other's corridor. Chances chain into groups (connected plans); a group of n plans digs
once instead of n times.

Graafrust: after the works of a plan end, its footprint stays closed for digging for the years its
surface type asks (``rules.programming.graafrust``; the surface is the twin's most common type under
the footprint). A digging plan of another party (or a later one of the same party) that starts on
that ground inside the closed period is a conflict, with the rule named. Works that overlap in time
are not a graafrust conflict: they are a koppelkans.

Joined check: for each koppelkans group that lays a new cable or pipe route (a route plan whose asset
types name a utility kind, ``rules.programming.routes``), every such route of the group is laid as in
``analyses/route_check.py`` (its own kind, rule cover, owned by its party) into one combined design,
and the route check runs on it once: findings against existing assets and between the new routes.
The verdict says whether the combined trench fits: ``fits`` (no finding), ``possible conflicts``
(only possible ones under the depth uncertainty) or ``does not fit`` (a certain one).

As registered analyses (``koppelkansen``, ``graafrust``, ``joined``: the CLI, the service and batch studies run
them through ``scenario.pipeline``) they take the register as settings: ``plans`` (GeoJSON features in
the register's fields, as the caller may see them; the pipeline fills in the scene's register) and
``shift_years`` ({plan id: whole years} to move a plan's phase dates, as a study varies planning);
``joined`` also takes ``koppelkans`` (a group id ``a+b`` or one of its plan ids; empty: every group).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

import numpy as np
import shapely

from stadstwin.analyses.findings import severity
from stadstwin.analyses.heat_inputs import area_mask, surface_codes
from stadstwin.analyses.result import AnalysisResult, with_defaults
from stadstwin.analyses.route_check import check_route, route_table
from stadstwin.errors import InputError
from stadstwin.io.plan_register import plans_from_features
from stadstwin.model.enums import Surface
from stadstwin.model.networks import NetworkTable
from stadstwin.model.plans import Plan, add_years
from stadstwin.model.twin import Twin
from stadstwin.model.utilities import Utility
from stadstwin.rules import Rules
from stadstwin.rules.tables import Graafrust, PlanRoutes, Programming

DAYS_PER_YEAR = 365.25


def gap_years(a: Plan, b: Plan) -> float:
    """Years between the realisation windows of two plans (0 when they overlap)."""
    days = max((b.works.start - a.works.end).days, (a.works.start - b.works.end).days, 0)
    return days / DAYS_PER_YEAR


def koppelkansen(plans: Sequence[Plan], rules: Programming) -> list[dict[str, Any]]:
    """GeoJSON features of the koppelkansen among ``plans``, best first (most shared ground, then the smallest gap)."""
    reach = rules.koppelkans.distance_m
    digging = [p for p in plans if p.digs]
    if not digging:
        return []
    grown = [p.footprint.buffer(reach / 2.0) for p in digging]
    tree = shapely.STRtree(grown)
    left, right = tree.query(grown, predicate="intersects")
    pairs = [(i, j) for i, j in zip(left.tolist(), right.tolist()) if i < j and digging[i].party != digging[j].party
             and gap_years(digging[i], digging[j]) <= rules.koppelkans.gap_years]
    groups = _groups(len(digging), pairs)
    chances = []
    for i, j in pairs:
        a, b = sorted((digging[i], digging[j]), key=lambda p: p.id)  # the same answer in any register order
        gap = gap_years(a, b)
        shared = grown[i].intersection(grown[j])
        length = max(_inside(a, b.footprint.buffer(reach)), _inside(b, a.footprint.buffer(reach)))
        group = sorted(digging[k].id for k in groups[i])
        chances.append({
            "type": "Feature",
            "geometry": shapely.geometry.mapping(shared),
            "properties": {
                "check": "koppelkans", "severity": "info", "plans": [a.id, b.id], "parties": [a.party, b.party],
                "themes": [a.theme, b.theme], "gap_years": round(gap, 2), "shared_area_m2": round(shared.area, 1),
                "shared_length_m": round(length, 1),
                "works": [[str(a.works.start), str(a.works.end)], [str(b.works.start), str(b.works.end)]],
                "group": group,
                "saving": f"one dig instead of {len(group)} for plans {', '.join(group)}",
            },
        })
    chances.sort(key=lambda f: (-f["properties"]["shared_length_m"], -f["properties"]["shared_area_m2"],
                                f["properties"]["gap_years"], f["properties"]["plans"]))
    return chances


def _inside(route: Plan, corridor: shapely.Geometry) -> float:
    """Length [m] of a route plan inside ``corridor`` (0 for an area plan)."""
    if not route.geometry.geom_type.endswith("LineString"):
        return 0.0
    return float(route.geometry.intersection(corridor).length)


def _groups(n: int, pairs: list[tuple[int, int]]) -> list[set[int]]:
    """Per node, the set of nodes connected to it through ``pairs`` (union-find)."""
    root = list(range(n))

    def find(k: int) -> int:
        while root[k] != k:
            root[k] = root[root[k]]
            k = root[k]
        return k

    for i, j in pairs:
        root[find(i)] = find(j)
    members: dict[int, set[int]] = {}
    for k in range(n):
        members.setdefault(find(k), set()).add(k)
    return [members[find(k)] for k in range(n)]


def closed_until(plan: Plan, years: float) -> date:
    """The last day the plan's ground is closed for digging: ``years`` after its works end."""
    whole = int(years)
    return add_years(plan.works.end, whole) + timedelta(days=round((years - whole) * DAYS_PER_YEAR))


def dominant_surface(twin: Twin | None, plan: Plan) -> Surface:
    """The most common surface type of the twin under the plan's footprint (UNKNOWN without a twin or cells)."""
    if twin is None:
        return Surface.UNKNOWN
    inside = area_mask(twin.dtm, shapely.geometry.mapping(plan.footprint))
    if not inside.any():
        return Surface.UNKNOWN
    codes = surface_codes(twin, np.zeros(twin.dtm.shape, dtype=bool))[inside]
    return Surface(int(np.bincount(codes, minlength=len(Surface)).argmax()))


def graafrust_conflicts(plans: Sequence[Plan], twin: Twin | None, rules: Graafrust) -> list[dict[str, Any]]:
    """GeoJSON features of plans that dig on ground still closed after another plan's works (module doc)."""
    digging = [p for p in plans if p.digs]
    conflicts = []
    for first in digging:
        surface = dominant_surface(twin, first)
        years = rules.years(surface)
        if years <= 0.0:
            continue
        until = closed_until(first, years)
        for later in digging:
            if later is first or not first.works.end < later.works.start <= until:
                continue
            overlap = first.footprint.intersection(later.footprint)
            if overlap.area <= 0.0:
                continue
            rule = f"graafrust {surface.name.lower()} {years:g} years after {first.id} (works end {first.works.end})"
            conflicts.append({
                "type": "Feature",
                "geometry": shapely.geometry.mapping(overlap),
                "properties": {
                    "check": "graafrust", "severity": "certain", "plan": later.id, "party": later.party,
                    "after": first.id, "after_party": first.party, "starts": str(later.works.start),
                    "closed_until": str(until), "surface": surface.name.lower(), "rule": rule,
                    "area_m2": round(overlap.area, 1),
                    "message": f"{later.id} starts {later.works.start}, ground closed until {until} ({rule})",
                },
            })
    return conflicts


def group_id(chance: dict[str, Any]) -> str:
    """The id of a koppelkans's group: its plan ids joined by ``+``."""
    return "+".join(chance["properties"]["group"])


def route_utility(plan: Plan, routes: PlanRoutes) -> Utility | None:
    """The cable or pipe kind a route plan lays (its first asset type that names one); None for an area."""
    if not plan.geometry.geom_type.endswith("LineString"):
        return None
    return next((u for u in map(routes.utility, plan.asset_types) if u is not None), None)


def joined_check(twin: Twin, rules: Rules, plans: Sequence[Plan]) -> dict[str, Any]:
    """GeoJSON feature of the route check of ``plans``' new routes laid together (module doc)."""
    tables, laid = [], []
    for plan in plans:
        kind = route_utility(plan, rules.programming.routes)
        if kind is None:
            continue
        laid.append({"plan": plan.id, "party": plan.party, "utility": kind.key})
        for part in getattr(plan.geometry, "geoms", [plan.geometry]):
            tables.append(route_table(twin, rules, np.asarray(part.coords)[:, :2], kind, owner=plan.party,
                                      feature_id=plan.id))
    check = check_route(twin, rules, NetworkTable.concat(tables))
    table, networks = check.findings, check.twin.networks
    levels = severity(table["best"].to_numpy(), table["worst"].to_numpy())
    conflicts = [{"check": row.check, "severity": str(level), "plan": str(networks.feature_id[int(row.seg)]),
                  "other": str(networks.feature_id[int(row.other_seg)]) if row.other_seg >= 0 else "",
                  "other_owner": str(networks.owner_name[int(row.other_seg)]) if row.other_seg >= 0 else "",
                  "margin_m": round(float(row.margin), 3), "x": round(float(row.x), 2), "y": round(float(row.y), 2)}
                 for row, level in zip(table.itertuples(index=False), levels)]
    certain = sum(c["severity"] == "certain" for c in conflicts)
    possible = len(conflicts) - certain
    verdict = "does not fit" if certain else "possible conflicts" if possible else "fits"
    ids = [p.id for p in plans]
    geometry = shapely.union_all([p.geometry for p in plans if p.id in {r["plan"] for r in laid}])
    return {"type": "Feature", "geometry": shapely.geometry.mapping(geometry), "properties": {
        "check": "joined", "koppelkans": "+".join(ids), "plans": ids, "routes": laid,
        "route_length_m": round(check.route_length, 1), "findings": len(conflicts), "certain": certain,
        "possible": possible, "verdict": verdict, "conflicts": conflicts}}


def joined_checks(twin: Twin, rules: Rules, plans: Sequence[Plan], chances: Sequence[dict[str, Any]],
                  koppelkans: str = "") -> list[dict[str, Any]]:
    """The joined check of every koppelkans group in ``chances`` that lays a new route (``koppelkans``:
    only the group with that id or plan), in the order of the groups' best chance."""
    by_id = {p.id: p for p in plans}
    groups = list(dict.fromkeys(tuple(f["properties"]["group"]) for f in chances))
    if koppelkans:
        chosen = [g for g in groups if koppelkans == "+".join(g) or koppelkans in g]
        if not chosen:
            raise InputError(f"no koppelkans {koppelkans!r}", feature="joined.koppelkans",
                             hint=f"koppelkansen: {', '.join(dict.fromkeys(map(group_id, chances))) or 'none'}")
        groups = chosen
    return [joined_check(twin, rules, [by_id[pid] for pid in g]) for g in groups
            if any(route_utility(by_id[pid], rules.programming.routes) for pid in g)]


_SETTINGS = {"plans": [], "shift_years": {}}


def register_plans(settings: dict[str, Any], analysis: str) -> list[Plan]:
    """The plans of an analysis's settings (module doc), each moved by its ``shift_years``."""
    options = with_defaults(settings, _SETTINGS, analysis)
    plans = plans_from_features(options["plans"], f"{analysis} settings.plans")
    shifts = options["shift_years"]
    unknown = sorted(set(shifts) - {p.id for p in plans})
    if unknown:
        raise InputError(f"shift_years names no plan of the register: {', '.join(unknown)}",
                         feature=f"{analysis}.shift_years")
    for pid, years in shifts.items():
        if not float(years).is_integer():
            raise InputError(f"shift_years of {pid!r} = {years!r} is not whole years", feature=f"{analysis}.shift_years")
    return [p.shifted(int(shifts[p.id])) if shifts.get(p.id) else p for p in plans]


def koppelkansen_analysis(twin: Twin | None, rules: Rules, settings: dict[str, Any]) -> AnalysisResult:
    """Koppelkansen of the register in ``settings`` (module doc); metrics: chances, groups and digs saved."""
    plans = register_plans(settings, "koppelkansen")
    chances = koppelkansen(plans, rules.programming)
    groups = {tuple(f["properties"]["group"]) for f in chances}
    return AnalysisResult("koppelkansen", findings=chances, metrics={
        "plans": float(len(plans)), "koppelkansen": float(len(chances)), "groups": float(len(groups)),
        "digs_saved": float(sum(len(g) - 1 for g in groups)),
        "shared_length_m": float(sum(f["properties"]["shared_length_m"] for f in chances))})


def graafrust_analysis(twin: Twin | None, rules: Rules, settings: dict[str, Any]) -> AnalysisResult:
    """Graafrust conflicts of the register in ``settings`` on the twin's surface types (module doc)."""
    plans = register_plans(settings, "graafrust")
    conflicts = graafrust_conflicts(plans, twin, rules.programming.graafrust)
    return AnalysisResult("graafrust", findings=conflicts, metrics={
        "plans": float(len(plans)), "conflicts": float(len(conflicts)),
        "conflict_area_m2": float(sum(f["properties"]["area_m2"] for f in conflicts))})


def joined_analysis(twin: Twin | None, rules: Rules, settings: dict[str, Any]) -> AnalysisResult:
    """Joined route check of each koppelkans group with a new cable or pipe route (module doc); metrics:
    groups checked, how many fit, and the certain and possible findings."""
    options = with_defaults(settings, {**_SETTINGS, "koppelkans": ""}, "joined")
    plans = register_plans({k: options[k] for k in _SETTINGS}, "joined")
    if twin is None:
        raise InputError("the joined check lays routes in the scene's twin: give a scene folder", feature="joined")
    checks = joined_checks(twin, rules, plans, koppelkansen(plans, rules.programming), str(options["koppelkans"]))
    return AnalysisResult("joined", findings=checks, metrics={
        "checked": float(len(checks)), "fit": float(sum(f["properties"]["verdict"] == "fits" for f in checks)),
        "certain_findings": float(sum(f["properties"]["certain"] for f in checks)),
        "possible_findings": float(sum(f["properties"]["possible"] for f in checks))})
