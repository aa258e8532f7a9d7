"""Axis height (z, m NAP) per vertex of IMKL cables and pipes, with its source and uncertainty.

IMKL's mandatory geometry is 2D. Per vertex, best first:

1. 3D: a 2.5D/3D ``ExtraGeometrie`` of the feature (or a 3D centreline) within ``tolerance``
   horizontally → ``MEASURED_NAP``. IMKL adds z to each coordinate of the 2D representation, and the
   2D representation of a cable or pipe is its centreline, so that z is taken as the **axis**.
2. Depth points of the same network within ``tolerance`` of the line: ``DiepteNAP`` (dieptePeil is
   the NAP level of the measured point → ``MEASURED_NAP``) or ``DiepteTovMaaiveld`` (dieptePeil is the
   depth below the local ground → ``MEASURED_BELOW_GROUND``, converted with ``ground``). A depth point
   holds along the line within ± ``tolerance`` of its projection; vertices are inserted at the ends of
   that stretch so it shows as measured segments.
3. The network's ``standaardDieptelegging`` → ``STANDARD_DEPTH``.
4. The minimum cover of the kind from the rules, surface unknown → strictest → ``PROFILE_DEFAULT``.

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

from stadstwin.errors import InputError
from stadstwin.io.imkl_parse import DepthPoint, ImklDelivery, ImklWarning, LinearFeature
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


def _at(values: np.ndarray, seg: np.ndarray, t: np.ndarray) -> np.ndarray:
    """A per-vertex quality at points on segments: the vertex's own at an end, else the worse end."""
    inner = np.maximum(values[seg], values[seg + 1])
    return np.where(t <= 1e-9, values[seg], np.where(t >= 1 - 1e-9, values[seg + 1], inner))


class DepthResolver:
    """Computes ``VertexDepths`` for every centreline of a delivery.

    ``ground(x, y)`` gives ground level [m NAP]; ``radius`` and ``cover`` give the outer radius and
    minimum cover [m] of a feature (from the delivered diameter or the rules).
    """

    def __init__(
        self,
        delivery: ImklDelivery,
        ground: Callable[[np.ndarray, np.ndarray], np.ndarray],
        radius: Callable[[LinearFeature], float],
        cover: Callable[[LinearFeature], float],
        tolerance: float = DEFAULT_TOLERANCE,
    ) -> None:
        if not tolerance >= 0.0:
            raise ValueError(f"depth tolerance must be >= 0 m, got {tolerance}")
        self.delivery = delivery
        self.ground = ground
        self.radius = radius
        self.cover = cover
        self.tolerance = tolerance
        self._points_by_network: dict[str | None, list[DepthPoint]] = {}
        for p in delivery.depth_points:
            self._points_by_network.setdefault(p.network, []).append(p)

    def resolve(self) -> dict[str, list[VertexDepths]]:
        """Per feature id, the axis heights of each of its centrelines.

        Three passes: vertices (containers before their contents, so a content gets vertices where
        its container's start and end), one batched ground sample of every vertex, then depths.
        """
        container = self.delivery.container_of()
        by_id = {f.gml_id: f for f in self.delivery.features}

        def nesting(fid: str) -> int:
            n, seen = 0, {fid}
            while fid in container and container[fid] not in seen:
                fid = container[fid]
                seen.add(fid)
                n += 1
            return n

        order = sorted(self.delivery.features, key=lambda f: nesting(f.gml_id))
        parents = {f.gml_id: by_id.get(container.get(f.gml_id, "")) for f in order}
        play = {
            f.gml_id: max(self.radius(parents[f.gml_id]) - self.radius(f), 0.0)
            if parents[f.gml_id] is not None
            else 0.0
            for f in order
        }
        geometry: dict[str, list[tuple[np.ndarray, list[tuple[float, DepthPoint]]]]] = {}
        for f in order:
            parent = parents[f.gml_id]
            parent_lines = [line for line, _ in geometry.get(parent.gml_id, [])] if parent else []
            geometry[f.gml_id] = [
                self._vertices(f, line, parent_lines, play[f.gml_id]) for line in f.lines
            ]
        ground = self._ground_at(order, geometry)
        out: dict[str, list[VertexDepths]] = {}
        for f in order:
            own = [
                self._own(f, line, matches, g)
                for (line, matches), g in zip(geometry[f.gml_id], ground[f.gml_id])
            ]
            parent = parents[f.gml_id]
            if parent is not None and out.get(parent.gml_id):
                own = [
                    self._inherit(v, parent.gml_id, out[parent.gml_id], play[f.gml_id]) for v in own
                ]
            out[f.gml_id] = own
        return out

    def _vertices(
        self, feature: LinearFeature, line: np.ndarray, parent: list[np.ndarray], play: float
    ) -> tuple[np.ndarray, list[tuple[float, DepthPoint]]]:
        """The line with vertices added where a depth-point stretch or a container vertex (within
        tolerance + ``play``) falls between two of its vertices, and the matching depth points."""
        cuts = [self._along(p, line, self.tolerance + play) for p in parent if len(p) >= 2]
        matches: list[tuple[float, DepthPoint]] = []
        if line.shape[1] == 2:  # a 3D centreline already has its measured axis
            points = self._points_by_network.get(feature.network, []) + (
                self._points_by_network.get(None, []) if feature.network is not None else []
            )
            matches = self._matching_points(line, points)
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

    def _matching_points(
        self, line: np.ndarray, points: list[DepthPoint]
    ) -> list[tuple[float, DepthPoint]]:
        """(arc length of the projection [m], point) for every depth point within tolerance of the line."""
        if not points:
            return []
        xy = np.array([p.xy for p in points])
        d, seg, t = _project(xy, line)
        s = _arc_length(line)
        along = s[seg] + t * (s[seg + 1] - s[seg])
        return [(float(along[i]), points[i]) for i in np.flatnonzero(d <= self.tolerance)]

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
        self, own: VertexDepths, parent_id: str, parent: list[VertexDepths], play: float
    ) -> VertexDepths:
        """Where the feature lies inside its container (within tolerance + play of its axis): the
        container's outermost container (or the container itself), and the container's axis unless
        the feature's own depth is more certain."""
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
            inside = d <= self.tolerance + play
            outer = np.where(
                p.segment_container()[seg] != "", p.segment_container()[seg], parent_id
            )
            container[inside] = outer[inside]
            z_parent = p.vertices[seg, 2] + t * (p.vertices[seg + 1, 2] - p.vertices[seg, 2])
            src_parent = _at(p.source, seg, t)
            unc_parent = _at(p.uncertainty, seg, t) + play
            better = inside & (src_parent <= source)
            z[better], source[better], uncertainty[better] = (
                z_parent[better],
                src_parent[better],
                unc_parent[better],
            )
        return VertexDepths(
            np.column_stack([own.vertices[:, :2], z]), source, uncertainty, container
        )
