"""Elevation rasters (GeoTIFF, e.g. AHN DTM/DSM tiles) in, Cloud-Optimised GeoTIFFs out.

Reading resamples band 1 onto the scene grid with ``rasterio.warp.reproject`` (bilinear), nodata
becoming NaN; heights are taken as NAP (no vertical datum shift). A raster without CRS is refused
unless a CRS to assume is given. Writing produces a COG tagged with RD New (EPSG:28992, what GIS
users expect of a height raster; the values are NAP heights) or, on request, EPSG:7415.
"""

from __future__ import annotations

from os import PathLike
from pathlib import Path

import numpy as np
import rasterio
import rasterio.shutil
import rasterio.windows
from rasterio.errors import RasterioError
from rasterio.warp import Resampling, reproject

from stadstwin.crs import RD_NEW, parse_crs
from stadstwin.errors import CRSError, InputError, MissingCRSError
from stadstwin.model.raster import Raster


def read_elevation(
    path: str | PathLike[str], grid: Raster, *, assumed_crs: str | None = None,
) -> Raster:
    """Band 1 of the GeoTIFF at ``path`` [m NAP], bilinearly resampled onto ``grid``; NaN where it has no data."""
    path = Path(path)
    try:
        with rasterio.open(path) as source:
            if source.count < 1:
                raise InputError("the raster has no bands", path=path)
            crs = source_crs(source.crs, path, assumed_crs)
            band = source.read(1, masked=True).astype(np.float64).filled(np.nan)
            transform = source.transform
    except RasterioError as exc:
        raise InputError(f"not a readable GeoTIFF: {exc}", path=path,
                         hint="check that the file is a complete GeoTIFF download") from exc
    if not np.isfinite(band).any():
        raise InputError("the raster holds only nodata/NaN cells", path=path,
                         hint="check the nodata value, or use another tile")
    out = np.full(grid.shape, np.nan)
    reproject(band, out, src_transform=transform, src_crs=crs, src_nodata=np.nan,
              dst_transform=grid.transform, dst_crs=RD_NEW, dst_nodata=np.nan, resampling=Resampling.bilinear)
    if not np.isfinite(out).any():
        raise InputError(f"the raster does not cover the scene extent {grid.bounds}", path=path,
                         hint="check the scene extent and the raster's CRS")
    return Raster(out, grid.transform, grid.crs)


def source_crs(crs: rasterio.crs.CRS | None, path: Path, assumed_crs: str | None) -> str:
    """WKT of a raster's CRS, else of ``assumed_crs``; neither is a ``MissingCRSError``."""
    if crs is not None:
        return crs.to_wkt()
    if assumed_crs is None:
        raise MissingCRSError("GeoTIFF without CRS", path=path,
                              hint="assume RD only when the scene says so: give this raster crs = \"EPSG:28992\"")
    return parse_crs(assumed_crs, path=str(path)).to_wkt()


HEIGHT_MEANINGS = {
    "NAP": "height in metres above NAP (Normaal Amsterdams Peil, vertical CRS EPSG:5709)",
    "maaiveld": "height in metres above ground level (maaiveld)",
}
"""What the values of a height raster mean, as written into a COG's ``VERTICAL_DATUM`` tag."""


def write_cog(raster: Raster, path: str | PathLike[str], *, crs: str = RD_NEW, heights: str | None = None,
              exact: bool = False) -> Path:
    """Write ``raster`` as a Cloud-Optimised GeoTIFF (float32, deflate, NaN nodata); ``crs`` EPSG:28992 or 7415.

    ``heights`` ("NAP" or "maaiveld") marks a height raster: the file carries its vertical reference as
    the ``VERTICAL_DATUM`` tag (and EPSG:5709 for NAP) and band unit metre, so the datum travels with it
    also when the horizontal CRS is plain RD New. ``exact`` keeps the raster's own dtype and values
    (its nodata, else NaN for floats) and writes no overviews: a store read back as is."""
    if heights is not None and heights not in HEIGHT_MEANINGS:
        raise ValueError(f"heights must be one of {sorted(HEIGHT_MEANINGS)}, not {heights!r}")
    if parse_crs(crs).to_epsg() not in (28992, 7415):
        raise CRSError(f"COG output is in EPSG:28992 or EPSG:7415, not {crs}", path=str(path))
    path = Path(path)
    values = raster.array if exact else raster.values().astype(np.float32)
    floating = np.issubdtype(values.dtype, np.floating)
    nodata = np.nan if not exact or (floating and raster.nodata is None) else raster.nodata
    profile = {
        "driver": "COG", "width": raster.shape[1], "height": raster.shape[0], "count": 1,
        "dtype": values.dtype.name, "crs": crs, "transform": raster.transform,
        "nodata": nodata, "compress": "deflate", "blocksize": 256,
    }
    if exact:
        profile.update(overviews="NONE", compress="zstd", level=1)
    with rasterio.open(path, "w", **profile) as target:
        target.write(values, 1)
        if heights is not None:
            target.update_tags(VERTICAL_DATUM=HEIGHT_MEANINGS[heights],
                               VERTICAL_CRS="EPSG:5709" if heights == "NAP" else "none (relative to maaiveld)")
            target.units = ("metre",)
            target.set_band_description(1, f"height [m {heights}]")
    return path


class StitchedCog:
    """A COG written window by window (one tile at a time), so the whole raster is never in memory.

    The windows go to a tiled GeoTIFF next to ``path``; :meth:`close` copies it to the COG (float32,
    deflate, NaN nodata, as :func:`write_cog`) and removes it. Cells never written stay NaN."""

    def __init__(self, path: str | PathLike[str], shape: tuple[int, int], transform, *, crs: str = RD_NEW) -> None:
        self.path = Path(path)
        self.partial = self.path.with_name(self.path.name + ".partial.tif")
        self.target = rasterio.open(
            self.partial, "w", driver="GTiff", width=shape[1], height=shape[0], count=1, dtype="float32",
            crs=crs, transform=transform, nodata=np.nan, tiled=True, blockxsize=256, blockysize=256,
            compress="deflate", BIGTIFF="IF_SAFER")

    def write(self, values: np.ndarray, row: int, col: int) -> None:
        """Write ``values`` with its upper-left cell at (``row``, ``col``)."""
        window = rasterio.windows.Window(col, row, values.shape[1], values.shape[0])
        self.target.write(values.astype(np.float32), 1, window=window)

    def close(self) -> Path:
        self.target.close()
        rasterio.shutil.copy(self.partial, self.path, driver="COG", compress="deflate", blocksize=256)
        self.partial.unlink()
        return self.path
