"""Small code lists shared by the model: asset status, depth source, surface type, plan phase."""

from __future__ import annotations

from enum import IntEnum, StrEnum


class Status(IntEnum):
    """Life-cycle status of a network segment (IMKL ``currentStatus`` plus plan states)."""

    EXISTING = 0
    PLANNED = 1
    RESERVED = 2
    ABANDONED = 3


class DepthSource(IntEnum):
    """Where the axis height of a segment came from, best first."""

    MEASURED_NAP = 0  # a DiepteNAP point or a 3D geometry in NAP
    MEASURED_BELOW_GROUND = 1  # a DiepteTovMaaiveld point, converted with the DTM
    STANDARD_DEPTH = 2  # the network's IMKL standaardDieptelegging
    PROFILE_DEFAULT = 3  # the minimum-cover rule for its kind (nothing was delivered)
    DESIGN = 4  # a planned asset at the depth its plan variant sets (construction tolerance)


class Surface(IntEnum):
    """Surface type at maaiveld; decides minimum cover and heat-map statistics."""

    UNKNOWN = 0
    CARRIAGEWAY = 1  # rijbaan
    PAVEMENT = 2  # voetpad, fietspad, parkeervak
    VERGE = 3  # berm, groen, onverhard
    WATER = 4
    BUILDING = 5


class Phase(StrEnum):
    """Plan life-cycle phase, as in Dutch integrated programming of public space."""

    IDEE = "idee"
    INITIATIEF = "initiatief"
    DEFINITIE = "definitie"
    ONTWERP = "ontwerp"
    VOORBEREIDING = "voorbereiding"
    REALISATIE = "realisatie"
    BEHEER = "beheer"
