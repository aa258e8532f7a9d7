"""Streaming parser of KLIC deliveries (IMKL 2.0 and 1.2) into plain records.

A delivery is a zip holding ``GI_gebiedsinformatielevering_*.xml`` (plus PDFs and PNGs) or that GI
xml itself. The XML is read with ``xml.etree.ElementTree.iterparse`` one ``gml:featureMember`` at a
time, so memory grows with the number of network features, not with the file size.

What is kept (``ImklDelivery``): cables, pipes and their containers with their geometry (through the
``net:link`` → ``UtilityLink`` indirection), the networks (``Utiliteitsnet`` thema and
``standaardDieptelegging``), depth points (``DiepteNAP``, ``DiepteTovMaaiveld``) and the
``dieptelegging`` links of a feature to them, ``ExtraGeometrie``
(2D and 2.5D/3D), appurtenances, the duct–pipe–cable nesting and a count of every feature class.
Coordinates are returned in RD New metres; other CRSs are reprojected with ``stadstwin.crs``.
``xsi:nil`` elements (with or without ``nilReason``) are read as "not given".
"""

from __future__ import annotations

import re
import warnings
import zipfile
import zlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path, PurePosixPath
from typing import IO
from xml.etree import ElementTree as ET

import numpy as np
from pyproj import CRS

from stadstwin.crs import is_internal, parse_crs, to_internal
from stadstwin.errors import CRSError, InputError

IMKL_NAMESPACES = {
    "http://www.geostandaarden.nl/imkl/wibon": "2.0",
    "http://www.geostandaarden.nl/imkl/2015/wion/1.2": "1.2",
}

#: IMKL classes that are cables or pipes (KabelOfLeiding) and containers (KabelEnLeidingContainer).
CABLE_AND_PIPE_CLASSES = (
    "Elektriciteitskabel",
    "OlieGasChemicalienPijpleiding",
    "Waterleiding",
    "Rioolleiding",
    "Telecommunicatiekabel",
    "ThermischePijpleiding",
    "Overig",
)
CONTAINER_CLASSES = ("Kabelbed", "Mantelbuis", "Duct")
LINEAR_CLASSES = CABLE_AND_PIPE_CLASSES + CONTAINER_CLASSES
APPURTENANCE_CLASSES = ("Appurtenance", "Kast", "Mangat", "Mast", "Toren", "TechnischGebouw")
DEPTH_CLASSES = ("DiepteNAP", "DiepteTovMaaiveld")
#: The polygons of the request a delivery answers: the area it covers.
AREA_CLASSES = ("Graafpolygoon", "Orientatiepolygoon", "Informatiepolygoon")

_GML_NS = "http://www.opengis.net/gml/3.2"
_XLINK_HREF = "{http://www.w3.org/1999/xlink}href"
_XSI_NIL = "{http://www.w3.org/2001/XMLSchema-instance}nil"
_GML_ID = f"{{{_GML_NS}}}id"
_GEOMETRY_TAGS = {
    "Point",
    "LineString",
    "Curve",
    "MultiCurve",
    "Polygon",
    "MultiSurface",
    "Surface",
    "MultiPoint",
    "LinearRing",
    "Solid",
    "CompositeCurve",
    "OrientableCurve",
}
_GI_FILE = re.compile(r"^GI_gebiedsinformatielevering_.*\.xml$", re.IGNORECASE)
_UOM_METRES = {"m": 1.0, "dm": 0.1, "cm": 0.01, "mm": 0.001, "km": 1000.0}
_DIAMETER_TAGS = ("kabelDiameter", "buisDiameter", "nominaleDiameter", "pipeDiameter", "ductWidth")
_CONTENT_TAGS = ("cables", "pipes", "ducts")


class ImklWarning(UserWarning):
    """A delivery quirk that is handled but worth telling the user about."""


@dataclass(frozen=True)
class Network:
    """One ``Utiliteitsnet``: ``thema`` code (None when nil) and standard depth to the top [m]."""

    gml_id: str
    thema: str | None
    standard_depth: float | None
    authority: str | None


