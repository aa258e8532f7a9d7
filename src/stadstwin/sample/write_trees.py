"""Tree register as GeoJSON in EPSG:28992, as municipalities publish it (``bomen``).

Properties per tree: ``id``, ``boomsoort`` (species), ``boomhoogte`` (height [m]) and
``kroondiameter`` (crown diameter [m]). Only register trees are written; park and garden trees
exist in the point cloud alone.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from stadstwin.sample.district import Tree

CRS_MEMBER = {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::28992"}}


def tree_collection(trees: Iterable[Tree], name: str) -> dict[str, object]:
    """A GeoJSON FeatureCollection of tree points."""
    return {
        "type": "FeatureCollection",
        "name": name,
        "crs": CRS_MEMBER,
        "features": [
            {
                "type": "Feature",
                "properties": {
                    "id": tree.id,
                    "boomsoort": tree.species,
                    "boomhoogte": tree.height,
                    "kroondiameter": tree.crown,
                },
                "geometry": {"type": "Point", "coordinates": [tree.x, tree.y]},
            }
            for tree in trees
        ],
    }


def write_trees(trees: Iterable[Tree], path: Path, name: str = "bomen") -> int:
    """Write the register; returns the number of trees."""
    collection = tree_collection(trees, name)
    path.write_text(json.dumps(collection, ensure_ascii=False, indent=1), encoding="utf-8")
    return len(collection["features"])
