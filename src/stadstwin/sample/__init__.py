"""A reproducible demo district written in the real exchange formats (``stadstwin sample DIR``).

``write_sample(folder)`` writes an AHN-like LAZ, 3DBAG-like CityJSON, an IMKL 2.0 KLIC delivery,
a tree register, BGT GeoPackages, ``scenes/demo/scene.toml`` with plan variants and a README, and
returns the scene folder. The files are read back through the same readers as real data.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from stadstwin.sample.district import District, make_district
from stadstwin.sample.write_bgt import write_bgt
from stadstwin.sample.write_cityjson import write_cityjson
from stadstwin.sample.write_imkl import feature_counts, write_imkl
from stadstwin.sample.write_laz import write_laz
from stadstwin.sample.write_plans import write_plans
from stadstwin.sample.write_readme import write_readme
from stadstwin.sample.write_scene import write_scene
from stadstwin.sample.write_trees import write_trees

__all__ = ["District", "make_district", "write_sample"]

LAS_CLASS_NAMES = {1: "vegetation", 2: "ground", 6: "building", 9: "water"}


def write_sample(folder: Path, *, seed: int = 0, scale: int = 1) -> Path:
    """Write the demo district into ``folder`` (created if needed); returns ``folder/scenes/demo``."""
    folder = Path(folder)
    district = make_district(seed, scale)
    data = folder / "data"
    for sub in (data, data / "bgt", data / "klic"):
        sub.mkdir(parents=True, exist_ok=True)
    files = {
        "point cloud (LAZ 1.4, EPSG:7415)": data / "ahn_demo.laz",
        "3DBAG-like buildings (CityJSON 2.0)": data / "3dbag_demo.city.json",
        "tree register (GeoJSON)": data / "bomen.geojson",
    }
    paths = list(files.values())
    las_counts = write_laz(district, paths[0], np.random.default_rng([seed, scale, 1]))
    n_cityjson = write_cityjson(district, paths[1])
    n_trees = write_trees((t for t in district.trees if t.in_register), paths[2])
    bgt = write_bgt(district, data / "bgt")
    klic = write_imkl(district, data / "klic")
    files.update({f"BGT {layer} (GeoPackage)": path for layer, path in bgt.items()})
    files["KLIC delivery (IMKL 2.0)"] = klic
    scene = folder / "scenes" / "demo"
    files["scene definition"] = write_scene(
        district,
        scene,
        {
            "pointclouds": paths[0],
            "cityjson": paths[1],
            "klic": klic,
            "trees": paths[2],
            "bgt": bgt,
        },
    )
    files["plan register (GeoJSON)"] = write_plans(district, scene / "plans.geojson")
    counts = {
        "buildings (BGT pand)": len(district.buildings),
        "buildings in CityJSON": n_cityjson,
        "register trees": n_trees,
        "trees in the point cloud": len(district.trees),
        **{f"points, class {c} {LAS_CLASS_NAMES[c]}": n for c, n in las_counts.items()},
        **{
            f"BGT {layer}": sum(a.layer == layer for a in district.areas)
            for layer in bgt
            if layer != "pand"
        },
        **{f"IMKL {kind}": n for kind, n in feature_counts(district).items()},
        "house connections": sum(line.connection for line in district.lines),
        "plan variants": len(district.routes),
    }
    write_readme(district, folder, files, counts)
    return scene
