"""Axis height (z, m NAP) per vertex of IMKL cables and pipes, with its source and uncertainty.

IMKL's mandatory geometry is 2D. Per vertex, best first:

1. 3D: a 2.5D/3D ``ExtraGeometrie`` of the feature (or a 3D centreline) within ``tolerance``
   horizontally → ``MEASURED_NAP``. IMKL adds z to each coordinate of the 2D representation, and the
   2D representation of a cable or pipe is its centreline, so that z is taken as the **axis**.
2. Depth points: ``DiepteNAP`` (dieptePeil is the NAP level of the measured point → ``MEASURED_NAP``)
   or ``DiepteTovMaaiveld`` (dieptePeil is the depth below the local ground → ``MEASURED_BELOW_GROUND``,
   converted with ``ground``). The points a feature links with ``dieptelegging`` are its own wherever
   they lie (on the nearest of its lines; one farther than ``FAR_DEPTH_LINK`` gets an ``ImklWarning``
   with the distance); a point that no feature links applies, as a fallback, to every line of its
   network within ``tolerance``. A depth point holds along the line within ± ``tolerance`` of its
   projection; vertices are inserted at the ends of that stretch so it shows as measured segments.
3. The network's ``standaardDieptelegging`` → ``STANDARD_DEPTH``.
4. The minimum cover of the kind from the rules, surface unknown → strictest → ``PROFILE_DEFAULT``.

Containers: a feature linked into a Kabelbed/Mantelbuis/Duct (``cables``/``pipes``/``ducts``) lies in
it. A feature linked into none is *held* by each container of the same owner (bronhoudercode) and
network utility group (electricity, gas, water...: an operator's gas main beside its power trench is
not in it) along which its 2D axis runs within the container's radius + ``CONTAINED_TOLERANCE`` over
``CONTAINED_LENGTH`` (or 90 % of the shorter of the two); a long cable may run through several
trenches. Any container holds a cable or pipe (delivered widths are often nominal, e.g. a 1 cm Duct);
a container holds only a smaller one (radius, then Kabelbed ⊃ Duct ⊃ Mantelbuis, then id). A held
vertex lies in the container where it is within that reach of its axis and the depth intervals (axis
± uncertainty, plus the play) overlap; unlike a linked one it keeps its own depth.

IMKL (dataspecificatie, "Diepte"): dieptePeil is the distance from the reference (NAP or ground) to
the **top** (bovenkant) of the object unless ``diepteAangrijpingspunt`` says otherwise (e.g. the inner
bottom of a sewer); standaardDieptelegging is read the same way (depth of the top). The axis is then
top − radius (or bottom + radius). A cable or pipe nested in a Kabelbed/Mantelbuis/Duct lies inside
it: it takes the container's axis unless its own depth is more certain, with the container's
uncertainty plus the play (container radius − own radius).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import shapely
from shapely.geometry import MultiLineString

from stadstwin.errors import InputError
from stadstwin.io.imkl_parse import (
    CONTAINER_CLASSES,
    DepthPoint,
    ImklDelivery,
    ImklWarning,
    LinearFeature,
)
from stadstwin.model.enums import DepthSource

#: 1-sigma-like axis-height uncertainty [m] per source when the delivery states none.
#: Measured: the best IMKL accuracy class (tot10cm); a stated ``diepteNauwkeurigheid`` (tot20cm,
#: tot50cm, ...) replaces it. Standard depth: a network-wide nominal value, laying practice varies
#: about ±0.3 m around it. Profile default: the minimum cover is a lower bound; real cover is
#: commonly up to ~0.5 m more.
DEPTH_UNCERTAINTY: dict[DepthSource, float] = {
    DepthSource.MEASURED_NAP: 0.10,
    DepthSource.MEASURED_BELOW_GROUND: 0.10,
    DepthSource.STANDARD_DEPTH: 0.30,
    DepthSource.PROFILE_DEFAULT: 0.50,
}

DEFAULT_TOLERANCE = 1.0  # m, horizontal distance within which a depth point or 3D geometry applies
FAR_DEPTH_LINK = 5.0  # m: a depth point linked by dieptelegging farther than this from its line is reported
CONTAINED_TOLERANCE = 0.05  # m: a held axis may lie this far outside its container's radius (digitising)
CONTAINED_LENGTH = 1.0  # m: a container holds an unlinked feature whose axis runs inside it this long
_SAME_VERTEX = 1e-3  # m, closer than this an inserted vertex is merged with an existing one


@dataclass(frozen=True)
class VertexDepths:
    """One centreline with its axis heights, per vertex.

    vertices (k, 3) [m, z NAP], source (k,) int8 ``DepthSource``, uncertainty (k,) [m], container
    (k,) str: id of the outermost Kabelbed/Mantelbuis/Duct the vertex lies in, "" in the soil.
    """

    vertices: np.ndarray
    source: np.ndarray
    uncertainty: np.ndarray
    container: np.ndarray

    def segment_container(self) -> np.ndarray:
        """(k-1,) container of each segment: the one both its ends lie in, else ""."""
        same = self.container[:-1] == self.container[1:]
        return np.where(same, self.container[:-1], "")


def reference_offset(reference: str) -> float:
    """Axis minus measured point, in radii: top (bovenkant) −1, bottom (onderkant, binnenonderkant) +1."""
    code = reference.lower()
    if "onder" in code:
        return 1.0
    if "midden" in code or "hart" in code:
        return 0.0
    if "boven" not in code:
        warnings.warn(
            f"unknown diepteAangrijpingspunt {reference!r}; taken as the top (IMKL default)",
            ImklWarning,
            stacklevel=3,
        )
    return -1.0


def _project(points: np.ndarray, line: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For (m, 2) points and a (k, 2) polyline: horizontal distance, segment index, parameter t ∈ [0, 1]."""
    a = line[:-1, :2]
    ab = line[1:, :2] - a
    length2 = np.maximum(np.einsum("ij,ij->i", ab, ab), 1e-24)
    ap = points[:, None, :2] - a[None]
    t = np.clip(np.einsum("mij,ij->mi", ap, ab) / length2, 0.0, 1.0)
    d = np.linalg.norm(ap - t[..., None] * ab[None], axis=2)
    seg = np.argmin(d, axis=1)
    rows = np.arange(len(points))
    return d[rows, seg], seg, t[rows, seg]


