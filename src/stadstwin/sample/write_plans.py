"""The demo plan register (``scenes/demo/plans.geojson``): 22 plans of 6 parties in the district's streets.

Planted on purpose: a group of three plans in the main street within two years of each other (sewer
replacement, heat network, cable reinforcement: one dig instead of three), a water main and a
confidential fibre route in the same north–south street a year apart, and a cable route that digs in
the south street two years after the municipality resurfaced its carriageway (a graafrust conflict).
The other plans lie apart in space or time. The planted plans also carry design and preparation
windows (the programming table draws every phase).
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import shapely

from stadstwin.model.plans import add_years
from stadstwin.sample.district import STREET, District, block_bounds, main_street, street_low

_REALISED = ("realisatie_start", "realisatie_end")


def _east_west(district: District, m: int, offset: float) -> shapely.LineString:
    """A route along east–west street ``m``, ``offset`` [m] north of its south facade line."""
    x0, _, x1, _ = district.extent
    y = street_low(m, True) + offset
    return shapely.LineString([(x0 + 2.0, y), (x1 - 2.0, y)])


def _north_south(k: int, j: int, offset: float) -> shapely.LineString:
    """A route along north–south street ``k`` beside block row ``j``, kept 12 m off the cross streets."""
    _, y0, _, y1 = block_bounds(0, j)
    x = street_low(k, False) + offset
    return shapely.LineString([(x, y0 + 12.0), (x, y1 - 12.0)])


def _carriageway(district: District, m: int) -> shapely.Polygon:
    x0, _, x1, _ = district.extent
    y = street_low(m, True)
    return shapely.box(x0, y + 4.0, x1, y + STREET - 4.0)


#: The first rows (the planted chances and conflict) also carry their design and preparation phases.
_PREPARED = 7


def _preparation(works: date) -> dict[str, str]:
    """Design (the year before preparation) and preparation (the 9 months before ``works``) windows."""
    prepare = add_years(works, -1) + timedelta(days=92)
    design = add_years(prepare, -1)
    return {"ontwerp_start": str(design), "ontwerp_end": str(prepare - timedelta(days=1)),
            "voorbereiding_start": str(prepare), "voorbereiding_end": str(works - timedelta(days=1))}


def demo_plans(district: District) -> list[dict]:
    """The register's plans as GeoJSON features (RD New)."""
    main = main_street(district)
    south, north = 0, district.ny
    rows = [
        # id, party, theme, phase, works start, end, geometry, asset types, extra fields
        ("riool-hoofdstraat", "Gemeente Utrecht", "riolering", "voorbereiding", "2028-03-01", "2028-10-31",
         _east_west(district, main, STREET / 2), "riool", {"trench_width": 2.0}),
        ("warmtenet-hoofdstraat", "Eneco Warmte & Koude", "warmtetransitie", "ontwerp", "2028-09-01", "2029-04-30",
         _east_west(district, main, STREET / 2 + 2.5), "warmteleiding", {"trench_width": 1.2}),
        ("ms-versterking-hoofdstraat", "Stedin", "energietransitie", "definitie", "2029-06-01", "2029-09-30",
         _east_west(district, main, 2.0), "middenspanningskabel", {}),
        ("waterleiding-dwarsstraat", "Vitens", "drinkwater", "initiatief", "2030-04-01", "2030-08-31",
         _north_south(1, 0, 3.0), "waterleiding", {}),
        ("glasvezel-dwarsstraat", "KPN", "telecom", "idee", "2031-03-01", "2031-05-31",
         _north_south(1, 0, 2.0), "glasvezel", {"confidential": True, "budget_eur": 180000}),
        ("herinrichting-zuidstraat", "Gemeente Utrecht", "openbare ruimte", "realisatie", "2027-03-01",
         "2027-06-30", _carriageway(district, south), "verharding", {}),
        ("ls-kabel-zuidstraat", "Stedin", "energietransitie", "ontwerp", "2030-03-01", "2030-05-31",
         _east_west(district, south, 7.5), "laagspanningskabel", {}),
    ]
    # plans apart from each other in space or time
    for k in range(district.nx + 1):
        rows.append((f"bomen-dwarsstraat-{k}", "Gemeente Utrecht", "klimaatadaptatie", "idee",
                     f"{2033 + k}-10-01", f"{2033 + k}-12-15", _north_south(k, 1, STREET - 1.5), "bomen",
                     {"trench_width": 1.5}))
        rows.append((f"gasleiding-sanering-{k}", "Stedin", "energietransitie", "idee", f"{2040 + k}-04-01",
                     f"{2040 + k}-06-30", _north_south(k, 1, STREET / 2), "gasleiding", {}))
    for m in range(district.ny + 1):
        rows.append((f"onderhoud-verharding-{m}", "Gemeente Utrecht", "beheer", "beheer", f"{2052 + m}-05-01",
                     f"{2052 + m}-08-31", _carriageway(district, m), "verharding", {}))
    rows += [
        ("renovatie-blok-noord", "Woningcorporatie Mitros", "woningbouw", "definitie", "2032-01-15", "2032-12-15",
         shapely.box(*_east_west(district, north, -2.0).buffer(1.0).bounds), "huisaansluiting", {"digs": False}),
        ("waterberging-park", "Hoogheemraadschap De Stichtse Rijnlanden", "klimaatadaptatie", "initiatief",
         "2038-05-01", "2038-09-30", shapely.box(*block_bounds(1, 1)).buffer(-8.0), "waterberging", {}),
    ]
    features = []
    for k, (pid, party, theme, phase, start, end, geometry, assets, extra) in enumerate(rows):
        properties = {"id": pid, "party": party, "theme": theme, "phase": phase, _REALISED[0]: start,
                      _REALISED[1]: end, "asset_types": assets, **extra}
        if k < _PREPARED:
            properties.update(_preparation(date.fromisoformat(start)))
        features.append({"type": "Feature", "properties": properties, "geometry": shapely.geometry.mapping(geometry)})
    return features


def write_plans(district: District, path: Path) -> Path:
    """Write the demo register as GeoJSON (EPSG:28992) at ``path``."""
    collection = {"type": "FeatureCollection", "name": "plannen",
                  "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::28992"}},
                  "features": demo_plans(district)}
    path.write_text(json.dumps(collection, ensure_ascii=False, indent=1), encoding="utf-8")
    return path