@dataclass(frozen=True)
class LinearFeature:
    """A cable, pipe or container: IMKL class, id, network link and its centreline(s) in RD [m].

    ``lines`` holds (k, 2) or (k, 3) arrays (3 only for a 3D centreline, z in NAP).
    ``diameter`` is the delivered outer diameter [m] or None; ``status`` the ``currentStatus`` code;
    ``water_type`` the INSPIRE ``waterType`` code of a ``Waterleiding`` (``potable``, ``raw``...) or None;
    ``depth_links`` the ids of the ``DiepteNAP``/``DiepteTovMaaiveld`` its ``dieptelegging`` links to.
    """

    imkl_class: str
    gml_id: str
    network: str | None
    lines: tuple[np.ndarray, ...]
    diameter: float | None
    owner: str
    status: str | None
    extra_geometry: tuple[str, ...] = ()
    contents: tuple[str, ...] = ()
    water_type: str | None = None
    depth_links: tuple[str, ...] = ()


@dataclass(frozen=True)
class DepthPoint:
    """A ``DiepteNAP`` (``value`` = NAP level [m]) or ``DiepteTovMaaiveld`` (depth below ground [m]).

    ``reference`` is the ``diepteAangrijpingspunt`` code (``bovenkant`` when not given) and
    ``accuracy`` the ``diepteNauwkeurigheid`` class in metres (None when unknown).
    """

    imkl_class: str
    gml_id: str
    network: str | None
    xy: tuple[float, float]
    value: float
    reference: str
    accuracy: float | None


@dataclass(frozen=True)
class ExtraGeometry:
    """An ``ExtraGeometrie``: per geometry property (e.g. ``lijngeometrie2.5D``) its coordinate arrays."""

    gml_id: str
    network: str | None
    parts: dict[str, tuple[np.ndarray, ...]]

    def coordinates_3d(self) -> tuple[np.ndarray, ...]:
        """The (k, 3) arrays of every 2.5D/3D part (x, y in RD, z in NAP) [m]."""
        return tuple(a for arrays in self.parts.values() for a in arrays if a.shape[1] == 3)


@dataclass(frozen=True)
class Appurtenance:
    """A point asset (``Appurtenance``, ``Kast``, ``Mangat``, ``Mast``, ``Toren``, ``TechnischGebouw``)."""

    imkl_class: str
    gml_id: str
    network: str | None
    xy: tuple[float, float] | None
    status: str | None


@dataclass
class ImklDelivery:
    """Everything ``parse_imkl`` keeps from one delivery; coordinates in RD New [m]."""

    path: str
    version: str
    features: list[LinearFeature] = field(default_factory=list)
    networks: dict[str, Network] = field(default_factory=dict)
    depth_points: list[DepthPoint] = field(default_factory=list)
    extra_geometries: dict[str, ExtraGeometry] = field(default_factory=dict)
    appurtenances: list[Appurtenance] = field(default_factory=list)
    operators: dict[str, str] = field(default_factory=dict)
    class_counts: Counter = field(default_factory=Counter)
    area: list[np.ndarray] = field(default_factory=list)

    def area_bounds(self) -> tuple[float, float, float, float] | None:
        """(xmin, ymin, xmax, ymax) of the request polygons (graaf-, oriëntatie-, informatiepolygoon)
        in RD New [m]; None when the delivery holds none."""
        if not self.area:
            return None
        xy = np.vstack([a[:, :2] for a in self.area])
        return float(xy[:, 0].min()), float(xy[:, 1].min()), float(xy[:, 0].max()), float(xy[:, 1].max())

    def counts(self) -> dict[str, int]:
        """Number of features per IMKL class (every class in the file, e.g. ``Waterleiding``: 85)."""
        return dict(sorted(self.class_counts.items()))

    def container_of(self) -> dict[str, str]:
        """For each nested feature id the id of the innermost container holding it (Kabelbed ⊃ Mantelbuis ⊃ cable)."""
        parents: dict[str, list[str]] = {}
        for f in self.features:
            for child in f.contents:
                parents.setdefault(child, []).append(f.gml_id)

        def level(fid: str, seen: frozenset = frozenset()) -> int:
            if fid not in parents or fid in seen:
                return 0
            return 1 + max(level(p, seen | {fid}) for p in parents[fid])

        return {child: max(ps, key=level) for child, ps in parents.items()}