def _arc_length(line: np.ndarray) -> np.ndarray:
    return np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(line[:, :2], axis=0), axis=1))])


def _insert_vertices(line: np.ndarray, at: np.ndarray) -> np.ndarray:
    """The polyline with extra vertices at arc lengths ``at`` [m] (unless one is already there)."""
    s = _arc_length(line)
    new = np.array(
        [v for v in np.unique(np.clip(at, 0.0, s[-1])) if np.min(np.abs(s - v)) > _SAME_VERTEX]
    )
    if not len(new):
        return line
    merged = np.sort(np.concatenate([s, new]))
    return np.column_stack([np.interp(merged, s, line[:, i]) for i in range(line.shape[1])])


def _crossings(line: np.ndarray, axis: MultiLineString, reach: float) -> np.ndarray:
    """Arc lengths [m] along ``line`` where it enters or leaves the band of ``reach`` about ``axis``."""
    plan = shapely.LineString(line[:, :2])
    inside = shapely.intersection(plan, shapely.buffer(axis, reach))
    ends = shapely.get_coordinates(shapely.boundary(inside))
    return np.asarray(shapely.line_locate_point(plan, shapely.points(ends)), dtype=np.float64)


def _at(values: np.ndarray, seg: np.ndarray, t: np.ndarray) -> np.ndarray:
    """A per-vertex quality at points on segments: the vertex's own at an end, else the worse end."""
    inner = np.maximum(values[seg], values[seg + 1])
    return np.where(t <= 1e-9, values[seg], np.where(t >= 1 - 1e-9, values[seg + 1], inner))


def _plan(feature: LinearFeature) -> MultiLineString:
    return MultiLineString([line[:, :2] for line in feature.lines])


