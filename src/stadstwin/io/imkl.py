"""KLIC deliveries (IMKL 2.0 and 1.2) → ``NetworkTable`` of cable and pipe axes in EPSG:7415.

``read_imkl(path)`` reads a KLIC delivery zip or its GI xml (see ``imkl_parse``), gives every cable,
pipe and container (Kabelbed, Mantelbuis, Duct) its utility kind from its IMKL class refined by the
network's thema (an Elektriciteitskabel in a water company's network is a power cable), its
outer diameter (delivered, else the rules' default for the kind), owner (bronhoudercode), status,
and an axis height per vertex with its source and uncertainty (see ``imkl_depth``). Rows carry the
IMKL gml ids and, per segment, the outermost Kabelbed/Mantelbuis/Duct they lie in, linked or holding
them by geometry ("" in the soil).
``parse_imkl`` gives the lower-level ``ImklDelivery`` records (counts per class,
depth points, ExtraGeometrie, appurtenances, duct–pipe–cable nesting).

Thema: an unknown thema code raises ``InputError`` (the kind decides clearances and heat; guessing is
unsafe); a nil thema, or a feature whose network is missing, becomes ``Utility.OTHER`` with an
``ImklWarning``. A nil ``currentStatus`` is taken as existing (the conservative reading).
"""

from __future__ import annotations

import warnings
from dataclasses import replace
from pathlib import Path

import numpy as np

from stadstwin.errors import InputError
from stadstwin.io.imkl_depth import (
    DEFAULT_TOLERANCE,
    DEPTH_UNCERTAINTY,
    DepthResolver,
    VertexDepths,
)
from stadstwin.io.imkl_parse import ImklDelivery, ImklWarning, LinearFeature, parse_imkl
from stadstwin.model.enums import Status, Surface
from stadstwin.model.networks import NetworkTable
from stadstwin.model.raster import Raster
from stadstwin.model.utilities import THEMA_TO_UTILITY, Utility, utility_from_thema
from stadstwin.rules.tables import Rules, load_rules

__all__ = [
    "DEFAULT_TOLERANCE",
    "DEPTH_UNCERTAINTY",
    "STATUS_FROM_CONDITION",
    "ImklDelivery",
    "ImklWarning",
    "VertexDepths",
    "network_table",
    "parse_imkl",
    "read_imkl",
]

#: INSPIRE ConditionOfFacilityValue (IMKL currentStatus) → Status.
STATUS_FROM_CONDITION: dict[str, Status] = {
    "functional": Status.EXISTING,
    "projected": Status.PLANNED,
    "underConstruction": Status.PLANNED,
    "disused": Status.ABANDONED,
    "decommissioned": Status.ABANDONED,
    "abandoned": Status.ABANDONED,
}


#: IMKL class → (the kinds its thema may give it, the kind when the thema gives another). A cable's
#: class says what it is; the network's thema refines it (voltage, pressure) or names the network's
#: owner-theme only (a water company's power cable is an Elektriciteitskabel in a ``water`` network).
#: ``Waterleiding`` is drinking water only in a ``water`` network, with a potable or unstated waterType.
_KINDS_OF_CLASS: dict[str, tuple[frozenset[Utility], Utility]] = {
    "Elektriciteitskabel": (frozenset({Utility.ELECTRICITY_LV, Utility.ELECTRICITY_MV, Utility.ELECTRICITY_HV,
                                       Utility.ELECTRICITY_EHV}), Utility.ELECTRICITY_LV),
    "Telecommunicatiekabel": (frozenset({Utility.TELECOM}), Utility.TELECOM),
    "OlieGasChemicalienPijpleiding": (frozenset({Utility.GAS_LP, Utility.GAS_HP, Utility.HAZARDOUS,
                                                 Utility.PETROCHEMICAL}), Utility.GAS_LP),
    "Rioolleiding": (frozenset({Utility.SEWER_GRAVITY, Utility.SEWER_PRESSURE}), Utility.SEWER_GRAVITY),
    "ThermischePijpleiding": (frozenset({Utility.DISTRICT_HEATING}), Utility.DISTRICT_HEATING),
    "Waterleiding": (frozenset({Utility.WATER}), Utility.OTHER),
}
_GENERIC_KINDS = frozenset({Utility.OTHER, Utility.ORPHAN})  # overig / wees fit every class


