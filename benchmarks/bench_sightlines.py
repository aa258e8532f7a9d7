"""Viewshed: stadstwin's per-line kernel against xarray-spatial's ``viewshed`` (the r.viewshed sweep),
on the same surface model and observer.

The DSM is the real AHN3 Delft crop (buildings and trees, 1 m) mirrored into a 1000 × 1000 tile
(1 Mpx); the observer stands 1.75 m above a street cell near the centre and looks over the whole
tile (no radius). Rows: time per call (best of three after a warm-up, so numba compilation is
excluded), ratio peer/project, visible cells, and the share of cells on which both agree. A second
pair of rows limits stadstwin to a 300 m radius (the analysis' practice), which the peer cannot.

Run: ``python benchmarks/bench_sightlines.py`` (``--quick`` for 500 × 500).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numba
import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from bench_water import delft_tile
from harness import measure, report

from stadstwin.engines.viewshed import viewshed
from stadstwin.model.viewpoints import EYE_HEIGHT_M


def street_cell(dsm: np.ndarray, dtm: np.ndarray) -> tuple[int, int]:
    """Of the 50 open-ground cells (DSM within 0.2 m of the DTM) nearest the tile centre, the one that
    sees most within 100 m: a street or square, not a back yard."""
    rows, cols = np.nonzero(dsm - dtm < 0.2)
    centre = (dsm.shape[0] / 2, dsm.shape[1] / 2)
    nearest = np.argsort((rows - centre[0]) ** 2 + (cols - centre[1]) ** 2)[:50]
    seen = [viewshed(dsm, rows[k], cols[k], dsm[rows[k], cols[k]] + EYE_HEIGHT_M, 1.0, radius=100.0).sum()
            for k in nearest]
    k = nearest[int(np.argmax(seen))]
    return int(rows[k]), int(cols[k])


def peer_viewshed(dsm: np.ndarray, row: int, col: int) -> np.ndarray:
    import xarray as xr
    from xrspatial import viewshed as xrs_viewshed

    n_rows, n_cols = dsm.shape
    raster = xr.DataArray(dsm.copy(), dims=("y", "x"),
                          coords={"y": np.arange(n_rows)[::-1] * 1.0, "x": np.arange(n_cols) * 1.0})
    return xrs_viewshed(raster, x=float(col), y=float(n_rows - 1 - row), observer_elev=EYE_HEIGHT_M).values >= 0


def main() -> None:
    n = 500 if "--quick" in sys.argv else 1000
    dsm, dtm = delft_tile(n, "dsm"), delft_tile(n, "dtm")
    row, col = street_cell(dsm, dtm)
    eye = float(dsm[row, col] + EYE_HEIGHT_M)
    rows, agreements = [], []
    for surface, what in ((dsm, "DSM (buildings, trees)"), (dtm, "DTM (open ground: the worst case)")):
        eye = float(surface[row, col] + EYE_HEIGHT_M)
        ours_s, ours = measure(lambda s=surface, e=eye: viewshed(s, row, col, e, 1.0).astype(bool))
        peer_s, peer = measure(lambda s=surface: peer_viewshed(s, row, col))
        agreements.append(float((ours == peer).mean()))
        case = f"{n}×{n} AHN3 Delft {what}"
        rows += [
            {"case": case, "who": "stadstwin viewshed", "seconds": ours_s, "visible cells": int(ours.sum()),
             "agreement": agreements[-1]},
            {"case": case, "who": "xarray-spatial viewshed", "seconds": peer_s, "visible cells": int(peer.sum()),
             "agreement": ""},
            {"case": "ratio xarray-spatial / stadstwin", "who": "", "seconds": peer_s / ours_s,
             "visible cells": "", "agreement": ""},
        ]
        if surface is dsm:
            near_s, near = measure(lambda e=eye: viewshed(dsm, row, col, e, 1.0, radius=300.0).astype(bool))
            rows.append({"case": f"{case}, radius 300 m", "who": "stadstwin viewshed", "seconds": near_s,
                         "visible cells": int(near.sum()), "agreement": ""})
    threads = numba.get_num_threads()
    report("sightlines", rows, notes=f"numba threads {threads}; observer at cell ({row}, {col}), eye 1.75 m above it; share of cells "
                                     f"where both agree: {', '.join(f'{a:.5f}' for a in agreements)}")
    if min(agreements) < 0.995:
        raise SystemExit("the viewsheds differ on more than 0.5 % of the cells")


if __name__ == "__main__":
    main()
