"""KLIC / IMKL reader: the real deliveries and fragments in ../shared/data/klic, and small generated
deliveries for depth, CRS and bad input. References: raw-text counts of the XML, shapely distances,
pyproj transforms and hand-computed axis heights."""

from __future__ import annotations

import re
import zipfile
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from affine import Affine
from hypothesis import given, settings
from hypothesis import strategies as st
from pyproj import Transformer
from shapely.geometry import LineString, Point

from stadstwin.errors import CRSError, InputError
from stadstwin.io.imkl import DEPTH_UNCERTAINTY, ImklWarning, network_table, parse_imkl, read_imkl
from stadstwin.model.enums import DepthSource, Status
from stadstwin.model.raster import Raster
from stadstwin.model.utilities import THEMA_TO_UTILITY, Utility
from stadstwin.rules.tables import load_rules

RULES = load_rules()
RD = "urn:ogc:def:crs:EPSG::28992"
NS_20 = "http://www.geostandaarden.nl/imkl/wibon"


# ----------------------------------------------------------------------------- helpers


def raw_gi(zip_path: Path) -> bytes:
    with zipfile.ZipFile(zip_path) as z:
        (name,) = [
            n for n in z.namelist() if Path(n).name.startswith("GI_gebiedsinformatielevering_")
        ]
        return z.read(name)


def raw_counts(raw: bytes) -> Counter:
    """Feature classes counted straight from the text: start tags of imkl features carrying a gml:id."""
    counts = Counter(m.decode() for m in re.findall(rb"<imkl:(\w+)\s[^>]*?gml:id=", raw))
    counts["UtilityLink"] = len(re.findall(rb"<us-net-common:UtilityLink\s", raw))
    return counts


def doc(members: str, *, envelope: str | None = None, namespace: str = NS_20) -> str:
    """An IMKL GI document around feature XML."""
    bounded = (
        (
            f'<gml:boundedBy><gml:Envelope srsName="{envelope}"><gml:lowerCorner>0 0</gml:lowerCorner>'
            f"<gml:upperCorner>1 1</gml:upperCorner></gml:Envelope></gml:boundedBy>"
        )
        if envelope
        else ""
    )
    body = "".join(
        f"<gml:featureMember>{m}</gml:featureMember>" for m in members.split("\n\n") if m.strip()
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<gml:FeatureCollection gml:id="fc" xmlns:imkl="{namespace}" xmlns:gml="http://www.opengis.net/gml/3.2" '
        'xmlns:xlink="http://www.w3.org/1999/xlink" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        'xmlns:net="http://inspire.ec.europa.eu/schemas/net/4.0" '
        'xmlns:us-net-common="http://inspire.ec.europa.eu/schemas/us-net-common/4.0">\n'
        f"{bounded}\n{body}\n</gml:FeatureCollection>\n"
    )


def network(gid: str, thema: str = "laagspanning", depth: str | None = "0.60") -> str:
    sd = (
        f'<imkl:standaardDieptelegging uom="urn:ogc:def:uom:OGC::m">{depth}</imkl:standaardDieptelegging>'
        if depth
        else ""
    )
    return (
        f'<imkl:Utiliteitsnet gml:id="{gid}"><imkl:thema xlink:href="http://definities.geostandaarden.nl/'
        f'imkl2015/id/waarde/Thema/{thema}"/>{sd}</imkl:Utiliteitsnet>'
    )


def cable(
    gid: str,
    net: str,
    link: str,
    cls: str = "Elektriciteitskabel",
    extra: str = "",
    status: str = "functional",
) -> str:
    return (
        f'<imkl:{cls} gml:id="{gid}"><net:inNetwork xlink:href="{net}"/><net:link xlink:href="{link}"/>'
        f'<us-net-common:currentStatus xlink:href="http://inspire.ec.europa.eu/codelist/ConditionOfFacilityValue/'
        f'{status}"/>{extra}</imkl:{cls}>'
    )


def link(gid: str, coords: list[tuple[float, ...]], srs: str | None = RD) -> str:
    srs_attr = f' srsName="{srs}"' if srs else ""
    pos = " ".join(f"{c:.6f}" for xy in coords for c in xy)
    return (
        f'<us-net-common:UtilityLink gml:id="{gid}"><net:centrelineGeometry><gml:LineString gml:id="{gid}_g"'
        f"{srs_attr}><gml:posList>{pos}</gml:posList></gml:LineString></net:centrelineGeometry>"
        "</us-net-common:UtilityLink>"
    )


