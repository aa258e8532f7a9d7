"""Time to first rendered frame of the demo in the viewer, headless Debian Chromium (WebGL on SwiftShader).

Starts ``stadstwin serve`` on a free loopback port with the demo district (twin built beforehand), builds
viewer/dist with npm when missing, and opens the page ``repeat`` times per case: from navigation until the
viewer reports its first frame with every layer of the variant drawn (``window.__stadstwin.ready``).
Cases: the first open (the service exports the GLB layers), then warm opens at high and low quality, single
view and side by side. The peer is the transfer alone: fetching the same scene JSON and every GLB layer with
httpx on the same loopback, the lower bound of any client.

Run: ``.venv/bin/python benchmarks/bench_viewer.py`` (needs Debian chromium and ``pip install playwright``).
"""

from __future__ import annotations

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
from harness import report

REPO = Path(__file__).resolve().parents[1]
VIEWER = REPO / "viewer"
CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync", "--use-gl=angle",
         "--use-angle=swiftshader", "--enable-unsafe-swiftshader", "--disable-gpu-compositing"]
REPEAT = 3


def build_viewer() -> Path:
    if not all((VIEWER / "dist" / page).is_file() for page in ("index.html", "tiles.html")):
        if not (VIEWER / "node_modules").is_dir():
            subprocess.run([shutil.which("npm"), "ci", "--no-audit", "--no-fund"], cwd=VIEWER, check=True)
        subprocess.run([shutil.which("npm"), "run", "build"], cwd=VIEWER, check=True, stdout=subprocess.DEVNULL)
    return VIEWER / "dist"


def start_service(scenes: Path, data: Path, dist: Path) -> tuple[subprocess.Popen, str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    command = [str(Path(sys.executable).with_name("stadstwin")), "serve", str(scenes), "--port", str(port),
               "--data", str(data), "--viewer", str(dist)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=REPO)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/api/health", timeout=2).status_code == 200:
                return process, url
        except httpx.TransportError:
            time.sleep(0.3)
    process.terminate()
    raise RuntimeError("stadstwin serve did not start")


def open_viewer(browser, url: str, token: str, query: str) -> tuple[float, dict]:
    """Seconds from navigation to the first frame with every layer drawn, and the viewer's own timings [ms]."""
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    start = time.perf_counter()
    page.goto(f"{url}/?token={token}{query}")
    page.wait_for_function("window.__stadstwin && window.__stadstwin.ready === true", timeout=120_000)
    seconds = time.perf_counter() - start
    timings = page.evaluate("window.__stadstwin.timings")
    page.close()
    return seconds, timings


def fetch_layers(url: str, token: str, variants: list[str]) -> float:
    """Seconds to fetch the scene JSON and every GLB layer of ``variants`` (the peer: transfer only)."""
    headers = {"Authorization": f"Bearer {token}"}
    start = time.perf_counter()
    with httpx.Client(base_url=url, headers=headers, timeout=60) as client:
        client.get("/api/scenes").raise_for_status()
        client.get("/api/scenes/demo").raise_for_status()
        for variant in variants:
            for layer in client.get(f"/api/scenes/demo/variants/{variant}/layers").json()["layers"]:
                client.get(layer["url"]).raise_for_status()
    return time.perf_counter() - start


def main() -> None:
    from playwright.sync_api import sync_playwright

    from stadstwin import build_twin
    from stadstwin.sample import write_sample

    dist = build_viewer()
    with tempfile.TemporaryDirectory() as tmp:
        scene = write_sample(Path(tmp) / "district")
        build_twin(scene)
        data = Path(tmp) / "service"
        process, url = start_service(scene.parent, data, dist)
        try:
            token = next(t["token"] for t in json.loads((data / "demo-tokens.json").read_text()) if t["role"] == "read")
            rows = []
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
                cold, _ = open_viewer(browser, url, token, "&quality=low")
                rows.append({"case": "first open, base (service exports GLB)", "viewer_s": round(cold, 3)})
                cases = [("base, high quality", "", ["base"]), ("base, low quality", "&quality=low", ["base"]),
                         ("base | greening side by side, low", "&quality=low&mode=split&b=greening",
                          ["base", "greening"])]
                for name, query, variants in cases:
                    open_viewer(browser, url, token, query)  # warm-up: layers exported, page cached
                    best = min(open_viewer(browser, url, token, query)[0] for _ in range(REPEAT))
                    peer = min(fetch_layers(url, token, variants) for _ in range(REPEAT))
                    rows.append({"case": name, "viewer_s": round(best, 3), "peer_fetch_s": round(peer, 3),
                                 "ratio": round(best / peer, 2)})
                browser.close()
        finally:
            process.terminate()
            process.wait(timeout=20)
    report("viewer", rows, notes=(
        "viewer_s: navigation to the first frame with every layer drawn, headless Debian Chromium, WebGL on "
        "SwiftShader (CPU), 1280x800; best of 3 after a warm-up. peer_fetch_s: the same JSON and GLB layers "
        "fetched with httpx (transfer only). ratio = viewer / peer."))


if __name__ == "__main__":
    main()