def held_by_geometry(
    delivery: ImklDelivery,
    radius: Callable[[LinearFeature], float],
    group: Callable[[LinearFeature], str],
    linked: dict[str, str],
) -> dict[str, list[str]]:
    """For each feature not in ``linked`` (child → container), the ids of the containers that hold it
    by their geometry (see the module docstring), innermost first. A long cable may pass through
    several trenches one after another; two coinciding containers of one owner nest (one holds the
    other: larger radius, then Kabelbed ⊃ Duct ⊃ Mantelbuis, then id), so their contents see one stack."""
    rank = {name: k for k, name in enumerate(("Mantelbuis", "Duct", "Kabelbed"))}

    def size(f: LinearFeature) -> tuple[float, int, str]:
        return radius(f), rank[f.imkl_class], f.gml_id

    containers = [f for f in delivery.features if f.imkl_class in CONTAINER_CLASSES and f.lines]
    if not containers:
        return {}
    plans = [_plan(c) for c in containers]
    reach = [shapely.buffer(p, radius(c) + CONTAINED_TOLERANCE) for p, c in zip(plans, containers)]
    tree = shapely.STRtree(reach)
    out: dict[str, list[str]] = {}
    for f in delivery.features:
        if f.gml_id in linked or not f.lines:
            continue
        axis = _plan(f)
        holders = [
            containers[k]
            for k in tree.query(axis)
            if containers[k].owner == f.owner
            and group(containers[k]) == group(f)
            and (f.imkl_class not in CONTAINER_CLASSES or size(containers[k]) > size(f))
            and shapely.intersection(axis, reach[k]).length
            >= min(CONTAINED_LENGTH, 0.9 * min(axis.length, plans[k].length))
        ]
        if holders:
            out[f.gml_id] = [c.gml_id for c in sorted(holders, key=size)]
    return out


