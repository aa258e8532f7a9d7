"""A twin as a folder of open files: COG rasters, (Geo)Parquet tables and one JSON manifest.

Layout of a twin folder (format ``stadstwin-twin`` version :data:`VERSION`)::

    twin.json          name, crs, terrain, operating points, and per raster/table what lies where
    dtm.tif dsm.tif    Cloud-Optimised GeoTIFFs (``io.geotiff.write_cog``, ZSTD, no overviews) in the
    chm.tif            raster's own dtype (float64 heights, uint8 surface codes), EPSG:28992 with the
    surface.tif        vertical reference tag (dtm/dsm NAP, chm maaiveld); NaN stays NaN
    buildings.parquet  GeoParquet (footprint, EPSG:28992) with ground_z, roof_z, source_id, one column
    context.parquet    per attribute (``attributes.<name>``) and, where meshes are, their vertices [m] and
                       triangle corner indices as list columns (``mesh.vertices``, ``mesh.faces``)
    trees.parquet      plain Parquet (x, y and the other columns)
    networks.parquet   plain Parquet; p0/p1 as columns ``p0.0`` .. ``p1.2``; the owner names in the JSON
    reservations.parquet, retention.parquet   GeoParquet (footprint)

A table with no rows has no file (its column dtypes are in the JSON). The JSON records every column's
numpy dtype, so a twin read back equals the one written array by array (NaN included). A building mesh is
kept as its vertices and faces only (trimesh ``process=False``, as the CityJSON reader makes it).
:func:`write_twin_folder` writes into a temporary folder beside the target and renames it, so a folder
that exists is complete.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import shutil
import tempfile
import typing
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import rasterio
import shapely
import trimesh
from affine import Affine
from pydantic import TypeAdapter
from rasterio.errors import RasterioError

from stadstwin.crs import RD_NEW
from stadstwin.errors import InputError
from stadstwin.io.geotiff import write_cog
from stadstwin.model.raster import Raster
from stadstwin.model.twin import Twin

FORMAT = "stadstwin-twin"
VERSION = 1
MANIFEST = "twin.json"
#: what the values of each height raster mean (``write_cog``'s ``heights``); other rasters are codes.
HEIGHTS = {"dtm": "NAP", "dsm": "NAP", "chm": "maaiveld"}
_HINTS = typing.get_type_hints(Twin)
_adapter = functools.cache(TypeAdapter)  # JSON (de)serialiser per type hint


def _kind(name: str) -> str:
    """How a Twin field is stored: "raster", "table" (a dataclass of columns) or "json"."""
    hint = _HINTS[name]
    if hint is Raster or Raster in typing.get_args(hint):
        return "raster"
    return "table" if dataclasses.is_dataclass(hint) else "json"


def write_twin_folder(twin: Twin, folder: Path) -> Path:
    """Write ``twin`` to ``folder`` (replacing it) through a temporary folder renamed at the end."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    temporary = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}-", suffix=".partial"))
    try:
        manifest: dict = {"format": FORMAT, "version": VERSION, "fields": {}}
        for field in dataclasses.fields(Twin):
            value = getattr(twin, field.name)
            kind = _kind(field.name)
            if kind == "raster":
                entry = None if value is None else _write_raster(value, temporary, field.name)
            elif kind == "table":
                entry = _write_table(value, temporary / f"{field.name}.parquet")
            else:
                entry = _adapter(_HINTS[field.name]).dump_python(value, mode="json")
            manifest["fields"][field.name] = entry
        (temporary / MANIFEST).write_text(json.dumps(manifest, indent=1))
        if folder.exists():
            shutil.rmtree(folder)
        os.replace(temporary, folder)
    finally:
        shutil.rmtree(temporary, ignore_errors=True)
    return folder


def read_twin_folder(folder: Path) -> Twin:
    """The twin written to ``folder``; a missing or unreadable file is an ``InputError`` naming it."""
    path = folder / MANIFEST
    try:
        manifest = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise InputError(f"twin manifest missing or unreadable: {exc}", path=path) from exc
    known = isinstance(manifest, dict) and (manifest.get("format"), manifest.get("version")) == (FORMAT, VERSION)
    fields = manifest.get("fields") if known else None
    if not isinstance(fields, dict):
        raise InputError(f"not a {FORMAT} manifest of version {VERSION}", path=path,
                         hint="build the twin again with this stadstwin")
    values = {}
    for field in dataclasses.fields(Twin):
        if field.name not in fields:
            raise InputError(f"the manifest has no field {field.name!r}", path=path, feature=field.name)
        entry = fields[field.name]
        kind = _kind(field.name)
        if kind == "raster":
            values[field.name] = None if entry is None else _read_raster(folder, entry)
        elif kind == "table":
            values[field.name] = _read_table(_HINTS[field.name], folder, entry)
        else:
            values[field.name] = _adapter(_HINTS[field.name]).validate_python(entry)
    return Twin(**values)


