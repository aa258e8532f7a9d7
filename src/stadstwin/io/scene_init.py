"""``scene init``: a valid ``scene.toml`` from the files a user has.

Each file is recognised by its content (``io.scene_sources.identify``) and referenced by its path
relative to the scene folder (nothing is copied). The extent, unless given, is where the data meet:
the union of the elevation files (point clouds, GeoTIFFs), intersected with the union of the KLIC
request areas (the area the user asked about) and with the union of the BGT layers and CityJSON files
(their data: a 3DBAG tile may hold a few buildings, the BGT the rest), each only when given, rounded
to whole metres. Tree registers are points and do not shrink it. A file that does not meet the
extent, a file without CRS (unless ``crs`` is given to assume), two DTMs or no terrain at all (no
elevation file and no ``ground_nap``) are refused with an error naming the file and what to do.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from stadstwin.errors import InputError, MissingCRSError, SceneError
from stadstwin.io.scene_sources import Bounds, SourceInfo, describe_bounds, identify, meets
from stadstwin.model.scene import Scene

ELEVATION = ("pointcloud", "dtm", "dsm")
#: Groups of kinds whose files are united; the groups are intersected into the extent.
EXTENT_GROUPS = (ELEVATION, ("klic",), ("bgt", "cityjson"))
DEFAULT_CELL = {"pointcloud": 0.5}  # m: AHN3/4 hold 8-20 points/m², enough for 0.5 m cells
FALLBACK_CELL = 1.0  # m
_GROUP_NAMES = {ELEVATION: "elevation", ("klic",): "KLIC area", ("bgt", "cityjson"): "BGT/CityJSON",
                ("trees",): "tree register"}


@dataclass(frozen=True)
class InitResult:
    """What ``init_scene`` wrote: the scene file, its sources, extent [m RD New] and cell size [m]."""

    path: Path
    sources: list[SourceInfo]
    extent: Bounds
    cell_size: float
    extent_from: str


def _union(boxes: list[Bounds]) -> Bounds:
    return (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes))


def _intersection(a: Bounds, b: Bounds) -> Bounds:
    return max(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3])


def data_extent(sources: list[SourceInfo]) -> tuple[Bounds, str]:
    """(extent, how it was found) where the files' data meet; see the module docstring."""
    groups = [(k, [s for s in sources if s.kind in k]) for k in EXTENT_GROUPS]
    groups = [(kinds, members) for kinds, members in groups if members]
    if not groups:  # only tree registers
        groups = [(("trees",), sources)]
    extent = None
    for kinds, members in groups:
        box = _union([s.bounds for s in members])
        if extent is not None and not (box[0] < extent[2] and box[2] > extent[0]
                                       and box[1] < extent[3] and box[3] > extent[1]):
            names = ", ".join(sorted({s.path.name for s in members}))
            group = _GROUP_NAMES.get(kinds, "/".join(kinds))
            raise InputError(f"the {group} data ({describe_bounds(box)}) do not overlap the other files "
                             f"({describe_bounds(extent)})", path=names,
                             hint="leave out files of another area, or give --extent")
        extent = box if extent is None else _intersection(extent, box)
    extent = tuple(float(round(v)) for v in extent)  # whole metres, at most 0.5 m beyond the data
    how = " ∩ ".join(_GROUP_NAMES.get(kinds, "/".join(kinds)) for kinds, _ in groups)
    return extent, f"overlap of {how}"


