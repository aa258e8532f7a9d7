"""The twin: terrain, surface, buildings, trees and networks of one scene, in EPSG:7415."""

from __future__ import annotations

from dataclasses import dataclass, field

from stadstwin.crs import INTERNAL_CRS
from stadstwin.model.buildings import Buildings
from stadstwin.model.networks import NetworkTable
from stadstwin.model.operating import OperatingPoint
from stadstwin.model.raster import Raster
from stadstwin.model.reservations import Reservations
from stadstwin.model.retention import Retention
from stadstwin.model.trees import Trees


@dataclass(frozen=True, eq=False)
class Twin:
    """Everything the analyses work on for one scene (or one variant of it).

    dtm      ground level (maaiveld) [m NAP]
    dsm      highest surface incl. buildings and trees [m NAP], or None
    chm      canopy height above ground [m], or None
    surface  ``Surface`` codes per cell (carriageway, pavement, verge, water, building), or None
    reservations  subsurface prisms claimed by plans
    retention     retention facilities (wadi, water square) added by plans
    operating     operating point per network feature id (loads, fluid temperatures)
    context       buildings outside the extent within the scene's ``shadow_buffer``, from sources that
                  reach beyond it: they only cast shadow into the extent (and close its sky)
    """

    name: str
    dtm: Raster
    buildings: Buildings = field(default_factory=Buildings.empty)
    trees: Trees = field(default_factory=Trees.empty)
    networks: NetworkTable = field(default_factory=NetworkTable.empty)
    reservations: Reservations = field(default_factory=Reservations.empty)
    retention: Retention = field(default_factory=Retention.empty)
    dsm: Raster | None = None
    chm: Raster | None = None
    surface: Raster | None = None
    operating: dict[str, OperatingPoint] = field(default_factory=dict)
    context: Buildings = field(default_factory=Buildings.empty)
    crs: str = INTERNAL_CRS
    terrain: str = ""  # which terrain the ground comes from, in words (``Scene.terrain_used``)

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """(xmin, ymin, xmax, ymax) of the terrain [m]."""
        return self.dtm.bounds
