"""Coordinate reference systems: everything inside stadstwin is EPSG:7415 (RD New + NAP), metres.

Inputs in another CRS are reprojected with pyproj; an input without a CRS is refused unless the
scene explicitly says which CRS to assume for it.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError as PyprojCRSError

from stadstwin.errors import CRSError, MissingCRSError

INTERNAL_CRS = "EPSG:7415"
RD_NEW = "EPSG:28992"
NAP_HEIGHT = "EPSG:5709"
WGS84 = "EPSG:4326"


def parse_crs(value: object, *, path: str | None = None, feature: str | None = None) -> CRS:
    """Parse a CRS given as EPSG code, URN, WKT or pyproj object; refuse what pyproj cannot read."""
    if value is None or (isinstance(value, str) and not value.strip()):
        raise MissingCRSError(
            "no coordinate reference system given",
            path=path,
            feature=feature,
            hint="set the CRS in the file, or name the CRS to assume in the scene (e.g. crs = \"EPSG:28992\")",
        )
    try:
        return CRS.from_user_input(value)
    except PyprojCRSError as exc:
        raise CRSError(
            f"unknown coordinate reference system {str(value)[:80]!r}",
            path=path,
            feature=feature,
            hint="use an EPSG code such as EPSG:28992 (RD New) or EPSG:7415 (RD New + NAP)",
        ) from exc


def is_internal(crs: CRS) -> bool:
    """True when coordinates in ``crs`` are already RD New x, y (z taken as NAP)."""
    horizontal = crs.sub_crs_list[0] if crs.is_compound else crs
    return horizontal.to_epsg() == 28992


@lru_cache(maxsize=32)
def _transformer(source_wkt: str, target: str) -> Transformer:
    return Transformer.from_crs(CRS.from_wkt(source_wkt), CRS.from_user_input(target), always_xy=True)


def to_internal(
    x: np.ndarray,
    y: np.ndarray,
    crs: CRS,
    *,
    path: str | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Reproject horizontal coordinates from ``crs`` to RD New (the x, y of EPSG:7415), in metres.

    Heights are not touched: a height that is not NAP must be converted by the reader that knows
    its datum.
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if is_internal(crs):
        return x, y
    horizontal = crs.sub_crs_list[0] if crs.is_compound else crs
    try:
        tx, ty = _transformer(horizontal.to_wkt(), RD_NEW).transform(x, y, errcheck=True)
    except Exception as exc:  # pyproj raises several types for failed transforms
        raise CRSError(
            f"cannot reproject from {horizontal.name} to RD New: {exc}",
            path=path,
            hint="check the file's CRS; stadstwin works in EPSG:7415",
        ) from exc
    return np.asarray(tx, dtype=np.float64), np.asarray(ty, dtype=np.float64)


def rd_to_wgs84(x: float | np.ndarray, y: float | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """RD New x, y [m] to WGS84 latitude, longitude [deg] (for the sun position)."""
    lon, lat = _transformer(CRS.from_user_input(RD_NEW).to_wkt(), WGS84).transform(x, y)
    return np.asarray(lat), np.asarray(lon)
