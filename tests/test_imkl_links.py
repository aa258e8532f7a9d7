"""IMKL links and containment: ``dieptelegging`` links decide which cable a depth point measures (tested
on the real 22O000518 GI xml with links added the way IMKL 2.0 encodes them), and a Kabelbed / Duct /
Mantelbuis without ``cables`` links still holds the cables that run inside it (a small IMKL fixture
and the real delivery, whose 53 Kabelbeds link no cable). References: shapely distances."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from shapely.geometry import LineString, MultiLineString, Point
from test_imkl import X0, Y0, cable, depth_point, doc, link, network, raw_gi, write

from stadstwin.analyses.clearance_check import pair_findings
from stadstwin.analyses.crossing_check import crossing_findings
from stadstwin.io.imkl import ImklWarning, network_table, parse_imkl, read_imkl
from stadstwin.io.imkl_depth import CONTAINED_TOLERANCE, FAR_DEPTH_LINK
from stadstwin.io.imkl_parse import CONTAINER_CLASSES
from stadstwin.model.enums import DepthSource, Status
from stadstwin.model.networks import NetworkTable
from stadstwin.model.utilities import Utility, utility_from_thema
from stadstwin.rules.tables import load_rules

RULES = load_rules()
WATER = "nl.imkl-KL1110."
POINT = WATER + "DTMV_GIS_WADeckungA229614045_2975673"  # real DiepteTovMaaiveld, dieptePeil 1.3 m
LINKED = WATER + "WALD_GIS_WALeitungsabschnitt229300050_221001"  # 2.8 cm from POINT
FAR_POINT = WATER + "DTMV_GIS_WADeckungA229300247_2975663"
FAR = WATER + "WALD_GIS_WALeitungsabschnitt177957435_2191157"  # 7.6 m from FAR_POINT
ON_FAR_POINT = WATER + "WALD_GIS_WALeitungsabschnitt229300037_220811"  # FAR_POINT lies on it


@pytest.fixture(scope="module")
def raw(shared_data: Path) -> bytes:
    return raw_gi(shared_data / "klic" / "Levering_22O000518_1.zip")


def with_link(raw: bytes, feature: str, point: str) -> bytes:
    """The GI xml with ``<imkl:dieptelegging xlink:href=point>`` on ``feature``, where IMKL 2.0 puts it
    (after the INSPIRE properties, before ``imkl:label``)."""
    start = raw.index(f'gml:id="{feature}"'.encode())
    label = raw.index(b"<imkl:label>", start)
    assert label < raw.index(b"</imkl:Waterleiding>", start)
    return raw[:label] + f'<imkl:dieptelegging xlink:href="{point}"></imkl:dieptelegging>'.encode() + raw[label:]


def measured_near(table, xy: tuple[float, float]) -> set[str]:
    """Features with a segment measured below ground within 1 m (the depth tolerance) of ``xy``."""
    rows = np.flatnonzero(table.depth_source == DepthSource.MEASURED_BELOW_GROUND)
    return {
        str(table.feature_id[k]) for k in rows
        if LineString([table.p0[k, :2], table.p1[k, :2]]).distance(Point(xy)) <= 1.0 + 1e-6
    }


def test_dieptelegging_decides_which_pipe_a_depth_point_measures(raw, tmp_path):
    delivery = parse_imkl(write(tmp_path, raw.decode("utf-8"), "GI_gebiedsinformatielevering_plain.xml"))
    xy = next(p.xy for p in delivery.depth_points if p.gml_id == POINT)
    # without links the point applies to every line of its network within 1 m: three water pipes here
    near = {f.gml_id for f in delivery.features if f.network == WATER + "UNET_Water_3"
            for line in f.lines if LineString(line[:, :2]).distance(Point(xy)) <= 1.0}
    assert len(near) >= 3 and LINKED in near
    assert measured_near(network_table(delivery, ground=5.0), xy) == near
    # linked to the pipe 2.8 cm away, it measures that pipe only, not the one it lies on
    path = write(tmp_path, with_link(raw, LINKED, POINT).decode("utf-8"))
    linked = parse_imkl(path)
    assert next(f for f in linked.features if f.gml_id == LINKED).depth_links == (POINT,)
    table = network_table(linked, ground=5.0)
    assert measured_near(table, xy) == {LINKED}
    rows = (table.feature_id == LINKED) & (table.depth_source == DepthSource.MEASURED_BELOW_GROUND)
    np.testing.assert_allclose(table.p0[rows, 2], 5.0 - 1.3 - table.radius[rows])  # 1.3 m to the top


def test_far_linked_depth_point_warns_with_its_distance_and_is_used_at_the_line(raw, tmp_path):
    path = write(tmp_path, with_link(raw, FAR, FAR_POINT).decode("utf-8"))
    delivery = parse_imkl(path)
    xy = next(p.xy for p in delivery.depth_points if p.gml_id == FAR_POINT)
    line = next(LineString(f.lines[0][:, :2]) for f in delivery.features if f.gml_id == FAR)
    distance = line.distance(Point(xy))
    assert distance > FAR_DEPTH_LINK
    with pytest.warns(ImklWarning) as caught:
        table = network_table(delivery, ground=5.0)
    (message,) = [str(w.message) for w in caught if FAR_POINT in str(w.message)]
    assert str(path) in message and FAR in message and f"{distance:.1f} m" in message
    assert "\n" not in message
    # used at its projection: a measured stretch of ±1 m about the nearest point of the line
    rows = (table.feature_id == FAR) & (table.depth_source == DepthSource.MEASURED_BELOW_GROUND)
    assert rows.any()
    foot = line.interpolate(line.project(Point(xy)))
    for k in np.flatnonzero(rows):
        assert LineString([table.p0[k, :2], table.p1[k, :2]]).distance(foot) <= 1.0 + 1e-6
    np.testing.assert_allclose(table.p0[rows, 2], 5.0 - 1.3 - table.radius[rows])
    # a linked point is no proximity point: the main it lies on keeps its standard depth there
    assert ON_FAR_POINT not in measured_near(table, xy)
    assert ON_FAR_POINT in measured_near(network_table(parse_imkl(raw_path(raw, tmp_path)), ground=5.0), xy)


def raw_path(raw: bytes, tmp_path: Path) -> Path:
    return write(tmp_path, raw.decode("utf-8"), "GI_gebiedsinformatielevering_unlinked.xml")


def test_dieptelegging_to_a_missing_point_warns_and_is_ignored(raw, tmp_path):
    path = write(tmp_path, with_link(raw, LINKED, WATER + "nowhere").decode("utf-8"))
    with pytest.warns(ImklWarning, match=r"KL1110\.nowhere.*not a depth point of the delivery; link ignored"):
        table = read_imkl(path, ground=5.0)
    assert LINKED in set(table.feature_id)


# ----------------------------------------------------------------------------- containers without links

BED_XML = ('<us-net-common:ductWidth uom="urn:ogc:def:uom:OGC::cm">5</us-net-common:ductWidth>'
           "<imkl:aantalKabelsLeidingen>2</imkl:aantalKabelsLeidingen>")
BED = [(X0 + 5.0, Y0), (X0 + 15.0, Y0)]
LINE = [(X0, Y0), (X0 + 20.0, Y0)]


def trench_delivery(tmp_path: Path) -> Path:
    """A 10 m Kabelbed (ductWidth 5 cm, like the real ones) of KL1's MV network that links no cable
    (as in 22O000518, where LV cables run in MV trenches); along it an LV cable of KL1, an LV cable of KL1 with a depth point 2 m below the bed, an LV cable of another
    owner (KL2), a KL1 gas pipe 3 cm aside, and a KL1 cable crossing it."""
    k1, k2 = "nl.imkl-KL1.", "nl.imkl-KL2."
    return write(tmp_path, doc("\n\n".join([
        network(k1 + "lv", "laagspanning", "0.60"),
        network(k1 + "mv", "middenspanning", "0.60"),
        network(k1 + "gas", "gasLageDruk", "0.60"),
        network(k2 + "lv", "laagspanning", "0.60"),
        cable(k1 + "bed", k1 + "mv", "l_bed", cls="Kabelbed", extra=BED_XML),
        cable(k1 + "held", k1 + "lv", "l_held"),
        cable(k1 + "deep", k1 + "lv", "l_deep"),
        cable(k2 + "other", k2 + "lv", "l_other"),
        cable(k1 + "gas", k1 + "gas", "l_gas", cls="OlieGasChemicalienPijpleiding"),
        cable(k1 + "across", k1 + "lv", "l_across"),
        link("l_bed", BED),
        link("l_held", LINE),
        link("l_deep", LINE),
        link("l_other", LINE),
        link("l_gas", [(x, y + 0.03) for x, y in LINE]),
        link("l_across", [(X0 + 10.0, Y0 - 5.0), (X0 + 10.0, Y0 + 5.0)]),
        depth_point(k1 + "d", k1 + "lv", (X0 + 7.0, Y0), -2.5, cls="DiepteNAP"),
    ]).replace(
        '<net:link xlink:href="l_deep"/>', '<net:link xlink:href="l_deep"/><imkl:dieptelegging xlink:href="nl.imkl-KL1.d"/>'
    )))


def test_container_without_links_holds_the_cables_inside_it(tmp_path):
    table = read_imkl(trench_delivery(tmp_path), ground=0.5)
    bed, fid = "nl.imkl-KL1.bed", table.feature_id.astype(str)
    axis = LineString(BED)
    reach = 0.025 + CONTAINED_TOLERANCE
    within = np.array([max(axis.distance(Point(a[:2])), axis.distance(Point(b[:2]))) <= reach + 1e-6
                       for a, b in zip(table.p0, table.p1)])
    held = fid == "nl.imkl-KL1.held"
    # in the bed exactly where both ends lie within its reach; vertices where the cable enters and leaves
    np.testing.assert_array_equal(table.container[held] == bed, within[held])
    np.testing.assert_allclose(np.unique(np.r_[table.p0[held, 0], table.p1[held, 0]]) - X0,
                               [0.0, 5.0 - reach, 5.0, 15.0, 15.0 + reach, 20.0])
    # held by geometry it keeps its own (standard) depth: top 0.60 m below ground
    np.testing.assert_allclose(table.p0[held, 2], 0.5 - 0.60 - table.radius[held])
    # where its own measured depth lies 2 m below the bed, the other cable is not in it
    deep = fid == "nl.imkl-KL1.deep"
    measured = deep & (table.depth_source == DepthSource.MEASURED_NAP)
    assert measured.any() and not (table.container[measured] == bed).any()
    standard = 0.5 - 0.60 - table.radius
    level = np.isclose(table.p0[:, 2], standard) & np.isclose(table.p1[:, 2], standard)
    assert (deep & level & within).sum() >= 2
    np.testing.assert_array_equal(table.container[deep & within] == bed, level[deep & within])
    # another owner's cable, the owner's gas pipe beside it and a crossing cable lie in no container
    for other in ("nl.imkl-KL2.other", "nl.imkl-KL1.gas", "nl.imkl-KL1.across", bed):
        assert set(table.container[fid == other]) == {""}
    # no finding of the bed with a cable it holds; the others are still judged against it
    findings = pair_findings(table, RULES)
    pairs = {frozenset((fid[a], fid[b])) for a, b in zip(findings["seg"], findings["other_seg"])}
    assert frozenset((bed, "nl.imkl-KL1.held")) not in pairs
    assert frozenset((bed, "nl.imkl-KL1.deep")) not in pairs
    for other in ("nl.imkl-KL2.other", "nl.imkl-KL1.gas"):
        assert frozenset((bed, other)) in pairs
    # without the containment the held cable clashes with its own bed (another network: not joined)
    bare = replace(table, container=np.full(len(table), "", dtype=object))
    findings = pair_findings(bare, RULES)
    assert frozenset((bed, "nl.imkl-KL1.held")) in {
        frozenset((fid[a], fid[b])) for a, b in zip(findings["seg"], findings["other_seg"])}


def test_real_trenches_hold_their_cables(shared_data):
    """22O000518: no Kabelbed/Duct/Mantelbuis links a cable. Every container–cable pair of one owner
    and network group whose axes run together (shapely: within the container's radius + 5 cm over
    ≥ min(1 m, 90 % of the shorter)) gets no hard-clash, clearance or crossing finding; with the
    container column cleared the same pairs give findings. Left out: containers that themselves lie
    in another one (the table keeps the outermost container only, so where a cable leaves a trench
    nested in another trench it may still be judged against the inner one)."""
    delivery = parse_imkl(shared_data / "klic" / "Levering_22O000518_1.zip")
    table = network_table(delivery, ground=5.0)
    assert not delivery.container_of()
    group = {f.gml_id: utility_from_thema(delivery.networks[f.network].thema).key.split("_")[0]
             for f in delivery.features}
    plan = {f.gml_id: MultiLineString([line[:, :2] for line in f.lines]) for f in delivery.features}
    diameter = dict(zip(table.feature_id, table.outer_diameter))
    nested = set(table.feature_id[table.container != ""])
    containers = [f for f in delivery.features if f.imkl_class in CONTAINER_CLASSES and f.gml_id not in nested]
    cables = [f for f in delivery.features if f.imkl_class not in CONTAINER_CLASSES]
    held = set()
    for c in containers:
        band = plan[c.gml_id].buffer(diameter[c.gml_id] / 2 + CONTAINED_TOLERANCE)
        for f in cables:
            if f.owner == c.owner and group[f.gml_id] == group[c.gml_id]:
                shared = plan[f.gml_id].intersection(band).length
                if shared >= min(1.0, 0.9 * min(plan[f.gml_id].length, plan[c.gml_id].length)):
                    held.add(frozenset((c.gml_id, f.gml_id)))
    assert len(held) >= 50
    fid = table.feature_id.astype(str)

    def found(t):
        f = pair_findings(t, RULES)
        c = crossing_findings(t, RULES)
        return {frozenset((fid[a], fid[b])) for a, b in zip(np.r_[f["seg"], c["seg"]], np.r_[f["other_seg"], c["other_seg"]])}

    assert not held & found(table)
    assert held & found(replace(table, container=np.full(len(table), "", dtype=object)))  # what holding removes


def test_nested_pairs_match_a_plain_set_reference():
    """``NetworkTable.nested`` against the set of (feature, container) pairs read off the rows."""
    rng = np.random.default_rng(5)
    ids = ["bed", "duct", "a", "b", "c", ""]
    containers = ["", "bed", "duct"]
    lines = [np.column_stack([np.arange(4.0), np.full(4, k), np.zeros(4)]) for k in range(len(ids))]
    table = NetworkTable.from_polylines(
        lines, outer_diameter=[0.1] * len(ids), utility=[Utility.ELECTRICITY_LV] * len(ids),
        owner=["KL1"] * len(ids), status=[Status.EXISTING] * len(ids),
        depth_source=[DepthSource.STANDARD_DEPTH] * len(ids), depth_uncertainty=[0.3] * len(ids),
        feature_id=ids,
    )
    table = replace(table, container=rng.choice(containers, len(table)).astype(object))
    fid, container = table.feature_id.astype(str), table.container.astype(str)
    lies_in = {(f, c) for f, c in zip(fid, container) if c and f}
    i, j = np.meshgrid(np.arange(len(table)), np.arange(len(table)), indexing="ij")
    i, j = i.ravel(), j.ravel()
    expected = [(fid[a], fid[b]) in lies_in or (fid[b], fid[a]) in lies_in for a, b in zip(i, j)]
    np.testing.assert_array_equal(table.nested(i, j), expected)
    assert any(expected)
