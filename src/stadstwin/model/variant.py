"""A plan variant: plan metadata (phase, theme, area, parties, planning) and a list of edits.

Edits are kept as tables here; the scenario layer gives them their types and applies them.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import shapely
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from stadstwin.errors import SceneError
from stadstwin.model.enums import Phase
from stadstwin.model.geojson import parse_geometry
from stadstwin.model.toml_file import read_toml, validation_problems


class PhasePlanning(BaseModel):
    """Start and end of one plan phase."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    start: date
    end: date

    @model_validator(mode="after")
    def _order(self) -> "PhasePlanning":
        if self.end < self.start:
            raise ValueError(f"end {self.end} lies before start {self.start}")
        return self


class Variant(BaseModel):
    """A plan (``scenes/NAME/variants/ID.toml``). ``area`` is a GeoJSON polygon in RD New."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    name: str = Field(min_length=1)
    phase: Phase = Phase.IDEE
    theme: str = ""
    area: dict[str, Any] | None = None
    asset_types: list[str] = []
    parties: list[str] = []
    planning: dict[Phase, PhasePlanning] = {}
    edits: list[dict[str, Any]] = []

    @field_validator("area")
    @classmethod
    def _polygon(cls, area: dict[str, Any] | None) -> dict[str, Any] | None:
        if area is not None:
            parse_geometry(area, ("Polygon", "MultiPolygon"))
        return area

    @property
    def area_geometry(self) -> shapely.Geometry | None:
        """The plan area as a shapely geometry [RD New m]."""
        return None if self.area is None else shapely.geometry.shape(self.area)

    @classmethod
    def load(cls, path: str | Path) -> "Variant":
        """Load a variant file; ``id`` defaults to the file name."""
        path = Path(path)
        data = read_toml(path)
        data.setdefault("id", path.stem)
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            raise SceneError(validation_problems(exc), path=path) from None
