"""The programme views: the programming table (Gantt-like) and the kansenkaart with a time filter in the
comparison report, on a hand-built register and on the demo district's register."""

from __future__ import annotations

import io
import json
from datetime import date
from html.parser import HTMLParser

import shapely
from PIL import Image
from twins import X0 as TX
from twins import Y0 as TY
from twins import small_site, square

from stadstwin.analyses.programming import graafrust_conflicts, koppelkansen
from stadstwin.io.plan_register import read_plan_register
from stadstwin.model.enums import Phase
from stadstwin.model.plans import Plan
from stadstwin.model.variant import Variant
from stadstwin.render.kansenkaart import (
    _row_order,
    kansenkaart_png,
    programming_table_png,
    year_windows,
)
from stadstwin.rules import load_rules
from stadstwin.scenario.compare import compare_variants
from stadstwin.scenario.report import Programme, write_report
from stadstwin.scenario.variants import base_variant

RULES = load_rules().programming
X0, Y0 = 155_000.0, 463_000.0


def plan(pid, party, start, end, y, **phases):
    planning = {Phase.REALISATIE: {"start": start, "end": end}}
    planning.update({Phase(k): {"start": a, "end": b} for k, (a, b) in phases.items()})
    return Plan(id=pid, party=party, theme="test", phase=Phase.ONTWERP, planning=planning,
                geometry=shapely.LineString([(X0, Y0 + y), (X0 + 100, Y0 + y)]))


# heat and power: one street, months apart (a koppelkans); sewer: the same street much later; water: far away
HEAT = plan("heat", "Eneco", date(2030, 3, 1), date(2030, 9, 30), 0.0,
            ontwerp=(date(2028, 1, 1), date(2028, 12, 31)), voorbereiding=(date(2029, 1, 1), date(2030, 2, 28)))
POWER = plan("power", "Stedin", date(2031, 1, 1), date(2031, 3, 31), 3.0)
SEWER = plan("sewer", "Gemeente", date(2026, 5, 1), date(2026, 6, 30), 1.0)
WATER = plan("water", "Vitens", date(2036, 5, 1), date(2036, 6, 30), 80.0)
PLANS = [WATER, POWER, SEWER, HEAT]


def test_table_rows_keep_a_koppelkans_together_in_order_of_works():
    chances = koppelkansen(PLANS, RULES)
    assert [f["properties"]["plans"] for f in chances] == [["heat", "power"]]
    rows, label = _row_order(PLANS, chances)
    # by start of works: sewer (2026), the group heat (2030) + power (2031), then water (2036)
    assert [p.id for p in rows] == ["sewer", "heat", "power", "water"]
    assert label == {"heat": "K1", "power": "K1"}
    png = programming_table_png(PLANS, chances, graafrust_conflicts(PLANS, None, RULES.graafrust))
    wide, tall = Image.open(io.BytesIO(png)).size
    assert wide > tall > 0


def test_time_windows_cover_every_year_of_works_once():
    windows = year_windows(PLANS, span=3)
    assert windows == [(2026, 2028), (2029, 2031), (2032, 2034), (2035, 2036)]
    years = [y for a, b in windows for y in range(a, b + 1)]
    assert years == list(range(2026, 2037))


class Page(HTMLParser):
    def __init__(self):
        super().__init__()
        self.sections, self.options, self.figures, self.rows, self._in = [], [], [], [], None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "section":
            self.sections.append(attrs["id"])
        elif tag == "option":
            self.options.append(attrs["value"])
        elif tag == "figure" and "kansenkaart" in (attrs.get("class") or ""):
            self.figures.append((attrs["data-years"], "hidden" in attrs))
        elif tag == "tr" and self.sections[-1:] == ["programme"]:
            self.rows.append([])
        elif tag == "td":
            self._in = self.rows[-1] if self.sections[-1:] == ["programme"] and self.rows else None

    def handle_data(self, data):
        if self._in is not None:
            self._in.append(data)
            self._in = None


def test_the_report_shows_the_kansenkaart_per_window_the_table_and_the_chances(tmp_path):
    from test_scenario_report import heights

    tower = Variant(id="tower", name="Tower", edits=[{"type": "add_building", "id": "t",
                                                      "footprint": square(TX + 20, TY + 20, 5), "height": 30.0}])
    comparison = compare_variants(small_site({"heights": heights}), [base_variant("t"), tower])
    chances = koppelkansen(PLANS, RULES)
    chances[0]["properties"]["joined"] = {"koppelkans": "heat+power", "verdict": "fits", "certain": 0, "possible": 0}
    bounds = (X0 - 10, Y0 - 10, X0 + 110, Y0 + 90)
    maps = {"all years": kansenkaart_png(PLANS, chances, [], bounds)}
    maps |= {f"{a}–{b}": kansenkaart_png(PLANS, chances, [], bounds, years=(a, b)) for a, b in year_windows(PLANS)}
    programme = Programme(maps=maps, table=programming_table_png(PLANS, chances, []), koppelkansen=chances, graafrust=[])
    html_path, json_path = write_report(comparison, tmp_path, programme=programme)
    page = Page()
    page.feed(html_path.read_text())
    assert page.sections.index("programme") == page.sections.index("snapshots") + 1
    assert page.options == list(maps) == ["all years", "2026–2030", "2031–2035", "2036–2036"]
    assert page.figures == [(label, k > 0) for k, label in enumerate(maps)]  # one map shown at a time
    chance_rows = [r for r in page.rows if r and r[0] == "heat + power"]
    assert len(chance_rows) == 1 and chance_rows[0][-1].startswith("fits")
    assert json.loads(json_path.read_text())["programme"]["kansenkaart"] == list(maps)


def test_the_demo_report_section_holds_the_planted_chances_and_conflict(demo_scene):
    from stadstwin.cli import _report_programme

    programme = _report_programme(demo_scene)
    plans = read_plan_register(demo_scene / "plans.geojson")
    first = min(p.works.start.year for p in plans)
    last = max(p.works.end.year for p in plans)
    assert next(iter(programme.maps)) == "all years"
    covered = sorted(y for label in list(programme.maps)[1:] for y in range(int(label[:4]), int(label[-4:]) + 1))
    assert covered == list(range(first, last + 1))
    groups = {"+".join(f["properties"]["group"]) for f in programme.koppelkansen}
    assert groups == {"ms-versterking-hoofdstraat+riool-hoofdstraat+warmtenet-hoofdstraat",
                      "glasvezel-dwarsstraat+waterleiding-dwarsstraat"}
    assert all(f["properties"]["joined"]["koppelkans"] == "+".join(f["properties"]["group"])
               for f in programme.koppelkansen)
    assert [f["properties"]["plan"] for f in programme.graafrust] == ["ls-kabel-zuidstraat"]
