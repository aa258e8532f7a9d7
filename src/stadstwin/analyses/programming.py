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

As registered analyses (``koppelkansen``, ``graafrust``: the CLI, the service and batch studies run
them through ``scenario.pipeline``) they take the register as settings: ``plans`` (GeoJSON features in
the register's fields, as the caller may see them; the pipeline fills in the scene's register) and
``shift_years`` ({plan id: whole years} to move a plan's phase dates, as a study varies planning).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

import numpy as np
import shapely

from stadstwin.analyses.heat_inputs import area_mask, surface_codes
from stadstwin.analyses.result import AnalysisResult, with_defaults
from stadstwin.errors import InputError
from stadstwin.io.plan_register import plans_from_features
from stadstwin.model.enums import Surface
from stadstwin.model.plans import Plan, add_years
from stadstwin.model.twin import Twin
from stadstwin.rules import Rules
from stadstwin.rules.tables import Graafrust, Programming

DAYS_PER_YEAR = 365.25


def gap_years(a: Plan, b: Plan) -> float:
    """Years between the realisation windows of two plans (0 when they overlap)."""
    days = max((b.works.start - a.works.end).days, (a.works.start - b.works.end).days, 0)
    return days / DAYS_PER_YEAR


def koppelkansen(plans: Sequence[Plan], rules: Programming) -> list[dict[str, Any]]:
    """GeoJSON features of the koppelkansen among ``plans``, best first (most shared ground, then the smallest gap)."""
    reach = rules.koppelkans.distance_m
    digging = [p for p in plans if p.digs]
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
