"""Space reservations: 3D prisms of subsurface claimed by a plan for a future network."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

_COLUMNS = ("footprint", "z_bottom", "z_top", "reservation_id", "party")


@dataclass(frozen=True, eq=False)
class Reservations:
    """One row per reserved prism.

    footprint       (N,) shapely Polygon in RD New [m]
    z_bottom, z_top (N,) float64 [m NAP], bottom below top
    reservation_id  (N,) str     id of the plan edit that claims it
    party           (N,) str     organisation that claims it
    """

    footprint: np.ndarray
    z_bottom: np.ndarray
    z_top: np.ndarray
    reservation_id: np.ndarray
    party: np.ndarray

    def __post_init__(self) -> None:
        n = len(self.footprint)
        for name in _COLUMNS:
            if len(getattr(self, name)) != n:
                raise ValueError(f"Reservations.{name} has {len(getattr(self, name))} rows, expected {n}")
        if n and np.any(self.z_bottom >= self.z_top):
            raise ValueError("Reservations.z_bottom must lie below z_top")

    def __len__(self) -> int:
        return len(self.footprint)

    @classmethod
    def empty(cls) -> "Reservations":
        return cls(np.empty(0, dtype=object), np.empty(0), np.empty(0), np.empty(0, dtype=str),
                   np.empty(0, dtype=str))

    @classmethod
    def concat(cls, tables: list["Reservations"]) -> "Reservations":
        """One table of all rows."""
        if not tables:
            return cls.empty()
        return cls(*(np.concatenate([getattr(t, c) for t in tables]) for c in _COLUMNS))
