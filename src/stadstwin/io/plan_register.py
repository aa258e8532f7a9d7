"""Plan registers from GeoJSON, GeoPackage or CSV (+ WKT): one feature or row per plan.

Fields: ``id``, ``party``, ``theme``, ``phase`` (idee … beheer), ``realisatie_start`` and
``realisatie_end`` (ISO dates; other phases ``<phase>_start``/``_end`` optional), ``asset_types``
(``;``-separated), ``digs`` (default true), ``trench_width`` [m], ``budget_eur``, ``priority``,
``confidential`` (default false). Geometry in RD New (EPSG:28992/7415): an area polygon or a route
line; in CSV a ``wkt`` column. Every problem names the file and the plan (or row).
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from pydantic import ValidationError
from pyogrio.errors import DataSourceError
from pyogrio.raw import read

from stadstwin.crs import parse_crs
from stadstwin.errors import CRSError, InputError
from stadstwin.model.enums import Phase
from stadstwin.model.plans import Plan
from stadstwin.model.toml_file import validation_problems

_TRUE = {"true", "1", "yes", "ja", "waar"}
_FALSE = {"false", "0", "no", "nee", "onwaar", ""}


def read_plan_register(path: Path) -> list[Plan]:
    """The plans in ``path`` (module doc); ids must be unique."""
    path = Path(path)
    if not path.is_file():
        raise InputError("plan register not found", path=path)
    rows = _csv_rows(path) if path.suffix.lower() == ".csv" else _vector_rows(path)
    plans, seen = [], set()
    for where, fields, geometry in rows:
        plan = _plan(path, where, fields, geometry)
        if plan.id in seen:
            raise InputError(f"plan id {plan.id!r} occurs twice", path=path, feature=plan.id)
        seen.add(plan.id)
        plans.append(plan)
    if not plans:
        raise InputError("the plan register holds no plans", path=path)
    return plans


def _vector_rows(path: Path):
    try:
        meta, _, wkb, values = read(str(path))
    except (DataSourceError, OSError) as exc:
        raise InputError(f"cannot read the plan register: {exc}", path=path) from None
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


def _plan(path: Path, where: str, fields: dict[str, Any], geometry) -> Plan:
    name = str(fields.get("id") or where)
    if geometry is None:
        raise InputError("the plan has no geometry", path=path, feature=name)
    planning = {}
    for phase in Phase:
        start, end = fields.get(f"{phase.value}_start"), fields.get(f"{phase.value}_end")
        if start or end:
            planning[phase] = {"start": start, "end": end}
    try:
        return Plan(
            id=name, party=fields.get("party") or "", theme=fields.get("theme") or "",
            phase=fields.get("phase") or Phase.IDEE, planning=planning, geometry=shapely.force_2d(geometry),
            asset_types=tuple(t.strip() for t in str(fields.get("asset_types") or "").split(";") if t.strip()),
            digs=_flag(fields.get("digs"), True, "digs"),
            trench_width=float(fields.get("trench_width") or 1.0),
            budget_eur=float(fields["budget_eur"]) if fields.get("budget_eur") not in (None, "") else None,
            priority=int(fields["priority"]) if fields.get("priority") not in (None, "") else None,
            confidential=_flag(fields.get("confidential"), False, "confidential"),
        )
    except ValidationError as exc:
        raise InputError(validation_problems(exc), path=path, feature=name) from None
    except ValueError as exc:
        raise InputError(str(exc), path=path, feature=name) from None
