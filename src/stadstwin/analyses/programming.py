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
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

import numpy as np
import shapely

from stadstwin.analyses.heat_inputs import area_mask, surface_codes
from stadstwin.model.enums import Surface
from stadstwin.model.plans import Plan
from stadstwin.model.twin import Twin
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
        a, b = digging[i], digging[j]
        gap = gap_years(a, b)
        shared = grown[i].intersection(grown[j])
        length = max(_inside(a, b.footprint.buffer(reach)), _inside(b, a.footprint.buffer(reach)))
        group = sorted(digging[k].id for k in groups[i])
        chances.append({
            "type": "Feature",
            "geometry": shapely.geometry.mapping(shared),
            "properties": {
                "check": "koppelkans", "plans": [a.id, b.id], "parties": [a.party, b.party],
                "themes": [a.theme, b.theme], "gap_years": round(gap, 2), "shared_area_m2": round(shared.area, 1),
                "shared_length_m": round(length, 1),
                "works": [[str(a.works.start), str(a.works.end)], [str(b.works.start), str(b.works.end)]],
                "group": group,
                "saving": f"one dig instead of {len(group)} for plans {', '.join(group)}",
            },
        })
    chances.sort(key=lambda f: (-f["properties"]["shared_length_m"], -f["properties"]["shared_area_m2"],
                                f["properties"]["gap_years"]))
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
    end = plan.works.end
    try:
        shifted = end.replace(year=end.year + whole)
    except ValueError:  # 29 February
        shifted = end.replace(year=end.year + whole, day=28)
    return shifted + timedelta(days=round((years - whole) * DAYS_PER_YEAR))


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
