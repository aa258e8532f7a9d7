"""The district's networks as an IMKL 2.0 KLIC delivery (``Levering_<meldnummer>_1.zip``).

Mirrors the registry's example delivery: a GML ``FeatureCollection`` of ``featureMember``s with the
delivery, the network operators (``Beheerder`` with ``bronhoudercode``), one ``Utiliteitsnet`` per
network (``thema``, ``standaardDieptelegging``), per cable or pipe a ``UtilityLink`` with the 2D
centre line and the feature itself (``inNetwork``, ``link``, ``currentStatus``, diameter with
``uom``), and ``DiepteNAP`` / ``DiepteTovMaaiveld`` points. Coordinates in urn:ogc:def:crs:EPSG::28992.
"""

from __future__ import annotations

import io
import zipfile
from collections import Counter
from pathlib import Path
from xml.etree import ElementTree as ET

from stadstwin.sample.district import District, Line, Network

NS = {
    "gml": "http://www.opengis.net/gml/3.2",
    "imkl": "http://www.geostandaarden.nl/imkl/wibon",
    "xlink": "http://www.w3.org/1999/xlink",
    "xsi": "http://www.w3.org/2001/XMLSchema-instance",
    "net": "http://inspire.ec.europa.eu/schemas/net/4.0",
    "base": "http://inspire.ec.europa.eu/schemas/base/3.3",
    "us-net-common": "http://inspire.ec.europa.eu/schemas/us-net-common/4.0",
    "us-net-el": "http://inspire.ec.europa.eu/schemas/us-net-el/4.0",
    "us-net-tc": "http://inspire.ec.europa.eu/schemas/us-net-tc/4.0",
    "us-net-wa": "http://inspire.ec.europa.eu/schemas/us-net-wa/4.0",
    "us-net-sw": "http://inspire.ec.europa.eu/schemas/us-net-sw/4.0",
    "us-net-ogc": "http://inspire.ec.europa.eu/schemas/us-net-ogc/4.0",
    "us-net-th": "http://inspire.ec.europa.eu/schemas/us-net-th/4.0",
}
SRS = "urn:ogc:def:crs:EPSG::28992"
MELDNUMMER = "26O000042"
CODELIST = "http://inspire.ec.europa.eu/codelist"
IMKL_VALUES = "http://definities.geostandaarden.nl/imkl2015/id/waarde"
TIMESTAMP = "2026-01-05T09:00:00+01:00"
OWNERS = {
    "KL1009": "KPN B.V.",
    "KL1014": "Stedin Netbeheer B.V.",
    "KL1100": "Vitens N.V.",
    "KL1170": "Eneco Warmte & Koude B.V.",
    "KL3131": "Glasvezel Utrecht B.V.",
    "GM0344": "Gemeente Utrecht",
}
NETWORK_TYPE = {
    "datatransport": "telecommunications",
    "laagspanning": "electricity",
    "middenspanning": "electricity",
    "gasLageDruk": "oilGasChemicals",
    "water": "water",
    "rioolVrijverval": "sewer",
    "warmte": "thermal",
}
VOLTAGE = {"laagspanning": 400, "middenspanning": 10_000}
PRESSURE = {"gasLageDruk": 0.1, "water": 4.0, "warmte": 16.0}
MATERIAL = {"gasLageDruk": "PE", "water": "PVC", "rioolVrijverval": "beton", "warmte": "staal"}


def _q(tag: str) -> str:
    prefix, name = tag.split(":")
    return f"{{{NS[prefix]}}}{name}"


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrib: str) -> ET.Element:
    element = ET.SubElement(
        parent,
        _q(tag),
        {_q(k.replace("__", ":")) if "__" in k else k: v for k, v in attrib.items()},
    )
    if text is not None:
        element.text = text
    return element


def _href(parent: ET.Element, tag: str, href: str) -> ET.Element:
    return _sub(parent, tag, xlink__href=href)


def _gml_id(owner: str, local: str) -> str:
    return f"nl.imkl-{owner}.{local}"


def _identification(parent: ET.Element, owner: str, local: str) -> None:
    ident = _sub(_sub(parent, "imkl:identificatie"), "imkl:NEN3610ID")
    _sub(ident, "imkl:namespace", "nl.imkl")
    _sub(ident, "imkl:lokaalID", f"{owner}.{local}")
    _sub(parent, "imkl:beginLifespanVersion", TIMESTAMP)


def _inspire_head(parent: ET.Element, owner: str, local: str) -> None:
    _sub(parent, "net:beginLifespanVersion", TIMESTAMP)
    identifier = _sub(_sub(parent, "net:inspireId"), "base:Identifier")
    _sub(identifier, "base:localId", f"{owner}.{local}")
    _sub(identifier, "base:namespace", "nl.imkl")


def _member(root: ET.Element, tag: str, gml_id: str) -> ET.Element:
    return _sub(_sub(root, "gml:featureMember"), tag, gml__id=gml_id)