def read_imkl(
    path: str | Path,
    *,
    ground: Raster | float = 0.0,
    rules: Rules | None = None,
    depth_tolerance: float = DEFAULT_TOLERANCE,
) -> NetworkTable:
    """Read a KLIC delivery zip or IMKL GI xml into a ``NetworkTable`` (axis z in m NAP).

    ``ground`` is a DTM raster [m NAP] or a constant ground level [m NAP]; depths below ground and
    standard/profile depths are converted with it. ``depth_tolerance`` [m] is how far horizontally a
    depth point or 3D geometry may lie from a line to count for it. Raises ``InputError``/``CRSError``.
    """
    return network_table(
        parse_imkl(path), ground=ground, rules=rules, depth_tolerance=depth_tolerance
    )


def network_table(
    delivery: ImklDelivery,
    *,
    ground: Raster | float = 0.0,
    rules: Rules | None = None,
    depth_tolerance: float = DEFAULT_TOLERANCE,
) -> NetworkTable:
    """The ``NetworkTable`` of a parsed delivery; see ``read_imkl``."""
    rules = rules or load_rules()
    kinds = {f.gml_id: _utility(delivery, f) for f in delivery.features}
    diameters = {
        f.gml_id: f.diameter or rules.utilities[kinds[f.gml_id].key].outer_diameter
        for f in delivery.features
    }
    cover = rules.cover_matrix()[:, Surface.UNKNOWN]  # surface unknown → the strictest cover
    if isinstance(ground, Raster):
        ground_at = ground.sample
    else:
        level = float(ground)
        ground_at = lambda x, y: np.full(len(x), level)
    depths = DepthResolver(
        delivery,
        ground_at,
        radius=lambda f: 0.5 * diameters[f.gml_id],
        cover=lambda f: float(cover[kinds[f.gml_id]]),
        group=lambda f: _group(delivery, f),
        tolerance=depth_tolerance,
    ).resolve()
    rows = [(f, v) for f in delivery.features for v in depths[f.gml_id]]
    if not rows:
        return NetworkTable.empty()
    table = NetworkTable.from_polylines(
        [v.vertices for _, v in rows],
        outer_diameter=[diameters[f.gml_id] for f, _ in rows],
        utility=[kinds[f.gml_id] for f, _ in rows],
        owner=[f.owner for f, _ in rows],
        status=[_status(delivery, f) for f, _ in rows],
        depth_source=np.concatenate([v.source for _, v in rows]),
        depth_uncertainty=np.concatenate([v.uncertainty for _, v in rows]),
        feature_id=[f.gml_id for f, _ in rows],
    )
    # a nested cable lies in its container only along the container's stretch: set per segment
    return replace(table, container=np.concatenate([v.segment_container() for _, v in rows]))


def _utility(delivery: ImklDelivery, feature: LinearFeature) -> Utility:
    network = delivery.networks.get(feature.network)
    if network is None:
        warnings.warn(
            f"{delivery.path}: {feature.gml_id}: network {feature.network!r} not in the delivery; "
            "utility kind set to OTHER",
            ImklWarning,
            stacklevel=3,
        )
        return Utility.OTHER
    if network.thema is None:
        warnings.warn(
            f"{delivery.path}: {network.gml_id}: thema is nil; utility kind set to OTHER",
            ImklWarning,
            stacklevel=3,
        )
        return Utility.OTHER
    try:
        kind = utility_from_thema(network.thema)
    except KeyError:
        raise InputError(
            f"unknown IMKL thema {network.thema!r} (on {feature.gml_id})",
            path=delivery.path,
            feature=network.gml_id,
            hint=f"known thema values: {', '.join(sorted(THEMA_TO_UTILITY))}",
        ) from None
    return _kind_of_class(feature, kind)


def _group(delivery: ImklDelivery, feature: LinearFeature) -> str:
    """The utility group of the feature's network thema (``electricity`` for laag- and middenspanning,
    ``gas``, ``water``...), else its network id."""
    network = delivery.networks.get(feature.network)
    if network is None or network.thema is None:
        return feature.network or ""
    return utility_from_thema(network.thema).key.split("_")[0]


def _kind_of_class(feature: LinearFeature, kind: Utility) -> Utility:
    """The thema's kind when the feature's class can be one, else the class's own kind."""
    allowed, fallback = _KINDS_OF_CLASS.get(feature.imkl_class, (frozenset({kind}), kind))
    potable = feature.water_type in (None, "potable")
    if kind in _GENERIC_KINDS or (kind in allowed and (kind is not Utility.WATER or potable)):
        return kind
    return fallback


def _status(delivery: ImklDelivery, feature: LinearFeature) -> Status:
    if feature.status is None:
        return Status.EXISTING
    try:
        return STATUS_FROM_CONDITION[feature.status]
    except KeyError:
        raise InputError(
            f"unknown currentStatus {feature.status!r}",
            path=delivery.path,
            feature=feature.gml_id,
            hint=f"known values: {', '.join(STATUS_FROM_CONDITION)}",
        ) from None