@lru_cache(maxsize=4096)
def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _namespace(tag: str) -> str:
    return tag[1:].split("}", 1)[0] if tag.startswith("{") else ""


def _is_nil(el: ET.Element) -> bool:
    return el.get(_XSI_NIL, "").strip().lower() in ("true", "1")


def _code(el: ET.Element | None) -> str | None:
    """The last path part of an ``xlink:href`` code-list value, or the element text; None when nil/empty."""
    if el is None or _is_nil(el):
        return None
    value = (el.get(_XLINK_HREF) or el.text or "").strip().rstrip("/")
    return value.rsplit("/", 1)[-1] or None


def _href(el: ET.Element) -> str | None:
    if _is_nil(el):
        return None
    return (el.get(_XLINK_HREF) or "").strip().lstrip("#") or None


def _children(feature: ET.Element, name: str) -> list[ET.Element]:
    return [c for c in feature if _local(c.tag) == name]


def _first(feature: ET.Element, name: str) -> ET.Element | None:
    for c in feature:
        if _local(c.tag) == name:
            return c
    return None


def bronhoudercode(gml_id: str) -> str | None:
    """The source-holder code in an IMKL id ``nl.imkl-<bronhoudercode>.<lokaalID>`` (e.g. ``KL1031``)."""
    local = gml_id.split("-", 1)[1] if gml_id.startswith("nl.imkl-") else gml_id
    code, dot, _ = local.partition(".")
    return code if dot and code else None


