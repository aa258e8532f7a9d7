"""A scene built and analysed tile by tile equals the untiled run (demo district, 4 tiles of 130 m).

References: the untiled heat analysis of the same scene; for sun hours, the bound that follows from
the margin (a shadow reaching beyond the margin needs a sun lower than atan(Δh / margin)); for the
point clouds read, the LAZ headers compared with each tile's padded extent by plain arithmetic.
"""

from __future__ import annotations

import math
from pathlib import Path

import laspy
import numpy as np
import pytest
import rasterio
import shapely
from twins import write_scene_toml

from stadstwin import build_twin
from stadstwin.analyses import heat_inputs as inputs
from stadstwin.analyses.heat_stress import SHADE_HOUR, heat_stress, parse_day
from stadstwin.batch.tiled_heat import run_tiled_heat
from stadstwin.build.tiled import build_tiled, plan_tiles, tile_scene, tiled_twin
from stadstwin.errors import InputError
from stadstwin.io import pointcloud
from stadstwin.model.scene import Scene
from stadstwin.scenario.pipeline import resolve_settings
from stadstwin.shade import sun_positions

TILE, MARGIN = 130.0, 40.0  # m
SETTINGS = {"hours": [12, 15], "step_minutes": 30}


@pytest.fixture(scope="module")
def runs(demo_scene, tmp_path_factory):
    scene = Scene.load(demo_scene)
    rules = scene.load_rules()
    _, settings = resolve_settings(scene, "heat", [], SETTINGS)
    tiled = build_tiled(scene, TILE, margin=MARGIN)
    result = run_tiled_heat(tiled, rules, settings, tmp_path_factory.mktemp("tiled-heat"), workers=1)
    stitched = {}
    for name, path in result.paths.items():
        with rasterio.open(path) as f:
            stitched[name] = f.read(1)
    twin = build_twin(scene)
    return scene, tiled, twin, result, stitched, heat_stress(twin, rules, dict(settings))


def test_tiles_cover_the_grid_once_and_pad_by_the_margin():
    tiles = plan_tiles((10, 7), 3, 2)
    count = np.zeros((10, 7), dtype=int)
    for t in tiles:
        count[t.core_slices] += 1
        r0, r1, c0, c1 = t.core
        assert t.padded == (max(r0 - 2, 0), min(r1 + 2, 10), max(c0 - 2, 0), min(c1 + 2, 7))
    assert (count == 1).all() and len(tiles) == 4 * 3
    with pytest.raises(InputError):
        plan_tiles((10, 7), 0, 2)


def test_tile_twins_lie_on_the_scene_grid(runs):
    _, tiled, twin, *_ = runs
    assert tiled.shape == twin.dtm.shape and len(tiled.tiles) == 4
    for tile in tiled.tiles:
        part = tiled.load(tile)
        r0, r1, c0, c1 = tile.padded
        assert part.dtm.shape == (r1 - r0, c1 - c0)
        assert part.dtm.origin == pytest.approx(twin.dtm.transform @ (c0, r0))
        # the point-cloud DSM of the core equals the untiled one (its gap filling reaches < the margin)
        np.testing.assert_array_equal(part.dsm.values()[tile.core_in_padded], twin.dsm.values()[tile.core_slices])
        # a BGT building's roof comes from all its points, also where it reaches out of the tile's piece box
        roofs = dict(zip(twin.buildings.source_id, twin.buildings.roof_z))
        for source_id, roof in zip(part.buildings.source_id, part.buildings.roof_z):
            assert roof == pytest.approx(roofs[source_id], nan_ok=True)


@pytest.mark.parametrize("name", ["shade_12h", "shade_15h"])
def test_shade_snapshots_equal_the_untiled_run(runs, name):
    *_, stitched, reference = runs
    # the sun is taken at each tile's centre (metres apart): a cell on a shadow edge may flip
    same = stitched[name] == reference.rasters[name].array.astype(np.float32)
    assert same.mean() >= 0.999


