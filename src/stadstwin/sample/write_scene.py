"""``scenes/demo/scene.toml`` and its plan variants (``variants/*.toml`` with a GeoJSON beside each).

The intended heat-network pair or new trees lie in ``variants/<id>.geojson``. Each heat-network
variant lays that pair as two ``add_network`` edits (same lines, casing and depth as its GeoJSON)
with winter fluid temperatures (``FLUID_TEMPERATURE``), so the thermal check sees them; the
greening variant plants its trees as one ``add_trees`` edit (same points, height and crown as its
GeoJSON), so heat runs see them.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import shapely

from stadstwin.sample.district import District, Route, main_street, street_low
from stadstwin.sample.write_trees import tree_collection

HEAT_PIPE = {
    "utility": "district_heating",
    "nominal": "DN150",
    "outer_diameter_mm": 250,
    "depth_m": 1.0,
}
FLUID_TEMPERATURE = {"aanvoer": 90.0, "retour": 50.0}
"""Winter fluid temperature per pipe role [°C]; summer follows the thermal engine's seasonal swing."""
HEAT_OWNER = "Eneco Warmte & Koude"
PARTIES = {
    "warmtetransitie": ["Gemeente Utrecht", "Eneco Warmte & Koude", "Stedin", "Vitens"],
    "klimaatadaptatie": ["Gemeente Utrecht", "Stedin", "KPN"],
}


def _toml_path(path: Path, scene_folder: Path) -> str:
    return json.dumps(Path(os.path.relpath(path, scene_folder)).as_posix())


def write_scene(district: District, scene_folder: Path, sources: dict[str, object]) -> Path:
    """Write scene.toml; ``sources`` maps pointclouds / cityjson / klic / trees / bgt to written files."""
    scene_folder.mkdir(parents=True, exist_ok=True)
    x0, y0, x1, y1 = district.extent

    def rel(path: Path) -> str:
        return _toml_path(path, scene_folder)

    bgt = "\n".join(f"{layer} = {rel(path)}" for layer, path in sources["bgt"].items())
    text = f"""# Demo district written by `stadstwin sample` (seed {district.seed}, scale {district.scale}).
name = "demo"
description = "Synthetic Dutch district near Utrecht: {len(district.buildings)} buildings, street grid in the standard profile, all main utilities"
crs = "EPSG:7415"
cell_size = 0.5

[extent]
xmin = {x0:.1f}
ymin = {y0:.1f}
xmax = {x1:.1f}
ymax = {y1:.1f}

[sources]
pointclouds = [{rel(sources["pointclouds"])}]
cityjson = [{rel(sources["cityjson"])}]
klic = [{rel(sources["klic"])}]
trees = {rel(sources["trees"])}

[sources.bgt]
{bgt}

# summer-dry urban sand (IEC 60853 rho 2.0 K.m/W); also the rules' default so every run uses it
[soil]
soil = "iec_2_0"

[rules.soil]
default = "iec_2_0"

[climate]
date = 2026-07-25
"""
    path = scene_folder / "scene.toml"
    path.write_text(text, encoding="utf-8")
    variants = scene_folder / "variants"
    variants.mkdir(exist_ok=True)
    for route in district.routes:
        _write_variant(route, variants)
    _write_water_variant(district, variants)
    return path


WATER_PLAN_ID = "waterberging"
CRATE_DEPTH = 0.4
"""Storage [m³ per m² of courtyard] of the demo's infiltration crates (a 0.4 m deep crate layer)."""


def _write_water_variant(district: District, folder: Path) -> None:
    """A climate-adaptation plan: infiltration crates under every courtyard, the main street's
    pavement de-paved to a green strip (geveltuinen, wadi strip)."""
    yards = [a.polygon for a in district.areas if a.kind == "erf"]
    crates = "\n".join(f"""
[[edits]]
type = "add_retention"
id = "krat-{k + 1}"
volume = {yard.area * CRATE_DEPTH:.1f}
area = {{ type = "Polygon", coordinates = {_polygon(yard.bounds)} }}""" for k, yard in enumerate(yards))
    x0, _, x1, _ = district.extent
    y0 = street_low(main_street(district), True)
    strip = (x0, y0, x1, y0 + 2.0)  # the south pavement of the main street
    features = [{"type": "Feature", "properties": {"id": "groenstrook", "kind": "groenstrook"},
                 "geometry": shapely.geometry.mapping(shapely.box(*strip))}]
    features += [{"type": "Feature",
                  "properties": {"id": f"krat-{k + 1}", "kind": "infiltratiekrat",
                                 "volume_m3": round(yard.area * CRATE_DEPTH, 1)},
                  "geometry": shapely.geometry.mapping(shapely.box(*yard.bounds))} for k, yard in enumerate(yards)]
    collection = {"type": "FeatureCollection", "name": WATER_PLAN_ID,
                  "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::28992"}}, "features": features}
    (folder / f"{WATER_PLAN_ID}.geojson").write_text(json.dumps(collection, ensure_ascii=False, indent=1),
                                                      encoding="utf-8")
    (folder / f"{WATER_PLAN_ID}.toml").write_text(
        f"""# Plan variant of the demo district; its intended geometry is in {WATER_PLAN_ID}.geojson beside this file.
# Rain kept where it falls (stress test 70 mm in 2 h).
# Infiltration crates ({CRATE_DEPTH} m³ per m²) under every courtyard; the main street's south pavement
# becomes a 2 m green strip.
name = "Waterberging binnentuinen en groenstrook"
phase = "definitie"
theme = "klimaatadaptatie"
asset_types = ["waterberging", "groen"]
parties = ["Gemeente Utrecht", "Hoogheemraadschap De Stichtse Rijnlanden", "Woningcorporatie Mitros"]

[area]
type = "Polygon"
coordinates = {_polygon(shapely.union_all([*yards, shapely.box(*strip)]).bounds)}

[planning.ontwerp]
start = 2027-03-01
end = 2027-09-30

[planning.realisatie]
start = 2028-04-01
end = 2028-09-30

[[edits]]
type = "change_surface"
id = "groenstrook"
surface = "verge"
area = {{ type = "Polygon", coordinates = {_polygon(strip)} }}
{crates}
""",
        encoding="utf-8",
    )


