"""Plan registers from GeoJSON, GeoPackage or CSV (+ WKT): one feature or row per plan.

Fields: ``id``, ``party``, ``theme``, ``phase`` (idee … beheer), ``realisatie_start`` and
``realisatie_end`` (ISO dates; other phases ``<phase>_start``/``_end`` optional), ``asset_types``
(``;``-separated), ``digs`` (default true), ``trench_width`` [m], ``budget_eur``, ``priority``,
``confidential`` (default false). Geometry in RD New (EPSG:28992/7415): an area polygon or a route
line; in CSV a ``wkt`` column. Every problem names the file and the plan (or row).

A scene's register is ``SCENE/plans.geojson``: ``import_plans`` merges a file into it (same id: the
imported plan replaces the stored one; all other stored plans stay) and writes it through a
temporary file and a rename, so a failed import never leaves it half written.
"""

from __future__ import annotations

import csv
import json
import os
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from pydantic import ValidationError
from pyogrio.errors import DataLayerError, DataSourceError
from pyogrio.raw import read

from stadstwin.crs import parse_crs
from stadstwin.errors import CRSError, InputError
from stadstwin.model.enums import Phase
from stadstwin.model.plans import Plan
from stadstwin.model.toml_file import dotted, validation_problems

_TRUE = {"true", "1", "yes", "ja", "waar"}
_FALSE = {"false", "0", "no", "nee", "onwaar", ""}

