"""The plan register of a scene: the works every party plans in its streets (integraal programmeren).

A plan is one party's intended work: a theme, a life-cycle phase, a planning per phase, an area (a
polygon, or a route line with a trench width), the asset types it touches and whether it digs. The
realisation window (phase ``realisatie``) is when the street is open; the register compares those
windows and areas across parties (koppelkansen, graafrust) in ``analyses/programming.py``.
"""

from __future__ import annotations

import hashlib
from datetime import date
from typing import Any

import shapely
from pydantic import BaseModel, ConfigDict, Field, field_validator

from stadstwin.model.enums import Phase
from stadstwin.model.variant import PhasePlanning


def add_years(day: date, years: int) -> date:
    """``day`` moved by whole ``years`` (29 February to 28 February in other years)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


class Plan(BaseModel):
    """One party's planned work. ``geometry`` is a shapely Polygon/MultiPolygon or LineString in RD New [m];
    a line digs a trench ``trench_width`` [m] wide."""

    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)

    id: str = Field(min_length=1)
    party: str = Field(min_length=1)
    theme: str = Field(min_length=1)
    phase: Phase
    planning: dict[Phase, PhasePlanning]
    geometry: Any
    asset_types: tuple[str, ...] = ()
    digs: bool = True
    trench_width: float = Field(default=1.0, gt=0.0, le=50.0, description="m, for a route line")
    budget_eur: float | None = Field(default=None, ge=0.0)
    priority: int | None = Field(default=None, ge=0)
    confidential: bool = False

    @field_validator("geometry")
    @classmethod
    def _shape(cls, value: Any) -> shapely.Geometry:
        if not isinstance(value, shapely.Geometry) or value.is_empty:
            raise ValueError("needs a geometry")
        if value.geom_type not in ("Polygon", "MultiPolygon", "LineString", "MultiLineString"):
            raise ValueError(f"a plan is an area or a route, not a {value.geom_type}")
        if not value.is_valid:
            raise ValueError(f"invalid geometry ({shapely.is_valid_reason(value)})")
        return value

    @field_validator("planning")
    @classmethod
    def _realised(cls, value: dict[Phase, PhasePlanning]) -> dict[Phase, PhasePlanning]:
        if Phase.REALISATIE not in value:
            raise ValueError("needs a planning of its realisatie phase (when the street is open)")
        return value

    @property
    def works(self) -> PhasePlanning:
        """The realisation window: when the street is dug up."""
        return self.planning[Phase.REALISATIE]

    @property
    def footprint(self) -> shapely.Geometry:
        """The ground the works occupy: the area, or the route buffered to its trench width (flat ends)."""
        if self.geometry.geom_type.endswith("LineString"):
            return self.geometry.buffer(self.trench_width / 2.0, cap_style="flat")
        return self.geometry

    def shifted(self, years: int) -> "Plan":
        """The plan with every phase's dates moved by whole ``years`` (a batch study varies planning so)."""
        planning = {phase: PhasePlanning(start=add_years(w.start, years), end=add_years(w.end, years))
                    for phase, w in self.planning.items()}
        return self.model_copy(update={"planning": planning})

    def redacted(self) -> "Plan":
        """What another organisation may see of a confidential plan: that a party works here in year Y."""
        year = self.works.start.year
        window = PhasePlanning(start=date(year, 1, 1), end=date(self.works.end.year, 12, 31))
        withheld = "withheld-" + hashlib.blake2b(self.id.encode(), digest_size=4).hexdigest()
        return Plan(id=withheld, party="a party", theme="withheld", phase=self.phase,
                    planning={Phase.REALISATIE: window}, geometry=self.footprint.envelope,
                    digs=self.digs, confidential=True)
