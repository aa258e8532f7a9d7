"""Off-screen 3D snapshots of a twin (pyvista): buildings, trees and the networks below a translucent
ground, seen obliquely from the south-west, as PNG bytes for reports.

Meshes come from ``io.meshes`` in true EPSG:7415 coordinates and are shifted to a local origin
before rendering (VTK renders in float32).
"""

from __future__ import annotations

import io

import numpy as np
import pyvista as pv
import trimesh
from PIL import Image

from stadstwin.io.meshes import building_meshes, terrain_mesh, tree_mesh, tube_mesh
from stadstwin.model.enums import Status
from stadstwin.model.twin import Twin
from stadstwin.model.utilities import Utility
from stadstwin.rules import Rules

TERRAIN_OPACITY = 0.25
#: Networks are drawn this many times thicker than they are, so that cables show at district scale.
NETWORK_EXAGGERATION = 4.0


def _polydata(mesh: trimesh.Trimesh, origin: np.ndarray) -> pv.PolyData:
    faces = np.hstack([np.full((len(mesh.faces), 1), 3), mesh.faces]).ravel()
    return pv.PolyData(np.asarray(mesh.vertices) - origin, faces)


def snapshot_png(twin: Twin, rules: Rules, *, title: str = "", size: tuple[int, int] = (900, 600),
                 focus: tuple[float, float, float, float] | None = None) -> bytes:
    """A PNG of the twin; ``focus`` (xmin, ymin, xmax, ymax) frames part of it (default: all)."""
    with pv.vtk_verbosity("off"):  # VTK logs a warning while it falls back from X to off-screen GL
        return _render(twin, rules, title, size, focus)


def _render(twin: Twin, rules: Rules, title: str, size: tuple[int, int],
            focus: tuple[float, float, float, float] | None) -> bytes:
    xmin, ymin, xmax, ymax = focus or twin.bounds
    origin = np.array([xmin, ymin, float(np.nanmin(twin.dtm.array))])
    plotter = pv.Plotter(off_screen=True, window_size=list(size))
    plotter.set_background("white")
    plotter.add_mesh(_polydata(terrain_mesh(twin.dtm, 60_000), origin), color="#8fb36b", opacity=TERRAIN_OPACITY)
    blocks = [m for m in building_meshes(twin.buildings) if m is not None]
    if blocks:
        plotter.add_mesh(_polydata(trimesh.util.concatenate(blocks), origin), color="#d9d4cc", smooth_shading=False)
    if len(twin.trees):
        crowns = trimesh.util.concatenate([tree_mesh(twin.trees, i) for i in range(len(twin.trees))])
        plotter.add_mesh(_polydata(crowns, origin), color="#4f8a3c")
    networks = twin.networks
    for code in np.unique(networks.utility):
        rows = (networks.utility == code) & (networks.status != Status.ABANDONED)
        if rows.any():
            tubes = tube_mesh(networks.p0[rows], networks.p1[rows], NETWORK_EXAGGERATION * networks.radius[rows], sections=8)
            plotter.add_mesh(_polydata(tubes, origin), color=rules.utility(Utility(int(code))).colour)
    width, depth = xmax - xmin, ymax - ymin
    centre = np.array([width / 2, depth / 2, 0.0])
    distance = 1.45 * max(width, depth)
    plotter.camera_position = [tuple(centre + np.array([-0.55, -0.75, 0.6]) * distance), tuple(centre), (0, 0, 1)]
    if title:
        plotter.add_text(title, font_size=10, color="black")
    image = plotter.screenshot(return_img=True)
    plotter.close()
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    return buffer.getvalue()