def test_sun_hours_differ_only_by_the_suns_too_low_for_the_margin(runs):
    scene, _, twin, _, stitched, reference = runs
    top = np.nanmax(np.concatenate([twin.dsm.values().ravel(), twin.context.roof_z, twin.buildings.roof_z]))
    drop = top - np.nanmin(twin.dtm.values())
    lat, lon = inputs.centre_lat_lon(twin.dtm)
    _, altitude = sun_positions(lat, lon, parse_day(scene.climate.date), SETTINGS["step_minutes"])
    low = np.degrees(math.atan(drop / MARGIN))
    bound = (altitude < low).sum() * SETTINGS["step_minutes"] / 60.0
    assert bound > 0.0
    difference = np.abs(stitched["sun_hours"] - reference.rasters["sun_hours"].array)
    assert difference.max() > 0.0  # the margin is short of the lowest sun's shadows
    assert (difference <= bound + 1e-6).mean() >= 0.999


def test_sky_view_and_tmrt_within_the_stated_tolerance(runs):
    """SVF sees the horizon up to the raster edge: beyond the margin the tile sees open sky."""
    *_, stitched, reference = runs
    for name, mean, p99 in (("svf", 0.002, 0.02), ("tmrt_mean_12_18", 0.02, 0.2)):
        ref = reference.rasters[name].array
        assert np.array_equal(np.isfinite(stitched[name]), np.isfinite(ref))
        d = np.abs(stitched[name] - ref)[np.isfinite(ref)]
        assert d.mean() <= mean and np.percentile(d, 99) <= p99


def test_metrics_are_those_of_the_stitched_rasters(runs):
    _, _, twin, result, stitched, reference = runs
    public = inputs.public_space(inputs.surface_codes(twin, inputs.building_mask(twin)))
    shaded = stitched[f"shade_{SHADE_HOUR}h"] < 0.5
    assert result.metrics["shade_fraction"] == pytest.approx(shaded[public].mean(), abs=1e-12)
    assert result.metrics["svf_mean"] == pytest.approx(stitched["svf"][public].astype(np.float64).mean(), abs=1e-6)
    assert result.metrics.keys() == reference.metrics.keys()
    assert result.metrics["shade_fraction"] == pytest.approx(reference.metrics["shade_fraction"], abs=1e-3)
    assert result.metrics["svf_mean"] == pytest.approx(reference.metrics["svf_mean"], abs=1e-3)
    assert result.metrics["tmrt_mean_c"] == pytest.approx(reference.metrics["tmrt_mean_c"], abs=0.01)
    assert result.metrics["pet_mean_c"] == pytest.approx(reference.metrics["pet_mean_c"], abs=0.01)


def _split_laz(source: Path, folder: Path, x_split: float) -> list[Path]:
    """The points west and east of ``x_split`` (a 4 m gap left out) as two LAZ files."""
    las = laspy.read(source)
    x = np.asarray(las.x)
    out = []
    for name, keep in (("west", x < x_split - 2.0), ("east", x >= x_split + 2.0)):
        part = laspy.LasData(las.header)
        part.points = las.points[keep]
        path = folder / f"{name}.laz"
        part.write(path)
        out.append(path)
    return out


def test_each_laz_is_decoded_once_and_each_tile_reads_only_its_own_piece(demo_scene, tmp_path, monkeypatch):
    demo = Scene.load(demo_scene)
    xmin, _, xmax, _ = demo.extent.bounds
    files = _split_laz(demo.sources.pointclouds[0].path, tmp_path, (xmin + xmax) / 2.0)
    folder = write_scene_toml(tmp_path / "split", demo.extent.bounds,
                              f'[sources]\npointclouds = ["{files[0]}", "{files[1]}"]\n')
    scene = Scene.load(folder)
    decoded: list[str] = []
    opened = laspy.open

    def spy(path, mode="r", *args, **kwargs):
        handle = opened(path, mode, *args, **kwargs)
        if mode == "r":
            chunks = handle.chunk_iterator

            def logged(size):
                decoded.append(Path(path).name)
                return chunks(size)

            handle.chunk_iterator = logged
        return handle

    monkeypatch.setattr(pointcloud.laspy, "open", spy)
    tiled = build_tiled(scene, 100.0, margin=10.0, use_cache=False)
    assert sorted(n for n in decoded if n.endswith(".laz")) == ["east.laz", "west.laz"]  # each streamed once
    headers = {}
    for k, path in enumerate(files):
        with opened(path) as reader:
            headers[k] = (*reader.header.mins[:2], *reader.header.maxs[:2])
    read = sorted(n for n in decoded if n.endswith(".las"))
    possible = []
    for tile in tiled.tiles:
        x0, y0, x1, y1 = tile_scene(scene, tiled, tile).extent.bounds
        possible += [f"{tile.name}-{k}.las" for k, (a, b, c, d) in headers.items()
                     if a <= x1 and c >= x0 and b <= y1 and d >= y0]
    assert set(read) <= set(possible) and len(read) < 2 * len(tiled.tiles)  # some tiles meet one file only
    assert not (tiled.folder / "points").exists()  # the pieces are gone once the tiles are built
    # a tile built from its piece equals the tile built from the whole files
    tile = tiled.tiles[0]
    whole = build_twin(tile_scene(scene, tiled, tile), use_cache=False)
    np.testing.assert_array_equal(tiled.load(tile).dtm.array, whole.dtm.array)
    np.testing.assert_array_equal(tiled.load(tile).dsm.array, whole.dsm.array)


