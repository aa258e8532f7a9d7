"""Plan register, koppelkansen and graafrust on hand-built registers with known overlaps in space and time."""

from __future__ import annotations

import json
from datetime import date

import numpy as np
import pytest
import shapely

from stadstwin.analyses.programming import closed_until, gap_years, graafrust_conflicts, koppelkansen
from stadstwin.errors import CRSError, InputError
from stadstwin.io.plan_register import read_plan_register
from stadstwin.model.enums import Phase, Surface
from stadstwin.model.plans import Plan
from stadstwin.model.raster import Raster
from stadstwin.model.twin import Twin
from stadstwin.rules import load_rules

RULES = load_rules().programming
X0, Y0 = 155_000.0, 463_000.0


def plan(pid, party, start, end, geometry, **kw):
    return Plan(id=pid, party=party, theme=kw.pop("theme", "test"), phase=kw.pop("phase", Phase.ONTWERP),
                planning={Phase.REALISATIE: {"start": start, "end": end}}, geometry=geometry, **kw)


def route(y, x0=0.0, x1=100.0):
    return shapely.LineString([(X0 + x0, Y0 + y), (X0 + x1, Y0 + y)])


def test_pairs_in_space_and_time_are_chances_and_the_others_not():
    a = plan("heat", "Eneco", date(2028, 3, 1), date(2028, 9, 30), route(0.0))
    near_now = plan("power", "Stedin", date(2029, 1, 1), date(2029, 6, 30), route(3.0, 40, 160))  # 3 m apart
    near_late = plan("fibre", "KPN", date(2032, 1, 1), date(2032, 3, 1), route(2.0))  # same street, 3.25 y later
    far_now = plan("sewer", "Gemeente", date(2028, 5, 1), date(2028, 6, 1), route(40.0))  # same time, 40 m away
    own = plan("heat-2", "Eneco", date(2028, 3, 1), date(2028, 9, 30), route(1.0, 0, 25))  # the same party as heat
    found = koppelkansen([a, near_now, near_late, far_now, own], RULES)
    assert [f["properties"]["plans"] for f in found] == [["heat", "power"]]
    props = found[0]["properties"]
    assert props["gap_years"] == pytest.approx(93 / 365.25, abs=0.01)  # 30 Sep 2028 → 1 Jan 2029
    # the heat route (y 0) within 10 m of the power trench (y 2.5–3.5 from x 40): from x 40 − √(10² − 2.5²) to 100
    assert props["shared_length_m"] == pytest.approx(100 - (40 - (10**2 - 2.5**2) ** 0.5), abs=0.1)
    assert props["saving"].startswith("one dig instead of 2")
    assert gap_years(a, far_now) == 0.0


def test_a_chain_of_chances_is_one_group_digging_once():
    a = plan("a", "P1", date(2028, 1, 1), date(2028, 2, 1), route(0.0, 0, 50))
    b = plan("b", "P2", date(2028, 1, 1), date(2028, 2, 1), route(0.0, 45, 100))
    c = plan("c", "P3", date(2028, 1, 1), date(2028, 2, 1), route(0.0, 95, 150))
    found = koppelkansen([a, b, c], RULES)
    assert sorted(tuple(f["properties"]["plans"]) for f in found) == [("a", "b"), ("b", "c")]
    assert all(f["properties"]["group"] == ["a", "b", "c"] for f in found)
    assert found[0]["properties"]["saving"].startswith("one dig instead of 3")


def street_twin(surface: Surface) -> Twin:
    grid = Raster.from_bounds(X0 - 10, Y0 - 10, X0 + 200, Y0 + 60, 1.0)
    return Twin("street", Raster(np.zeros(grid.shape), grid.transform),
                surface=Raster(np.full(grid.shape, float(surface)), grid.transform))


@pytest.mark.parametrize("surface, years", [(Surface.CARRIAGEWAY, 5), (Surface.PAVEMENT, 3), (Surface.VERGE, 1)])
def test_graafrust_closes_the_ground_for_the_surfaces_years_to_the_day(surface, years):
    works = plan("road", "Gemeente", date(2027, 4, 1), date(2027, 10, 31), route(0.0), trench_width=8.0)
    assert closed_until(works, years) == date(2027 + years, 10, 31)
    twin = street_twin(surface)
    last_day = plan("cable", "Stedin", date(2027 + years, 10, 31), date(2027 + years, 12, 1), route(1.0, 10, 30))
    day_after = plan("cable", "Stedin", date(2027 + years, 11, 1), date(2027 + years, 12, 1), route(1.0, 10, 30))
    during = plan("cable", "Stedin", date(2027, 6, 1), date(2027, 7, 1), route(1.0, 10, 30))
    elsewhere = plan("cable", "Stedin", date(2028, 6, 1), date(2028, 7, 1), route(50.0, 10, 30))
    (conflict,) = graafrust_conflicts([works, last_day], twin, RULES.graafrust)
    assert conflict["properties"]["after"] == "road" and f"{years:g} years" in conflict["properties"]["rule"]
    assert conflict["properties"]["surface"] == surface.name.lower()
    for fine in (day_after, during, elsewhere):
        assert graafrust_conflicts([works, fine], twin, RULES.graafrust) == []