def _write_raster(raster: Raster, folder: Path, name: str) -> dict:
    path = folder / f"{name}.tif"
    write_cog(raster, path, heights=HEIGHTS.get(name), exact=True)
    return {"file": path.name, "crs": raster.crs, "nodata": raster.nodata}


def _read_raster(folder: Path, entry: dict) -> Raster:
    path = folder / entry["file"]
    try:
        with rasterio.open(path) as source:
            array = source.read(1)
            transform: Affine = source.transform
    except RasterioError as exc:
        raise InputError(f"not a readable GeoTIFF: {exc}", path=path, hint="build the twin again") from exc
    return Raster(array, transform, entry["crs"], entry["nodata"])


def _columns(table) -> tuple[dict[str, np.ndarray | pd.Series], dict]:
    """The per-row arrays of a table dataclass by column name, and the JSON description of its fields."""
    columns: dict[str, np.ndarray | pd.Series] = {}
    fields: dict = {}
    for field in dataclasses.fields(table):
        value = getattr(table, field.name)
        if isinstance(value, np.ndarray):
            columns[field.name] = value
            fields[field.name] = {"array": value.dtype.str, "shape": list(value.shape[1:])}
        elif isinstance(value, dict):  # named per-row arrays (Buildings.attributes)
            columns.update({f"{field.name}.{key}": array for key, array in value.items()})
            fields[field.name] = {"arrays": {key: array.dtype.str for key, array in value.items()}}
        elif isinstance(value, list):  # meshes (Buildings.mesh), None where a row has none
            columns[f"{field.name}.vertices"] = pd.Series(
                [None if m is None else np.asarray(m.vertices, np.float64).ravel() for m in value], dtype=object)
            columns[f"{field.name}.faces"] = pd.Series(
                [None if m is None else np.asarray(m.faces, np.int64).ravel() for m in value], dtype=object)
            fields[field.name] = {"meshes": True}
        else:
            hint = typing.get_type_hints(type(table))[field.name]
            fields[field.name] = {"value": _adapter(hint).dump_python(value, mode="json")}
    return columns, fields


def _write_table(table, path: Path) -> dict:
    columns, fields = _columns(table)
    rows = len(table)
    entry = {"file": None, "rows": rows, "geometry": None, "fields": fields}
    if not rows:
        return entry
    frame = {}
    geometry = []
    for name, array in columns.items():
        if isinstance(array, np.ndarray) and array.ndim == 2:
            frame.update({f"{name}.{k}": array[:, k] for k in range(array.shape[1])})
        else:
            frame[name] = array
            if array.dtype == object and shapely.is_geometry(np.asarray(array)).all():
                geometry.append(name)
    data = pd.DataFrame(frame)
    if len(geometry) > 1:
        raise ValueError(f"a table has one geometry column, {type(table).__name__} has {geometry}")
    if geometry:
        gpd.GeoDataFrame(data, geometry=geometry[0], crs=RD_NEW).to_parquet(path, index=False)
        entry["geometry"] = geometry[0]
    else:
        data.to_parquet(path, index=False)
    entry["file"] = path.name
    return entry


def _read_table(cls, folder: Path, entry: dict):
    rows = entry["rows"]
    frame = None
    if entry["file"] is not None:
        path = folder / entry["file"]
        try:
            frame = gpd.read_parquet(path) if entry["geometry"] else pd.read_parquet(path)
        except (OSError, ValueError, pa.ArrowException) as exc:
            raise InputError(f"not a readable Parquet table: {exc}", path=path, hint="build the twin again") from exc
        if len(frame) != rows:
            raise InputError(f"{len(frame)} rows, the manifest says {rows}", path=path)

    def column(name: str, dtype: str, shape: list[int]) -> np.ndarray:
        if frame is None:
            return np.empty((0, *shape), dtype=dtype)
        if shape:
            return np.stack([frame[f"{name}.{k}"].to_numpy() for k in range(shape[0])], axis=1).astype(dtype)
        values = frame[name]
        if isinstance(values, gpd.GeoSeries):
            return np.asarray(values.array, dtype=object)
        return values.to_numpy().astype(dtype)

    hints = typing.get_type_hints(cls)
    values = {}
    for name, spec in entry["fields"].items():
        try:
            if "array" in spec:
                values[name] = column(name, spec["array"], spec["shape"])
            elif "arrays" in spec:
                values[name] = {key: column(f"{name}.{key}", dtype, []) for key, dtype in spec["arrays"].items()}
            elif "meshes" in spec:
                values[name] = [] if frame is None else [
                    None if v is None else trimesh.Trimesh(np.asarray(v).reshape(-1, 3),
                                                           np.asarray(f).reshape(-1, 3), process=False)
                    for v, f in zip(frame[f"{name}.vertices"], frame[f"{name}.faces"])]
            else:
                values[name] = _adapter(hints[name]).validate_python(spec["value"])
        except (KeyError, ValueError) as exc:
            raise InputError(f"column {name!r} missing or invalid: {exc}", path=folder / str(entry["file"]),
                             feature=name) from exc
    return cls(**values)

