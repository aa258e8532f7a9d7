"""A batch study varies planning dates: a plan parameter shifts a plan's phase dates by whole years, and
the koppelkansen count follows the gap between the works (at most 2 years, rules/programming.toml)."""

from __future__ import annotations

import json
from datetime import date

import pytest
import shapely

from stadstwin.batch.runner import run_study
from stadstwin.batch.study import Study, plan_shifts, study_variants
from stadstwin.errors import SceneError
from stadstwin.io.plan_register import read_plan_register
from stadstwin.sample import write_sample

CRS = {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::28992"}}
GRID_END = date(2028, 9, 30)
FIBRE = (date(2029, 1, 1), date(2029, 3, 31))
SHIFTS = [-1, 0, 1, 2, 3]


def feature(pid, party, start, end, geometry):
    return {"type": "Feature", "geometry": shapely.geometry.mapping(geometry),
            "properties": {"id": pid, "party": party, "theme": "test", "phase": "ontwerp",
                           "realisatie_start": str(start), "realisatie_end": str(end)}}


@pytest.fixture(scope="module")
def study_file(tmp_path_factory):
    """A study over the demo district with a register of two plans 2 m apart in the main street."""
    folder = write_sample(tmp_path_factory.mktemp("batch-plans"))
    main = {p.id: p for p in read_plan_register(folder / "plans.geojson")}["riool-hoofdstraat"].geometry
    (folder / "plans.geojson").write_text(json.dumps({"type": "FeatureCollection", "crs": CRS, "features": [
        feature("grid-main", "Stedin", "2028-03-01", GRID_END, main),
        feature("fibre-main", "KPN", *FIBRE, shapely.offset_curve(main, 2.0))]}))
    path = folder.parent / "plans-study.toml"
    path.write_text(f'name = "plan-dates"\nscene = "{folder.as_posix()}"\nanalyses = ["koppelkansen"]\n'
                    'variants = ["base"]\n[output]\nfolder = "out"\n'
                    '[[generate]]\nfrom = "base"\nname = "fibre {shift:+d} y"\n'
                    f'[generate.parameters.shift]\nplan = "fibre-main"\nfield = "shift_years"\nvalues = {SHIFTS}\n',
                    encoding="utf-8")
    return path


def expected_chances(shift: int) -> int:
    """1 when the shifted fibre works lie at most 2 years from the grid works, else 0 (plain date arithmetic)."""
    start, end = (d.replace(year=d.year + shift) for d in FIBRE)
    gap_days = max((start - GRID_END).days, (date(2028, 3, 1) - end).days, 0)
    return int(gap_days / 365.25 <= 2.0)


def test_shifting_a_plan_moves_the_koppelkansen_count_with_the_gap(study_file):
    study = Study.load(study_file)
    variants, parameters = study_variants(study, study.load_scene())
    shifts = plan_shifts(study, study.load_scene())
    assert shifts == {
        v.id: {"fibre-main": parameters[v.id]["shift"]} for v in variants[1:] if parameters[v.id]["shift"]}
    rows = run_study(study, workers=1, processes=False).results.set_index("variant")
    assert (rows["status"] == "ok").all(), rows["error"].tolist()
    assert rows.loc["base", "koppelkansen.koppelkansen"] == 1.0
    counts = {int(rows.loc[v.id, "param.shift"]): rows.loc[v.id, "koppelkansen.koppelkansen"] for v in variants[1:]}
    assert counts == {s: float(expected_chances(s)) for s in SHIFTS}
    assert counts == {-1: 1.0, 0: 1.0, 1: 1.0, 2: 0.0, 3: 0.0}  # 2 years on, the gap is 2.25 years
    assert rows.loc[variants[1].id, "koppelkansen.plans"] == 2.0


@pytest.mark.parametrize("parameter, message", [
    ('plan = "fibre-main"\nfield = "cover"\nvalues = [1]', "shift_years"),
    ('plan = "fibre-main"\nfield = "shift_years"\nvalues = [0.5]', "whole years"),
    ('plan = "fibre-main"\nfield = "shift_years"\nrange = [0, 3]', "integer = true"),
    ('plan = "fibre-main"\nedit = "x"\nfield = "shift_years"\nvalues = [1]', "exactly one of 'edit' and 'plan'"),
])
def test_a_bad_plan_parameter_is_named(study_file, tmp_path, parameter, message):
    text = study_file.read_text().split("[generate.parameters.shift]")[0]
    bad = tmp_path / "bad.toml"
    bad.write_text(text + f"[generate.parameters.shift]\n{parameter}\n")
    with pytest.raises(SceneError, match="shift") as caught:
        Study.load(bad)
    assert message in str(caught.value) and "bad.toml" in str(caught.value)