def test_a_confidential_plan_shows_only_that_a_party_works_there_in_a_year():
    secret = plan("kpn-glasvezel-2029", "KPN", date(2029, 3, 1), date(2029, 5, 1), route(0.0),
                  theme="telecom investment", confidential=True, budget_eur=2.5e6)
    seen = secret.redacted()
    assert seen.party == "a party" and seen.theme == "withheld" and seen.budget_eur is None
    assert "kpn" not in seen.id and seen.works.start == date(2029, 1, 1) and seen.works.end == date(2029, 12, 31)
    assert seen.footprint.contains(secret.footprint)


def test_registers_read_from_geojson_and_csv_with_errors_that_name_the_plan(tmp_path):
    collection = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": shapely.geometry.mapping(route(0.0)),
         "properties": {"id": "heat", "party": "Eneco", "theme": "warmte", "phase": "ontwerp",
                        "realisatie_start": "2028-03-01", "realisatie_end": "2028-09-30",
                        "asset_types": "warmteleiding;huisaansluiting", "trench_width": 1.5}}]}
    geojson = tmp_path / "plans.geojson"
    geojson.write_text(json.dumps(collection))
    with pytest.raises(CRSError, match="EPSG:4326"):  # no crs member: WGS84 by RFC 7946
        read_plan_register(geojson)
    collection["crs"] = {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::28992"}}
    geojson.write_text(json.dumps(collection))
    (heat,) = read_plan_register(geojson)
    assert heat.asset_types == ("warmteleiding", "huisaansluiting") and heat.footprint.area == pytest.approx(150.0)
    table = tmp_path / "plans.csv"
    table.write_text("id;party;theme;phase;realisatie_start;realisatie_end;confidential;wkt\n"
                     f"fibre;KPN;telecom;idee;2029-01-01;2029-02-01;ja;{route(2.0).wkt}\n")
    (fibre,) = read_plan_register(table)
    assert fibre.confidential and fibre.phase == Phase.IDEE
    table.write_text("id;party;theme;phase;realisatie_start;realisatie_end;wkt\n"
                     f"late;KPN;telecom;idee;2029-03-01;2029-02-01;{route(2.0).wkt}\n")
    with pytest.raises(InputError, match="late.*before start|before start.*late"):
        read_plan_register(table)
    table.write_text("id;party;theme;phase;ontwerp_start;ontwerp_end;wkt\n"
                     f"norealisation;KPN;telecom;idee;2029-01-01;2029-02-01;{route(2.0).wkt}\n")
    with pytest.raises(InputError, match="realisatie"):
        read_plan_register(table)


def test_the_demo_register_has_its_planted_chances_and_one_conflict_from_the_cli(demo_scene, tmp_path):
    from typer.testing import CliRunner

    from stadstwin.cli import app

    plans = read_plan_register(demo_scene / "plans.geojson")
    assert len(plans) >= 20 and len({p.party for p in plans}) >= 5
    result = CliRunner().invoke(app, ["plans", "programme", str(demo_scene), "--organisation", "Stedin",
                                      "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    found = json.loads((tmp_path / "programming.json").read_text())
    groups = {tuple(f["properties"]["group"]) for f in found["koppelkansen"]["features"]}
    assert ("ms-versterking-hoofdstraat", "riool-hoofdstraat", "warmtenet-hoofdstraat") in groups
    assert any("waterleiding-dwarsstraat" in g and any(p.startswith("withheld-") for p in g) for g in groups)
    assert "glasvezel" not in result.output and "KPN" not in result.output  # KPN's plan is confidential to Stedin
    (conflict,) = found["graafrust"]["features"]
    assert conflict["properties"]["plan"] == "ls-kabel-zuidstraat"
    assert (tmp_path / "kansenkaart.png").read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize("settings, named", [
    ({"plan": []}, "plan"),
    ({"plans": [{"type": "Feature", "properties": {"id": "x"}, "geometry": None}]}, "no geometry"),
    ({"plans": [], "shift_years": {"ghost": 1}}, "ghost"),
    ({"plans": [{"type": "Feature", "geometry": shapely.geometry.mapping(route(0.0)), "properties": {
        "id": "a", "party": "P", "theme": "t", "phase": "idee", "realisatie_start": "2028-01-01",
        "realisatie_end": "2028-02-01"}}], "shift_years": {"a": 0.5}}, "whole years"),
])
def test_bad_settings_of_the_register_analyses_are_named(settings, named):
    from stadstwin.analyses.registry import PLANNING

    for analysis in PLANNING.values():
        with pytest.raises(InputError, match=named):
            analysis(None, load_rules(), settings)
