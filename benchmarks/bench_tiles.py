"""City-scale viewing: time to the first frame of a 3D Tiles district in the viewer's tiles page (3d-tiles-renderer),
headless Debian Chromium (WebGL on SwiftShader).

A synthetic district of ``BUILDINGS`` box buildings (``sample.blocks``) is exported with ``io.tiles3d`` (the export
time is reported) next to a copy of viewer/dist and served by ``python -m http.server`` on loopback. Each open is a
fresh browser context (empty HTTP cache), from navigation until the page reports the first frame with every tile
the view needs drawn (``window.__tiles.ready``), at the default screen-space error (16 px: distant tiles may stay
out) and at 2 px (every building drawn). The peer is the transfer alone: tileset.json and every tile fetched with
httpx on the same loopback.

``--tileset DIR`` opens an exported tileset instead (e.g. ``stadstwin export SCENE --format 3dtiles --tile-size M``
of a whole AHN tile); ``--error-targets`` picks the screen-space errors.

Run: ``.venv/bin/python benchmarks/bench_tiles.py [BUILDINGS] [--tileset DIR] [--error-targets 16 2]`` (needs
Debian chromium and ``pip install playwright``).
"""

from __future__ import annotations

import argparse
import json
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).parent))
from bench_viewer import CHROMIUM, FLAGS, build_viewer
from harness import report

BUILDINGS = 10_000
REPEAT = 3


def serve(root: Path) -> tuple[subprocess.Popen, str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    process = subprocess.Popen([sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1", "--directory",
                                str(root)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            httpx.get(url + "/tiles.html", timeout=2).raise_for_status()
            return process, url
        except httpx.TransportError:
            time.sleep(0.2)
    process.terminate()
    raise RuntimeError("http.server did not start")


def open_tiles(browser, url: str, error_target: float) -> tuple[float, dict]:
    """Seconds from navigation to the first complete frame, and the page's own figures."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    start = time.perf_counter()
    page.goto(f"{url}/tiles.html?quality=low&errorTarget={error_target}&tileset=tileset/tileset.json")
    page.wait_for_function("window.__tiles && window.__tiles.ready === true", timeout=120_000)
    seconds = time.perf_counter() - start
    figures = page.evaluate("window.__tiles")
    context.close()
    return seconds, figures


def fetch_tiles(url: str) -> float:
    """Seconds to fetch tileset.json and every tile content (the peer: transfer only)."""
    start = time.perf_counter()
    with httpx.Client(base_url=url + "/tileset/", timeout=60) as client:
        stack = [client.get("tileset.json").raise_for_status().json()["root"]]
        while stack:
            tile = stack.pop()
            if "content" in tile:
                client.get(tile["content"]["uri"]).raise_for_status()
            stack += tile.get("children", [])
    return time.perf_counter() - start


def main(count: int, existing: Path | None, error_targets: list[float]) -> None:
    from playwright.sync_api import sync_playwright

    from stadstwin.io.tiles3d import export_3dtiles
    from stadstwin.sample.blocks import block_district

    dist = build_viewer()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "site"
        shutil.copytree(dist, root)
        start = time.perf_counter()
        if existing is None:
            label = f"{count} buildings"
            tileset = export_3dtiles(block_district(count), root / "tileset")
        else:
            label = f"tileset {existing}"
            (root / "tileset").symlink_to(existing.resolve(), target_is_directory=True)
            tileset = root / "tileset" / "tileset.json"
        export_s = time.perf_counter() - start
        megabytes = sum(p.stat().st_size for p in (root / "tileset").rglob("*") if p.is_file()) / 1e6
        process, url = serve(root)
        rows = []
        try:
            peer = min(fetch_tiles(url) for _ in range(REPEAT))
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
                for error_target in error_targets:
                    open_tiles(browser, url, error_target)  # warm-up: page assets compiled, server warm
                    runs = [open_tiles(browser, url, error_target) for _ in range(REPEAT)]
                    seconds, figures = min(runs, key=lambda r: r[0])
                    rows.append({"case": f"{label}, error target {error_target:g} px",
                                 "buildings_drawn": figures["buildings"], "tiles": figures["tiles"],
                                 "first_frame_s": round(seconds, 3),
                                 "page_first_frame_ms": round(figures["firstFrameMs"]),
                                 "peer_fetch_s": round(peer, 3), "ratio": round(seconds / peer, 1)})
                browser.close()
        finally:
            process.terminate()
            process.wait(timeout=20)
        tiles = json.loads(tileset.read_text())
    made = f"export_3dtiles of {count} buildings: {export_s:.1f} s, " if existing is None else ""
    report("tiles", rows, notes=(
        f"{label}: {made}{megabytes:.1f} MB; root geometricError {tiles['root']['geometricError']:.1f} m. "
        "first_frame_s: navigation to the first frame with every needed tile drawn, fresh browser context, headless "
        "Debian Chromium, WebGL on SwiftShader (CPU), 1280x800, best of 3 after a warm-up. peer_fetch_s: tileset.json "
        "and every tile fetched with httpx (transfer only). ratio = first frame / peer."))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("buildings", type=int, nargs="?", default=BUILDINGS)
    parser.add_argument("--tileset", type=Path, help="an exported tileset folder to open instead")
    parser.add_argument("--error-targets", type=float, nargs="+", default=[16.0, 2.0])
    args = parser.parse_args()
    main(args.buildings, args.tileset, args.error_targets)
