"""Buildings: footprints with ground level, roof height and optionally a 3D mesh."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import shapely


@dataclass(frozen=True, eq=False)
class Buildings:
    """One row per building (or building part).

    footprint   (N,) shapely Polygon/MultiPolygon in RD New [m]
    ground_z    (N,) float64 ground level [m NAP]
    roof_z      (N,) float64 LoD 1.2 roof height [m NAP] (e.g. the 70th percentile of roof points)
    source_id   (N,) str     BAG pand id or source feature id
    mesh        list of trimesh.Trimesh or None per building (LoD 2.2 solids where delivered)
    attributes  extra per-building arrays (e.g. ``roof_50p`` [m NAP] from 3DBAG or the mesh, ``lod``)
    """

    footprint: np.ndarray
    ground_z: np.ndarray
    roof_z: np.ndarray
    source_id: np.ndarray
    mesh: list | None = None
    attributes: dict[str, np.ndarray] = field(default_factory=dict)

    def __post_init__(self) -> None:
        n = len(self.footprint)
        for name in ("ground_z", "roof_z", "source_id"):
            if len(getattr(self, name)) != n:
                raise ValueError(f"Buildings.{name} has {len(getattr(self, name))} rows, expected {n}")
        if self.mesh is not None and len(self.mesh) != n:
            raise ValueError("Buildings.mesh must have one entry per building")
        for key, value in self.attributes.items():
            if len(value) != n:
                raise ValueError(f"Buildings.attributes[{key!r}] has {len(value)} rows, expected {n}")

    def __len__(self) -> int:
        return len(self.footprint)

    @property
    def height(self) -> np.ndarray:
        """Roof height above ground [m]."""
        return self.roof_z - self.ground_z

    @classmethod
    def empty(cls) -> "Buildings":
        return cls(np.empty(0, dtype=object), np.empty(0), np.empty(0), np.empty(0, dtype=str))

    def select(self, mask: np.ndarray) -> "Buildings":
        """The rows where ``mask`` (bool or index array) holds."""
        index = np.arange(len(self))[mask]
        return Buildings(
            self.footprint[index], self.ground_z[index], self.roof_z[index], self.source_id[index],
            None if self.mesh is None else [self.mesh[i] for i in index],
            {k: v[index] for k, v in self.attributes.items()},
        )

    def bounds(self) -> tuple[float, float, float, float]:
        """(xmin, ymin, xmax, ymax) of all footprints [m]."""
        return tuple(shapely.total_bounds(self.footprint))  # type: ignore[return-value]