def test_cli_tiled_heat_writes_the_stitched_cogs_and_the_same_metrics(runs, demo_scene, tmp_path):
    import json

    from typer.testing import CliRunner

    from stadstwin.cli import app

    *_, result, _, _ = runs
    runner = CliRunner()
    args = ["check", "heat", str(demo_scene), "--tile-size", str(TILE), "--margin", str(MARGIN),
            "--step-minutes", str(SETTINGS["step_minutes"]), "--workers", "1"]
    done = runner.invoke(app, [*args, "--out", str(tmp_path)])
    assert done.exit_code == 0, done.output
    written = json.loads((tmp_path / "heat.json").read_text())
    assert written["tiles"] == 4
    assert written["metrics"] == pytest.approx(result.metrics, abs=1e-9)
    assert {p.name for p in tmp_path.glob("*.tif")} == {p.name for p in result.paths.values()}
    refused = runner.invoke(app, [*args, "--variant", "plan"])
    assert refused.exit_code == 1 and "--variant" in refused.output


def test_point_pieces_cover_the_whole_footprints_of_the_buildings_they_meet(runs):
    """A BGT building's roof height takes all its points, so a tile's point-cloud piece reaches to the far
    side of every footprint that meets the tile's padded extent (and only the widening brings those in)."""
    from stadstwin.build.tiled import _point_boxes, tiled_twin
    from stadstwin.io.bgt import read_bgt_buildings
    from stadstwin.model.scene import BgtLayer

    scene = runs[0]
    tiled = tiled_twin(scene, 30.0, margin=0.0)  # small tiles: many footprints cross a tile edge
    pand = scene.sources.bgt[BgtLayer.PAND]
    footprints = read_bgt_buildings(pand.path, assumed_crs=pand.crs).footprint
    boxes = _point_boxes(scene, tiled, list(tiled.tiles))
    widened = 0
    for tile in tiled.tiles:
        extent = shapely.box(*tile_scene(scene, tiled, tile).extent.bounds)
        meeting = footprints[shapely.intersects(footprints, extent)]
        assert shapely.covers(shapely.box(*boxes[tile.name]), meeting).all()
        widened += int((~shapely.covers(extent, meeting)).sum())
    assert widened > 0


def test_every_point_is_owned_by_the_one_tile_whose_core_box_holds_it():
    scene = Scene.model_validate({"name": "grid", "cell_size": 0.5,
                                  "extent": {"xmin": 1000, "ymin": 400000, "xmax": 1030.2, "ymax": 400021}})
    tiled = tiled_twin(scene, 10.0, margin=3.0)
    rng = np.random.default_rng(1)
    x, y = rng.uniform(990, 1040, 2000), rng.uniform(399990, 400030, 2000)  # also off the grid
    owners = np.array([tiled.owns(tile, x, y) for tile in tiled.tiles])
    assert (owners.sum(axis=0) == 1).all()
    xmin, ymin, xmax, ymax = tiled.bounds
    assert (xmin, ymin) == (1000, 400000) and xmax == pytest.approx(1030.5) and ymax == 400021
    inside = (x >= xmin) & (x < xmax) & (y > ymin) & (y <= ymax)
    for tile, owned in zip(tiled.tiles, owners, strict=True):
        r0, r1, c0, c1 = tile.core
        px, py = x[owned & inside], y[owned & inside]
        assert ((px >= xmin + 0.5 * c0) & (px <= xmin + 0.5 * c1)).all()
        assert ((py >= ymax - 0.5 * r1) & (py <= ymax - 0.5 * r0)).all()