def init_scene(
    folder: str | Path,
    files: list[str | Path],
    *,
    extent: Bounds | None = None,
    crs: str | None = None,
    ground_nap: float | None = None,
    cell_size: float | None = None,
    name: str | None = None,
    overwrite: bool = False,
) -> InitResult:
    """Write ``folder/scene.toml`` for ``files``; ``crs`` is assumed for files that name none,
    ``ground_nap`` [m NAP] is the constant ground level of a scene without elevation files."""
    folder = Path(folder)
    target = folder / "scene.toml"
    if target.exists() and not overwrite:
        raise SceneError("a scene.toml exists already", path=target, hint="pass --force to replace it")
    if not files:
        raise InputError("no files given", hint="pass the files with --from")
    sources = []
    for path in files:
        try:
            sources += identify(path, crs)
        except MissingCRSError as exc:
            raise MissingCRSError(exc.message, path=path, feature=exc.feature,
                                  hint="pass --crs EPSG:28992 when its coordinates are RD New") from None
    _one_raster_each(sources)
    elevation = [s for s in sources if s.kind in ELEVATION]
    if ground_nap is not None and elevation:
        raise InputError("--ground-nap is for scenes without elevation data, but these files hold it",
                         path=", ".join(s.path.name for s in elevation), hint="leave out --ground-nap")
    if ground_nap is None and not any(s.kind in ("pointcloud", "dtm") for s in sources):
        raise InputError("no terrain among the files (no LAS/LAZ point cloud or DTM GeoTIFF)",
                         path=", ".join(str(f) for f in files),
                         hint="pass --ground-nap M, the constant ground level in m NAP (e.g. from the AHN viewer), "
                         "or add a DTM")
    how = "given with --extent"
    if extent is None:
        extent, how = data_extent(sources)
    outside = [s for s in sources if not meets(s.bounds, extent)]
    if outside:
        raise InputError("; ".join(f"{s.path.name} ({describe_bounds(s.bounds)})" for s in outside)
                         + f" do(es) not meet the extent {describe_bounds(extent)}",
                         hint="leave these files out, or give an --extent that covers them")
    if cell_size is None:
        rasters = [s.cell_size for s in sources if s.cell_size]
        cell_size = min(rasters) if rasters else min(
            (DEFAULT_CELL.get(s.kind, FALLBACK_CELL) for s in sources), default=FALLBACK_CELL)
    folder.mkdir(parents=True, exist_ok=True)
    name = name or _name(folder)
    target.write_text(_toml(folder, name, sources, extent, cell_size, ground_nap, how), encoding="utf-8")
    Scene.load(target)  # what was written must load
    return InitResult(target, sources, extent, cell_size, how)


def _one_raster_each(sources: list[SourceInfo]) -> None:
    for kind in ("dtm", "dsm"):
        same = [s for s in sources if s.kind == kind]
        if len(same) > 1:
            raise InputError(f"{len(same)} {kind.upper()} GeoTIFFs; a scene holds one",
                             path=", ".join(s.path.name for s in same),
                             hint="merge the tiles first, e.g. `gdalbuildvrt merged.vrt *.tif`, and pass that")


def _name(folder: Path) -> str:
    name = "".join(c if c.isalnum() or c in "_.-" else "-" for c in folder.resolve().name).strip("-.")
    return name or "scene"


def _ref(source: SourceInfo, folder: Path) -> str:
    """A TOML value for a source: its path relative to the scene folder, with the CRS to assume
    when the file names none."""
    path = json.dumps(Path(os.path.relpath(source.path.resolve(), folder.resolve())).as_posix())
    return path if source.crs_in_file else f"{{ path = {path}, crs = {json.dumps(source.crs)} }}"


def _toml(folder: Path, name: str, sources: list[SourceInfo], extent: Bounds, cell_size: float,
          ground_nap: float | None, how: str) -> str:
    by_kind = {k: [s for s in sources if s.kind == k]
               for k in ("pointcloud", "dtm", "dsm", "cityjson", "klic", "trees")}
    lines = [
        "# Written by `stadstwin scene init` from the files listed below (paths relative to this folder).",
        f"name = {json.dumps(name)}",
        'crs = "EPSG:7415"',
        f"cell_size = {cell_size:g}",
        "",
        f"[extent]                        # RD New [m]; {how}",
        *(f"{k} = {v:.2f}".rstrip("0").rstrip(".") for k, v in zip(("xmin", "ymin", "xmax", "ymax"), extent)),
        "",
        "[sources]",
    ]
    for key, kind in (("pointclouds", "pointcloud"), ("cityjson", "cityjson"), ("klic", "klic")):
        if by_kind[kind]:
            lines.append(f"{key} = [{', '.join(_ref(s, folder) for s in by_kind[kind])}]")
    for kind in ("dtm", "dsm"):
        if by_kind[kind]:
            lines.append(f"{kind} = {_ref(by_kind[kind][0], folder)}")
    trees = by_kind["trees"]
    if len(trees) > 1:
        raise InputError(f"{len(trees)} tree registers; a scene holds one",
                         path=", ".join(f"{s.path.name}" for s in trees), hint="pass one tree register")
    if trees:
        lines.append(f"trees = {_ref(trees[0], folder)}")
    bgt = [s for s in sources if s.kind == "bgt"]
    if bgt:
        lines += ["", "[sources.bgt]"]
        for layer in dict.fromkeys(s.layer for s in bgt):
            same = [s for s in bgt if s.layer == layer]
            if len(same) > 1:
                raise InputError(f"BGT {layer} is in {len(same)} files; a scene holds one per class",
                                 path=", ".join(s.path.name for s in same), hint="pass one file per BGT class")
            lines.append(f"{layer} = {_ref(same[0], folder)}")
    if ground_nap is not None:
        lines += ["", "[terrain]                       # no elevation data among the files",
                  f"constant_nap = {ground_nap:g}             # m NAP, the ground level everywhere (--ground-nap)"]
    return "\n".join(lines) + "\n"
