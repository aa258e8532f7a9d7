"""Trees: read from a municipal tree register (GeoJSON / GeoPackage / CSV with x, y or WKT columns / any OGR
vector) or detected in a CHM.

Register columns are found by name, case and punctuation ignored, Dutch register names first:

- height: ``boomhoogte``, ``hoogte``, ``boomhoogteklasse`` … or ``height``, ``tree_height``;
- crown diameter: ``kroondiameter``, ``kroonbreedte`` … or ``crown_diameter``, ``crown_width``;
- species: ``boomsoort``, ``wetenschappelijke_naam``, ``soortnaam`` … or ``species``, ``scientific_name``;
- crown base: ``takvrije_hoogte``, ``stamhoogte`` … or ``trunk_height``, ``crown_base_height``;
- id: ``boomnummer``, ``objectnummer``, ``id`` … (else the feature id).

``columns`` overrides any of these (``{"height": "H_m"}``). Values may be numbers or text such as
``"12,5"``, ``"9-12 m"`` or ``"c. 9 tot 12 m."`` (a class: its mid value is taken). Defaults where
the register says nothing: crown diameter from the crown-width allometry of the detector
(Popescu & Wynne 2004, 2.51503 + 0.00901·h² m), crown base (``trunk_height``) at 25 % of the tree
height (typical for street trees pruned to clear traffic), capped at the tree height. Trees without
a usable height are skipped with a warning. Point geometries give the trunk; polygons (crown
outlines) their centroid.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Mapping
from os import PathLike
from pathlib import Path

import numpy as np
import pyogrio
import shapely
from pyogrio.errors import DataLayerError, DataSourceError

from stadstwin.crs import parse_crs, to_internal
from stadstwin.engines.tree_detection import WIDTH_INTERCEPT, WIDTH_SLOPE, detect_tree_tops
from stadstwin.errors import InputError, MissingCRSError
from stadstwin.model.raster import Raster
from stadstwin.model.trees import Trees

TRUNK_FRACTION = 0.25  # crown base height / tree height where the register gives none

COLUMN_NAMES: dict[str, tuple[str, ...]] = {
    "height": ("boomhoogte", "hoogte", "boomhoogteklasse", "hoogteklasse", "boomhoogteactueel",
               "boomhoogteklasseactueel", "height", "treeheight", "heightm", "h"),
    "crown_diameter": ("kroondiameter", "kroonbreedte", "kroondiameterklasse", "kroondiam", "kroonomvang",
                       "crowndiameter", "crownwidth", "crowndiam", "crownspread"),
    "species": ("boomsoort", "boomsoortwetenschappelijk", "wetenschappelijkenaam", "soortnaamwetenschappelijk",
                "latijnsenaam", "soortnaam", "soort", "species", "scientificname", "latinname", "taxon"),
    "trunk_height": ("takvrijehoogte", "stamhoogte", "kroonaanzet", "trunkheight", "crownbaseheight",
                     "crownbase"),
    "id": ("boomnummer", "boomid", "objectnummer", "treeid", "id", "identificatie", "objectid", "guid"),
}


#: GDAL CSV open options: where a CSV register keeps its coordinates (x/y columns or WKT).
CSV_OPTIONS = {"X_POSSIBLE_NAMES": "x,x_rd,xcoord*,rd_x,lon*,lng", "Y_POSSIBLE_NAMES": "y,y_rd,ycoord*,rd_y,lat*",
               "GEOM_POSSIBLE_NAMES": "wkt,geom*,geometry"}


def crown_width(height: np.ndarray) -> np.ndarray:
    """Allometric crown diameter [m] of trees of ``height`` [m] (Popescu & Wynne 2004)."""
    return WIDTH_INTERCEPT + WIDTH_SLOPE * np.asarray(height, dtype=np.float64) ** 2


def _normal(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def _find_columns(fields: list[str], columns: Mapping[str, str] | None, path: Path) -> dict[str, int]:
    """Index into ``fields`` per role, from explicit ``columns`` or the known names."""
    found: dict[str, int] = {}
    normal = [_normal(f) for f in fields]
    for role, names in COLUMN_NAMES.items():
        if columns and role in columns:
            if columns[role] not in fields:
                raise InputError(f"column {columns[role]!r} for {role} not found; columns are {fields}", path=path)
            found[role] = fields.index(columns[role])
            continue
        for name in names:
            if name in normal:
                found[role] = normal.index(name)
                break
    return found


def _metres(values: np.ndarray) -> np.ndarray:
    """Numbers, numeric text or classes such as ``"9-12 m"`` → float [m]; NaN where none."""
    out = np.full(len(values), np.nan)
    for i, value in enumerate(values):
        if value is None:
            continue
        if isinstance(value, (int, float, np.integer, np.floating)):
            out[i] = float(value)
            continue
        numbers = re.findall(r"\d+(?:[.,]\d+)?", str(value))
        if numbers:
            out[i] = float(np.mean([float(n.replace(",", ".")) for n in numbers]))
    return out


def _text(values: np.ndarray | None, n: int) -> np.ndarray:
    if values is None:
        return np.full(n, "", dtype=object)
    return np.array(["" if v is None else str(v).strip() for v in values], dtype=object)


def read_tree_register(
    path: str | PathLike[str],
    *,
    dtm: Raster | None = None,
    assumed_crs: str | None = None,
    columns: Mapping[str, str] | None = None,
    layer: str | int | None = None,
) -> Trees:
    """Trees of a register file; ``ground_z`` sampled from ``dtm`` when given (else NaN)."""
    path = Path(path)
    try:
        options = CSV_OPTIONS if path.suffix.lower() == ".csv" else {}
        meta, fids, wkb, field_data = pyogrio.raw.read(path, layer=layer, return_fids=True, **options)
    except (DataSourceError, DataLayerError, OSError, ValueError) as exc:
        raise InputError(f"not a readable vector file: {exc}", path=path,
                         hint="give a GeoJSON or GeoPackage tree register") from exc
    if len(fids) == 0:
        return Trees.empty()
    if wkb is None:
        raise InputError("the register has no geometry column", path=path)
    fields = [str(f) for f in meta["fields"]]
    found = _find_columns(fields, columns, path)
    if "height" not in found:
        raise InputError(f"no tree height column among {fields}", path=path,
                         hint="name it boomhoogte or height, or map it with columns={'height': ...}")
    crs_text = meta.get("crs")
    if not crs_text and assumed_crs is None:
        raise MissingCRSError("tree register without CRS", path=path,
                              hint="assume RD only when the scene says so: give this register crs = \"EPSG:28992\"")
    crs = parse_crs(crs_text or assumed_crs, path=str(path))
    geometries = shapely.from_wkb(wkb)
    missing = shapely.is_missing(geometries) | shapely.is_empty(geometries)
    points = shapely.centroid(np.where(missing, shapely.Point(0, 0), geometries))
    x, y = to_internal(shapely.get_x(points), shapely.get_y(points), crs, path=str(path))

    column = {role: field_data[index] for role, index in found.items()}
    height = _metres(column["height"])
    crown = _metres(column["crown_diameter"]) if "crown_diameter" in column else np.full(len(x), np.nan)
    crown = np.where(crown > 0, crown, crown_width(height))
    trunk = _metres(column["trunk_height"]) if "trunk_height" in column else np.full(len(x), np.nan)
    trunk = np.minimum(np.where(trunk >= 0, trunk, TRUNK_FRACTION * height), height)
    ids = _text(column.get("id"), len(x)) if "id" in column else np.array([str(f) for f in fids], dtype=object)

    usable = ~missing & (height > 0)
    if not usable.all():
        skipped = ", ".join(ids[~usable][:5])
        warnings.warn(f"{path}: {np.sum(~usable)} trees without a geometry or usable height skipped "
                      f"(e.g. {skipped})", stacklevel=2)
    ground = dtm.sample(x, y) if dtm is not None else np.full(len(x), np.nan)
    return Trees(x, y, ground, height, crown, trunk, _text(column.get("species"), len(x)), ids).select(usable)


def detect_trees(
    chm: Raster, dtm: Raster, min_height: float = 3.0, *, min_crown_diameter: float = 2.0,
    crown_floor: float = 2.0, max_crown_radius: float = 10.0,
) -> Trees:
    """Trees found as local maxima of the canopy height model ``chm`` [m] (see engines.tree_detection).

    Trunk at the top cell's centre, height the CHM there, ground from ``dtm``, crown diameter from
    the crown grown down to ``crown_floor`` [m], crown base at 25 % of the height. Tops whose crown
    is narrower than ``min_crown_diameter`` [m] are dropped: in AHN these are mostly lamp posts,
    signs and façade points left in class 1.
    """
    rows, cols, height, crown = detect_tree_tops(chm.values(), chm.cell_size, min_height, crown_floor,
                                                 max_crown_radius)
    keep = crown >= min_crown_diameter
    rows, cols, height, crown = rows[keep], cols[keep], height[keep], crown[keep]
    cx, cy = chm.cell_centres()
    x, y = cx[rows, cols], cy[rows, cols]
    n = len(x)
    return Trees(
        x, y, dtm.sample(x, y), height, crown, TRUNK_FRACTION * height,
        np.full(n, "", dtype=object), np.array([f"chm-{k}" for k in range(n)], dtype=object),
    )
