"""Retention facilities (wadi, water square, storage crate) that a plan adds: area and storage volume."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

_COLUMNS = ("footprint", "volume", "retention_id")


@dataclass(frozen=True, eq=False)
class Retention:
    """One row per facility.

    footprint     (N,) shapely Polygon in RD New [m]: where run-off enters it
    volume        (N,) float64 storage volume [m³] below the surrounding ground
    retention_id  (N,) str     id of the plan edit that adds it
    """

    footprint: np.ndarray
    volume: np.ndarray
    retention_id: np.ndarray

    def __post_init__(self) -> None:
        n = len(self.footprint)
        for name in _COLUMNS:
            if len(getattr(self, name)) != n:
                raise ValueError(f"Retention.{name} has {len(getattr(self, name))} rows, expected {n}")
        if n and np.any(self.volume <= 0.0):
            raise ValueError("Retention.volume must be positive")

    def __len__(self) -> int:
        return len(self.footprint)

    @classmethod
    def empty(cls) -> "Retention":
        return cls(np.empty(0, dtype=object), np.empty(0), np.empty(0, dtype=str))

    @classmethod
    def concat(cls, tables: list["Retention"]) -> "Retention":
        """One table of all rows."""
        if not tables:
            return cls.empty()
        return cls(*(np.concatenate([getattr(t, c) for t in tables]) for c in _COLUMNS))
