"""What a twin holds: counts by kind, depth sources, extents and gaps, for the CLI and the service."""

from __future__ import annotations

from typing import Any

import numpy as np

from stadstwin.model.enums import Surface
from stadstwin.model.raster import Raster
from stadstwin.model.twin import Twin


def _raster_summary(raster: Raster | None) -> dict[str, Any] | None:
    if raster is None:
        return None
    values = raster.values()
    finite = np.isfinite(values)
    return {
        "shape": list(raster.shape),
        "cell_size_m": raster.cell_size,
        "gap_fraction": float(1.0 - finite.mean()) if values.size else 1.0,
        "min": float(np.nanmin(values)) if finite.any() else None,
        "max": float(np.nanmax(values)) if finite.any() else None,
    }


def summarize(twin: Twin) -> dict[str, Any]:
    """A JSON-ready description of the twin."""
    b = twin.buildings
    heights = b.height
    surface = None
    if twin.surface is not None:
        codes, counts = np.unique(twin.surface.array.astype(int), return_counts=True)
        total = counts.sum()
        surface = {Surface(int(c)).name.lower(): float(n / total) for c, n in zip(codes, counts)}
    networks = twin.networks
    return {
        "name": twin.name,
        "crs": twin.crs,
        "bounds": [float(v) for v in twin.bounds],
        "ground": twin.terrain,
        "terrain": {"dtm": _raster_summary(twin.dtm), "dsm": _raster_summary(twin.dsm),
                    "chm": _raster_summary(twin.chm)},
        "surface_shares": surface,
        "buildings": {
            "count": len(b),
            "with_mesh": int(sum(m is not None for m in b.mesh)) if b.mesh is not None else 0,
            "without_height": int(np.sum(~np.isfinite(heights))),
            "height_m": [float(np.nanmin(heights)), float(np.nanmax(heights))] if np.isfinite(heights).any() else None,
        },
        "trees": {
            "count": len(twin.trees),
            "detected": int(np.char.startswith(twin.trees.source_id.astype(str), "chm-").sum()),
        },
        "networks": {
            "segments": len(networks),
            "features": int(len(np.unique(networks.feature_id))),
            "length_m": float(networks.length.sum()),
            "owners": list(networks.owners),
            **networks.describe(),
        },
        "reservations": len(twin.reservations),
    }
