"""Fixtures of the browser tests: the built viewer, the real service on the demo district, headless Chromium.

Chromium is Debian's (/usr/bin/chromium, apt package ``chromium``) driven by the Python ``playwright``
package; Playwright's own browser download is never used. WebGL runs on SwiftShader (CPU).
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

REPO = Path(__file__).resolve().parents[2]
VIEWER = REPO / "viewer"
ARTIFACTS = REPO / "test-artifacts" / "browser"
CHROMIUM = Path(os.environ.get("STADSTWIN_CHROMIUM", "/usr/bin/chromium"))
#: Headless on a closed network, as root, WebGL on SwiftShader.
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--use-gl=angle", "--use-angle=swiftshader",
    "--enable-unsafe-swiftshader", "--disable-gpu-compositing",  # page compositing on the CPU: input is not held up
]
VIEWPORT = {"width": 1000, "height": 640}


def pytest_configure(config):
    config.addinivalue_line("markers", "browser: end-to-end tests of the viewer in headless Chromium (-m browser)")


def build_viewer() -> Path:
    """viewer/dist, built with npm (``npm ci`` when node_modules is missing) unless it is there already."""
    dist = VIEWER / "dist"
    with open(VIEWER / "package.json") as guard:
        fcntl.flock(guard, fcntl.LOCK_EX)  # pytest-xdist workers build once, one after the other
        if not all((dist / page).is_file() for page in ("index.html", "tiles.html")):
            npm = shutil.which("npm")
            if npm is None:
                pytest.fail("npm is needed to build viewer/ (Node.js 20+)")
            if not (VIEWER / "node_modules").is_dir():
                subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=VIEWER, check=True)
            subprocess.run([npm, "run", "build"], cwd=VIEWER, check=True, stdout=subprocess.DEVNULL)
    return dist


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Service:
    """A running ``stadstwin serve`` on loopback: its URL and demo tokens."""

    def __init__(self, url: str, tokens: list[dict]):
        self.url = url
        self.read_token = next(t["token"] for t in tokens if t["role"] == "read")
        self.edit_token = next(t["token"] for t in tokens if t["role"] == "edit")

    def get(self, path: str) -> httpx.Response:
        return httpx.get(self.url + path, headers={"Authorization": f"Bearer {self.read_token}"}, timeout=60)

    def run(self, process: str, variant: str, settings: dict | None = None) -> str:
        """Start an analysis job; returns its status URL."""
        response = httpx.post(f"{self.url}/api/processes/{process}/execution",
                              json={"inputs": {"scene": "demo", "variant": variant, "settings": settings or {}}},
                              headers={"Authorization": f"Bearer {self.edit_token}"}, timeout=60)
        assert response.status_code == 201, response.text
        return response.headers["Location"]

    def wait(self, job: str, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            body = self.get(job).json()
            status = body["status"]
            if status == "successful":
                return
            assert status in ("accepted", "running"), body
            time.sleep(0.5)
        pytest.fail(f"job {job} did not finish in {timeout} s")


@pytest.fixture(scope="session")
def chromium_path() -> Path:
    pytest.importorskip("playwright.sync_api", reason="pip install playwright (driven with Debian's chromium)")
    if not CHROMIUM.is_file():
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    return CHROMIUM


@pytest.fixture(scope="session")
def service(demo_scene, tmp_path_factory, chromium_path):
    """``stadstwin serve`` on a free loopback port with the demo district and the built viewer; clashes and a
    coarse heat analysis (hourly sun steps, 15 h shade) and the water stress test have run on base."""
    dist = build_viewer()
    data = tmp_path_factory.mktemp("service")
    port = free_port()
    command = [str(Path(sys.executable).with_name("stadstwin")), "serve", str(demo_scene.parent), "--port", str(port),
               "--data", str(data), "--viewer", str(dist), "--workers", "2"]
    with open(data / "serve.log", "w") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=REPO)
        try:
            yield _ready_service(process, f"http://127.0.0.1:{port}", data)
        finally:
            process.terminate()
            process.wait(timeout=20)


def _ready_service(process: subprocess.Popen, url: str, data: Path) -> Service:
    """The started service once it answers, with the findings and overlays of base computed."""
    deadline = time.monotonic() + 90
    while True:
        try:
            if httpx.get(url + "/api/health", timeout=2).status_code == 200:
                break
        except httpx.TransportError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            pytest.fail(f"stadstwin serve did not start: {(data / 'serve.log').read_text()[-2000:]}")
        time.sleep(0.3)
    running = Service(url, json.loads((data / "demo-tokens.json").read_text()))
    jobs = [running.run("clashes", "base"), running.run("heat", "base", {"step_minutes": 60, "hours": [15]}),
            running.run("water", "base")]
    for job in jobs:
        running.wait(job)
    return running


@pytest.fixture(scope="session")
def browser(chromium_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(chromium_path), args=CHROMIUM_FLAGS)
        yield launched
        launched.close()


class Viewer:
    """The viewer page with everything its console reported."""

    def __init__(self, page, service: Service):
        self.page = page
        self.service = service
        self.errors: list[str] = []
        page.on("console", lambda m: self.errors.append(f"console.{m.type}: {m.text}") if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(f"page error: {e}"))

    def open(self, query: str = "") -> None:
        self.page.goto(f"{self.service.url}/?quality=low&token={self.service.read_token}{query}")
        self.wait_ready()

    def wait_ready(self) -> None:
        self.page.wait_for_function("window.__stadstwin && window.__stadstwin.ready === true", timeout=60_000)

    def screenshot(self, name: str) -> bytes:
        """The 3D view as PNG bytes (the canvas's own pixels, as drawn), also saved under test-artifacts/browser/."""
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        url = self.page.evaluate("document.querySelector('#viewport canvas').toDataURL('image/png')")
        png = base64.b64decode(url.split(",", 1)[1])
        (ARTIFACTS / f"{name}.png").write_bytes(png)
        return png

    def set_input(self, selector: str, value) -> None:
        """Set a slider/number/checkbox as a user would, firing its input and change events."""
        self.page.eval_on_selector(selector, """(el, v) => {
            if (el.type === 'checkbox') el.checked = v; else el.value = String(v);
            el.dispatchEvent(new Event('input', {bubbles: true}));
            el.dispatchEvent(new Event('change', {bubbles: true}));
        }""", value)

    def rendered(self) -> None:
        """Wait until a frame has been drawn after the last change."""
        self.page.evaluate("""() => new Promise((resolve) => {
            const v = document.getElementById('viewport');
            v.addEventListener('frame', () => resolve(), {once: true});
            window.__stadstwin.views.requestRender();
        })""")


@pytest.fixture(scope="module")
def viewer(browser, service):
    """The viewer on the demo (variant base, single view) in one page shared by a module's tests."""
    page = browser.new_page(viewport=VIEWPORT)
    shown = Viewer(page, service)
    shown.open("&a=base")
    yield shown
    page.close()
