"""Candidate works derived from the twin's assets, as plans of their owners (asset-driven plans).

What the twin holds: every network segment's owner, utility kind and life-cycle status (IMKL
``currentStatus`` disused / decommissioned / abandoned → ``Status.ABANDONED``). An abandoned cable or
pipe is a candidate for removal (sanering) by its owner, best done when the street is open anyway:
one plan per abandoned feature, its route the feature's axis in plan, phase ``idee``, realisation in
the given year. Replacement years of sewers, mains or road surfaces are not in the twin (an IMKL
delivery carries no construction or replacement year), so no plans are derived from them.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import shapely

from stadstwin.model.enums import Phase, Status
from stadstwin.model.plans import Plan
from stadstwin.model.twin import Twin
from stadstwin.model.utilities import Utility

#: Theme of a plan that removes an abandoned network.
REMOVAL_THEME = "sanering"


def abandoned_network_plans(twin: Twin, year: int) -> list[Plan]:
    """One removal plan per abandoned network feature of ``twin`` (module doc), realised in ``year``;
    its trench is the feature's outer diameter plus 0.3 m working room on either side [m]."""
    net = twin.networks
    rows = np.flatnonzero(net.status == Status.ABANDONED) if len(net) else np.zeros(0, dtype=int)
    owners = net.owner_name
    plans = []
    for fid in dict.fromkeys(net.feature_id[rows].tolist()):  # in network order
        mine = rows[net.feature_id[rows] == fid]
        segments = [shapely.LineString([net.p0[k, :2], net.p1[k, :2]]) for k in mine
                    if np.any(net.p0[k, :2] != net.p1[k, :2])]  # a vertical segment has no route in plan
        if not segments:
            continue
        route = shapely.line_merge(shapely.MultiLineString(segments))
        kinds = sorted({Utility(int(u)).key for u in net.utility[mine]})
        plans.append(Plan(
            id=f"{REMOVAL_THEME}-{fid}", party=str(owners[mine[0]]), theme=REMOVAL_THEME, phase=Phase.IDEE,
            planning={Phase.REALISATIE: {"start": date(year, 1, 1), "end": date(year, 12, 31)}},
            geometry=route, asset_types=tuple(kinds),
            trench_width=round(float(net.outer_diameter[mine].max()) + 0.6, 3)))
    return plans