def _utility_network(root: ET.Element, network: Network) -> None:
    element = _member(root, "imkl:Utiliteitsnet", _gml_id(network.owner, f"UNET_{network.id}"))
    _href(
        element,
        "us-net-common:utilityNetworkType",
        f"{CODELIST}/UtilityNetworkTypeValue/{NETWORK_TYPE[network.thema]}",
    )
    _href(element, "us-net-common:authorityRole", f"{CODELIST}/RelatedPartyRoleValue/operator")
    _identification(element, network.owner, f"UNET_{network.id}")
    _href(element, "imkl:thema", f"{IMKL_VALUES}/Thema/{network.thema}")
    _sub(
        element,
        "imkl:standaardDieptelegging",
        f"{network.standard_depth:g}",
        uom="urn:ogc:def:uom:OGC::m",
    )


def _link_and_feature(root: ET.Element, line: Line, network: Network) -> None:
    owner = network.owner
    link_id = f"UL_{line.id}"
    link = _member(root, "us-net-common:UtilityLink", _gml_id(owner, link_id))
    _inspire_head(link, owner, link_id)
    _href(link, "net:inNetwork", _gml_id(owner, f"UNET_{network.id}"))
    geometry = _sub(link, "net:centrelineGeometry")
    curve = _sub(
        geometry, "gml:LineString", srsName=SRS, srsDimension="2", gml__id=f"{link_id}_geom"
    )
    _sub(curve, "gml:posList", " ".join(f"{x:.3f} {y:.3f}" for x, y in line.coords))
    _sub(link, "net:fictitious", "false")
    _common_status(link)

    feature = _member(root, f"imkl:{line.feature}", _gml_id(owner, line.id))
    _inspire_head(feature, owner, line.id)
    _href(feature, "net:inNetwork", _gml_id(owner, f"UNET_{network.id}"))
    _href(feature, "net:link", _gml_id(owner, link_id))
    _common_status(feature)
    _href(
        feature,
        "us-net-common:utilityDeliveryType",
        f"{CODELIST}/UtilityDeliveryTypeValue/distribution",
    )
    _sub(feature, "us-net-common:warningType", xsi__nil="true")
    thema = network.thema
    if line.feature == "Elektriciteitskabel":
        _sub(
            feature, "us-net-el:operatingVoltage", f"{VOLTAGE[thema]}", uom="urn:ogc:def:uom:OGC::V"
        )
        _sub(feature, "us-net-el:nominalVoltage", f"{VOLTAGE[thema]}", uom="urn:ogc:def:uom:OGC::V")
    elif line.feature == "Telecommunicatiekabel":
        material = "fiberOptic" if line.network == "fibre" or line.connection else "twistedPair"
        _href(
            feature,
            "us-net-tc:telecommunicationsCableMaterialType",
            f"{IMKL_VALUES}/TelecommunicationsCableMaterialTypeIMKLValue/{material}",
        )
    else:
        _sub(
            feature,
            "us-net-common:pipeDiameter",
            f"{line.diameter_mm:g}",
            uom="urn:ogc:def:uom:OGC::mm",
        )
        if thema in PRESSURE:
            _sub(
                feature,
                "us-net-common:pressure",
                f"{PRESSURE[thema]:g}",
                uom="urn:ogc:def:uom:OGC::bar",
            )
        if line.feature == "Waterleiding":
            _href(feature, "us-net-wa:waterType", f"{CODELIST}/WaterTypeValue/potable")
        elif line.feature == "Rioolleiding":
            _href(feature, "us-net-sw:sewerWaterType", f"{CODELIST}/SewerWaterTypeValue/combined")
        elif line.feature == "OlieGasChemicalienPijpleiding":
            _href(
                feature,
                "us-net-ogc:oilGasChemicalsProductType",
                f"{CODELIST}/OilGasChemicalsProductTypeValue/naturalGas",
            )
        elif line.feature == "ThermischePijpleiding":
            _href(
                feature,
                "us-net-th:thermalProductType",
                f"{CODELIST}/ThermalProductTypeValue/heating",
            )
        _href(
            feature,
            "imkl:buismateriaalType",
            f"{IMKL_VALUES}/PipeMaterialTypeIMKLValue/{MATERIAL[thema]}",
        )
    _sub(feature, "imkl:label", line.label)
    _sub(feature, "imkl:omschrijving", "huisaansluiting" if line.connection else "hoofdleiding")
    if line.feature in ("Elektriciteitskabel", "Telecommunicatiekabel"):
        _sub(feature, "imkl:kabelDiameter", f"{line.diameter_mm:g}", uom="urn:ogc:def:uom:OGC::mm")


def _common_status(element: ET.Element) -> None:
    _href(element, "us-net-common:currentStatus", f"{CODELIST}/ConditionOfFacilityValue/functional")
    _sub(element, "us-net-common:validFrom", "1995-01-01T00:00:00+01:00")
    _sub(element, "us-net-common:verticalPosition", "underground")