def depth_point(
    gid: str,
    net: str,
    xy: tuple[float, float],
    value: float,
    cls: str = "DiepteTovMaaiveld",
    reference: str = "bovenkant",
) -> str:
    return (
        f'<imkl:{cls} gml:id="{gid}"><imkl:dieptePeil uom="urn:ogc:def:uom:OGC::m">{value}</imkl:dieptePeil>'
        f'<imkl:diepteAangrijpingspunt xlink:href="http://definities.geostandaarden.nl/imkl2015/id/waarde/'
        f'DiepteAangrijpingspuntValue/{reference}"/><imkl:ligging><gml:Point gml:id="{gid}_g" srsName="{RD}">'
        f'<gml:pos>{xy[0]} {xy[1]}</gml:pos></gml:Point></imkl:ligging><imkl:inNetwork xlink:href="{net}"/>'
        f"</imkl:{cls}>"
    )


def write(tmp_path: Path, text: str, name: str = "GI_gebiedsinformatielevering_test.xml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


X0, Y0 = 155000.0, 388000.0
LINE = [(X0, Y0), (X0 + 20.0, Y0)]


# ----------------------------------------------------------------------------- real deliveries


@pytest.fixture(scope="module")
def klic(shared_data: Path) -> Path:
    return shared_data / "klic"


@pytest.fixture(scope="module")
def delivery20(klic):
    return parse_imkl(klic / "Levering_22O000518_1.zip")


@pytest.fixture(scope="module")
def table20(delivery20):
    """The IMKL 2.0 delivery on flat ground at 5 m NAP."""
    return network_table(delivery20, ground=5.0)


def test_imkl20_delivery_counts_match_readme_and_raw_text(klic, delivery20):
    path = klic / "Levering_22O000518_1.zip"
    delivery = delivery20
    counts = delivery.counts()
    assert delivery.version == "2.0"
    expected = {
        "Elektriciteitskabel": 126,
        "OlieGasChemicalienPijpleiding": 121,
        "Waterleiding": 85,
        "Rioolleiding": 44,
        "Kabelbed": 53,
        "DiepteTovMaaiveld": 5,
    }
    assert {k: counts[k] for k in expected} == expected
    raw = raw_counts(raw_gi(path))
    assert counts == dict(raw)
    # The data README says 4 Utiliteitsnet; the file holds 6 distinct ones (KL1110 water, GM1641 sewer,
    # KL1031 middenspanning, gasLageDruk, laagspanning, gasHogeDruk).
    assert (
        counts["Utiliteitsnet"]
        == len(set(re.findall(rb'<imkl:Utiliteitsnet\s[^>]*?gml:id="([^"]+)"', raw_gi(path))))
        == 6
    )


def test_imkl20_network_table(delivery20, table20):
    delivery, table = delivery20, table20
    linear = {f.gml_id: f for f in delivery.features}
    assert set(table.feature_id) == set(linear)  # every cable, pipe and container has geometry here
    # rows carry the IMKL gml ids; each feature's segments number its vertices minus one per line
    per_feature = Counter(table.feature_id)
    for fid in (
        "nl.imkl-GM1641.11507",
        "nl.imkl-KL1110.WALD_GIS_WALeitungsabschnitt177957444_2191133",
    ):
        assert per_feature[fid] >= sum(len(line) - 1 for line in linear[fid].lines)
    xy = np.vstack([table.p0[:, :2], table.p1[:, :2]])
    assert xy[:, 0].min() >= 189357 and xy[:, 0].max() <= 189536
    assert xy[:, 1].min() >= 352285 and xy[:, 1].max() <= 352472
    assert set(table.owners) == {"KL1031", "KL1110", "GM1641"}
    sources = Counter(int(s) for s in table.depth_source)
    assert set(sources) == {
        DepthSource.MEASURED_BELOW_GROUND,
        DepthSource.STANDARD_DEPTH,
        DepthSource.PROFILE_DEFAULT,
    }
    # the municipal sewer network has no standaardDieptelegging: profile default (sewer cover 1.00 m)
    sewer = table.utility == Utility.SEWER_GRAVITY
    assert np.all(table.depth_source[sewer] == DepthSource.PROFILE_DEFAULT)
    np.testing.assert_allclose(table.p0[sewer, 2], 5.0 - 1.0 - table.radius[sewer])
    # water (standard depth 1 m): axis = ground - 1 m - radius; a segment leaving a measured stretch
    # has its measured end (dieptePeil 1.3 m) and takes the less certain source
    water = (table.utility == Utility.WATER) & (table.depth_source == DepthSource.STANDARD_DEPTH)
    standard = 5.0 - 1.0 - table.radius[water]
    ends = np.column_stack([table.p0[water, 2], table.p1[water, 2]])
    assert np.all(np.isclose(ends, standard[:, None]).any(axis=1))
    assert np.all(np.isclose(ends, standard[:, None]) | np.isclose(ends, standard[:, None] - 0.3))
    assert np.all(table.depth_uncertainty[water] == DEPTH_UNCERTAINTY[DepthSource.STANDARD_DEPTH])
    # a disused water main is abandoned; pipeDiameter 100 mm is kept
    wald = table.feature_id == "nl.imkl-KL1110.WALD_GIS_WALeitungsabschnitt177957444_2191133"
    assert np.all(table.status[wald] == Status.ABANDONED)
    np.testing.assert_allclose(table.outer_diameter[wald], 0.100)


def test_imkl20_measured_segments_lie_at_depth_points(delivery20, table20):
    """Measured segments are exactly those within 1 m (along the line) of a water depth point."""
    delivery, table = delivery20, table20
    measured = table.depth_source == DepthSource.MEASURED_BELOW_GROUND
    assert measured.any()
    points = [Point(p.xy) for p in delivery.depth_points]
    for p0, p1, r, fid in zip(
        table.p0[measured], table.p1[measured], table.radius[measured], table.feature_id[measured]
    ):
        segment = LineString([p0[:2], p1[:2]])
        assert min(segment.distance(p) for p in points) <= 1.0 + 1e-6
        assert segment.length <= 2.0 + 1e-6
        np.testing.assert_allclose([p0[2], p1[2]], 5.0 - 1.3 - r)  # dieptePeil 1.3 m to the top
        assert table.utility[table.feature_id == fid][0] == Utility.WATER
    # every water line that passes within 1 m of a depth point has a measured segment
    water_lines = [
        (f.gml_id, LineString(line[:, :2]))
        for f in delivery.features
        if f.network == "nl.imkl-KL1110.UNET_Water_3"
        for line in f.lines
    ]
    near = {fid for fid, line in water_lines if min(line.distance(p) for p in points) <= 1.0}
    assert near == set(table.feature_id[measured])


def test_imkl12_demo_covers_every_theme(klic):
    path = klic / "Levering_18O000145_1.zip"
    delivery = parse_imkl(path)
    counts = delivery.counts()
    assert delivery.version == "1.2"
    assert counts == dict(raw_counts(raw_gi(path)))
    assert (
        counts["ThermischePijpleiding"] == counts["DiepteNAP"] == counts["DiepteTovMaaiveld"] == 1
    )
    assert {counts[k] for k in ("Kast", "Mangat", "Mast", "Toren")} == {1}
    assert counts["Appurtenance"] == 31
    assert {n.thema for n in delivery.networks.values()} == set(THEMA_TO_UTILITY)
    table = read_imkl(path, ground=5.0)
    kind = {f: Utility(int(u)) for f, u in zip(table.feature_id, table.utility)}
    # the kind comes from the IMKL class, refined by the network's thema only where the class can be
    # that kind: the demo puts every class in a network of another theme
    expected = {
        "el00001": Utility.ELECTRICITY_LV,  # an Elektriciteitskabel in a water network: not a water main
        "ogc00001": Utility.GAS_LP,  # a gas pipe in a hoogspanning network
        "rl00001": Utility.SEWER_GRAVITY,  # a sewer in a laagspanning network
        "th00001": Utility.DISTRICT_HEATING,  # a heat pipe in a rioolOnderOverOfOnderdruk network
        "tc00013": Utility.TELECOM,  # a telecom cable in a water network
        "tc00014": Utility.ORPHAN,  # wees and overig fit any class
        "tc00015": Utility.OTHER,
        "wl00001": Utility.ORPHAN,
        "kbed00001": Utility.HAZARDOUS,  # a container carries its network's theme
        "mb00001": Utility.PETROCHEMICAL,
    }
    assert {k: kind[f"nl.imkl-nbact1.{k}"] for k in expected} == expected
    assert {f for f, k in kind.items() if k is Utility.WATER} == {"nl.imkl-KN1100.2009051707431500023782"}
    heat = table.feature_id == "nl.imkl-nbact1.th00001"
    assert np.all(table.status[heat] == Status.PLANNED)


def test_imkl12_depth_points_are_read_and_apply_only_near_their_network(klic):
    delivery = parse_imkl(klic / "Levering_18O000145_1.zip")
    by_class = {p.imkl_class: p for p in delivery.depth_points}
    nap, below = by_class["DiepteNAP"], by_class["DiepteTovMaaiveld"]
    assert (nap.value, nap.xy, nap.reference, nap.accuracy) == (
        2.43,
        (155030.0, 388040.0),
        "bovenkant",
        0.5,
    )
    assert (below.value, below.xy) == (2.43, (155030.0, 388050.0))
    # in the demo no line of the depth points' networks lies within 1 m of them (shapely check) ...
    for p in delivery.depth_points:
        lines = [
            LineString(line[:, :2])
            for f in delivery.features
            if f.network == p.network
            for line in f.lines
        ]
        assert all(line.distance(Point(p.xy)) > 1.0 for line in lines)
    # ... so nothing is measured: standard depth everywhere (every demo network has 0.63 m)
    table = network_table(delivery, ground=5.0)
    assert np.all(table.depth_source == DepthSource.STANDARD_DEPTH)


def test_zip_and_gi_xml_give_the_same_table(klic, table20, tmp_path):
    xml = tmp_path / "GI_gebiedsinformatielevering_22O000518_1_V2.xml"
    xml.write_bytes(raw_gi(klic / "Levering_22O000518_1.zip"))
    a, b = table20, read_imkl(xml, ground=5.0)
    np.testing.assert_array_equal(a.p0, b.p0)
    np.testing.assert_array_equal(a.feature_id, b.feature_id)


def test_waterleiding_is_drinking_water_only_when_potable(klic, tmp_path):
    """A Waterleiding in a water network with waterType raw (e.g. untreated water) is no drinking-water
    receiver; with potable (as all 85 in 22O000518) it is."""
    raw = raw_gi(klic / "Levering_22O000518_1.zip")
    assert raw.count(b"WaterTypeValue/potable") == 85
    path = tmp_path / "GI_gebiedsinformatielevering_raw.xml"
    path.write_bytes(raw.replace(b"WaterTypeValue/potable", b"WaterTypeValue/raw"))
    before = read_imkl(klic / "Levering_22O000518_1.zip", ground=5.0)
    after = read_imkl(path, ground=5.0)
    pipes = np.char.find(before.feature_id.astype(str), ".WALD_") >= 0  # the Waterleiding ids of KL1110
    assert np.all(before.utility[pipes] == Utility.WATER) and pipes.sum() > 85
    np.testing.assert_array_equal(before.feature_id, after.feature_id)
    assert np.all(after.utility[pipes] == Utility.OTHER)
    np.testing.assert_array_equal(after.utility[~pipes], before.utility[~pipes])  # casings stay water-network


def test_transitional_delivery_reads_only_the_newest_gi_file(klic, table20, tmp_path):
    """A changeover zip (2022) with the same data as IMKL 1.2 and as IMKL 2.0 (``_V2``): only the
    2.0 file is read, nothing is held twice, and the warning names both files."""
    path = tmp_path / "Levering_22O000518_1.zip"
    with zipfile.ZipFile(path, "w") as z:  # the 1.2 file sorts first, as in the real zips
        z.writestr("22O000518_1/GI_gebiedsinformatielevering_22O000518_1.xml",
                   raw_gi(klic / "Levering_18O000145_1.zip"))
        z.writestr("22O000518_1/GI_gebiedsinformatielevering_22O000518_1_V2.xml",
                   raw_gi(klic / "Levering_22O000518_1.zip"))
    with pytest.warns(ImklWarning, match=r"read GI_gebiedsinformatielevering_22O000518_1_V2\.xml \(IMKL 2\.0\), "
                                         r"skipped GI_gebiedsinformatielevering_22O000518_1\.xml \(IMKL 1\.2\)"):
        table = read_imkl(path, ground=5.0)
    np.testing.assert_array_equal(table.feature_id, table20.feature_id)
    np.testing.assert_array_equal(table.p0, table20.p0)


# ----------------------------------------------------------------------------- the four fragments


def test_fragments_load(klic):
    for path in sorted((klic / "voorbeelden").glob("*.xml")):
        delivery = parse_imkl(path)
        assert delivery.version == "1.2"
        assert delivery.counts() == dict(raw_counts(path.read_bytes())), path.name
        table = network_table(delivery)
        assert set(table.feature_id) == {f.gml_id for f in delivery.features}
        assert np.all((table.p0[:, 0] > 150000) & (table.p0[:, 1] > 380000)), path.name


def test_casing_pipe_with_3d_extra_geometry_gives_measured_nap(klic, tmp_path):
    """voorbeeld1 ships a 2D ExtraGeometrie; give it a 2.5D line and the casing and its cables get NAP z."""
    text = (
        klic / "voorbeelden" / "voorbeeld1_Utiliteitsnet_met_Mantelbuis_en_ExtraGeometrie.xml"
    ).read_text()
    assert parse_imkl(
        klic / "voorbeelden" / "voorbeeld1_Utiliteitsnet_met_Mantelbuis_en_ExtraGeometrie.xml"
    ).container_of() == {
        "nl.imkl-KL3131.EK1": "nl.imkl-KL3131.M1",
        "nl.imkl-KL3131.EK2": "nl.imkl-KL3131.M1",
    }
    start, end = (
        text.index("<imkl:vlakgeometrie2D>"),
        text.index("</imkl:vlakgeometrie2D>") + len("</imkl:vlakgeometrie2D>"),
    )
    line3d = (
        '<imkl:lijngeometrie2.5D><gml:LineString srsName="urn:ogc:def:crs:EPSG::7415" gml:id="g3d">'
        "<gml:posList>154718.401 389452.656 -1.20 154755.558 389445.825 -0.90</gml:posList>"
        "</gml:LineString></imkl:lijngeometrie2.5D>"
    )
    table = read_imkl(write(tmp_path, text[:start] + line3d + text[end:]), ground=1.0)
    assert np.all(table.depth_source == DepthSource.MEASURED_NAP)
    casing_rows = table.feature_id == "nl.imkl-KL3131.M1"
    assert set(table.container[casing_rows]) == {""}
    assert set(table.container[~casing_rows]) == {"nl.imkl-KL3131.M1"}
    for fid in ("nl.imkl-KL3131.M1", "nl.imkl-KL3131.EK1", "nl.imkl-KL3131.EK2"):
        row = table.feature_id == fid
        np.testing.assert_allclose(table.p0[row, 2], -1.20)
        np.testing.assert_allclose(table.p1[row, 2], -0.90)
    cable = table.feature_id == "nl.imkl-KL3131.EK1"
    casing = table.feature_id == "nl.imkl-KL3131.M1"
    np.testing.assert_allclose(table.outer_diameter[casing], 0.15)  # pipeDiameter 15 cm
    lv = RULES.utilities["electricity_lv"].outer_diameter
    np.testing.assert_allclose(table.depth_uncertainty[cable], 0.10 + (0.15 - lv) / 2)


def test_duct_pipe_cable_nesting(klic):
    path = klic / "voorbeelden" / "voorbeeld2_Utiliteitsnet_met_Duct-Pipe-Cable.xml"
    delivery = parse_imkl(path)
    assert delivery.container_of() == {
        "nl.imkl-KL3131.M1": "nl.imkl-KL3131.K1",
        "nl.imkl-KL3131.M2": "nl.imkl-KL3131.K1",
        "nl.imkl-KL3131.EK1": "nl.imkl-KL3131.M1",
        "nl.imkl-KL3131.EK2": "nl.imkl-KL3131.M1",
    }
    table = read_imkl(path, ground=2.0)
    expected = {
        "nl.imkl-KL3131.K1": "",
        "nl.imkl-KL3131.M1": "nl.imkl-KL3131.K1",
        "nl.imkl-KL3131.M2": "nl.imkl-KL3131.K1",
        "nl.imkl-KL3131.EK1": "nl.imkl-KL3131.K1",
        "nl.imkl-KL3131.EK2": "nl.imkl-KL3131.K1",
    }
    assert dict(zip(table.feature_id, table.container)) == expected  # outermost container
    bed = table.feature_id == "nl.imkl-KL3131.K1"
    np.testing.assert_allclose(table.outer_diameter[bed], 0.75)  # ductWidth 75 cm
    cover = RULES.cover["electricity_lv"].carriageway  # LV cover is the same on every surface
    np.testing.assert_allclose(table.p0[bed, 2], 2.0 - cover - 0.375)
    # pipes and cables lie inside the bed: its axis, with the play added to the uncertainty
    for fid in ("nl.imkl-KL3131.M1", "nl.imkl-KL3131.M2", "nl.imkl-KL3131.EK1"):
        row = table.feature_id == fid
        np.testing.assert_allclose(table.p0[row, 2], 2.0 - cover - 0.375, atol=0.01)
        assert np.all(table.depth_uncertainty[row] > DEPTH_UNCERTAINTY[DepthSource.PROFILE_DEFAULT])


def test_cable_lies_in_a_short_casing_only_along_it(tmp_path):
    """A 20 m cable through a 4 m casing (pipeDiameter 160 mm) with a DiepteNAP on the casing."""
    casing_xml = (
        '<us-net-common:pipeDiameter uom="urn:ogc:def:uom:OGC::mm">160</us-net-common:pipeDiameter>'
        '<us-net-common:cables xlink:href="c1"/>'
    )
    text = doc(
        "\n\n".join(
            [
                network("net", "laagspanning", "0.60"),
                cable("m1", "net", "lm", cls="Mantelbuis", extra=casing_xml),
                cable("c1", "net", "lc"),
                link("lm", [(X0 + 8.0, Y0), (X0 + 12.0, Y0)]),
                link("lc", LINE),
                depth_point("d1", "net", (X0 + 10.0, Y0), -1.5, cls="DiepteNAP"),
            ]
        )
    )
    table = read_imkl(write(tmp_path, text), ground=0.5)
    rows = table.feature_id == "c1"
    starts = table.p0[rows, 0] - X0
    np.testing.assert_allclose(starts, [0.0, 8.0, 9.0, 11.0, 12.0])
    assert list(table.container[rows]) == ["", "m1", "m1", "m1", ""]
    assert set(table.container[table.feature_id == "m1"]) == {""}
    measured = rows & (table.depth_source == DepthSource.MEASURED_NAP)
    np.testing.assert_allclose(table.p0[measured, 0] - X0, [9.0])
    np.testing.assert_allclose(table.p0[measured, 2], -1.5 - 0.08)  # the casing's axis
    lv = RULES.utilities["electricity_lv"].outer_diameter
    np.testing.assert_allclose(table.depth_uncertainty[measured], 0.10 + 0.08 - lv / 2)
    outside = rows & (table.p0[:, 0] == X0)
    np.testing.assert_allclose(table.p0[outside, 2], 0.5 - 0.60 - lv / 2)


def test_nil_reason_fragment(klic):
    path = klic / "voorbeelden" / "voorbeeld4_Utiliteitsnet_met_nilReason.xml"
    delivery = parse_imkl(path)
    assert delivery.counts()["Toren"] == 1
    (pipe,) = delivery.features
    assert pipe.status is None and pipe.diameter is None
    table = read_imkl(path)
    assert np.all(table.status == Status.EXISTING)  # nil currentStatus: taken as existing
    np.testing.assert_allclose(table.outer_diameter, RULES.utilities["gas_hp"].outer_diameter)
    assert np.all(table.utility == Utility.GAS_HP)


def test_topology_fragment(klic):
    delivery = parse_imkl(klic / "voorbeelden" / "voorbeeld5_Toepassing_netwerktopologie.xml")
    assert delivery.counts()["Appurtenance"] == 4
    assert all(a.xy is not None and 167000 < a.xy[0] < 168000 for a in delivery.appurtenances)
    raw = (klic / "voorbeelden" / "voorbeeld5_Toepassing_netwerktopologie.xml").read_text()
    cm = [
        float(v) / 100
        for v in re.findall(r'pipeDiameter uom="urn:ogc:def:uom:OGC::cm">([\d.]+)<', raw)
    ]
    assert len(cm) == 3 and sorted(f.diameter for f in delivery.features) == pytest.approx(
        sorted(cm)
    )


# ----------------------------------------------------------------------------- depth rules (generated)


def test_depth_point_below_ground_inserts_measured_stretch(tmp_path):
    text = doc(
        "\n\n".join(
            [
                network("net", "water", "1.00"),
                cable(
                    "w1",
                    "net",
                    "l1",
                    cls="Waterleiding",
                    extra='<us-net-common:pipeDiameter uom="urn:ogc:def:uom:OGC::mm">200</us-net-common:pipeDiameter>',
                ),
                link("l1", LINE),
                depth_point("d1", "net", (X0 + 10.0, Y0 + 0.5), 1.6),
            ]
        )
    )
    table = read_imkl(write(tmp_path, text), ground=4.0)
    measured = table.depth_source == DepthSource.MEASURED_BELOW_GROUND
    np.testing.assert_allclose(table.p0[measured, 0], X0 + 9.0)
    np.testing.assert_allclose(table.p1[measured, 0], X0 + 11.0)
    np.testing.assert_allclose(table.p0[measured, 2], 4.0 - 1.6 - 0.1)
    np.testing.assert_allclose(table.p0[~measured & (table.p0[:, 0] == X0), 2], 4.0 - 1.0 - 0.1)
    assert sorted(Counter(int(s) for s in table.depth_source).items()) == [
        (DepthSource.MEASURED_BELOW_GROUND, 1),
        (DepthSource.STANDARD_DEPTH, 2),
    ]


def test_depth_nap_point_and_bottom_reference(tmp_path):
    text = doc(
        "\n\n".join(
            [
                network("net", "rioolVrijverval", None),
                cable(
                    "s1",
                    "net",
                    "l1",
                    cls="Rioolleiding",
                    extra='<us-net-common:pipeDiameter uom="urn:ogc:def:uom:OGC::cm">40</us-net-common:pipeDiameter>',
                ),
                link("l1", LINE),
                depth_point(
                    "d1", "net", (X0, Y0), -2.0, cls="DiepteNAP", reference="binnenonderkantBuis"
                ),
            ]
        )
    )
    table = read_imkl(write(tmp_path, text), ground=1.0)
    first = table.p0[:, 0] == X0
    assert table.depth_source[first][0] == DepthSource.MEASURED_NAP
    np.testing.assert_allclose(table.p0[first, 2], -2.0 + 0.2)  # bottom + radius
    rest = table.p1[:, 0] == X0 + 20.0
    assert table.depth_source[rest][0] == DepthSource.PROFILE_DEFAULT
    np.testing.assert_allclose(
        table.p1[rest, 2], 1.0 - RULES.cover["sewer_gravity"].carriageway - 0.2
    )


@settings(max_examples=40, deadline=None)
@given(along=st.floats(-3.0, 23.0), across=st.floats(-2.0, 2.0), tolerance=st.floats(0.2, 1.5))
def test_depth_point_applies_iff_within_tolerance(tmp_path_factory, along, across, tolerance):
    tmp_path = tmp_path_factory.mktemp("tol")
    xy = (X0 + along, Y0 + across)
    text = doc(
        "\n\n".join(
            [
                network("net"),
                cable("c1", "net", "l1"),
                link("l1", LINE),
                depth_point("d1", "net", xy, 0.9),
            ]
        )
    )
    table = read_imkl(write(tmp_path, text), ground=0.0, depth_tolerance=tolerance)
    near = LineString(LINE).distance(Point(xy)) <= tolerance
    assert bool((table.depth_source == DepthSource.MEASURED_BELOW_GROUND).any()) == near


def test_ground_raster_converts_depths(tmp_path):
    """On a planar DTM (bilinear sampling is exact) the axis follows ground - standard depth - radius."""
    cell = 1.0
    cols, rows = 30, 10
    x = X0 - 5 + (np.arange(cols) + 0.5) * cell
    dtm = np.tile(2.0 + 0.05 * (x - X0), (rows, 1))
    raster = Raster(dtm, Affine(cell, 0, X0 - 5, 0, -cell, Y0 + 5))
    text = doc(
        "\n\n".join(
            [network("net", "laagspanning", "0.60"), cable("c1", "net", "l1"), link("l1", LINE)]
        )
    )
    table = read_imkl(write(tmp_path, text), ground=raster)
    r = RULES.utilities["electricity_lv"].outer_diameter / 2
    np.testing.assert_allclose(table.p0[:, 2], 2.0 + 0.05 * (table.p0[:, 0] - X0) - 0.6 - r)
    np.testing.assert_allclose(table.p1[:, 2], 2.0 + 0.05 * (table.p1[:, 0] - X0) - 0.6 - r)
    with pytest.raises(InputError, match="c1: no ground level at x=155090.00"):
        read_imkl(
            write(tmp_path, text.replace(f"{X0 + 20.0:.6f}", f"{X0 + 90.0:.6f}")), ground=raster
        )


# ----------------------------------------------------------------------------- CRS


def test_other_crs_is_reprojected_like_pyproj(tmp_path):
    utm = Transformer.from_crs("EPSG:28992", "EPSG:25831", always_xy=True)
    geo = Transformer.from_crs("EPSG:28992", "EPSG:4326", always_xy=True)
    e, n = utm.transform([X0, X0 + 20.0], [Y0, Y0])
    lon, lat = geo.transform([X0, X0 + 20.0], [Y0, Y0])
    text = doc(
        "\n\n".join(
            [
                network("net"),
                cable("a", "net", "la"),
                cable("b", "net", "lb"),
                link("la", list(zip(e, n)), srs="urn:ogc:def:crs:EPSG::25831"),
                link(
                    "lb", list(zip(lat, lon)), srs="urn:ogc:def:crs:EPSG::4326"
                ),  # GML URN: latitude first
            ]
        )
    )
    table = read_imkl(write(tmp_path, text))
    for fid in ("a", "b"):
        row = table.feature_id == fid
        np.testing.assert_allclose(table.p0[row, :2], [[X0, Y0]], atol=1e-3)
        np.testing.assert_allclose(table.p1[row, :2], [[X0 + 20.0, Y0]], atol=1e-3)


def test_unknown_srs_name(tmp_path):
    text = doc(
        "\n\n".join(
            [
                network("net"),
                cable("c", "net", "l1"),
                link("l1", LINE, srs="urn:ogc:def:crs:EPSG::999999"),
            ]
        )
    )
    with pytest.raises(CRSError, match="l1.*unknown coordinate reference system"):
        read_imkl(write(tmp_path, text))


def test_missing_srs_name_uses_declared_default_only(tmp_path):
    members = "\n\n".join([network("net"), cable("c", "net", "l1"), link("l1", LINE, srs=None)])
    with pytest.raises(InputError, match="l1.*without srsName"):
        read_imkl(write(tmp_path, doc(members)))
    table = read_imkl(write(tmp_path, doc(members, envelope=RD)))
    np.testing.assert_allclose(table.p0[0, :2], LINE[0])


# ----------------------------------------------------------------------------- bad input


def test_truncated_xml_names_the_line(klic, tmp_path):
    text = (klic / "voorbeelden" / "voorbeeld2_Utiliteitsnet_met_Duct-Pipe-Cable.xml").read_text()
    path = write(tmp_path, text[: len(text) // 2])
    with pytest.raises(InputError, match=r"broken XML at line \d+") as err:
        read_imkl(path)
    assert str(path) in str(err.value)


def test_empty_and_non_imkl_files(tmp_path):
    empty = tmp_path / "empty.xml"
    empty.write_bytes(b"")
    with pytest.raises(InputError, match="empty file"):
        read_imkl(empty)
    garbage = tmp_path / "levering.bin"
    garbage.write_bytes(b"\x00\x01binary")
    with pytest.raises(InputError, match="not a KLIC zip or an XML file"):
        read_imkl(garbage)
    other = write(tmp_path, '<?xml version="1.0"?><root xmlns="urn:x"/>', "other.xml")
    with pytest.raises(InputError, match="no IMKL"):
        read_imkl(other)
    with pytest.raises(InputError, match="file not found"):
        read_imkl(tmp_path / "missing.zip")


def test_zip_without_gi_file(tmp_path):
    path = tmp_path / "Levering.zip"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("levering/LI_x.pdf", b"%PDF")
    with pytest.raises(InputError, match="no GI_gebiedsinformatielevering"):
        read_imkl(path)
    truncated = tmp_path / "truncated_member.zip"
    with zipfile.ZipFile(truncated, "w") as z:
        z.writestr("l/GI_gebiedsinformatielevering_x.xml", doc(network("net"))[:300])
    with pytest.raises(InputError, match=r"GI_gebiedsinformatielevering_x.xml: broken XML at line"):
        read_imkl(truncated)
    corrupt = tmp_path / "corrupt_member.zip"
    with zipfile.ZipFile(corrupt, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("GI_gebiedsinformatielevering_x.xml", doc(network("net")) * 20)
    data = bytearray(corrupt.read_bytes())
    data[60:90] = bytes(30)  # inside the deflated member data
    corrupt.write_bytes(bytes(data))
    with pytest.raises(InputError, match="broken"):
        read_imkl(corrupt)
    broken = tmp_path / "broken.zip"
    broken.write_bytes(path.read_bytes()[:30])
    with pytest.raises(InputError, match="broken zip"):
        read_imkl(broken)


def test_nil_reason_everywhere(tmp_path):
    nil = 'xsi:nil="true" nilReason="withheld"'
    text = doc(
        "\n\n".join(
            [
                f'<imkl:Utiliteitsnet gml:id="net"><imkl:thema {nil}/><imkl:standaardDieptelegging uom="urn:ogc:def:uom:OGC::m" {nil}/></imkl:Utiliteitsnet>',
                (
                    f'<imkl:Waterleiding gml:id="w"><net:inNetwork xlink:href="net"/><net:link xlink:href="l1"/>'
                    f'<us-net-common:currentStatus {nil}/><us-net-common:pipeDiameter uom="urn:ogc:def:uom:OGC::mm" {nil}/>'
                    f"<imkl:extraGeometrie {nil}/></imkl:Waterleiding>"
                ),
                f'<imkl:Waterleiding gml:id="w2"><net:inNetwork xlink:href="net"/><net:link {nil}/></imkl:Waterleiding>',
                link("l1", LINE),
                (
                    f'<imkl:DiepteTovMaaiveld gml:id="d"><imkl:dieptePeil uom="urn:ogc:def:uom:OGC::m" {nil}/>'
                    f'<imkl:diepteNauwkeurigheid {nil}/><imkl:ligging {nil}/><imkl:inNetwork xlink:href="net"/></imkl:DiepteTovMaaiveld>'
                ),
                f'<imkl:Kast gml:id="k"><us-net-common:geometry {nil}/><imkl:inNetwork {nil}/></imkl:Kast>',
            ]
        )
    )
    with pytest.warns(ImklWarning) as record:
        table = read_imkl(write(tmp_path, text), ground=0.0)
    messages = " ".join(str(w.message) for w in record)
    assert "thema is nil" in messages and "w2" in messages and "DiepteTovMaaiveld" in messages
    assert list(table.feature_id) == ["w"]
    assert table.utility[0] == Utility.OTHER and table.status[0] == Status.EXISTING
    assert table.depth_source[0] == DepthSource.PROFILE_DEFAULT
    np.testing.assert_allclose(table.outer_diameter, RULES.utilities["other"].outer_diameter)


def test_unknown_thema_is_named(tmp_path):
    text = doc(
        "\n\n".join([network("net", "bierleiding"), cable("c", "net", "l1"), link("l1", LINE)])
    )
    with pytest.raises(InputError, match="net.*unknown IMKL thema 'bierleiding'"):
        read_imkl(write(tmp_path, text))


def test_unknown_status_is_named(tmp_path):
    text = doc(
        "\n\n".join([network("net"), cable("c", "net", "l1", status="melted"), link("l1", LINE)])
    )
    with pytest.raises(InputError, match="c: unknown currentStatus 'melted'"):
        read_imkl(write(tmp_path, text))


def test_bad_coordinates_name_the_feature(tmp_path):
    text = doc(
        "\n\n".join(
            [network("net"), cable("c", "net", "l1"), link("l1", [(X0, Y0), (X0 + 1.0, Y0)])]
        )
    )
    path = write(tmp_path, text.replace(f"{X0 + 1.0:.6f} {Y0:.6f}", f"{X0 + 1.0:.6f}"))
    with pytest.raises(InputError, match="l1.*do not form 2D positions"):
        read_imkl(path)
