"""3D Tiles streamed by the viewer's tiles page (3d-tiles-renderer) in headless Chromium: a synthetic district of
10,000 box buildings exported with ``export_3dtiles`` and served as static files; every building is drawn exactly
once at the overview, the canvas shows them, a click names the building by its feature id, and the time to that
first frame is printed (not asserted). The tiled export of the real scenes/delft (tiles of 100 m, one subtree
each) streams with every building drawn once too."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx
import numpy as np
import pytest
import shapely
from conftest import VIEWPORT, build_viewer, free_port
from test_viewer_browser import masks, pixels

from stadstwin.build.tiled import build_tiled
from stadstwin.io.tiles3d import export_3dtiles, export_tiled_3dtiles
from stadstwin.sample.blocks import block_district

pytestmark = pytest.mark.browser
BUILDINGS = 10_000
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def site(tmp_path_factory, chromium_path):
    """URL of a static server holding the built viewer and the tileset of the synthetic district under tileset/."""
    root = tmp_path_factory.mktemp("tiles-site") / "site"
    shutil.copytree(build_viewer(), root)
    export_3dtiles(block_district(BUILDINGS), root / "tileset")
    data = tmp_path_factory.mktemp("delft-tiled")  # scenes/delft beside data/, so the tile cache stays out
    shutil.copytree(REPO / "scenes" / "delft", data / "scenes" / "delft",
                    ignore=shutil.ignore_patterns("results", ".stadstwin-cache"))
    shutil.copytree(REPO / "data", data / "data")
    export_tiled_3dtiles(build_tiled(data / "scenes" / "delft", 100.0), root / "delft")
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1",
                               "--directory", str(root)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            httpx.get(url + "/tiles.html", timeout=2).raise_for_status()
            break
        except httpx.TransportError:
            if time.monotonic() > deadline:
                pytest.fail("http.server did not start")
            time.sleep(0.2)
    yield url
    server.terminate()
    server.wait(timeout=10)


def test_ten_thousand_buildings_stream_and_draw_once_each_and_a_click_names_the_building(browser, site):
    page = browser.new_page(viewport=VIEWPORT)
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    start = time.perf_counter()
    page.goto(f"{site}/tiles.html?quality=low&errorTarget=2&tileset=tileset/tileset.json")
    page.wait_for_function("window.__tiles && window.__tiles.ready === true", timeout=120_000)
    seconds = time.perf_counter() - start
    handle = page.evaluate("window.__tiles")
    png = page.screenshot()
    # the tallest building's roof centre: nothing on the ray to it is higher, so a click there must name it
    twin = block_district(BUILDINGS)
    b = twin.buildings
    i = int(np.argmax(b.roof_z))
    centre = b.footprint[i].centroid
    origin = page.evaluate("fetch('tileset/tileset.json').then((r) => r.json()).then((t) => t.extras.origin_rd_nap)")
    x, y = page.evaluate("(p) => window.__tilesDebug.project(p)",
                         [centre.x - origin[0], centre.y - origin[1], b.roof_z[i] - origin[2]])
    page.mouse.click(x, y)
    pick = page.evaluate("window.__tiles.pick")
    page.close()
    assert pick["source_id"] == b.source_id[i] and pick["height"] == pytest.approx(b.height[i])
    assert shapely.contains_xy(b.footprint[i].buffer(0.05), pick["point"][0] + origin[0], pick["point"][1] + origin[1])
    assert pick["point"][2] + origin[2] == pytest.approx(b.roof_z[i], abs=0.05)
    print(f"\n3D Tiles, {BUILDINGS} buildings in {handle['tiles']} tiles: first frame {handle['firstFrameMs']:.0f} ms "
          f"after navigation ({seconds:.2f} s measured by the test)")
    assert errors == [] and handle["errors"] == []
    assert handle["buildings"] == handle["distinct"] == BUILDINGS, handle
    share = masks(pixels(png))["building"].mean()
    assert share > 0.05, share
    assert np.isfinite(handle["firstFrameMs"])


def test_the_viewer_links_to_the_variant_tileset_the_service_streams(browser, viewer, service):
    href = viewer.page.get_attribute("#tiles-link", "href")
    assert href.startswith("tiles.html?tileset=")
    tileset = service.get("/api/scenes/demo/variants/base/tiles/tileset.json").json()
    page = browser.new_page(viewport=VIEWPORT)
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{service.url}/{href}&quality=low&errorTarget=2&token={service.read_token}")
    page.wait_for_function("window.__tiles && window.__tiles.ready === true", timeout=120_000)
    handle = page.evaluate("window.__tiles")
    page.close()
    assert errors == [] and handle["errors"] == []
    assert handle["buildings"] == handle["distinct"] == tileset["extras"]["buildings"] > 0


def test_the_tiled_delft_tileset_streams_with_every_building_drawn_once(browser, site):
    tileset = json.loads(httpx.get(f"{site}/delft/tileset.json").text)
    page = browser.new_page(viewport=VIEWPORT)
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{site}/tiles.html?quality=low&errorTarget=2&tileset=delft/tileset.json")
    page.wait_for_function("window.__tiles && window.__tiles.ready === true", timeout=120_000)
    handle = page.evaluate("window.__tiles")
    png = page.screenshot()
    page.close()
    assert errors == [] and handle["errors"] == []
    assert len(tileset["root"]["children"]) == 6 and tileset["root"]["refine"] == "REPLACE"
    assert handle["buildings"] == handle["distinct"] == tileset["metadata"]["properties"]["buildings"] > 100, handle
    assert masks(pixels(png))["building"].mean() > 0.05