def delivery_xml(district: District) -> bytes:
    """The GI xml of the delivery."""
    for prefix, uri in NS.items():
        ET.register_namespace(prefix, uri)
    root = ET.Element(
        _q("gml:FeatureCollection"),
        {
            _q("gml:id"): f"gil_{MELDNUMMER}",
            _q(
                "xsi:schemaLocation"
            ): f"{NS['imkl']} http://register.geostandaarden.nl/gmlapplicatieschema/imkl/2.0.0/imkl-wibon.xsd",
        },
    )
    envelope = _sub(_sub(root, "gml:boundedBy"), "gml:Envelope", srsName=SRS, srsDimension="2")
    x0, y0, x1, y1 = district.extent
    _sub(envelope, "gml:lowerCorner", f"{x0:.1f} {y0:.1f}")
    _sub(envelope, "gml:upperCorner", f"{x1:.1f} {y1:.1f}")

    delivery = _member(
        root,
        "imkl:GebiedsinformatieLevering",
        f"nl.imkl-KA0000._GebiedsinformatieLevering_{MELDNUMMER}-1",
    )
    _identification(delivery, "KA0000", f"_GebiedsinformatieLevering_{MELDNUMMER}")
    _sub(delivery, "imkl:leveringsvolgnummer", "1")
    _sub(delivery, "imkl:datumLeveringSamengesteld", TIMESTAMP)
    _sub(delivery, "imkl:indicatieLeveringCompleet", "true")

    networks = {n.id: n for n in district.networks}
    for owner in sorted({n.owner for n in district.networks}):
        manager = _member(root, "imkl:Beheerder", _gml_id(owner, "_Beheerder"))
        _identification(manager, owner, "_Beheerder")
        _sub(manager, "imkl:bronhoudercode", owner)
        _sub(
            _sub(_sub(manager, "imkl:organisatie"), "imkl:Organisatie"), "imkl:naam", OWNERS[owner]
        )
        party = _member(
            root, "imkl:Belanghebbende", _gml_id(owner, f"_Belanghebbende_{MELDNUMMER}-1")
        )
        _identification(party, owner, f"_Belanghebbende_{MELDNUMMER}")
        _sub(party, "imkl:beheerdersinformatieGeleverd", "true")
        _sub(party, "imkl:betrokkenBijAanvraag", "true")
        _sub(party, "imkl:indicatieEisVoorzorgsmaatregel", "false")
        for network in district.networks:
            if network.owner == owner:
                _href(party, "imkl:utiliteitsnet", _gml_id(owner, f"UNET_{network.id}"))
        _href(party, "imkl:netbeheerder", _gml_id(owner, "_Beheerder"))
    for network in district.networks:
        _utility_network(root, network)
    for line in district.lines:
        _link_and_feature(root, line, networks[line.network])
    for point in district.depth_points:
        network = networks[point.network]
        element = _member(root, f"imkl:{point.feature}", _gml_id(network.owner, point.id))
        _identification(element, network.owner, point.id)
        _href(
            element, "imkl:diepteNauwkeurigheid", f"{IMKL_VALUES}/NauwkeurigheidDiepteValue/tot10cm"
        )
        _sub(element, "imkl:dieptePeil", f"{point.value:.3f}", uom="urn:ogc:def:uom:OGC::m")
        _sub(element, "imkl:datumOpmetingDieptePeil", "2025-06-12T10:00:00+02:00")
        _href(
            element,
            "imkl:diepteAangrijpingspunt",
            f"{IMKL_VALUES}/DiepteAangrijpingspuntValue/bovenkant",
        )
        position = _sub(
            _sub(element, "imkl:ligging"), "gml:Point", srsName=SRS, gml__id=f"{point.id}_geom"
        )
        _sub(position, "gml:pos", f"{point.x:.3f} {point.y:.3f}")
        _href(element, "imkl:inNetwork", _gml_id(network.owner, f"UNET_{network.id}"))
        if point.feature == "DiepteNAP":
            _sub(element, "imkl:maaiveldPeil", f"{point.ground:.3f}", uom="urn:ogc:def:uom:OGC::m")
    ET.indent(root, space=" ")
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def feature_counts(district: District) -> dict[str, int]:
    """Number of features per IMKL type the delivery holds."""
    counts = Counter(line.feature for line in district.lines)
    counts.update(point.feature for point in district.depth_points)
    counts["Utiliteitsnet"] = len(district.networks)
    counts["UtilityLink"] = len(district.lines)
    return dict(sorted(counts.items()))


def write_imkl(district: District, folder: Path) -> Path:
    """Write the delivery zip into ``folder``; returns its path."""
    name = f"{MELDNUMMER}_1"
    path = folder / f"Levering_{name}.zip"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        info = zipfile.ZipInfo(
            f"{name}/GI_gebiedsinformatielevering_{name}_V2.xml", date_time=(2026, 1, 5, 9, 0, 0)
        )
        info.compress_type = zipfile.ZIP_DEFLATED
        archive.writestr(info, delivery_xml(district))
    path.write_bytes(buffer.getvalue())
    return path
