"""Trees as a structure-of-arrays table (register or detected from the canopy height model)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

_COLUMNS = ("x", "y", "ground_z", "height", "crown_diameter", "trunk_height", "species", "source_id")


@dataclass(frozen=True, eq=False)
class Trees:
    """One row per tree.

    x, y            (N,) float64 trunk position in RD New [m]
    ground_z        (N,) float64 ground level at the trunk [m NAP]
    height          (N,) float64 tree height above ground [m]
    crown_diameter  (N,) float64 [m]
    trunk_height    (N,) float64 height of the crown base above ground [m]
    species         (N,) str     scientific name where known, else ""
    source_id       (N,) str     register id, or ``chm-<n>`` for detected trees
    """

    x: np.ndarray
    y: np.ndarray
    ground_z: np.ndarray
    height: np.ndarray
    crown_diameter: np.ndarray
    trunk_height: np.ndarray
    species: np.ndarray
    source_id: np.ndarray

    def __post_init__(self) -> None:
        n = len(self.x)
        for name in _COLUMNS:
            if len(getattr(self, name)) != n:
                raise ValueError(f"Trees.{name} has {len(getattr(self, name))} rows, expected {n}")
        if n and np.any(self.trunk_height > self.height):
            raise ValueError("Trees.trunk_height exceeds the tree height")

    def __len__(self) -> int:
        return len(self.x)

    @classmethod
    def empty(cls) -> "Trees":
        return cls(*(np.empty(0) for _ in range(6)), np.empty(0, dtype=str), np.empty(0, dtype=str))

    def select(self, mask: np.ndarray) -> "Trees":
        """The rows where ``mask`` (bool or index array) holds."""
        return Trees(*(getattr(self, c)[mask] for c in _COLUMNS))

    @classmethod
    def concat(cls, tables: list["Trees"]) -> "Trees":
        """One table of all rows."""
        if not tables:
            return cls.empty()
        return cls(*(np.concatenate([getattr(t, c) for t in tables]) for c in _COLUMNS))
