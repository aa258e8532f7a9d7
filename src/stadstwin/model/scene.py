"""A scene: one district or street, its source files, rule overrides, soil, climate and sight-line settings.

Loaded from ``scenes/NAME/scene.toml``; relative paths are relative to that folder. Plan variants
live beside it in ``scenes/NAME/variants/*.toml``.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from pathlib import Path
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from stadstwin.crs import parse_crs
from stadstwin.errors import CRSError, SceneError
from stadstwin.model.assessment import Criterion
from stadstwin.model.toml_file import read_toml, validation_problems
from stadstwin.model.variant import Variant
from stadstwin.model.viewpoints import SightlineSettings
from stadstwin.rules import Rules, load_rules

# RD New is defined for the Netherlands: x roughly -7 000 … 300 000 m, y 289 000 … 629 000 m
_RD_X = (-7_000.0, 300_000.0)
_RD_Y = (289_000.0, 629_000.0)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SourceFile(_Strict):
    """An input file. ``crs`` is the CRS to assume when the file itself carries none."""

    path: Path
    crs: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _from_string(cls, value: Any) -> Any:
        return {"path": value} if isinstance(value, (str, Path)) else value

    @field_validator("path")
    @classmethod
    def _exists(cls, path: Path, info: ValidationInfo) -> Path:
        root = (info.context or {}).get("root")
        if root is not None and not path.is_absolute():
            path = (root / path).resolve()
        if not path.exists():
            raise ValueError(f"file not found: {path}")
        return path

    @field_validator("crs")
    @classmethod
    def _known_crs(cls, crs: str | None) -> str | None:
        if crs is not None:
            try:
                parse_crs(crs)
            except CRSError as exc:
                raise ValueError(exc.message) from None
        return crs


class BgtLayer(StrEnum):
    """BGT object classes stadstwin reads."""

    PAND = "pand"
    WEGDEEL = "wegdeel"
    ONDERSTEUNENDWEGDEEL = "ondersteunendwegdeel"
    BEGROEIDTERREINDEEL = "begroeidterreindeel"
    ONBEGROEIDTERREINDEEL = "onbegroeidterreindeel"
    WATERDEEL = "waterdeel"
    SCHEIDING = "scheiding"


class Sources(_Strict):
    """Where the twin comes from. Every field is optional; the builder says what is missing."""

    pointclouds: list[SourceFile] = []
    dtm: SourceFile | None = None
    dsm: SourceFile | None = None
    cityjson: list[SourceFile] = []
    bgt: dict[BgtLayer, SourceFile] = {}
    klic: list[SourceFile] = []
    trees: SourceFile | None = None


class Extent(_Strict):
    """Scene bounds in RD New [m]."""

    xmin: float
    ymin: float
    xmax: float
    ymax: float

    @model_validator(mode="after")
    def _valid(self) -> "Extent":
        if not (self.xmin < self.xmax and self.ymin < self.ymax):
            raise ValueError("need xmin < xmax and ymin < ymax")
        for lo, hi, (a, b), axis in ((self.xmin, self.xmax, _RD_X, "x"), (self.ymin, self.ymax, _RD_Y, "y")):
            if lo < a or hi > b:
                raise ValueError(
                    f"{axis} range {lo:.0f}…{hi:.0f} lies outside RD New ({a:.0f}…{b:.0f}); "
                    "are these coordinates in another CRS?"
                )
        return self

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        return self.xmin, self.ymin, self.xmax, self.ymax


class SoilSettings(_Strict):
    """Soil for the thermal engine: a named soil from the rules, optionally with own values."""

    soil: str | None = None
    resistivity: float | None = Field(default=None, gt=0.05, le=20.0, description="K.m/W")
    diffusivity: float | None = Field(default=None, gt=1e-8, le=1e-5, description="m2/s")


class ClimateSettings(_Strict):
    """Weather for heat-stress runs: a file (EPW or KNMI hourly) or the shipped hot day."""

    weather: SourceFile | None = None
    date: dt.date | None = None


class TerrainSettings(_Strict):
    """Ground level where no DTM or point cloud is given (e.g. a KLIC area): a constant [m NAP]."""

    constant_nap: float | None = Field(default=None, ge=-10.0, le=400.0, description="m NAP")


class Scene(_Strict):
    """A scene definition (``scene.toml``)."""

    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    description: str = ""
    crs: str = "EPSG:7415"
    extent: Extent
    cell_size: float = Field(default=1.0, gt=0.0, le=100.0, description="m")
    sources: Sources = Sources()
    rules: dict[str, Any] = {}
    soil: SoilSettings = SoilSettings()
    climate: ClimateSettings = ClimateSettings()
    terrain: TerrainSettings = TerrainSettings()
    sightlines: SightlineSettings = SightlineSettings()
    shadow_buffer: float = Field(default=100.0, ge=0.0, le=1000.0, description="m")
    assessment: list[Criterion] | None = None
    root: Path = Field(default=Path("."), exclude=True)

    @field_validator("crs")
    @classmethod
    def _internal_crs(cls, crs: str) -> str:
        try:
            parsed = parse_crs(crs)
        except CRSError as exc:
            raise ValueError(exc.message) from None
        if parsed.to_epsg() not in (7415, 28992):
            raise ValueError(
                f"scenes are in EPSG:7415 (RD New + NAP) or EPSG:28992; {crs} is {parsed.name}. "
                "Give the extent in RD New; input files in other CRSs are reprojected"
            )
        return crs

    @model_validator(mode="after")
    def _one_terrain(self) -> "Scene":
        if self.terrain.constant_nap is not None and (self.sources.pointclouds or self.sources.dtm):
            raise ValueError("terrain.constant_nap: give a constant ground level or a DTM/point cloud, not both")
        return self

    @property
    def terrain_used(self) -> str:
        """Which terrain the twin's ground comes from, in words (for every output)."""
        if self.terrain.constant_nap is not None:
            return f"constant ground level {self.terrain.constant_nap:.2f} m NAP"
        if self.sources.pointclouds:
            return "DTM from point cloud " + ", ".join(p.path.name for p in self.sources.pointclouds)
        if self.sources.dtm is not None:
            return f"DTM GeoTIFF {self.sources.dtm.path.name}"
        return "no terrain"

    @property
    def path(self) -> Path:
        """The scene.toml file."""
        return self.root / "scene.toml"

    @classmethod
    def load(cls, location: str | Path) -> "Scene":
        """Load ``scene.toml`` from a scene folder (or the file itself); errors name file and key."""
        location = Path(location)
        path = location / "scene.toml" if location.is_dir() else location
        data = read_toml(path)
        root = path.parent.resolve()
        try:
            scene = cls.model_validate({**data, "root": root}, context={"root": root})
        except ValidationError as exc:
            raise SceneError(validation_problems(exc), path=path) from None
        scene.load_rules()  # rule overrides are part of a valid scene
        return scene

    def load_rules(self) -> Rules:
        """The rule tables with this scene's overrides applied."""
        rules = load_rules(self.rules, origin=str(self.path))
        if self.soil.soil is not None:
            rules.soil_properties(self.soil.soil)
        return rules

    def variant_paths(self) -> list[Path]:
        """The variant files of this scene, sorted by name."""
        return sorted((self.root / "variants").glob("*.toml"))

    def load_variants(self) -> list[Variant]:
        """All plan variants of this scene; the first invalid one raises naming its file."""
        return [Variant.load(p) for p in self.variant_paths()]



