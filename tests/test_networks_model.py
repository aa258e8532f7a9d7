"""NetworkTable: vectorised builder from polylines, selection, concatenation and the npz round trip."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stadstwin.errors import InputError
from stadstwin.model.enums import DepthSource, Status
from stadstwin.model.networks import NetworkTable
from stadstwin.model.utilities import Utility


def build_loop_reference(polylines, diameters, owners, feature_ids):
    """Segment rows built one by one: the plain-Python reference of the vectorised builder."""
    rows = []
    for asset, (line, d, owner, fid) in enumerate(zip(polylines, diameters, owners, feature_ids)):
        for k in range(len(line) - 1):
            rows.append((line[k], line[k + 1], d, owner, fid, asset))
    return rows


polyline = st.integers(2, 6).flatmap(
    lambda k: st.lists(
        st.tuples(*[st.floats(-1e3, 1e3, allow_nan=False)] * 3), min_size=k, max_size=k
    )
)


@settings(max_examples=60, deadline=None)
@given(st.lists(polyline, min_size=0, max_size=8), st.data())
def test_builder_matches_per_segment_loop(lines, data):
    polylines = [np.array(line, dtype=float) for line in lines]
    m = len(polylines)
    diameters = data.draw(st.lists(st.floats(0.01, 1.0), min_size=m, max_size=m))
    owners = data.draw(st.lists(st.sampled_from(["Liander", "Vitens", "KPN"]), min_size=m, max_size=m))
    feature_ids = [f"nl.imkl-{i}" for i in range(m)]
    table = NetworkTable.from_polylines(
        polylines, outer_diameter=diameters, utility=[Utility.WATER] * m, owner=owners,
        status=[Status.EXISTING] * m, depth_source=[DepthSource.STANDARD_DEPTH] * m,
        depth_uncertainty=[0.3] * m, feature_id=feature_ids,
    )
    rows = build_loop_reference(polylines, diameters, owners, feature_ids)
    assert len(table) == len(rows)
    for i, (a, b, d, owner, fid, asset) in enumerate(rows):
        np.testing.assert_array_equal(table.p0[i], a)
        np.testing.assert_array_equal(table.p1[i], b)
        assert table.outer_diameter[i] == d
        assert table.owner_name[i] == owner
        assert table.feature_id[i] == fid
        assert table.asset[i] == asset


def test_per_vertex_depth_takes_the_less_certain_end():
    line = np.array([[0, 0, -1.0], [10, 0, -1.0], [20, 0, -1.2]])
    table = NetworkTable.from_polylines(
        [line], outer_diameter=[0.1], utility=[Utility.ELECTRICITY_LV], owner=["Stedin"],
        status=[Status.EXISTING],
        depth_source=[DepthSource.MEASURED_NAP, DepthSource.STANDARD_DEPTH, DepthSource.MEASURED_NAP],
        depth_uncertainty=[0.05, 0.3, 0.05], feature_id=["a"],
    )
    assert list(table.depth_source) == [DepthSource.STANDARD_DEPTH] * 2
    assert list(table.depth_uncertainty) == [0.3, 0.3]
    np.testing.assert_allclose(table.length, [10.0, np.hypot(10.0, 0.2)])
    np.testing.assert_allclose(table.radius, [0.05, 0.05])


def test_polyline_with_one_vertex_is_refused_naming_it():
    with pytest.raises(InputError, match="cable-7"):
        NetworkTable.from_polylines(
            [np.zeros((1, 3))], outer_diameter=[0.1], utility=[0], owner=["x"], status=[0],
            depth_source=[0], depth_uncertainty=[0.1], feature_id=["cable-7"],
        )


def test_mismatched_attribute_length_is_refused():
    with pytest.raises(ValueError, match="outer_diameter"):
        NetworkTable.from_polylines(
            [np.zeros((2, 3))], outer_diameter=[0.1, 0.2], utility=[0], owner=["x"], status=[0],
            depth_source=[0], depth_uncertainty=[0.1], feature_id=["a"],
        )


def sample_table(owner_names=("Liander", "Vitens"), offset=0.0):
    lines = [np.array([[0, 0, -1], [5, 0, -1], [9, 3, -1.5]]) + offset, np.array([[0, 2, -0.8], [8, 2, -0.8]]) + offset]
    return NetworkTable.from_polylines(
        lines, outer_diameter=[0.05, 0.11], utility=[Utility.ELECTRICITY_LV, Utility.WATER],
        owner=list(owner_names), status=[Status.EXISTING, Status.PLANNED],
        depth_source=[DepthSource.PROFILE_DEFAULT, DepthSource.MEASURED_NAP],
        depth_uncertainty=[0.5, 0.1], feature_id=["e1", "w1"], container=["bed-1", ""],
    )


def test_npz_round_trip(tmp_path):
    table = sample_table()
    path = tmp_path / "net.npz"
    table.save(path)
    back = NetworkTable.load(path)
    assert back.owners == table.owners
    for name in ("p0", "p1", "outer_diameter", "utility", "owner", "status", "depth_source",
                 "depth_uncertainty", "feature_id", "asset", "container"):
        np.testing.assert_array_equal(getattr(back, name), getattr(table, name))
        assert getattr(back, name).dtype == getattr(table, name).dtype


def test_concat_renumbers_owners_and_assets():
    a = sample_table(("Liander", "Vitens"))
    b = sample_table(("Enexis", "Liander"), offset=100.0)
    both = NetworkTable.concat([a, b])
    assert both.owners == ("Enexis", "Liander", "Vitens")
    assert list(both.owner_name) == [*a.owner_name, *b.owner_name]
    assert list(both.asset) == [0, 0, 1, 2, 2, 3]
    assert len(NetworkTable.concat([])) == 0


def test_select_and_describe():
    table = sample_table()
    water = table.select(table.utility == Utility.WATER)
    assert list(water.feature_id) == ["w1"]
    assert list(table.container) == ["bed-1", "bed-1", ""]
    assert water.owners == table.owners
    assert table.describe()["utility"] == {"electricity_lv": 2, "water": 1}
    assert table.describe()["status"] == {"existing": 2, "planned": 1}
