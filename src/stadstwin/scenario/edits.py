"""The edit types a plan variant is made of, validated from the variant's ``edits`` tables.

Geometry is GeoJSON in RD New [m]; heights in metres; temperatures in degC (file edge).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal, Union

import shapely
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, field_validator, model_validator

from stadstwin.errors import SceneError
from stadstwin.model.enums import Status, Surface
from stadstwin.model.geojson import parse_geometry
from stadstwin.model.toml_file import dotted, validation_problems
from stadstwin.model.utilities import Utility
from stadstwin.model.variant import Variant


class _Edit(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str = Field(min_length=1, description="edit id, unique within the variant")


def _polygon(value: dict[str, Any]) -> dict[str, Any]:
    parse_geometry(value, ("Polygon", "MultiPolygon"))
    return value


class AddBuilding(_Edit):
    """A new building: footprint polygon and height above ground (flat roof, LoD 1.2)."""

    type: Literal["add_building"]
    footprint: dict[str, Any]
    height: float = Field(gt=0.0, le=300.0, description="m above ground")

    _footprint = field_validator("footprint")(_polygon)


class RemoveBuildings(_Edit):
    """Demolish buildings by their source id (BAG id)."""

    type: Literal["remove_buildings"]
    buildings: list[str] = Field(min_length=1)


class RaiseBuildings(_Edit):
    """Change the height of buildings: a new height above ground, or ``by`` metres more (or less)."""

    type: Literal["raise_buildings"]
    buildings: list[str] = Field(min_length=1)
    height: float | None = Field(default=None, gt=0.0, le=300.0)
    by: float | None = Field(default=None, ge=-300.0, le=300.0)

    @model_validator(mode="after")
    def _one_of(self) -> "RaiseBuildings":
        if (self.height is None) == (self.by is None):
            raise ValueError("give exactly one of 'height' (new height) and 'by' (change)")
        return self


class AddTrees(_Edit):
    """Plant trees at points [RD New m]."""

    type: Literal["add_trees"]
    points: list[tuple[float, float]] = Field(min_length=1)
    species: str = ""
    height: float = Field(gt=0.0, le=60.0, description="m")
    crown_diameter: float = Field(gt=0.0, le=40.0, description="m")
    trunk_height: float | None = Field(default=None, ge=0.0, le=30.0, description="m; default 25 % of height")

    @model_validator(mode="after")
    def _trunk_below_top(self) -> "AddTrees":
        if self.trunk_height is not None and self.trunk_height >= self.height:
            raise ValueError("trunk_height must be below the tree height")
        return self


class RemoveTrees(_Edit):
    """Fell trees by their register id."""

    type: Literal["remove_trees"]
    trees: list[str] = Field(min_length=1)


class _Depth(_Edit):
    """Where a new route lies: cover below maaiveld to the top of the pipe, or its axis height in NAP."""

    cover: float | None = Field(default=None, ge=0.0, le=20.0, description="m")
    axis_z: float | None = Field(default=None, ge=-100.0, le=100.0, description="m NAP")

    @model_validator(mode="after")
    def _not_both(self) -> "_Depth":
        if self.cover is not None and self.axis_z is not None:
            raise ValueError("give 'cover' or 'axis_z', not both")
        return self


class AddNetwork(_Depth):
    """A new cable or pipe along a route line; depth from ``cover``/``axis_z`` or the minimum-cover rule."""

    type: Literal["add_network"]
    route: dict[str, Any]
    utility: str
    owner: str = Field(min_length=1)
    outer_diameter: float | None = Field(default=None, gt=0.0, le=5.0, description="m")
    status: Literal["planned", "reserved"] = "planned"
    watts_per_m: float | None = Field(default=None, ge=0.0, le=1000.0)
    fluid_temperature: float | None = Field(default=None, ge=0.0, le=150.0, description="degC")

    @field_validator("route")
    @classmethod
    def _line(cls, value: dict[str, Any]) -> dict[str, Any]:
        parse_geometry(value, ("LineString",))
        return value

    @field_validator("utility")
    @classmethod
    def _kind(cls, value: str) -> str:
        if value not in {u.key for u in Utility}:
            raise ValueError(f"unknown utility {value!r}; known: {', '.join(u.key for u in Utility)}")
        return value

    @property
    def utility_kind(self) -> Utility:
        return Utility.from_key(self.utility)

    @property
    def status_code(self) -> Status:
        return Status.PLANNED if self.status == "planned" else Status.RESERVED


class AbandonNetwork(_Edit):
    """Take networks out of service (status abandoned; they stay in the ground)."""

    type: Literal["abandon_network"]
    features: list[str] = Field(min_length=1)


class RelocateNetwork(_Depth):
    """Move a network feature to a new route: the old one is abandoned, a planned copy is laid."""

    type: Literal["relocate_network"]
    feature: str
    route: dict[str, Any]

    _route = field_validator("route")(AddNetwork._line.__func__)


class ClaimSpace(_Edit):
    """Reserve a 3D prism of subsurface for a future network: area and depth range below maaiveld."""

    type: Literal["claim_space"]
    area: dict[str, Any]
    depth_top: float = Field(ge=0.0, le=50.0, description="m below maaiveld")
    depth_bottom: float = Field(gt=0.0, le=50.0, description="m below maaiveld")
    party: str = Field(min_length=1)

    _area = field_validator("area")(_polygon)

    @model_validator(mode="after")
    def _order(self) -> "ClaimSpace":
        if self.depth_bottom <= self.depth_top:
            raise ValueError("depth_bottom must lie deeper than depth_top")
        return self


class ChangeSurface(_Edit):
    """Change the surface type in an area (e.g. pavement to green)."""

    type: Literal["change_surface"]
    area: dict[str, Any]
    surface: Literal["carriageway", "pavement", "verge", "water"]

    _area = field_validator("area")(_polygon)

    @property
    def surface_code(self) -> Surface:
        return Surface[self.surface.upper()]


class AddRetention(_Edit):
    """A retention facility (wadi, water square, storage crate): its area and storage volume."""

    type: Literal["add_retention"]
    area: dict[str, Any]
    volume: float = Field(gt=0.0, le=1e6, description="m³ stored below the surrounding ground")

    _area = field_validator("area")(_polygon)


EDIT_TYPES = (AddBuilding, RemoveBuildings, RaiseBuildings, AddTrees, RemoveTrees, AddNetwork,
              AbandonNetwork, RelocateNetwork, ClaimSpace, ChangeSurface, AddRetention)
Edit = Annotated[Union[EDIT_TYPES], Field(discriminator="type")]  # noqa: UP007 (a tuple of classes)
_EDITS = TypeAdapter(list[Edit])
_TAGS = {cls.model_fields["type"].annotation.__args__[0] for cls in EDIT_TYPES}


def parse_edits(variant: Variant, *, origin: str = "") -> list[Edit]:
    """The variant's edits as typed objects; errors name the variant and the edit."""
    where = origin or f"variant {variant.id}"
    try:
        edits = _EDITS.validate_python(variant.edits)
    except ValidationError as exc:
        raise SceneError(validation_problems(exc, _name_edits(variant)), path=where) from None
    seen: set[str] = set()
    for edit in edits:
        if edit.id in seen:
            raise SceneError(f"edit id {edit.id!r} is used twice", path=where)
        seen.add(edit.id)
    return edits


def _name_edits(variant: Variant) -> Callable[[tuple], str]:
    """Locate errors as ``edits[3] (id 'wn-1').route`` instead of ``3.add_network.route``."""

    def locate(loc: tuple) -> str:
        if not loc or not isinstance(loc[0], int):
            return dotted(loc)
        index, rest = loc[0], list(loc[1:])
        if rest and rest[0] in _TAGS:
            rest = rest[1:]
        raw = variant.edits[index] if index < len(variant.edits) else {}
        name = f"edits[{index}] (id {raw.get('id', '?')!r})"
        return ".".join([name, *(str(p) for p in rest)])

    return locate


def footprint_geometry(value: dict[str, Any]) -> shapely.Geometry:
    """Shapely geometry of a validated GeoJSON member of an edit."""
    return shapely.geometry.shape(value)
