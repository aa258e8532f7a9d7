"""Buildings as a 3DBAG-like CityJSON 2.0 file: Building with ``b3_*`` attributes and a BuildingPart
holding an LoD 1.2 solid (footprint extruded to the 70th roof-height percentile), EPSG:7415,
integer vertices with a ``transform`` of scale 0.001.
"""

from __future__ import annotations

import json
from pathlib import Path

from stadstwin.sample.district import Building, District

SCALE = 0.001
REFERENCE_SYSTEM = "https://www.opengis.net/def/crs/EPSG/0/7415"


def _attributes(building: Building) -> dict[str, object]:
    return {
        "b3_dak_type": "horizontal" if building.flat else "slanted",
        "b3_h_dak_50p": round(building.roof_percentile(50), 2),
        "b3_h_dak_70p": round(building.roof_percentile(70), 2),
        "b3_h_dak_max": round(building.roof_percentile(100), 2),
        "b3_h_dak_min": round(building.roof_percentile(0), 2),
        "b3_h_maaiveld": round(building.ground, 3),
        "b3_pw_bron": "AHN4",
        "identificatie": f"NL.IMBAG.Pand.{building.bag_id}",
        "oorspronkelijkbouwjaar": 1965 if building.flat else 1932,
        "status": "Pand in gebruik",
    }


def city_model(district: District) -> dict[str, object]:
    """The CityJSON document of the buildings flagged ``in_3dbag``."""
    chosen = [b for b in district.buildings if b.in_3dbag]
    lows = [min(b.ground for b in chosen)] if chosen else [0.0]
    translate = [district.extent[0], district.extent[1], round(lows[0], 3)]
    vertices: list[list[int]] = []
    objects: dict[str, object] = {}
    for building in chosen:
        x0, y0, x1, y1 = building.footprint
        top = round(building.roof_percentile(70), 2)  # the b3_h_dak_70p value
        base = len(vertices)
        for z in (building.ground, top):
            for x, y in ((x0, y0), (x1, y0), (x1, y1), (x0, y1)):
                vertices.append([round((v - t) / SCALE) for v, t in zip((x, y, z), translate)])
        b, t = list(range(base, base + 4)), list(range(base + 4, base + 8))
        walls = [[[b[i], b[(i + 1) % 4], t[(i + 1) % 4], t[i]]] for i in range(4)]
        shell = [[b[::-1]], [t], *walls]
        key = f"NL.IMBAG.Pand.{building.bag_id}"
        objects[key] = {
            "type": "Building",
            "geographicalExtent": [
                x0,
                y0,
                building.ground,
                x1,
                y1,
                round(building.roof_percentile(100), 3),
            ],
            "attributes": _attributes(building),
            "geometry": [],
            "children": [f"{key}-0"],
        }
        objects[f"{key}-0"] = {
            "type": "BuildingPart",
            "attributes": {},
            "geometry": [
                {
                    "type": "Solid",
                    "lod": "1.2",
                    "boundaries": [shell],
                    "semantics": {
                        "surfaces": [
                            {"type": "GroundSurface"},
                            {"type": "RoofSurface"},
                            {"type": "WallSurface"},
                        ],
                        "values": [[0, 1, 2, 2, 2, 2]],
                    },
                }
            ],
            "parents": [key],
        }
    xs = [v[0] for v in vertices] or [0]
    ys = [v[1] for v in vertices] or [0]
    zs = [v[2] for v in vertices] or [0]
    extent = [
        round(min(xs) * SCALE + translate[0], 3),
        round(min(ys) * SCALE + translate[1], 3),
        round(min(zs) * SCALE + translate[2], 3),
        round(max(xs) * SCALE + translate[0], 3),
        round(max(ys) * SCALE + translate[1], 3),
        round(max(zs) * SCALE + translate[2], 3),
    ]
    return {
        "type": "CityJSON",
        "version": "2.0",
        "transform": {"scale": [SCALE, SCALE, SCALE], "translate": translate},
        "metadata": {
            "geographicalExtent": extent,
            "referenceSystem": REFERENCE_SYSTEM,
            "title": "stadstwin demo district (3DBAG-like)",
        },
        "CityObjects": objects,
        "vertices": vertices,
    }


def write_cityjson(district: District, path: Path) -> int:
    """Write the CityJSON file; returns the number of Building objects."""
    model = city_model(district)
    path.write_text(json.dumps(model, separators=(",", ":"), ensure_ascii=False), encoding="utf-8")
    return sum(1 for o in model["CityObjects"].values() if o["type"] == "Building")
