"""Underground networks as one structure-of-arrays table of straight segments.

This is the form the numba kernels consume directly: ``p0``/``p1`` are the axis end points
(x, y, z) in EPSG:7415 metres — z is the **axis** height in NAP, not the top of the pipe.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from stadstwin.errors import InputError
from stadstwin.model.enums import DepthSource, Status
from stadstwin.model.utilities import Utility

_PER_SEGMENT = (
    "p0",
    "p1",
    "outer_diameter",
    "utility",
    "owner",
    "status",
    "depth_source",
    "depth_uncertainty",
    "feature_id",
    "asset",
    "container",
)


@dataclass(frozen=True, eq=False)
class NetworkTable:
    """Straight cable/pipe segments, one row per segment.

    p0, p1             (N, 3) float64  axis start / end x, y, z [m, EPSG:7415]
    outer_diameter     (N,) float64    [m]
    utility            (N,) int8       ``Utility`` code
    owner              (N,) int32      index into ``owners`` (organisation, e.g. KLIC bronhoudercode)
    status             (N,) int8       ``Status`` code
    depth_source       (N,) int8       ``DepthSource`` code (the less certain of the two ends)
    depth_uncertainty  (N,) float64    [m], 1-sigma-like bound on the axis height
    feature_id         (N,) str        source feature id (IMKL id, variant edit id)
    asset              (N,) int64      index of the polyline the segment belongs to
    container          (N,) str        feature id of the outermost Kabelbed/Mantelbuis/Duct the
                                       segment lies in, "" when it lies in the soil
    owners             tuple[str]      organisation names
    """

    p0: np.ndarray
    p1: np.ndarray
    outer_diameter: np.ndarray
    utility: np.ndarray
    owner: np.ndarray
    status: np.ndarray
    depth_source: np.ndarray
    depth_uncertainty: np.ndarray
    feature_id: np.ndarray
    asset: np.ndarray
    container: np.ndarray
    owners: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        n = len(self.p0)
        for name in _PER_SEGMENT:
            value = getattr(self, name)
            if len(value) != n:
                raise ValueError(f"NetworkTable.{name} has {len(value)} rows, expected {n}")
        for name in ("p0", "p1"):
            if getattr(self, name).shape != (n, 3):
                raise ValueError(f"NetworkTable.{name} must have shape (N, 3)")
        if n and (self.owner.min() < 0 or self.owner.max() >= len(self.owners)):
            raise ValueError("NetworkTable.owner indexes outside owners")

    def __len__(self) -> int:
        return len(self.p0)

    @property
    def radius(self) -> np.ndarray:
        """Outer radius of each segment [m]."""
        return 0.5 * self.outer_diameter

    @property
    def length(self) -> np.ndarray:
        """3D length of each segment [m]."""
        return np.linalg.norm(self.p1 - self.p0, axis=1)

    @property
    def owner_name(self) -> np.ndarray:
        """Owner organisation of each segment as strings."""
        return np.asarray(self.owners, dtype=object)[self.owner] if len(self) else np.array([], dtype=object)

    def one_asset(self, i: np.ndarray, j: np.ndarray) -> np.ndarray:
        """Whether rows ``i`` and ``j`` belong to one asset: the same polyline, or two lines of one
        feature (an IMKL feature may have a MultiCurve: its lines are one cable or pipe)."""
        fid = self.feature_id
        return (self.asset[i] == self.asset[j]) | ((fid[i] == fid[j]) & (fid[i] != ""))

    def nested(self, i: np.ndarray, j: np.ndarray) -> np.ndarray:
        """Whether the feature of row ``i`` lies, on some segment, in the feature of row ``j`` (its
        outermost container) or the other way round: a cable and its own trench, also where the cable
        has left the trench."""
        inside = (self.container != "") & (self.feature_id != "")
        if not inside.any():
            return np.zeros(len(i), dtype=bool)
        n = len(self)
        names, codes = np.unique(np.concatenate([self.feature_id, self.container[inside]]).astype(str),
                                 return_inverse=True)
        fid, m = codes[:n].astype(np.int64), len(names)
        held = np.unique(fid[inside] * m + codes[n:])
        return np.isin(fid[i] * m + fid[j], held) | np.isin(fid[j] * m + fid[i], held)

    @classmethod
    def empty(cls) -> "NetworkTable":
        """A table with no segments."""
        return cls.from_polylines([], outer_diameter=[], utility=[], owner=[], status=[],
                                  depth_source=[], depth_uncertainty=[], feature_id=[], container=[])

    @classmethod
    def from_polylines(
        cls,
        polylines: Sequence[np.ndarray],
        *,
        outer_diameter: Sequence[float] | np.ndarray,
        utility: Sequence[int] | np.ndarray,
        owner: Sequence[str],
        status: Sequence[int] | np.ndarray,
        depth_source: Sequence[int] | np.ndarray,
        depth_uncertainty: Sequence[float] | np.ndarray,
        feature_id: Sequence[str],
        container: Sequence[str] | None = None,
    ) -> "NetworkTable":
        """Split polylines ((k, 3) axis vertices each, k ≥ 2) into segments, vectorised.

        Every attribute is given per polyline (length M); ``container`` defaults to "" (in the soil). ``depth_source`` and
        ``depth_uncertainty`` may instead be given per vertex (length = total vertex count);
        a segment then takes the less certain of its two ends.
        """
        m = len(polylines)
        counts = np.fromiter((len(p) for p in polylines), dtype=np.int64, count=m)
        for i in np.flatnonzero(counts < 2):
            raise InputError("a polyline needs at least two vertices", feature=str(feature_id[i]))
        vertices = (
            np.concatenate([np.asarray(p, dtype=np.float64).reshape(-1, 3) for p in polylines])
            if m
            else np.empty((0, 3))
        )
        n_vertices = len(vertices)
        # a segment starts at every vertex except the last one of each polyline
        last = np.cumsum(counts) - 1
        is_start = np.ones(n_vertices, dtype=bool)
        is_start[last] = False
        start = np.flatnonzero(is_start)
        asset = np.repeat(np.arange(m, dtype=np.int64), counts - 1)

        def per_segment(values, dtype, name, per_vertex_allowed=False):
            values = np.asarray(values, dtype=dtype)
            if len(values) == m:
                return values[asset]
            if per_vertex_allowed and len(values) == n_vertices:
                return np.maximum(values[start], values[start + 1])  # the less certain end
            raise ValueError(f"{name} has {len(values)} values for {m} polylines")

        owner_names, owner_index = np.unique(np.asarray(owner, dtype=str), return_inverse=True)
        return cls(
            p0=vertices[start],
            p1=vertices[start + 1],
            outer_diameter=per_segment(outer_diameter, np.float64, "outer_diameter"),
            utility=per_segment(utility, np.int8, "utility"),
            owner=owner_index.astype(np.int32)[asset],
            status=per_segment(status, np.int8, "status"),
            depth_source=per_segment(depth_source, np.int8, "depth_source", True),
            depth_uncertainty=per_segment(depth_uncertainty, np.float64, "depth_uncertainty", True),
            feature_id=per_segment(feature_id, str, "feature_id"),
            asset=asset,
            container=per_segment([""] * m if container is None else container, str, "container"),
            owners=tuple(str(o) for o in owner_names),
        )

    def select(self, mask: np.ndarray) -> "NetworkTable":
        """The rows where ``mask`` (bool or index array) holds; owners are kept."""
        return NetworkTable(
            **{name: getattr(self, name)[mask] for name in _PER_SEGMENT}, owners=self.owners
        )

    @classmethod
    def concat(cls, tables: Sequence["NetworkTable"]) -> "NetworkTable":
        """One table of all rows; owner codes and asset indices are renumbered."""
        if not tables:
            return cls.empty()
        owners = tuple(sorted({o for t in tables for o in t.owners}))
        lookup = {o: i for i, o in enumerate(owners)}
        parts: dict[str, list[np.ndarray]] = {name: [] for name in _PER_SEGMENT}
        asset_offset = 0
        for t in tables:
            remap = np.array([lookup[o] for o in t.owners], dtype=np.int32)
            for name in _PER_SEGMENT:
                value = getattr(t, name)
                if name == "owner":
                    value = remap[value] if len(value) else value
                elif name == "asset":
                    value = value + asset_offset
                parts[name].append(value)
            asset_offset += int(t.asset.max()) + 1 if len(t) else 0
        return cls(**{k: np.concatenate(v) for k, v in parts.items()}, owners=owners)

    def save(self, path: str | Path) -> None:
        """Write the table to a ``.npz`` file (the twin cache)."""
        np.savez(path, owners=np.asarray(self.owners, dtype=str),
                 **{name: getattr(self, name) for name in _PER_SEGMENT})

    @classmethod
    def load(cls, path: str | Path) -> "NetworkTable":
        """Read a table written by ``save``."""
        with np.load(path, allow_pickle=False) as data:
            return cls(**{name: data[name] for name in _PER_SEGMENT},
                       owners=tuple(str(o) for o in data["owners"]))

    def describe(self) -> dict[str, dict[str, int]]:
        """Segment counts by utility kind, depth source and status (for summaries)."""
        def count(codes, enum):
            values, n = np.unique(codes, return_counts=True)
            return {enum(int(v)).name.lower(): int(c) for v, c in zip(values, n)}

        return {
            "utility": count(self.utility, Utility),
            "depth_source": count(self.depth_source, DepthSource),
            "status": count(self.status, Status),
        }

