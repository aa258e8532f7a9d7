"""Sight-line settings of a scene (``[sightlines]`` in ``scene.toml``): named viewpoints and landmarks.

```toml
[sightlines]
radius = 300.0              # m, how far a viewpoint looks
transparent_trees = false   # true: crowns do not block the view (winter, or a see-through row)

[[sightlines.viewpoints]]
name = "markt"
x = 136_010.0               # RD New [m]
y = 455_920.0
targets = ["kerktoren"]     # landmarks it should see; all landmarks when left out
# along = [[x, y], …]       # instead of a point: a route walked, observers every `spacing` m (5)
# within = [[x, y], …]      # or an area stood in (a polygon ring), observers on a `spacing` grid

[[sightlines.landmarks]]
name = "kerktoren"
x = 136_100.0
y = 455_990.0
height = 0.0                # m above the surface model at (x, y): 0 = the top of what stands there
```
"""

from __future__ import annotations

from typing import Any

import shapely
from pydantic import BaseModel, ConfigDict, Field, model_validator

EYE_HEIGHT_M = 1.75
"""Eye height of a standing observer above the ground [m]."""
_NAME = r"^[a-z0-9_]+$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Landmark(_Strict):
    """A point a viewpoint should see (a tower, a facade, a tree) [RD New m]."""

    name: str = Field(pattern=_NAME, description="lower case, digits and _ (it names metrics)")
    x: float
    y: float
    height: float = Field(default=0.0, ge=0.0, le=300.0, description="m above the surface model")


class Viewpoint(_Strict):
    """A named place people look from (a square, a bridge, a doorstep) [RD New m]: a point (x, y), a
    route walked (``along``: a line of [x, y] vertices) or an area stood in (``within``: a polygon ring).
    A route or area looks from observers every ``spacing`` metres (along the line, on a grid inside the
    ring, none inside buildings) and sees what any of them sees; (x, y) default to its middle."""

    name: str = Field(pattern=_NAME, description="lower case, digits and _ (it names metrics)")
    x: float
    y: float
    eye_height: float = Field(default=EYE_HEIGHT_M, gt=0.0, le=300.0, description="m above the ground")
    targets: list[str] | None = None
    along: list[tuple[float, float]] | None = Field(default=None, min_length=2)
    within: list[tuple[float, float]] | None = Field(default=None, min_length=3)
    spacing: float = Field(default=5.0, ge=0.5, le=100.0, description="m between observers on a route or area")

    @model_validator(mode="before")
    @classmethod
    def _middle(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        if data.get("along") and data.get("within"):
            raise ValueError("a viewpoint is a point, a route (along) or an area (within), not both")
        shape = observer_shape(data.get("along"), data.get("within"))
        if shape is None or ("x" in data and "y" in data):
            return data
        if shape.is_empty or not shape.is_valid:
            raise ValueError(f"viewpoint {data.get('name')}: its route or area is not a valid geometry")
        middle = (shape.interpolate(0.5, normalized=True) if shape.geom_type == "LineString"
                  else shape.representative_point())
        return {**data, "x": data.get("x", middle.x), "y": data.get("y", middle.y)}


def observer_shape(along: Any, within: Any) -> shapely.Geometry | None:
    """The route (LineString) or area (Polygon) of a viewpoint, or None for a point."""
    if along:
        return shapely.LineString(along)
    if within:
        return shapely.Polygon(within)
    return None


class SightlineSettings(_Strict):
    """Viewpoints, landmarks and how far and through what they look."""

    viewpoints: list[Viewpoint] = []
    landmarks: list[Landmark] = []
    radius: float = Field(default=300.0, gt=0.0, le=10_000.0, description="m")
    transparent_trees: bool = False
    curvature: bool = False
    refraction: float = Field(default=0.13, ge=0.0, lt=1.0, description="refraction coefficient k")

    @model_validator(mode="after")
    def _names(self) -> SightlineSettings:
        for kind, items in (("viewpoint", self.viewpoints), ("landmark", self.landmarks)):
            names = [i.name for i in items]
            twice = sorted({n for n in names if names.count(n) > 1})
            if twice:
                raise ValueError(f"{kind} names must be unique: {', '.join(twice)}")
        known = {m.name for m in self.landmarks}
        for v in self.viewpoints:
            unknown = sorted(set(v.targets or []) - known)
            if unknown:
                raise ValueError(f"viewpoint {v.name}: unknown landmark(s) {', '.join(unknown)}")
        return self
