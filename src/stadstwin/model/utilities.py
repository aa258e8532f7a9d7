"""Utility kinds and the IMKL thema values they come from.

The integer codes are what the network table and the numba kernels carry; the defaults of each kind
(outer diameter, colour, heat source / drinking-water receiver, clearance and cover class) are a rule
table (``rules/utilities.toml``) so that a scene can override them.
"""

from __future__ import annotations

from enum import IntEnum


class Utility(IntEnum):
    """Kind of cable or pipe; the value is the code stored in ``NetworkTable.utility``."""

    OTHER = 0
    ORPHAN = 1
    ELECTRICITY_LV = 2
    ELECTRICITY_MV = 3
    ELECTRICITY_HV = 4
    ELECTRICITY_EHV = 5
    GAS_LP = 6
    GAS_HP = 7
    HAZARDOUS = 8
    PETROCHEMICAL = 9
    WATER = 10
    DISTRICT_HEATING = 11
    TELECOM = 12
    SEWER_GRAVITY = 13
    SEWER_PRESSURE = 14

    @property
    def key(self) -> str:
        """Lower-case name used in rule tables and files, e.g. ``electricity_lv``."""
        return self.name.lower()

    @classmethod
    def from_key(cls, key: str) -> "Utility":
        """The kind named ``key`` (``electricity_lv``); raises KeyError for unknown names."""
        return cls[key.upper()]


#: Every IMKL thema value (IMKL 2.0 and 1.2 code lists) and the utility kind it maps to.
THEMA_TO_UTILITY: dict[str, Utility] = {
    "laagspanning": Utility.ELECTRICITY_LV,
    "middenspanning": Utility.ELECTRICITY_MV,
    "hoogspanning": Utility.ELECTRICITY_HV,
    "landelijkHoogspanningsnet": Utility.ELECTRICITY_EHV,
    "gasLageDruk": Utility.GAS_LP,
    "gasHogeDruk": Utility.GAS_HP,
    "buisleidingGevaarlijkeInhoud": Utility.HAZARDOUS,
    "petrochemie": Utility.PETROCHEMICAL,
    "water": Utility.WATER,
    "warmte": Utility.DISTRICT_HEATING,
    "datatransport": Utility.TELECOM,
    "rioolVrijverval": Utility.SEWER_GRAVITY,
    "rioolOnderOverOfOnderdruk": Utility.SEWER_PRESSURE,
    "overig": Utility.OTHER,
    "wees": Utility.ORPHAN,
}


def utility_from_thema(thema: str) -> Utility:
    """Map an IMKL thema value (a bare code or a code-list URI ending in it) to a utility kind."""
    code = thema.rstrip("/").rsplit("/", 1)[-1].strip()
    try:
        return THEMA_TO_UTILITY[code]
    except KeyError:
        known = ", ".join(sorted(THEMA_TO_UTILITY))
        raise KeyError(f"unknown IMKL thema {thema!r}; known: {known}") from None
