"""Applying plan-variant edits to a small hand-built twin: effects, copy-on-write and refusals."""

import numpy as np
import pytest

from stadstwin.errors import SceneError
from stadstwin.model.enums import DepthSource, Status, Surface
from stadstwin.model.utilities import Utility
from stadstwin.model.variant import Variant
from stadstwin.rules import load_rules
from stadstwin.scenario.apply import DESIGN_UNCERTAINTY, apply_variant
from twins import X0, Y0, small_twin, square

RULES = load_rules()


@pytest.fixture
def twin():
    return small_twin()


def variant(*edits):
    return Variant(id="v", name="test", edits=list(edits))


def test_add_building_raises_dsm_and_keeps_base(twin):
    base_dsm = twin.dsm.array.copy()
    new = apply_variant(twin, variant({"type": "add_building", "id": "b", "footprint": square(X0 + 20, Y0 + 20, 6), "height": 12.0}), RULES)
    assert len(new.buildings) == 2 and new.buildings.source_id[-1] == "v/b"
    ground = new.buildings.ground_z[-1]
    assert 1.2 <= ground <= 1.27  # median of the slope under x 20..26
    assert new.buildings.height[-1] == pytest.approx(12.0)
    row, col = new.dsm.fractional_index(np.array([X0 + 23]), np.array([Y0 + 23]))
    assert new.dsm.array[int(row[0]), int(col[0])] == pytest.approx(ground + 12.0)
    np.testing.assert_array_equal(twin.dsm.array, base_dsm)  # base untouched
    assert new.networks is twin.networks and new.trees is twin.trees  # untouched parts are shared


def test_remove_and_raise_buildings(twin):
    removed = apply_variant(twin, variant({"type": "remove_buildings", "id": "r", "buildings": ["NL.IMBAG.Pand.1"]}), RULES)
    assert len(removed.buildings) == 0
    assert np.nanmax(removed.dsm.array) < 2.0  # the roof is gone from the surface model
    raised = apply_variant(twin, variant({"type": "raise_buildings", "id": "h", "buildings": ["NL.IMBAG.Pand.1"], "by": 6.0}), RULES)
    assert raised.buildings.roof_z[0] == pytest.approx(16.1)
    assert np.nanmax(raised.dsm.array) == pytest.approx(16.1)
    assert twin.buildings.roof_z[0] == pytest.approx(10.1)


def test_add_and_remove_trees(twin):
    new = apply_variant(twin, variant({"type": "add_trees", "id": "g", "points": [[X0 + 10, Y0 + 5], [X0 + 20, Y0 + 5]],
                                       "species": "Quercus robur", "height": 8.0, "crown_diameter": 4.0}), RULES)
    assert len(new.trees) == 3
    assert list(new.trees.trunk_height[-2:]) == [2.0, 2.0]  # 25 % default
    crown_cells = (new.chm.array == 8.0).sum()
    assert 2 * 9 <= crown_cells <= 2 * 16  # two discs of radius 2 m on a 1 m grid
    gone = apply_variant(twin, variant({"type": "remove_trees", "id": "k", "trees": ["boom-1"]}), RULES)
    assert len(gone.trees) == 0 and gone.chm.array.max() == 0.0
    assert twin.chm.array.max() == 10.0


def test_add_network_follows_terrain_at_rule_cover(twin):
    route = {"type": "LineString", "coordinates": [[X0 + 1, Y0 + 5], [X0 + 39, Y0 + 5]]}
    new = apply_variant(twin, variant({"type": "add_network", "id": "wn", "route": route, "utility": "district_heating",
                                       "owner": "Warmtebedrijf", "fluid_temperature": 70.0}), RULES)
    added = new.networks.select(new.networks.feature_id == "v/wn")
    assert len(added) == 38  # 1 m vertex spacing
    ground = twin.dtm.sample(added.p0[:, 0], added.p0[:, 1])
    cover = ground - (added.p0[:, 2] + added.radius)
    np.testing.assert_allclose(cover, RULES.cover["district_heating"].carriageway)  # y = 5 lies in the carriageway
    assert set(added.status) == {Status.PLANNED}
    assert set(added.depth_source) == {DepthSource.DESIGN}
    assert set(added.depth_uncertainty) == {DESIGN_UNCERTAINTY}
    assert new.operating["v/wn"].fluid_temperature == 70.0
    assert len(twin.networks) == 1


