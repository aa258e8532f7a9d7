"""The twin as one GeoPackage (pyogrio) in EPSG:7415, for QGIS users.

Layers:
- one per utility kind present (layer name = kind key, e.g. ``water``): 3D LineStrings, one per
  connected run of segments of one polyline (axis height in m NAP), with ``feature_id``, ``owner``,
  ``utility``, ``status``, ``outer_diameter`` [m], ``depth_source`` (the least certain along the
  run), ``depth_uncertainty`` [m] (largest along the run), ``container`` and ``min_cover`` [m]
  (least ground level − pipe top over its vertices, from the DTM; empty outside the DTM).
- ``buildings`` and ``trees`` are always written (possibly empty), so the file always opens.
- ``buildings``: footprints (MultiPolygon) with ``source_id``, ``ground_z``, ``roof_z`` [m NAP]
  and ``height`` [m].
- ``trees``: 3D points at the trunk base with ``source_id``, ``species``, ``height``,
  ``crown_diameter`` and ``trunk_height`` [m].
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import shapely
from pyogrio.raw import write

from stadstwin.crs import INTERNAL_CRS
from stadstwin.model.enums import DepthSource, Status
from stadstwin.model.networks import NetworkTable
from stadstwin.model.raster import Raster
from stadstwin.model.twin import Twin
from stadstwin.model.utilities import Utility


def export_gpkg(twin: Twin, path: str | Path) -> Path:
    """Write the networks, buildings and trees of ``twin`` to a new GeoPackage at ``path``."""
    path = Path(path)
    if path.exists():
        path.unlink()
    networks = twin.networks
    for code in np.unique(networks.utility):
        _write_network(path, networks.select(networks.utility == code), Utility(int(code)).key, twin.dtm)
    buildings = twin.buildings
    footprints = [shapely.MultiPolygon(shapely.get_parts(shapely.force_2d(f))) for f in buildings.footprint]
    _write(path, "buildings", footprints, "MultiPolygon", {
        "source_id": buildings.source_id.astype(object),
        "ground_z": buildings.ground_z, "roof_z": buildings.roof_z, "height": buildings.height,
    })
    trees = twin.trees
    points = shapely.points(np.column_stack([trees.x, trees.y, trees.ground_z])) if len(trees) else []
    _write(path, "trees", points, "Point Z", {
        "source_id": trees.source_id.astype(object), "species": trees.species.astype(object),
        "height": trees.height, "crown_diameter": trees.crown_diameter, "trunk_height": trees.trunk_height,
    })
    return path


def network_runs(networks: NetworkTable) -> list[np.ndarray]:
    """Row indices of each connected run: consecutive segments of one polyline and feature id."""
    n = len(networks)
    if not n:
        return []
    joined = (
        (networks.asset[1:] == networks.asset[:-1])
        & (networks.feature_id[1:] == networks.feature_id[:-1])
        & np.all(networks.p0[1:] == networks.p1[:-1], axis=1)
    )
    starts = np.concatenate([[0], np.flatnonzero(~joined) + 1])
    return np.split(np.arange(n), starts[1:])


def _write_network(path: Path, networks: NetworkTable, layer: str, dtm: Raster) -> None:
    runs = network_runs(networks)
    lines = [shapely.linestrings(np.vstack([networks.p0[r], networks.p1[r[-1]]])) for r in runs]
    top0 = networks.p0[:, 2] + networks.radius
    top1 = networks.p1[:, 2] + networks.radius
    cover = np.minimum(dtm.sample(networks.p0[:, 0], networks.p0[:, 1]) - top0,
                       dtm.sample(networks.p1[:, 0], networks.p1[:, 1]) - top1)
    first = np.array([r[0] for r in runs])
    owners = networks.owner_name
    _write(path, layer, lines, "LineString Z", {
        "feature_id": networks.feature_id[first].astype(object),
        "owner": owners[first].astype(object),
        "utility": np.full(len(runs), layer, dtype=object),
        "status": np.array([Status(int(s)).name.lower() for s in networks.status[first]], dtype=object),
        "outer_diameter": networks.outer_diameter[first],
        "depth_source": np.array([DepthSource(int(networks.depth_source[r].max())).name.lower() for r in runs],
                                 dtype=object),
        "depth_uncertainty": np.array([networks.depth_uncertainty[r].max() for r in runs]),
        "container": networks.container[first].astype(object),
        "min_cover": np.array([np.min(cover[r]) for r in runs]),
    })


def _write(path: Path, layer: str, geometries, geometry_type: str, columns: dict[str, np.ndarray]) -> None:
    write(str(path), shapely.to_wkb(np.asarray(geometries, dtype=object), output_dimension=3),
          list(columns.values()), list(columns), layer=layer, driver="GPKG", crs=INTERNAL_CRS,
          geometry_type=geometry_type, append=path.exists())
