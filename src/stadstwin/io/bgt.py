"""BGT footprints (pand) and surfaces (wegdeel, terreindeel, waterdeel) from GeoPackage, SQLite or GML.

Files are read with pyogrio; column names are matched case-insensitively and without ``-``/``_``
(``bgt-status``, ``bgt_status`` and ``bgtStatus`` are one column). Only current objects are read: a
set ``eindRegistratie`` / ``terminationdate``, a status ``historie`` or ``plan``, or a
``relatieveHoogteligging`` other than 0 (bridges, tunnels) leaves a feature out. Invalid polygons
(self-intersections) are repaired with ``shapely.make_valid`` and each repair is reported as a
``BgtRepairWarning`` naming the file and feature; points and lines are left out with the same warning. Coordinates must be in RD New or are reprojected.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pyogrio
import shapely
from pyogrio.errors import DataSourceError
from rasterio.features import rasterize

from stadstwin.crs import is_internal, parse_crs, to_internal
from stadstwin.errors import InputError
from stadstwin.io.cityjson import bag_pand_id
from stadstwin.model.buildings import Buildings
from stadstwin.model.enums import Surface
from stadstwin.model.raster import Raster

#: BGT layer -> (columns that hold the kind, default Surface, {kind value or prefix: Surface}).
#: A kind matches a key when it equals it or starts with it (``rijbaan`` covers every rijbaan type).
SURFACE_TABLE: dict[str, tuple[tuple[str, ...], Surface, dict[str, Surface]]] = {
    "begroeidterreindeel": ((), Surface.VERGE, {}),
    "onbegroeidterreindeel": (
        ("bgtfysiekvoorkomen", "fysiekvoorkomen"),
        Surface.VERGE,  # onverhard, zand, erf (private yard, taken as unpaved ground)
        {"open verharding": Surface.PAVEMENT, "gesloten verharding": Surface.PAVEMENT,
         "half verhard": Surface.PAVEMENT},
    ),
    "ondersteunendwegdeel": (
        ("function", "functie", "bgtfunctie"),
        Surface.VERGE,  # berm
        {"verkeerseiland": Surface.PAVEMENT},
    ),
    "wegdeel": (
        ("function", "functie", "bgtfunctie"),
        Surface.PAVEMENT,  # voetpad, voetpad op trap, fietspad, parkeervlak, voetgangersgebied, ruiterpad
        {"rijbaan": Surface.CARRIAGEWAY, "ov-baan": Surface.CARRIAGEWAY, "overweg": Surface.CARRIAGEWAY,
         "woonerf": Surface.CARRIAGEWAY, "inrit": Surface.CARRIAGEWAY, "spoorbaan": Surface.CARRIAGEWAY},
    ),
    "waterdeel": ((), Surface.WATER, {}),
    "pand": ((), Surface.BUILDING, {}),
}
#: Burn order: later layers overwrite earlier ones where they overlap (buildings win).
BURN_ORDER = ("begroeidterreindeel", "onbegroeidterreindeel", "ondersteunendwegdeel", "wegdeel", "waterdeel", "pand")
#: Layers that stadstwin knows but does not rasterise (walls and fences are no ground surface).
NOT_RASTERISED = ("scheiding",)
#: Layer names of BGT classes in the CityGML / IMGeo translation (as in PDOK's and the Delft extracts).
LAYER_ALIASES: dict[str, tuple[str, ...]] = {
    "pand": ("buildingpart", "building"),
    "wegdeel": ("trafficarea",),
    "ondersteunendwegdeel": ("auxiliarytrafficarea",),
    "begroeidterreindeel": ("plantcover",),
    "onbegroeidterreindeel": (),
    "waterdeel": ("waterbody",),
    "scheiding": (),
}
_PREFERRED_LAYERS = ("pand", "bgt_pand", *LAYER_ALIASES["pand"])
_ID_COLUMNS = ("gmlid", "lokaalid", "identificatie")


class BgtRepairWarning(UserWarning):
    """An invalid BGT polygon was repaired with ``shapely.make_valid``."""


def read_bgt_buildings(path: str | Path, *, layer: str | None = None, assumed_crs: str | None = None) -> Buildings:
    """BGT panden as buildings: footprint, ``NL.IMBAG.Pand.<16 digits>`` id (the BGT feature id
    where no ``identificatieBAGPND`` is given), heights NaN until the point cloud gives them."""
    path = Path(path)
    geometries, columns, ids = _read_layer(path, layer, assumed_crs, _PREFERRED_LAYERS)
    bag = columns.get("identificatiebagpnd", np.full(len(ids), None))
    source = [bag_pand_id(b) if b not in (None, "") else i for b, i in zip(bag, ids)]
    n = len(geometries)
    return Buildings(geometries, np.full(n, np.nan), np.full(n, np.nan), np.array(source, dtype=str))


def bgt_layer(layer: str, fields: list[str]) -> str | None:
    """The BGT class (``pand``, ``wegdeel``, ...) a vector layer holds, from its name (``bgt_wegdeel``,
    ``trafficarea``, ...) or, for footprints, its ``identificatieBAGPND`` column; None when it is none."""
    name = _normal(layer).removeprefix("bgt")
    for bgt, aliases in LAYER_ALIASES.items():
        if name == bgt or name in aliases:
            return bgt
    return "pand" if "identificatiebagpnd" in {_normal(f) for f in fields} else None


def _layer_names(name: str) -> tuple[str, ...]:
    return (name, f"bgt_{name}", *LAYER_ALIASES.get(name, ()))


def read_bgt_layer(path: str | Path, name: str, *, assumed_crs: str | None = None) -> np.ndarray:
    """The current polygons (RD New) of BGT class ``name`` in the file, as the twin builder reads them."""
    return _read_layer(Path(path), None, assumed_crs, _layer_names(name))[0]


def rasterize_surfaces(layers: dict[str, str | Path], grid: Raster) -> Raster:
    """``Surface`` codes (uint8) on ``grid`` from BGT files given per layer name (``wegdeel``, ...);
    a value may be a scene ``SourceFile`` (its ``crs`` is assumed where the file has none).

    Cells no polygon covers (by centre) stay ``Surface.UNKNOWN``; see ``SURFACE_TABLE``.
    """
    return burn_surfaces(*surface_shapes(layers), grid)


def surface_shapes(layers: dict[str, str | Path]) -> tuple[np.ndarray, np.ndarray]:
    """(polygons [RD New], ``Surface`` codes) of the BGT files per layer name, in burn order (see
    :func:`rasterize_surfaces`): read once, burnt on any number of grids by :func:`burn_surfaces`."""
    unknown = sorted(set(layers) - set(SURFACE_TABLE) - set(NOT_RASTERISED))
    if unknown:
        raise InputError(f"unknown BGT layer(s) {', '.join(unknown)}",
                         hint=f"use {', '.join((*SURFACE_TABLE, *NOT_RASTERISED))}")
    geometries, codes = [np.empty(0, dtype=object)], [np.empty(0, dtype=np.uint8)]
    for name in BURN_ORDER:
        if name not in layers:
            continue
        source = layers[name]
        path, crs = (source.path, source.crs) if hasattr(source, "path") else (source, None)
        read, columns, _ = _read_layer(Path(path), None, crs, _layer_names(name))
        geometries.append(read)
        codes.append(_surface_codes(name, columns, len(read)))
    return np.concatenate(geometries), np.concatenate(codes)


def burn_surfaces(geometries: np.ndarray, codes: np.ndarray, grid: Raster) -> Raster:
    """``Surface`` codes (uint8) on ``grid`` of the polygons that meet it, later ones over earlier ones."""
    out = np.zeros(grid.shape, dtype=np.uint8)
    meets = shapely.intersects(geometries, shapely.box(*grid.bounds)) if len(geometries) else np.zeros(0, bool)
    if meets.any():
        out = rasterize(zip(geometries[meets], codes[meets].tolist(), strict=True), out_shape=grid.shape,
                        transform=grid.transform, fill=0, dtype="uint8")
    return Raster(out, grid.transform, grid.crs)


def _surface_codes(layer: str, columns: dict[str, np.ndarray], n: int) -> np.ndarray:
    names, default, kinds = SURFACE_TABLE[layer]
    column = next((columns[c] for c in names if c in columns), None)
    codes = np.full(n, int(default), dtype=np.uint8)
    if column is None:
        return codes
    for i, value in enumerate(column):
        kind = str(value or "").strip().lower()
        for key, surface in kinds.items():
            if kind == key or kind.startswith(key):
                codes[i] = surface
                break
    return codes


def _normal(name: str) -> str:
    return name.lower().replace("-", "").replace("_", "")


def _read_layer(
    path: Path, layer: str | None, assumed_crs: str | None, preferred: tuple[str, ...]
) -> tuple[np.ndarray, dict[str, np.ndarray], list[str]]:
    """(polygons in RD New, {normalised column: values}, feature ids) of the current features."""
    if not path.is_file():
        raise InputError("the BGT file does not exist", path=path)
    if path.stat().st_size == 0:
        raise InputError("the BGT file is empty", path=path, hint="download the BGT extract again")
    try:
        available = [str(name) for name, _ in pyogrio.list_layers(path)]
    except DataSourceError as exc:
        raise InputError(f"not a readable GeoPackage / SQLite / GML file: {exc}", path=path,
                         hint="the file may be truncated; download the BGT extract again") from exc
    if layer is None:
        layer = next((n for n in available if n.lower() in preferred), available[0] if len(available) == 1 else None)
    if layer is None or layer not in available:
        raise InputError(f"no layer {layer or ' / '.join(preferred)!r} (layers: {', '.join(available) or 'none'})",
                         path=path, hint="name the layer to read")
    try:
        meta, fids, wkb, data = pyogrio.raw.read(path, layer=layer, return_fids=True)
    except DataSourceError as exc:
        raise InputError(f"cannot read layer {layer!r}: {exc}", path=path) from exc
    columns = {_normal(str(name)): np.asarray(values, dtype=object) for name, values in zip(meta["fields"], data)}
    n = len(fids)
    ids_column = next((columns[_normal(c)] for c in _ID_COLUMNS if _normal(c) in columns), None)
    ids = [str(v) if v not in (None, "") else f"{layer}.{f}" for v, f in
           zip(ids_column if ids_column is not None else [None] * n, fids)]
    keep = _current(columns, n)
    geometries = shapely.from_wkb(np.asarray(wkb, dtype=object)) if wkb is not None else np.full(n, None)
    keep &= ~shapely.is_missing(geometries)
    index = np.flatnonzero(keep)
    geometries = shapely.force_2d(geometries[index])
    geometries = _to_rd(geometries, meta.get("crs"), path, assumed_crs)
    geometries = np.array([_repair(g, path, ids[i]) for g, i in zip(geometries, index)], dtype=object)
    usable = ~shapely.is_empty(geometries) if len(geometries) else np.zeros(0, dtype=bool)
    geometries, index = geometries[usable], index[usable]
    return geometries, {k: v[index] for k, v in columns.items()}, [ids[i] for i in index]


def _current(columns: dict[str, np.ndarray], n: int) -> np.ndarray:
    keep = np.ones(n, dtype=bool)
    for name in ("eindregistratie", "terminationdate"):
        if name in columns:
            keep &= np.array([v is None or str(v).strip() == "" for v in columns[name]], dtype=bool)
    for name in ("bgtstatus", "status"):
        if name in columns:
            keep &= np.array([str(v).strip().lower() not in ("historie", "plan") for v in columns[name]], dtype=bool)
            break
    if "relatievehoogteligging" in columns:
        keep &= np.array([v is None or str(v).strip() in ("", "0") for v in columns["relatievehoogteligging"]],
                         dtype=bool)
    return keep


def _to_rd(geometries: np.ndarray, crs_text: str | None, path: Path, assumed_crs: str | None) -> np.ndarray:
    crs = parse_crs(crs_text or assumed_crs, path=str(path))
    if is_internal(crs) or not len(geometries):
        return geometries
    return shapely.transform(geometries, lambda xy: np.column_stack(to_internal(xy[:, 0], xy[:, 1], crs, path=str(path))))


def _repair(geometry: shapely.Geometry, path: Path, feature: str) -> shapely.Geometry:
    """The polygonal part of a valid geometry (empty when there is none); repairs and dropped
    non-polygonal geometries are reported as warnings."""
    if shapely.is_valid(geometry) and geometry.geom_type in ("Polygon", "MultiPolygon"):
        return geometry
    if shapely.is_valid(geometry):
        warnings.warn(f"{path}: {feature}: a {geometry.geom_type} is no surface; left out",
                      BgtRepairWarning, stacklevel=4)
        return shapely.Polygon()
    reason = shapely.is_valid_reason(geometry)
    repaired = shapely.make_valid(geometry)
    polygons = [p for p in shapely.get_parts(repaired) if p.geom_type in ("Polygon", "MultiPolygon")]
    warnings.warn(f"{path}: {feature}: invalid polygon ({reason}) repaired with make_valid",
                  BgtRepairWarning, stacklevel=4)
    return shapely.union_all(polygons) if polygons else shapely.Polygon()