class _Reader:
    """State of one parse: where we are (for messages), the default CRS, and CRS caches."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.default_srs: str | None = None
        self._crs: dict[str, CRS] = {}
        self._internal: dict[str, bool] = {}

    def crs(self, srs_name: str | None, feature: str) -> CRS:
        if srs_name is None:
            srs_name = self.default_srs
        if srs_name is None:
            raise InputError(
                "geometry without srsName and the delivery declares no default CRS",
                path=self.path,
                feature=feature,
                hint='add srsName="urn:ogc:def:crs:EPSG::28992" to the geometry',
            )
        if srs_name not in self._crs:
            self._crs[srs_name] = crs = parse_crs(srs_name, path=self.path, feature=feature)
            self._internal[crs.srs] = is_internal(crs)
        return self._crs[srs_name]

    def measure(self, el: ET.Element | None, feature: str, what: str) -> float | None:
        """A gml Measure in metres; None when absent, nil, empty or without a unit (with a warning)."""
        if el is None or _is_nil(el) or not (el.text or "").strip():
            return None
        try:
            value = float(el.text)
        except ValueError:
            raise InputError(
                f"{what} {el.text.strip()!r} is not a number", path=self.path, feature=feature
            ) from None
        uom = el.get("uom")
        if uom is None:
            warnings.warn(
                f"{self.path}: {feature}: {what} has no uom; ignored", ImklWarning, stacklevel=4
            )
            return None
        unit = re.split(r"[:#/]", uom.strip())[-1].lower()
        if unit not in _UOM_METRES:
            raise InputError(
                f"{what} has unsupported unit {uom!r}",
                path=self.path,
                feature=feature,
                hint=f"use one of {', '.join(_UOM_METRES)}",
            )
        return value * _UOM_METRES[unit]

    def geometry(self, prop: ET.Element, feature: str) -> tuple[np.ndarray, ...]:
        """Coordinate arrays of the gml geometry inside a property element, in RD [m] (z kept, NAP)."""
        if _is_nil(prop):
            return ()
        geom = next((c for c in prop if _local(c.tag) in _GEOMETRY_TAGS), None)
        if geom is None:
            return ()
        return tuple(
            self._coordinates(geom, geom.get("srsName"), geom.get("srsDimension"), feature)
        )

    def _coordinates(
        self, el: ET.Element, srs: str | None, dim: str | None, feature: str
    ) -> Iterator[np.ndarray]:
        srs = el.get("srsName", srs)
        dim = el.get("srsDimension", dim)
        name = _local(el.tag)
        if name in ("posList", "pos", "coordinates"):
            yield self._positions(el, srs, dim, feature)
            return
        if name in ("segments", "Curve"):
            parts = [a for c in el for a in self._coordinates(c, srs, dim, feature)]
            if parts:
                yield _join(parts)
            return
        points = [c for c in el if _local(c.tag) == "pos"]
        if points:
            yield np.vstack([self._positions(p, srs, dim, feature) for p in points])
            rest = [c for c in el if _local(c.tag) != "pos"]
        else:
            rest = list(el)
        for child in rest:
            yield from self._coordinates(child, srs, dim, feature)

    def _positions(
        self, el: ET.Element, srs: str | None, dim: str | None, feature: str
    ) -> np.ndarray:
        text = (el.text or "").replace(",", " ").split()
        try:
            values = np.array(text, dtype=np.float64)
        except ValueError:
            raise InputError(
                f"coordinates are not numbers: {' '.join(text[:4])!r}...",
                path=self.path,
                feature=feature,
            ) from None
        crs = self.crs(srs, feature)
        n = int(dim) if dim else (3 if len(crs.axis_info) == 3 else 2)
        if n not in (2, 3) or len(values) == 0 or len(values) % n:
            raise InputError(
                f"{len(values)} coordinate values do not form {n}D positions",
                path=self.path,
                feature=feature,
            )
        xyz = values.reshape(-1, n)
        return self._to_rd(xyz, crs, srs or "", feature)

    def _to_rd(self, xyz: np.ndarray, crs: CRS, srs: str, feature: str) -> np.ndarray:
        if self._internal[crs.srs]:
            return xyz
        horizontal = crs.sub_crs_list[0] if crs.is_compound else crs
        x, y = xyz[:, 0], xyz[:, 1]
        # URN/URI srsNames use the authority axis order (GML); "EPSG:4326" style is x/y (lon, lat)
        if srs.lower().startswith(("urn:", "http")) and horizontal.axis_info[0].direction in (
            "north",
            "south",
        ):
            x, y = y, x
        if xyz.shape[1] == 3:
            raise CRSError(
                f"3D coordinates in {horizontal.name}: heights are only read in RD/NAP",
                path=self.path,
                feature=feature,
                hint="deliver 3D geometry in EPSG:7415",
            )
        rx, ry = to_internal(x, y, crs, path=self.path)
        return np.column_stack([rx, ry])


def _join(parts: list[np.ndarray]) -> np.ndarray:
    """Concatenate curve segments, dropping the repeated joint vertex."""
    out = [parts[0]]
    for p in parts[1:]:
        out.append(p[1:] if np.allclose(p[0], out[-1][-1]) else p)
    return np.vstack(out)


def _check_file(path: Path) -> bool:
    """Refuse what is not a readable delivery; True for a zip, False for an XML file."""
    if not path.exists():
        raise InputError("file not found", path=path)
    if path.is_dir():
        raise InputError("is a directory, expected a KLIC zip or GI xml", path=path)
    if path.stat().st_size == 0:
        raise InputError(
            "empty file", path=path, hint="expected a KLIC delivery zip or IMKL GI xml"
        )
    with path.open("rb") as f:
        head = f.read(512)
    if head.startswith(b"PK"):
        return True
    if not head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<"):
        raise InputError(
            "not a KLIC zip or an XML file",
            path=path,
            hint="expected a KLIC delivery zip or IMKL GI xml",
        )
    return False


def parse_imkl(path: str | Path) -> ImklDelivery:
    """Read a KLIC delivery zip or IMKL GI xml into an ``ImklDelivery``; raises ``InputError``.

    A zip holds one ``GI_gebiedsinformatielevering_*.xml``, except the transitional deliveries of the
    IMKL 2.0 changeover (January–April 2022), which hold the same complete data twice: as IMKL 1.2
    and as IMKL 2.0 (``…_V2.xml``). Then only the newest version is read, with an ``ImklWarning``
    naming the file used and the files skipped, so no asset is held twice.
    """
    path = Path(path)
    if not _check_file(path):
        return _parse_xml(str(path), path)
    try:
        with zipfile.ZipFile(path) as archive:
            members = sorted(n for n in archive.namelist() if _GI_FILE.match(PurePosixPath(n).name))
            if not members:
                raise InputError(
                    "zip holds no GI_gebiedsinformatielevering_*.xml",
                    path=path,
                    hint="pass the KLIC delivery zip as downloaded, or the GI xml itself",
                )
            deliveries = []
            for member in members:
                with archive.open(member) as stream:
                    deliveries.append(_parse_xml(f"{path}!{member}", stream))
    except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
        raise InputError(f"broken zip: {exc}", path=path) from exc
    if len(deliveries) == 1:
        return deliveries[0]
    chosen = max(deliveries, key=lambda d: (tuple(int(p) for p in d.version.split(".")), d.path.endswith("_V2.xml")))
    skipped = ", ".join(f"{PurePosixPath(d.path).name} (IMKL {d.version})" for d in deliveries if d is not chosen)
    warnings.warn(f"{path}: {len(deliveries)} GI files (a transitional delivery holds the same data in each); "
                  f"read {PurePosixPath(chosen.path).name} (IMKL {chosen.version}), skipped {skipped}",
                  ImklWarning, stacklevel=2)
    return chosen


def _parse_xml(label: str, source: IO[bytes] | Path) -> ImklDelivery:
    """Stream one GI xml into a new ``ImklDelivery``."""
    reader = _Reader(label)
    state = _Collector(reader)
    root: ET.Element | None = None
    version: str | None = None
    members_open = 0
    try:
        for event, el in ET.iterparse(source, events=("start", "end")):
            name = _local(el.tag)
            if event == "start":
                if root is None:
                    root = el
                if version is None:
                    version = IMKL_NAMESPACES.get(_namespace(el.tag))
                members_open += name in ("featureMember", "featureMembers")
                continue
            if name == "Envelope" and not members_open and reader.default_srs is None:
                # the collection's own boundedBy: the CRS the delivery declares for itself
                reader.default_srs = el.get("srsName")
            elif name in ("featureMember", "featureMembers"):
                members_open -= 1
                for feature in el:
                    state.add(feature)
                root.clear()  # keep memory flat: processed members are dropped
    except ET.ParseError as exc:
        line, column = exc.position
        raise InputError(
            f"broken XML at line {line}, column {column} ({exc})",
            path=label,
            hint="the file is truncated or not well-formed; download the delivery again",
        ) from None
    if version is None:
        raise InputError(
            "no IMKL 2.0 or 1.2 namespace in the file",
            path=label,
            hint=f"IMKL namespaces are {', '.join(IMKL_NAMESPACES)}",
        )
    delivery = ImklDelivery(path=label, version=version)
    state.finish(delivery)
    return delivery


class _Collector:
    """Turns feature elements into records; resolves ``net:link`` after the whole file is read."""

    def __init__(self, reader: _Reader) -> None:
        self.r = reader
        self.links: dict[str, tuple[np.ndarray, ...]] = {}
        self.pending: list[tuple[LinearFeature, list[str]]] = []  # features with their link ids
        self.out = ImklDelivery(path=reader.path, version="")

    def add(self, feature: ET.Element) -> None:
        name = _local(feature.tag)
        fid = feature.get(_GML_ID) or f"<{name} without gml:id>"
        self.out.class_counts[name] += 1
        network = next((_href(c) for c in feature if _local(c.tag) == "inNetwork"), None)
        if name == "UtilityLink":
            prop = _first(feature, "centrelineGeometry")
            self.links[fid] = self.r.geometry(prop, fid) if prop is not None else ()
        elif name in LINEAR_CLASSES:
            self._linear(feature, name, fid, network)
        elif name == "Utiliteitsnet":
            authority = next(
                (
                    c.text.strip()
                    for c in feature.iter()
                    if _local(c.tag) == "organisationName" and c.text and c.text.strip()
                ),
                None,
            )
            self.out.networks[fid] = Network(
                fid,
                _code(_first(feature, "thema")),
                self.r.measure(
                    _first(feature, "standaardDieptelegging"), fid, "standaardDieptelegging"
                ),
                authority,
            )
        elif name in DEPTH_CLASSES:
            self._depth(feature, name, fid, network)
        elif name in AREA_CLASSES:
            prop = _first(feature, "geometrie")
            self.out.area += self.r.geometry(prop, fid) if prop is not None else ()
        elif name == "ExtraGeometrie":
            parts = {}
            for prop in feature:
                key = _local(prop.tag)
                if "geometrie" in key.lower():
                    arrays = self.r.geometry(prop, fid)
                    if arrays:
                        parts[key] = arrays
            self.out.extra_geometries[fid] = ExtraGeometry(fid, network, parts)
        elif name in APPURTENANCE_CLASSES:
            prop = _first(feature, "geometry")
            arrays = self.r.geometry(prop, fid) if prop is not None else ()
            xy = (float(arrays[0][0, 0]), float(arrays[0][0, 1])) if arrays else None
            self.out.appurtenances.append(
                Appurtenance(name, fid, network, xy, _code(_first(feature, "currentStatus")))
            )
        elif name == "Beheerder":
            code = next(
                (
                    c.text.strip()
                    for c in feature.iter()
                    if _local(c.tag) == "bronhoudercode" and c.text
                ),
                None,
            )
            title = next(
                (c.text.strip() for c in feature.iter() if _local(c.tag) == "naam" and c.text), None
            )
            if code:
                self.out.operators[code] = title or code

    def _linear(self, feature: ET.Element, name: str, fid: str, network: str | None) -> None:
        diameter = None
        for tag in _DIAMETER_TAGS:
            value = self.r.measure(_first(feature, tag), fid, tag)
            if value is not None and value > 0:
                diameter = value
                break
        links = [h for c in _children(feature, "link") if (h := _href(c))]
        contents = tuple(h for c in feature if _local(c.tag) in _CONTENT_TAGS and (h := _href(c)))
        extra = tuple(h for c in _children(feature, "extraGeometrie") if (h := _href(c)))
        depth_links = tuple(h for c in _children(feature, "dieptelegging") if (h := _href(c)))
        record = LinearFeature(
            name,
            fid,
            network,
            (),
            diameter,
            bronhoudercode(fid) or "",
            _code(_first(feature, "currentStatus")),
            extra,
            contents,
            _code(_first(feature, "waterType")),
            depth_links,
        )
        self.pending.append((record, links))

    def _depth(self, feature: ET.Element, name: str, fid: str, network: str | None) -> None:
        prop = _first(feature, "ligging")
        arrays = self.r.geometry(prop, fid) if prop is not None else ()
        value = self.r.measure(_first(feature, "dieptePeil"), fid, "dieptePeil")
        if not arrays or value is None:
            warnings.warn(
                f"{self.r.path}: {fid}: {name} without position or dieptePeil; ignored",
                ImklWarning,
                stacklevel=3,
            )
            return
        accuracy_code = _code(_first(feature, "diepteNauwkeurigheid"))
        match = re.fullmatch(r"tot(\d+)cm", accuracy_code or "")
        self.out.depth_points.append(
            DepthPoint(
                name,
                fid,
                network,
                (float(arrays[0][0, 0]), float(arrays[0][0, 1])),
                value,
                _code(_first(feature, "diepteAangrijpingspunt")) or "bovenkant",
                int(match.group(1)) / 100.0 if match else None,
            )
        )

    def finish(self, delivery: ImklDelivery) -> None:
        """Resolve links into centrelines and merge this file's records into ``delivery``."""
        for record, links in self.pending:
            lines = []
            for link in links:
                if link not in self.links:
                    warnings.warn(
                        f"{self.r.path}: {record.gml_id}: net:link {link!r} not in the delivery",
                        ImklWarning,
                        stacklevel=3,
                    )
                lines.extend(a for a in self.links.get(link, ()) if len(a) >= 2)
            if not lines:
                warnings.warn(
                    f"{self.r.path}: {record.gml_id}: {record.imkl_class} has no centreline "
                    "geometry; left out of the network table",
                    ImklWarning,
                    stacklevel=3,
                )
            network = delivery.networks.get(record.network) or self.out.networks.get(record.network)
            authority = network.authority if network and network.authority else "unknown"
            self.out.features.append(
                replace(record, lines=tuple(lines), owner=record.owner or authority)
            )
        delivery.features += self.out.features
        delivery.networks |= self.out.networks
        delivery.depth_points += self.out.depth_points
        delivery.extra_geometries |= self.out.extra_geometries
        delivery.appurtenances += self.out.appurtenances
        delivery.operators |= self.out.operators
        delivery.class_counts += self.out.class_counts
        delivery.area += self.out.area
