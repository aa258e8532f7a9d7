"""Asset-driven plans: every abandoned network feature of the twin becomes a removal plan of its owner,
which then meets other parties' works as a koppelkans."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import numpy as np
import pytest
import shapely
from twins import X0, Y0, small_twin
from typer.testing import CliRunner

from stadstwin.analyses.asset_plans import abandoned_network_plans
from stadstwin.analyses.programming import koppelkansen
from stadstwin.cli import app
from stadstwin.io.plan_register import merge_plans, read_plan_register
from stadstwin.model.enums import DepthSource, Phase, Status
from stadstwin.model.networks import NetworkTable
from stadstwin.model.plans import Plan
from stadstwin.model.utilities import Utility
from stadstwin.rules import load_rules

GAS = np.array([[X0, Y0 + 5, -1.0], [X0 + 20, Y0 + 5, -1.0], [X0 + 20, Y0 + 5, -1.5], [X0 + 40, Y0 + 8, -1.5]])
CABLE = np.array([[X0, Y0 + 25, -0.6], [X0 + 40, Y0 + 25, -0.6]])
WATER = np.array([[X0, Y0 + 12, -1.0], [X0 + 40, Y0 + 12, -1.0]])


def twin_with_networks():
    networks = NetworkTable.from_polylines(
        [WATER, GAS, CABLE], outer_diameter=[0.11, 0.16, 0.05],
        utility=[Utility.WATER, Utility.GAS_LP, Utility.TELECOM], owner=["Vitens", "Stedin", "KPN"],
        status=[Status.EXISTING, Status.ABANDONED, Status.ABANDONED], depth_source=[DepthSource.STANDARD_DEPTH] * 3,
        depth_uncertainty=[0.3] * 3, feature_id=["nl.imkl-W1", "nl.imkl-G1", "nl.imkl-T1"])
    return replace(small_twin(), networks=networks)


def test_each_abandoned_feature_is_a_removal_plan_of_its_owner():
    gas, cable = abandoned_network_plans(twin_with_networks(), 2031)
    assert (gas.id, gas.party, gas.theme, gas.phase) == ("sanering-nl.imkl-G1", "Stedin", "sanering", Phase.IDEE)
    assert (cable.id, cable.party, cable.asset_types) == ("sanering-nl.imkl-T1", "KPN", ("telecom",))
    assert gas.asset_types == ("gas_lp",) and gas.works.start == date(2031, 1, 1) and gas.works.end == date(2031, 12, 31)
    # the route in plan: the vertical step drops out, the rest is the polyline's plan projection
    assert gas.geometry.equals(shapely.LineString([(X0, Y0 + 5), (X0 + 20, Y0 + 5), (X0 + 40, Y0 + 8)]))
    assert gas.geometry.length == pytest.approx(20 + np.hypot(20, 3))
    assert gas.trench_width == pytest.approx(0.16 + 0.6)
    assert abandoned_network_plans(small_twin(), 2031) == []  # only an existing water main


def test_a_derived_removal_meets_other_works_as_a_koppelkans(tmp_path):
    gas, cable = abandoned_network_plans(twin_with_networks(), 2031)
    resurfacing = Plan(id="herinrichting", party="Gemeente", theme="openbare ruimte", phase=Phase.ONTWERP,
                       planning={Phase.REALISATIE: {"start": date(2031, 9, 1), "end": date(2032, 3, 1)}},
                       geometry=shapely.box(X0, Y0, X0 + 40, Y0 + 10))
    (chance,) = koppelkansen([gas, cable, resurfacing], load_rules().programming)
    assert chance["properties"]["plans"] == ["herinrichting", "sanering-nl.imkl-G1"]
    assert chance["properties"]["gap_years"] == 0.0
    merge_plans(tmp_path, [resurfacing])
    register, _, added, replaced = merge_plans(tmp_path, [gas, cable])
    assert (added, replaced) == (2, 0)
    assert [p.id for p in read_plan_register(register)] == ["herinrichting", "sanering-nl.imkl-G1", "sanering-nl.imkl-T1"]
    assert read_plan_register(register)[1].geometry.equals(gas.geometry)


def test_the_demo_district_has_no_abandoned_networks_to_derive(demo_scene):
    result = CliRunner().invoke(app, ["plans", "derive", str(demo_scene), "--year", "2031"])
    assert result.exit_code == 0, result.output
    assert "no abandoned networks" in result.output
