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

from stadstwin.sample.district import (
    STREET,
    District,
    Route,
    block_bounds,
    is_park,
    main_street,
    street_low,
)
from stadstwin.sample.write_trees import CRS_MEMBER, tree_collection

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
{_sightlines_section(district)}"""
    path = scene_folder / "scene.toml"
    path.write_text(text, encoding="utf-8")
    variants = scene_folder / "variants"
    variants.mkdir(exist_ok=True)
    for route in district.routes:
        _write_variant(route, variants)
    _write_water_variant(district, variants)
    _write_sight_variant(district, variants)
    return path


SIGHT_PLAN_ID = "paviljoen"
PAVILION = (9.0, 8.0, 9.0)
"""The demo pavilion: width, depth and height [m] (two storeys under a roof)."""


def sight_points(district: District) -> dict[str, tuple[float, float]]:
    """Where the demo looks from and at [RD New m]: ``parkbank`` north of the pond, ``kruispunt`` (main
    street × the street east of the park), ``hoekpand`` (the roof corner of the highest building
    nearest the park) and ``paviljoen`` (the pavilion's centre, 55 % of the way from the bench to it),
    to 0.1 m as the scene and plan files give them."""
    i, j = next((i, j) for j in range(district.ny) for i in range(district.nx) if is_park(i, j))
    bx0, by0, bx1, by1 = block_bounds(i, j)
    park = ((bx0 + bx1) / 2, (by0 + by1) / 2)
    bench = (park[0] + 4.5, park[1] + 18.0)
    tallest = max(district.buildings, key=lambda b: b.ground + b.ridge)
    x0, y0, x1, y1 = tallest.footprint
    corner = min(((x, y) for x in (x0 + 0.5, x1 - 0.5) for y in (y0 + 0.5, y1 - 0.5)),
                 key=lambda p: (p[0] - park[0]) ** 2 + (p[1] - park[1]) ** 2)
    pavilion = (bench[0] + 0.55 * (corner[0] - bench[0]), bench[1] + 0.55 * (corner[1] - bench[1]))
    crossing = (street_low(i + 1, False) + STREET / 2, street_low(main_street(district), True) + STREET / 2)
    points = {"parkbank": bench, "kruispunt": crossing, "hoekpand": corner, "paviljoen": pavilion}
    return {name: (round(x, 1), round(y, 1)) for name, (x, y) in points.items()}


def _sightlines_section(district: District) -> str:
    """The scene's ``[sightlines]``: two viewpoints that should see the corner building."""
    p = sight_points(district)
    return "\n".join([
        "",
        "# sight lines: viewpoints (eye 1.75 m) and the landmark they should see (stadstwin check sightlines)",
        "[sightlines]",
        "radius = 150.0",
        *(f"""
[[sightlines.viewpoints]]
name = "{name}"
x = {p[name][0]:.1f}
y = {p[name][1]:.1f}
targets = ["hoekpand"]""" for name in ("parkbank", "kruispunt")),
        f"""
[[sightlines.landmarks]]
name = "hoekpand"
x = {p["hoekpand"][0]:.1f}
y = {p["hoekpand"][1]:.1f}
""",
    ])


def _write_sight_variant(district: District, folder: Path) -> None:
    """A pavilion in the park, on the sight line from the bench to the corner building."""
    x, y = sight_points(district)["paviljoen"]
    width, depth, height = PAVILION
    box = (x - width / 2, y - depth / 2, x + width / 2, y + depth / 2)
    _write_geometry(folder, _collection(SIGHT_PLAN_ID, [{
        "type": "Feature", "properties": {"id": "paviljoen", "kind": "paviljoen", "height_m": height},
        "geometry": shapely.geometry.mapping(shapely.box(*box))}]))
    (folder / f"{SIGHT_PLAN_ID}.toml").write_text(
        f"""# Plan variant of the demo district; its intended geometry is in {SIGHT_PLAN_ID}.geojson beside this file.
# A park pavilion ({width:g} x {depth:g} m, {height:g} m high) west of the pond: it stands in the view
# from the park bench to the corner building (stadstwin check sightlines).
name = "Paviljoen in het park"
phase = "initiatief"
theme = "openbare ruimte"
asset_types = ["gebouw"]
parties = ["Gemeente Utrecht"]

[area]
type = "Polygon"
coordinates = {_polygon(box)}

[planning.realisatie]
start = 2028-03-01
end = 2028-12-31

[[edits]]
type = "add_building"
id = "paviljoen"
height = {height:g}
footprint = {{ type = "Polygon", coordinates = {_polygon(box)} }}
""",
        encoding="utf-8",
    )


def _collection(name: str, features: list[dict]) -> dict:
    """A plan's intended geometry as a GeoJSON FeatureCollection in RD New."""
    return {"type": "FeatureCollection", "name": name, "crs": CRS_MEMBER, "features": features}


def _write_geometry(folder: Path, collection: dict) -> None:
    """``collection`` as NAME.geojson beside the plan's variant file."""
    (folder / f"{collection['name']}.geojson").write_text(json.dumps(collection, ensure_ascii=False, indent=1),
                                                          encoding="utf-8")


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
    _write_geometry(folder, _collection(WATER_PLAN_ID, features))
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
        collection = _collection(route.id, [
            {
                "type": "Feature",
                "properties": {"id": f"{route.id}-{role}", "role": role, "status": "planned", **HEAT_PIPE},
                "geometry": {"type": "LineString", "coordinates": [list(c) for c in coords]},
            }
            for role, coords in route.lines
        ])
        asset_types = '["warmtenet"]'
    else:
        intent = (
            f"# Intended: {len(route.trees)} new street trees (12 m high, 8 m crown when grown)"
        )
        collection = tree_collection(route.trees, route.id)
        asset_types = '["bomen"]'
    _write_geometry(folder, collection)
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
