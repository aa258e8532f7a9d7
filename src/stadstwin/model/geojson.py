"""GeoJSON geometries inside definition files, validated with shapely."""

from __future__ import annotations

from typing import Any

import shapely


def parse_geometry(value: dict[str, Any], allowed: tuple[str, ...]) -> shapely.Geometry:
    """A shapely geometry from a GeoJSON geometry object of one of the ``allowed`` types.

    Raises ValueError (for pydantic validators) on malformed, wrong-type, empty or invalid geometry.
    """
    try:
        geometry = shapely.geometry.shape(value)
    except Exception as exc:  # shapely raises several types for malformed GeoJSON
        raise ValueError(f"not a GeoJSON geometry: {exc}") from None
    if geometry.geom_type not in allowed:
        raise ValueError(f"must be a {' or '.join(allowed)}, got {geometry.geom_type}")
    if geometry.is_empty:
        raise ValueError("the geometry is empty")
    if not geometry.is_valid:
        raise ValueError(f"invalid {geometry.geom_type}: {shapely.is_valid_reason(geometry)}")
    return geometry