#: The register file of a scene folder.
REGISTER = "plans.geojson"
_CRS = {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::28992"}}


def read_plan_register(path: Path, layer: str | None = None) -> list[Plan]:
    """The plans in ``path`` (module doc; ``layer`` of a GeoPackage, default its first); ids must be unique."""
    path = Path(path)
    if not path.is_file():
        raise InputError("plan register not found", path=path)
    rows = _csv_rows(path) if path.suffix.lower() == ".csv" else _vector_rows(path, layer)
    plans = _unique(path, (_plan(path, where, fields, geometry) for where, fields, geometry in rows))
    if not plans:
        raise InputError("the plan register holds no plans", path=path)
    return plans


def _unique(source: str | Path, plans: Iterable[Plan]) -> list[Plan]:
    """``plans`` as a list; InputError naming ``source`` when an id occurs twice."""
    found, seen = [], set()
    for plan in plans:
        if plan.id in seen:
            raise InputError(f"plan id {plan.id!r} occurs twice", path=source, feature=plan.id)
        seen.add(plan.id)
        found.append(plan)
    return found


def plan_feature(plan: Plan) -> dict[str, Any]:
    """A plan as a GeoJSON feature in the register's fields (module doc); ``plans_from_features`` reads it back."""
    properties: dict[str, Any] = {"id": plan.id, "party": plan.party, "theme": plan.theme, "phase": plan.phase.value}
    for phase, window in plan.planning.items():
        properties[f"{phase.value}_start"] = window.start.isoformat()
        properties[f"{phase.value}_end"] = window.end.isoformat()
    properties.update(asset_types=";".join(plan.asset_types), digs=plan.digs, trench_width=plan.trench_width,
                      budget_eur=plan.budget_eur, priority=plan.priority, confidential=plan.confidential)
    return {"type": "Feature", "properties": properties, "geometry": shapely.geometry.mapping(plan.geometry)}


def plans_from_features(features: Sequence[dict[str, Any]], source: str) -> list[Plan]:
    """Plans from GeoJSON features in the register's fields (RD New); errors name ``source`` and the plan."""
    plans = []
    for k, feature in enumerate(features):
        where = f"feature {k + 1}"
        if not isinstance(feature, dict) or not isinstance(feature.get("properties"), dict):
            raise InputError("a plan is a GeoJSON Feature with properties", path=source, feature=where)
        fields = feature["properties"]
        try:
            geometry = shapely.geometry.shape(feature["geometry"]) if feature.get("geometry") else None
        except (KeyError, TypeError, ValueError, AttributeError, shapely.errors.GEOSException) as exc:
            raise InputError(f"unreadable geometry ({exc})", path=source,
                             feature=str(fields.get("id") or where)) from None
        plans.append(_plan(source, where, fields, geometry))
    return _unique(source, plans)


def write_plan_register(plans: Sequence[Plan], path: Path) -> Path:
    """Write ``plans`` as the register GeoJSON (EPSG:28992) at ``path`` through a temporary file and a rename."""
    path = Path(path)
    collection = {"type": "FeatureCollection", "name": "plannen", "crs": _CRS,
                  "features": [plan_feature(p) for p in plans]}
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            json.dump(collection, stream, ensure_ascii=False, indent=1)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


def import_plans(scene: Path, source: Path, layer: str | None = None) -> tuple[Path, list[Plan], int, int]:
    """Merge the plans of ``source`` into the register of scene folder ``scene`` (module doc).

    Returns (the register file, its plans, plans added, plans replaced)."""
    scene = Path(scene)
    folder = scene.parent if scene.name == "scene.toml" else scene
    if not folder.is_dir():
        raise InputError("scene folder not found", path=folder)
    return merge_plans(folder, read_plan_register(source, layer))


def merge_plans(folder: Path, plans: Sequence[Plan]) -> tuple[Path, list[Plan], int, int]:
    """Merge ``plans`` into the register of scene folder ``folder`` (same id: replaced; the others kept).

    Returns (the register file, its plans, plans added, plans replaced)."""
    register = Path(folder) / REGISTER
    stored = read_plan_register(register) if register.is_file() else []
    new = {p.id: p for p in plans}
    merged = [new.pop(p.id, p) for p in stored] + list(new.values())
    write_plan_register(merged, register)
    return register, merged, len(new), len(plans) - len(new)


def _vector_rows(path: Path, layer: str | None):
    try:
        meta, _, wkb, values = read(str(path), layer=layer)
    except (DataSourceError, DataLayerError, OSError) as exc:
        where = f" (layer {layer!r})" if layer else ""
        raise InputError(f"cannot read the plan register{where}: {exc}", path=path) from None
    crs = meta.get("crs")
    if crs is not None and parse_crs(crs).to_epsg() not in (28992, 7415, None):
        raise CRSError(f"the plan register is in {crs}; give it in RD New (EPSG:28992)", path=path,
                       hint="a GeoJSON without a crs member is WGS84 by RFC 7946: add "
                            '"crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::28992"}}')
    names = list(meta["fields"])
    for k, blob in enumerate(wkb):
        fields = {name: _plain(column[k]) for name, column in zip(names, values)}
        geometry = shapely.from_wkb(blob) if blob is not None else None
        yield f"feature {k + 1}", fields, geometry


def _csv_rows(path: Path):
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read the plan register: {exc}", path=path) from None
    lines = text.splitlines()
    reader = csv.DictReader(lines, delimiter=";" if lines and ";" in lines[0] else ",")
    for k, row in enumerate(reader, start=2):
        wkt = row.pop("wkt", None) or row.pop("geometry", None)
        try:
            geometry = shapely.from_wkt(wkt) if wkt else None
        except shapely.errors.GEOSException as exc:
            raise InputError(f"line {k}: unreadable WKT ({exc})", path=path,
                             feature=row.get("id") or f"line {k}") from None
        yield f"line {k}", dict(row), geometry


def _plain(value: Any) -> Any:
    """A field value as plain Python; a missing one (NaN, as GDAL fills absent numbers) as None."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and value != value:
        return None
    return value


def _flag(value: Any, default: bool, name: str) -> bool:
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)) and value in (0, 1):  # GDAL reads JSON booleans as numbers
        return bool(value)
    text = str(value).strip().lower()
    if text in _TRUE or text in _FALSE:
        return text in _TRUE if text else default
    raise ValueError(f"{name} = {value!r} is not true/false")


def _number(fields: dict[str, Any], name: str, kind: type, default: Any) -> Any:
    """Field ``name`` as ``kind`` (``default`` when absent); ValueError naming the field otherwise."""
    value = fields.get(name)
    if value is None or value == "":
        return default
    try:
        return kind(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} = {value!r} is not a{'n integer' if kind is int else ' number'}") from None


def _field(loc: tuple) -> str:
    """A validation error's location as the register's field name (``planning.realisatie.start``: ``realisatie_start``)."""
    if len(loc) == 3 and loc[0] == "planning":
        return f"{loc[1]}_{loc[2]}"
    return dotted(loc)


def _plan(path: str | Path, where: str, fields: dict[str, Any], geometry) -> Plan:
    name = f"{where} (plan {fields['id']})" if fields.get("id") else where
    if geometry is None:
        raise InputError("the plan has no geometry", path=path, feature=name)
    planning = {}
    for phase in Phase:
        start, end = fields.get(f"{phase.value}_start"), fields.get(f"{phase.value}_end")
        if start or end:
            planning[phase] = {"start": start, "end": end}
    try:
        return Plan(
            id=str(fields.get("id") or ""), party=fields.get("party") or "", theme=fields.get("theme") or "",
            phase=fields.get("phase") or Phase.IDEE, planning=planning, geometry=shapely.force_2d(geometry),
            asset_types=tuple(t.strip() for t in str(fields.get("asset_types") or "").split(";") if t.strip()),
            digs=_flag(fields.get("digs"), True, "digs"),
            trench_width=_number(fields, "trench_width", float, 1.0),
            budget_eur=_number(fields, "budget_eur", float, None),
            priority=_number(fields, "priority", int, None),
            confidential=_flag(fields.get("confidential"), False, "confidential"),
        )
    except ValidationError as exc:
        raise InputError(validation_problems(exc, _field), path=path, feature=name) from None
    except ValueError as exc:
        raise InputError(str(exc), path=path, feature=name) from None
