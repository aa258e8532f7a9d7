"""BGT-like surfaces and footprints as GeoPackages, one per object class (as the Delft BGT files).

Layers ``pand`` (``identificatiebagpnd``), ``wegdeel`` (``function``: rijbaan lokale weg, voetpad,
fietspad, parkeervlak), ``begroeidterreindeel`` and ``waterdeel`` (``class``) and
``onbegroeidterreindeel`` (``bgt_fysiekvoorkomen``), in EPSG:28992 with the Delft files' column style.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyogrio
import shapely
from pyogrio.raw import write

from stadstwin.sample.district import GEMEENTE, District

CRS = "EPSG:28992"
#: BGT layer -> the column that holds its kind (as in the Delft BGT files)
KIND_COLUMN = {
    "wegdeel": "function",
    "begroeidterreindeel": "class",
    "onbegroeidterreindeel": "bgt_fysiekvoorkomen",
    "waterdeel": "class",
}
FIXED_DATE = "2026-01-01T00:00:00.000Z"  # GeoPackage timestamps, so that files are reproducible


@contextlib.contextmanager
def _fixed_gdal_date() -> Iterator[None]:
    previous = pyogrio.get_gdal_config_option("OGR_CURRENT_DATE")
    pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": FIXED_DATE})
    try:
        yield
    finally:
        pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": previous})


def _common(layer: str, count: int, seed: int) -> tuple[list[np.ndarray], list[str]]:
    """The BGT identity and status columns every layer has."""
    ids = [
        uuid.uuid5(uuid.NAMESPACE_URL, f"stadstwin-sample/{seed}/{layer}/{i}").hex
        for i in range(count)
    ]
    columns = {
        "gml_id": ["b" + i[:31] for i in ids],
        "namespace": ["NL.IMGeo"] * count,
        "lokaalid": [f"G{GEMEENTE}.{i}" for i in ids],
        "bronhouder": [f"G{GEMEENTE}"] * count,
        "creationdate": ["2016-01-01"] * count,
        "bgt_status": ["bestaand"] * count,
        "plus_status": ["geenWaarde"] * count,
        "relatievehoogteligging": [0] * count,
    }
    return [
        np.array(v, dtype=object if isinstance(v[0], str) else np.int32) for v in columns.values()
    ], list(columns)


def _write(
    path: Path,
    layer: str,
    geometries: list[shapely.Geometry],
    data: list[np.ndarray],
    fields: list[str],
) -> None:
    geometry_type = "MultiPolygon" if layer == "pand" else "Polygon"
    if layer == "pand":
        geometries = [shapely.MultiPolygon([g]) for g in geometries]
    if path.exists():
        path.unlink()
    with _fixed_gdal_date():
        write(
            str(path),
            shapely.to_wkb(geometries),
            data,
            fields,
            layer=layer,
            driver="GPKG",
            crs=CRS,
            geometry_type=geometry_type,
        )


def write_bgt(district: District, folder: Path) -> dict[str, Path]:
    """Write ``bgt_<layer>.gpkg`` files into ``folder``; returns layer -> path."""
    paths: dict[str, Path] = {}
    buildings = district.buildings
    data, fields = _common("pand", len(buildings), district.seed)
    data.append(np.array([int(b.bag_id) for b in buildings], dtype=np.int64))
    fields.append("identificatiebagpnd")
    paths["pand"] = folder / "bgt_pand.gpkg"
    _write(paths["pand"], "pand", [shapely.box(*b.footprint) for b in buildings], data, fields)
    for layer, column in KIND_COLUMN.items():
        areas = [a for a in district.areas if a.layer == layer]
        data, fields = _common(layer, len(areas), district.seed)
        data.append(np.array([a.kind for a in areas], dtype=object))
        fields.append(column)
        if layer == "wegdeel":
            data.append(np.array(["open verharding"] * len(areas), dtype=object))
            fields.append("surfacematerial")
        paths[layer] = folder / f"bgt_{layer}.gpkg"
        _write(paths[layer], layer, [a.polygon for a in areas], data, fields)
    return paths