def _polygon(bounds: tuple[float, float, float, float]) -> str:
    x0, y0, x1, y1 = bounds
    ring = [(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)]
    return "[[" + ", ".join(f"[{x:.1f}, {y:.1f}]" for x, y in ring) + "]]"


def _write_variant(route: Route, folder: Path) -> None:
    if route.lines:
        what = "\n".join(
            f"#   {role}: {' -> '.join(f'({x:.1f}, {y:.1f})' for x, y in coords)}"
            for role, coords in route.lines
        )
        intent = f"# Intended heat-network pair (DN150, casing 250 mm, 1.0 m deep), RD New:\n{what}"
        collection = {
            "type": "FeatureCollection",
            "name": route.id,
            "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::28992"}},
            "features": [
                {
                    "type": "Feature",
                    "properties": {
                        "id": f"{route.id}-{role}",
                        "role": role,
                        "status": "planned",
                        **HEAT_PIPE,
                    },
                    "geometry": {"type": "LineString", "coordinates": [list(c) for c in coords]},
                }
                for role, coords in route.lines
            ],
        }
        asset_types = '["warmtenet"]'
    else:
        intent = (
            f"# Intended: {len(route.trees)} new street trees (12 m high, 8 m crown when grown)"
        )
        collection = tree_collection(route.trees, route.id)
        asset_types = '["bomen"]'
    (folder / f"{route.id}.geojson").write_text(
        json.dumps(collection, ensure_ascii=False, indent=1), encoding="utf-8"
    )
    parties = json.dumps(PARTIES[route.theme], ensure_ascii=False)
    planted = _tree_edits(route) if route.trees else _pipe_edits(route)
    (folder / f"{route.id}.toml").write_text(
        f"""# Plan variant of the demo district; its intended geometry is in {route.id}.geojson beside this file.
{intent}
name = "{route.name}"
phase = "ontwerp"
theme = "{route.theme}"
asset_types = {asset_types}
parties = {parties}

[area]
type = "Polygon"
coordinates = {_polygon(route.area)}

[planning.ontwerp]
start = 2027-01-01
end = 2027-06-30

[planning.realisatie]
start = 2028-03-01
end = 2028-10-31
{planted}""",
        encoding="utf-8",
    )


def _tree_edits(route: Route) -> str:
    """One ``add_trees`` edit per species and size among the route's trees, as TOML tables."""
    groups: dict[tuple[str, float, float], list[str]] = {}
    for tree in route.trees:
        groups.setdefault((tree.species, tree.height, tree.crown), []).append(f"[{tree.x:.2f}, {tree.y:.2f}]")
    return "\n".join(
        f"""
[[edits]]
type = "add_trees"
id = "{route.id}-trees-{k}"
species = {json.dumps(species, ensure_ascii=False)}
height = {height}
crown_diameter = {crown}
points = [{", ".join(points)}]"""
        for k, ((species, height, crown), points) in enumerate(groups.items(), start=1)
    )


def _pipe_edits(route: Route) -> str:
    """One ``add_network`` edit per pipe of the route's heat-network pair, as TOML tables."""
    cover = HEAT_PIPE["depth_m"] - HEAT_PIPE["outer_diameter_mm"] / 2000.0
    return "\n".join(
        f"""
[[edits]]
type = "add_network"
id = "{route.id}-{role}"
utility = "{HEAT_PIPE['utility']}"
owner = "{HEAT_OWNER}"
outer_diameter = {HEAT_PIPE['outer_diameter_mm'] / 1000.0}
cover = {cover:.3f}
fluid_temperature = {FLUID_TEMPERATURE[role]}
route = {{ type = "LineString", coordinates = [{", ".join(f"[{x:.2f}, {y:.2f}]" for x, y in coords)}] }}"""
        for role, coords in route.lines
    )