def test_abandon_and_relocate_network(twin):
    new = apply_variant(twin, variant({"type": "abandon_network", "id": "a", "features": ["nl.imkl-W1"]}), RULES)
    assert set(new.networks.status) == {Status.ABANDONED}
    route = {"type": "LineString", "coordinates": [[X0 + 1, Y0 + 15], [X0 + 25, Y0 + 15]]}
    moved = apply_variant(twin, variant({"type": "relocate_network", "id": "m", "feature": "nl.imkl-W1", "route": route, "cover": 1.0}), RULES)
    new_part = moved.networks.select(moved.networks.feature_id == "v/m")
    assert set(new_part.utility) == {Utility.WATER} and new_part.owner_name[0] == "Vitens"
    assert set(twin.networks.status) == {Status.EXISTING}


def test_claim_space_and_change_surface(twin):
    new = apply_variant(twin, variant(
        {"type": "claim_space", "id": "c", "area": square(X0 + 1, Y0 + 1, 3), "depth_top": 0.6, "depth_bottom": 1.5, "party": "Gemeente"},
        {"type": "change_surface", "id": "s", "area": square(X0 + 30, Y0 + 1, 5), "surface": "verge"},
    ), RULES)
    r = new.reservations
    assert len(r) == 1 and r.z_top[0] - r.z_bottom[0] == pytest.approx(0.9)
    assert (new.surface.array == Surface.VERGE).sum() == 25
    assert (twin.surface.array == Surface.VERGE).sum() == 0


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        ({"type": "remove_buildings", "id": "x", "buildings": ["NL.IMBAG.Pand.9"]}, r"edit 'x' \(remove_buildings\): unknown building id"),
        ({"type": "remove_trees", "id": "x", "trees": ["boom-7"]}, "unknown tree id"),
        ({"type": "abandon_network", "id": "x", "features": ["nope"]}, "unknown network feature id"),
        ({"type": "add_building", "id": "x", "footprint": square(X0 + 35, Y0 + 5, 10), "height": 5.0}, "outside the scene extent"),
        ({"type": "add_building", "id": "x", "footprint": square(X0 + 1, Y0 + 1, 2), "height": -5.0}, r"edits\[0\] \(id 'x'\)\.height"),
        ({"type": "add_network", "id": "x", "route": {"type": "LineString", "coordinates": [[X0 + 10, Y0 + 15], [X0 + 10, Y0 + 29]]},
          "utility": "telecom", "owner": "KPN"}, "route runs through building NL.IMBAG.Pand.1"),
        ({"type": "add_network", "id": "x", "route": {"type": "LineString", "coordinates": [[X0 + 1, Y0 + 1], [X0 + 3, Y0 + 1]]},
          "utility": "telecom", "owner": "KPN", "axis_z": 5.0}, "above ground level"),
        ({"type": "raise_buildings", "id": "x", "buildings": ["NL.IMBAG.Pand.1"], "by": -20.0}, "at or below ground level"),
        ({"type": "add_trees", "id": "x", "points": [[X0 + 1, Y0 + 1]], "height": 5.0, "crown_diameter": 3.0, "trunk_height": 6.0}, "trunk_height"),
        ({"type": "claim_space", "id": "x", "area": square(X0 + 1, Y0 + 1, 3), "depth_top": 2.0, "depth_bottom": 1.0, "party": "G"}, "deeper"),
        ({"type": "plant", "id": "x"}, r"edits\[0\] \(id 'x'\): Input tag 'plant'"),
    ],
)
def test_invalid_edit_is_refused_by_name(twin, edit, message):
    with pytest.raises(SceneError, match=message) as info:
        apply_variant(twin, variant(edit), RULES, origin="variants/v.toml")
    assert str(info.value).startswith("variants/v.toml")


def test_duplicate_edit_ids_are_refused(twin):
    edit = {"type": "abandon_network", "id": "same", "features": ["nl.imkl-W1"]}
    with pytest.raises(SceneError, match="used twice"):
        apply_variant(twin, variant(edit, edit), RULES)