class DepthResolver:
    """Computes ``VertexDepths`` for every centreline of a delivery.

    ``ground(x, y)`` gives ground level [m NAP]; ``radius`` and ``cover`` give the outer radius and
    minimum cover [m] of a feature (from the delivered diameter or the rules), ``group`` the utility
    group of its network (``electricity``, ``gas``...; a container holds only its own group by geometry).
    """

    def __init__(
        self,
        delivery: ImklDelivery,
        ground: Callable[[np.ndarray, np.ndarray], np.ndarray],
        radius: Callable[[LinearFeature], float],
        cover: Callable[[LinearFeature], float],
        group: Callable[[LinearFeature], str],
        tolerance: float = DEFAULT_TOLERANCE,
    ) -> None:
        if not tolerance >= 0.0:
            raise ValueError(f"depth tolerance must be >= 0 m, got {tolerance}")
        self.delivery = delivery
        self.ground = ground
        self.radius = radius
        self.cover = cover
        self.group = group
        self.tolerance = tolerance
        self._points = {p.gml_id: p for p in delivery.depth_points}
        linked = {ref for f in delivery.features for ref in f.depth_links}
        self._points_by_network: dict[str | None, list[DepthPoint]] = {}
        for p in delivery.depth_points:
            if p.gml_id not in linked:  # proximity is the fallback for points no feature links
                self._points_by_network.setdefault(p.network, []).append(p)

    def resolve(self) -> dict[str, list[VertexDepths]]:
        """Per feature id, the axis heights of each of its centrelines.

        Three passes: vertices (containers before their contents, so a content gets vertices where
        its container's start and end), one batched ground sample of every vertex, then depths.
        """
        by_id = {f.gml_id: f for f in self.delivery.features}
        linked = self.delivery.container_of()
        # per feature its containers: (container, linked?); a linked one is the only one
        parents: dict[str, list[tuple[LinearFeature, bool]]] = {
            child: [(by_id[parent], True)] for child, parent in linked.items() if parent in by_id
        }
        for child, holders in held_by_geometry(self.delivery, self.radius, self.group, linked).items():
            parents[child] = [(by_id[h], False) for h in holders]

        levels: dict[str, int] = {}

        def nesting(fid: str, seen: frozenset = frozenset()) -> int:
            """Containers above the feature (memoised: coinciding trenches nest many deep)."""
            if fid not in levels:
                up = [p.gml_id for p, _ in parents.get(fid, ()) if p.gml_id not in seen]
                levels[fid] = 1 + max(nesting(p, seen | {fid}) for p in up) if up else 0
            return levels[fid]

        order = sorted(self.delivery.features, key=lambda f: nesting(f.gml_id))
        # (container, play, reach, linked?) per feature: a vertex lies in a linked container within
        # the depth tolerance + play of its axis, in a holding one within the container's reach
        nests = {
            f.gml_id: [
                (
                    p,
                    max(self.radius(p) - self.radius(f), 0.0),
                    self.tolerance + max(self.radius(p) - self.radius(f), 0.0)
                    if is_linked
                    else self.radius(p) + CONTAINED_TOLERANCE,
                    is_linked,
                )
                for p, is_linked in parents.get(f.gml_id, ())
            ]
            for f in order
        }
        geometry: dict[str, list[tuple[np.ndarray, list[tuple[float, DepthPoint]]]]] = {}
        for f in order:
            around = [
                ([line for line, _ in geometry.get(p.gml_id, [])], reach, is_linked)
                for p, _, reach, is_linked in nests[f.gml_id]
            ]
            points = self._linked_points(f)
            geometry[f.gml_id] = [
                self._vertices(f, line, around, points.get(k, [])) for k, line in enumerate(f.lines)
            ]
        ground = self._ground_at(order, geometry)
        out: dict[str, list[VertexDepths]] = {}
        for f in order:
            own = [
                self._own(f, line, matches, g)
                for (line, matches), g in zip(geometry[f.gml_id], ground[f.gml_id])
            ]
            for p, play, reach, is_linked in nests[f.gml_id]:
                if out.get(p.gml_id):
                    own = [
                        self._inherit(v, p.gml_id, out[p.gml_id], play, reach, is_linked) for v in own
                    ]
            out[f.gml_id] = own
        return out

    def _linked_points(self, feature: LinearFeature) -> dict[int, list[DepthPoint]]:
        """The depth points the feature links with ``dieptelegging``, per index of its nearest 2D line;
        warns about a link to a missing point and about a point farther than ``FAR_DEPTH_LINK``."""
        lines = [(k, line) for k, line in enumerate(feature.lines) if line.shape[1] == 2]
        out: dict[int, list[DepthPoint]] = {}
        for ref in feature.depth_links:
            point = self._points.get(ref)
            if point is None:
                warnings.warn(
                    f"{self.delivery.path}: {feature.gml_id}: dieptelegging {ref!r} is not a depth "
                    "point of the delivery; link ignored",
                    ImklWarning,
                    stacklevel=4,
                )
                continue
            if not lines:
                continue
            distance = [float(_project(np.array([point.xy]), line)[0][0]) for _, line in lines]
            nearest = int(np.argmin(distance))
            if distance[nearest] > FAR_DEPTH_LINK:
                warnings.warn(
                    f"{self.delivery.path}: {feature.gml_id}: linked depth point {point.gml_id} lies "
                    f"{distance[nearest]:.1f} m from the line (more than {FAR_DEPTH_LINK:g} m); its "
                    "depth is used at the nearest point of the line",
                    ImklWarning,
                    stacklevel=4,
                )
            out.setdefault(lines[nearest][0], []).append(point)
        return out

    def _vertices(
        self,
        feature: LinearFeature,
        line: np.ndarray,
        around: list[tuple[list[np.ndarray], float, bool]],
        linked: list[DepthPoint],
    ) -> tuple[np.ndarray, list[tuple[float, DepthPoint]]]:
        """The line with vertices added where a depth-point stretch or a vertex of a container
        (``around``: its lines, reach, linked?) within reach falls between two of its vertices, and
        where it enters or leaves the reach of a holding (not linked) container; and the depth points
        that apply: the ``linked`` ones wherever they lie, unlinked ones of its network within tolerance."""
        cuts = []
        for lines, reach, is_linked in around:
            lines = [p for p in lines if len(p) >= 2]
            cuts += [self._along(p, line, reach) for p in lines]
            if not is_linked and lines:
                cuts.append(_crossings(line, MultiLineString([p[:, :2] for p in lines]), reach))
        matches: list[tuple[float, DepthPoint]] = []
        if line.shape[1] == 2:  # a 3D centreline already has its measured axis
            points = self._points_by_network.get(feature.network, []) + (
                self._points_by_network.get(None, []) if feature.network is not None else []
            )
            matches = self._matching_points(line, linked, np.inf) + self._matching_points(
                line, points, self.tolerance
            )
            cuts += [np.array([s - self.tolerance, s + self.tolerance]) for s, _ in matches]
        if cuts:
            line = _insert_vertices(line, np.concatenate(cuts))
        return line, matches

    def _ground_at(
        self, order: list[LinearFeature], geometry: dict[str, list[tuple[np.ndarray, list]]]
    ) -> dict[str, list[np.ndarray]]:
        """Ground level [m NAP] at every vertex, sampled in one call; refuses gaps."""
        lines = [(f, line) for f in order for line, _ in geometry[f.gml_id]]
        xy = np.vstack([line[:, :2] for _, line in lines]) if lines else np.empty((0, 2))
        z = np.asarray(self.ground(xy[:, 0], xy[:, 1]), dtype=np.float64)
        if np.isnan(z).any():
            first = int(np.flatnonzero(np.isnan(z))[0])
            ends = np.cumsum([len(line) for _, line in lines])
            feature = lines[int(np.searchsorted(ends, first, side="right"))][0]
            raise InputError(
                f"no ground level at x={xy[first, 0]:.2f}, y={xy[first, 1]:.2f}",
                path=self.delivery.path,
                feature=feature.gml_id,
                hint="give a DTM that covers the delivery, or a constant ground",
            )
        out: dict[str, list[np.ndarray]] = {f.gml_id: [] for f in order}
        for (f, _), part in zip(
            lines, np.split(z, np.cumsum([len(line) for _, line in lines])[:-1])
        ):
            out[f.gml_id].append(part)
        return out

    def _own(
        self,
        feature: LinearFeature,
        line: np.ndarray,
        matches: list[tuple[float, DepthPoint]],
        ground: np.ndarray,
    ) -> VertexDepths:
        """Depths from the feature's own data: 3D centreline, depth points, 3D extra geometry,
        standard depth or the profile default (see the module docstring)."""
        n = len(line)
        if line.shape[1] == 3:  # a 3D centreline: z is the axis in NAP
            return VertexDepths(
                line.copy(),
                np.full(n, DepthSource.MEASURED_NAP, np.int8),
                np.full(n, DEPTH_UNCERTAINTY[DepthSource.MEASURED_NAP]),
                np.full(n, "", dtype=object),
            )
        r = self.radius(feature)
        network = self.delivery.networks.get(feature.network)
        xy = line[:, :2]
        if network is not None and network.standard_depth is not None:
            source = np.full(n, DepthSource.STANDARD_DEPTH, np.int8)
            z = ground - network.standard_depth - r
        else:
            source = np.full(n, DepthSource.PROFILE_DEFAULT, np.int8)
            z = ground - self.cover(feature) - r
        uncertainty = np.full(n, DEPTH_UNCERTAINTY[DepthSource(int(source[0]))])
        if matches:
            s = _arc_length(line)
            distance = np.array([np.abs(s - s_point) for s_point, _ in matches])  # (points, n)
            nearest = np.argmin(distance, axis=0)
            for i in np.flatnonzero(
                distance[nearest, np.arange(n)] <= self.tolerance + _SAME_VERTEX
            ):
                point = matches[nearest[i]][1]
                top_to_axis = reference_offset(point.reference) * r
                if point.imkl_class == "DiepteNAP":
                    z[i], source[i] = point.value + top_to_axis, DepthSource.MEASURED_NAP
                else:
                    z[i], source[i] = (
                        ground[i] - point.value + top_to_axis,
                        DepthSource.MEASURED_BELOW_GROUND,
                    )
                uncertainty[i] = point.accuracy or DEPTH_UNCERTAINTY[DepthSource(int(source[i]))]
        self._apply_3d(feature, xy, z, source, uncertainty)
        return VertexDepths(
            np.column_stack([xy, z]), source, uncertainty, np.full(n, "", dtype=object)
        )

    @staticmethod
    def _along(points: np.ndarray, line: np.ndarray, within: float) -> np.ndarray:
        """Arc lengths [m] along ``line`` of the projections of the points within ``within`` of it."""
        d, seg, t = _project(points, line)
        s = _arc_length(line)
        return (s[seg] + t * (s[seg + 1] - s[seg]))[d <= within]

    @staticmethod
    def _matching_points(
        line: np.ndarray, points: list[DepthPoint], within: float
    ) -> list[tuple[float, DepthPoint]]:
        """(arc length of the projection [m], point) for every depth point within ``within`` [m] of the line."""
        if not points:
            return []
        xy = np.array([p.xy for p in points])
        d, seg, t = _project(xy, line)
        s = _arc_length(line)
        along = s[seg] + t * (s[seg + 1] - s[seg])
        return [(float(along[i]), points[i]) for i in np.flatnonzero(d <= within)]

    def _apply_3d(
        self,
        feature: LinearFeature,
        xy: np.ndarray,
        z: np.ndarray,
        source: np.ndarray,
        uncertainty: np.ndarray,
    ) -> None:
        for ref in feature.extra_geometry:
            extra = self.delivery.extra_geometries.get(ref)
            for part in extra.coordinates_3d() if extra else ():
                if len(part) == 1:
                    d = np.linalg.norm(xy - part[0, :2], axis=1)
                    z_part = np.full(len(xy), part[0, 2])
                else:
                    d, seg, t = _project(xy, part)
                    z_part = part[seg, 2] + t * (part[seg + 1, 2] - part[seg, 2])
                hit = d <= self.tolerance
                z[hit] = z_part[hit]
                source[hit] = DepthSource.MEASURED_NAP
                uncertainty[hit] = DEPTH_UNCERTAINTY[DepthSource.MEASURED_NAP]

    def _inherit(
        self,
        own: VertexDepths,
        parent_id: str,
        parent: list[VertexDepths],
        play: float,
        reach: float,
        take_depth: bool,
    ) -> VertexDepths:
        """Where the feature lies inside its container (within ``reach`` of its axis and, unless
        ``take_depth``, where their depth intervals overlap): the container's outermost container (or
        the container itself); with ``take_depth`` also the container's axis unless the feature's own
        depth is more certain."""
        z, source, uncertainty = (
            own.vertices[:, 2].copy(),
            own.source.copy(),
            own.uncertainty.copy(),
        )
        container = own.container.copy()
        for p in parent:
            if len(p.vertices) < 2:
                continue
            d, seg, t = _project(own.vertices, p.vertices)
            z_parent = p.vertices[seg, 2] + t * (p.vertices[seg + 1, 2] - p.vertices[seg, 2])
            src_parent = _at(p.source, seg, t)
            unc_parent = _at(p.uncertainty, seg, t) + play
            inside = d <= reach + _SAME_VERTEX
            if not take_depth:
                inside &= np.abs(own.vertices[:, 2] - z_parent) <= unc_parent + own.uncertainty
            outer = np.where(
                p.segment_container()[seg] != "", p.segment_container()[seg], parent_id
            )
            container[inside] = outer[inside]
            better = inside & (src_parent <= source) & take_depth
            z[better], source[better], uncertainty[better] = (
                z_parent[better],
                src_parent[better],
                unc_parent[better],
            )
        return VertexDepths(
            np.column_stack([own.vertices[:, :2], z]), source, uncertainty, container
        )
