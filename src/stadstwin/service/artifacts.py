"""Files of a finished job: result rasters as RGBA PNG overlays (with legend metadata) and GeoTIFF,
findings as GeoJSON, the comparison report. Each job writes into its own folder ``FILES/jobs/ID``."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
from PIL import Image

from stadstwin.analyses.result import AnalysisResult
from stadstwin.io.geotiff import write_cog
from stadstwin.model.raster import Raster

#: Colour maps of result rasters by a part of their name; the first match wins.
_CMAPS = (("pet", "RdYlBu_r"), ("utci", "RdYlBu_r"), ("temperature", "RdYlBu_r"), ("sun", "inferno"),
          ("shade", "Blues"), ("water", "Blues"), ("visible", "YlGn"), ("diff", "RdBu_r"))
#: Result rasters whose cells below a value [raster unit] are left transparent (dry ground under a water
#: overlay, cells no viewpoint sees under the sight-line overlay).
_CLEAR_BELOW = {"water_depth": 0.01, "visible_count": 0.5}
_DEFAULT_CMAP = "viridis"
FINDINGS_FILE = "findings.geojson"


def cmap_for(name: str) -> str:
    """The colour map a raster called ``name`` is drawn with."""
    return next((cmap for part, cmap in _CMAPS if part in name.lower()), _DEFAULT_CMAP)


def overlay_png(raster: Raster, cmap: str, clear_below: float = -np.inf) -> tuple[bytes, float, float]:
    """An RGBA PNG of ``raster`` (north-up, one pixel per cell, NaN and values below ``clear_below``
    transparent) and its value range."""
    values = raster.values()
    finite = np.isfinite(values)
    lo = float(values[finite].min()) if finite.any() else 0.0
    hi = float(values[finite].max()) if finite.any() else 1.0
    scaled = (values - lo) / (hi - lo) if hi > lo else np.zeros_like(values)
    rgba = matplotlib.colormaps[cmap](np.where(finite, scaled, 0.0), bytes=True)
    rgba[~finite | (np.nan_to_num(values, nan=-np.inf) < clear_below), 3] = 0
    buffer = io.BytesIO()
    Image.fromarray(rgba, mode="RGBA").save(buffer, format="PNG")
    return buffer.getvalue(), lo, hi


def write_analysis(result: AnalysisResult, folder: Path) -> dict[str, Any]:
    """Write an analysis result's rasters and findings into ``folder``; returns the result JSON."""
    folder.mkdir(parents=True, exist_ok=True)
    rasters = []
    for name, raster in result.rasters.items():
        cmap = cmap_for(name)
        png, lo, hi = overlay_png(raster, cmap, _CLEAR_BELOW.get(name, -np.inf))
        (folder / f"{name}.png").write_bytes(png)
        write_cog(raster, folder / f"{name}.tif")
        rasters.append({"raster": name, "bounds": [float(b) for b in raster.bounds],
                        "legend": {"label": name, "min": lo, "max": hi, "cmap": cmap}})
    (folder / FINDINGS_FILE).write_text(json.dumps(
        {"type": "FeatureCollection", "features": result.findings}, default=_plain))
    return {"analysis": result.analysis, "metrics": {k: _plain(v) for k, v in result.metrics.items()},
            "rasters": rasters, "findings": len(result.findings), "settings": result.settings}


def read_findings(folder: Path) -> list[dict[str, Any]]:
    """The findings a job wrote (none when it wrote no file)."""
    path = folder / FINDINGS_FILE
    return json.loads(path.read_text())["features"] if path.is_file() else []


def _plain(value: Any) -> Any:
    """numpy scalars and non-finite floats as JSON values (NaN → null)."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    if isinstance(value, np.ndarray):
        return value.tolist()
    return value
