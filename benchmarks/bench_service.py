"""Benchmark: the web service under a bounded load on loopback, against a plain static file server.

Setup: the demo district (``write_sample``), the service started by this script in a subprocess
(uvicorn on 127.0.0.1), one analysis job per registered analysis on ``base`` (so there are results
to read; skip with ``--no-analyses``). Load: ``--clients`` concurrent httpx.AsyncClient tasks send
``--requests`` requests in total, round robin over what a viewer reads: scene, layer list, terrain
and network GLBs, results list, a result PNG, findings; then the same again as a browser that holds
each answer and revalidates it (If-None-Match with the answer's ETag: 304 without a body). Responses
other than 200 (304 when revalidating) and dropped connections are counted as failures.

Load generator: wrk (C, Debian package ``wrk``, one thread, ``--seconds`` per run) where installed, else
the httpx clients (``--client httpx``; the Python client itself tops out near 200 req/s on 2 cores).

Peer (the floor): the same files (the GLBs and PNGs the service serves) from a bare Starlette
``StaticFiles`` app under the same uvicorn, read by the same clients in the same pattern; the
ratio is service throughput / static throughput (1.0 = auth, lookups and redaction are free).
Both servers run on uvicorn's defaults, which take uvloop and httptools when installed (the notes
say which). The machine's load average at the start and end goes into the notes: on a shared
machine the tail latencies move with it.

Time to first rendered frame of the demo in headless Chromium is measured by the viewer's
browser benchmark against a server from ``serve_demo`` below (it yields the base URL and a token).

Run: ``python benchmarks/bench_service.py [--clients 50] [--requests 3000]``.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from harness import report

STARTUP_LIMIT = 300.0  # s to wait for a server (the first start builds the twin)
JOB_LIMIT = 900.0  # s to wait for the analysis jobs


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_until_up(url: str, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + STARTUP_LIMIT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with status {process.returncode}")
        try:
            if httpx.get(url, timeout=1.0).status_code < 500:
                return
        except httpx.TransportError:
            time.sleep(0.2)
    raise RuntimeError(f"server at {url} did not start within {STARTUP_LIMIT:.0f} s")


@contextmanager
def _server(args: list[str], health: str) -> Iterator[str]:
    port = _free_port()
    process = subprocess.Popen([sys.executable, __file__, *args, "--port", str(port)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(base + health, process)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)


@contextmanager
def serve_demo(folder: Path) -> Iterator[tuple[str, str]]:
    """The demo district served by ``create_app`` in a subprocess: yields (base URL, edit token)."""
    from stadstwin.sample import write_sample
    from stadstwin.service.store import Store

    scenes = write_sample(folder).parent
    store = Store(folder / "service" / "service.sqlite")
    token = store.add_token("GM0344", "bench", "edit")
    store.close()
    with _server(["--serve-service", str(scenes), str(folder / "service")], "/api/health") as base:
        yield base, token


def _run_server(argv: list[str]) -> None:
    """Subprocess mode: ``--serve-service SCENES DATA --port P`` or ``--serve-static FOLDER --port P``."""
    import uvicorn

    port = int(argv[argv.index("--port") + 1])
    if argv[0] == "--serve-service":
        from stadstwin.service import create_app

        app = create_app(argv[1], Path(argv[2]) / "service.sqlite", confidential=["KL1009"])
    else:
        from starlette.applications import Starlette
        from starlette.routing import Mount
        from starlette.staticfiles import StaticFiles

        app = Starlette(routes=[Mount("/", StaticFiles(directory=argv[1]))])
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False, timeout_keep_alive=120)


def _prepare(base: str, headers: dict[str, str], run_analyses: bool) -> list[str]:
    """Run the analyses once and return the URLs a viewer reads."""
    with httpx.Client(base_url=base, headers=headers, timeout=JOB_LIMIT) as client:
        processes = [p["id"] for p in client.get("/api/processes").json() if p["id"] not in ("compare", "build")]
        if run_analyses:
            jobs = [client.post(f"/api/processes/{p}/execution", json={"inputs": {"scene": "demo"}}).headers["location"]
                    for p in processes]
            deadline = time.monotonic() + JOB_LIMIT
            for job in jobs:
                while client.get(job).json()["status"] not in ("successful", "failed"):
                    if time.monotonic() > deadline:
                        raise RuntimeError(f"{job} did not finish within {JOB_LIMIT:.0f} s")
                    time.sleep(0.5)
        layers = client.get("/api/scenes/demo/variants/base/layers").json()["layers"]
        urls = ["/api/scenes/demo", "/api/scenes/demo/variants/base/layers", "/api/scenes/demo/variants/base/results",
                "/api/scenes/demo/variants/base/findings"]
        urls += [layer["url"] for layer in layers if layer["name"] in ("terrain", "network_telecom", "network_water")]
        urls += [r["png"] for r in client.get("/api/scenes/demo/variants/base/results").json()[:1]]
        for url in urls:
            client.get(url).raise_for_status()
        return urls


async def _load(base: str, urls: list[str], headers: dict[str, str], clients: int, total: int,
                tags: dict[str, str] | None = None) -> dict[str, float]:
    """Send ``total`` GETs from ``clients`` concurrent tasks; with ``tags`` (URL → ETag) as a browser
    revalidating its cache (If-None-Match; 304 is the expected answer)."""
    latencies: list[float] = []
    sent = 0
    failures = 0
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)

    async def client_task(client: httpx.AsyncClient, offset: int) -> None:
        nonlocal sent, failures
        k = offset
        while sent < total:
            sent += 1
            start = time.perf_counter()
            try:
                url = urls[k % len(urls)]
                response = await client.get(url, headers={"If-None-Match": tags[url]} if tags else None)
                await response.aread()
                failures += response.status_code != (304 if tags and url in tags else 200)
            except httpx.TransportError:
                failures += 1
            latencies.append(time.perf_counter() - start)
            k += 1

    async with httpx.AsyncClient(base_url=base, headers=headers, limits=limits, timeout=120.0) as client:
        start = time.perf_counter()
        await asyncio.gather(*(client_task(client, i) for i in range(clients)))
        wall = time.perf_counter() - start
    latencies.sort()
    return {"requests": len(latencies), "failures": failures, "throughput_rps": len(latencies) / wall,
            "p50_ms": 1000 * statistics.median(latencies),
            **{f"p{q}_ms": 1000 * latencies[min(len(latencies) - 1, int(q / 100 * len(latencies)))] for q in (95, 99)}}


_WRK_SCRIPT = """
local paths = {%(paths)s}
local tags = {%(tags)s}
local auth = %(auth)s
local i = 0
request = function()
  i = i %% #paths + 1
  local headers = {["Accept-Encoding"] = "gzip"}
  if auth ~= "" then headers["Authorization"] = auth end
  if tags[i] ~= "" then headers["If-None-Match"] = tags[i] end
  return wrk.format("GET", paths[i], headers)
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("STADSTWIN %%d %%d %%d %%d %%d %%d\\n", summary.requests, summary.duration,
    e.connect + e.read + e.write + e.status + e.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99)))
end
"""


def _wrk(base: str, urls: list[str], headers: dict[str, str], clients: int, seconds: float,
         tags: dict[str, str] | None = None) -> dict[str, float]:
    """The same load from wrk (C, one thread): ``clients`` connections for ``seconds``, round robin over
    ``urls``; failures are socket errors and answers other than 2xx/3xx (a 304 counts as served)."""
    def lua_list(values):
        return ", ".join('"' + v.replace('"', '\\"') + '"' for v in values)

    script = _WRK_SCRIPT % {"paths": lua_list(urls), "tags": lua_list((tags or {}).get(u, "") for u in urls),
                            "auth": '"' + headers.get("Authorization", "") + '"'}
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(script)
    try:
        out = subprocess.run(["wrk", "-t1", f"-c{clients}", f"-d{seconds:g}s", "-s", f.name, base],
                             capture_output=True, text=True, check=True).stdout
    finally:
        os.unlink(f.name)
    line = next(row for row in out.splitlines() if row.startswith("STADSTWIN "))
    requests, duration_us, failures, p50, p95, p99 = (int(v) for v in line.split()[1:])
    return {"requests": requests, "failures": failures, "throughput_rps": requests / (duration_us / 1e6),
            "p50_ms": p50 / 1000, "p95_ms": p95 / 1000, "p99_ms": p99 / 1000}


def _tags(base: str, urls: list[str], headers: dict[str, str]) -> dict[str, str]:
    """The ETag of each URL that has one (a browser's cache after the first visit)."""
    with httpx.Client(base_url=base, headers=headers) as client:
        answers = {url: client.get(url).headers.get("etag") for url in urls}
    return {url: tag for url, tag in answers.items() if tag}


def _static_copy(folder: Path, data: Path, urls: list[str], base: str, headers: dict[str, str]) -> list[str]:
    """The service's responses for ``urls`` as files, and their URLs on the static server."""
    static = []
    with httpx.Client(base_url=base, headers=headers) as client:
        for i, url in enumerate(urls):
            name = f"{i}{Path(url).suffix or '.json'}"
            (folder / name).write_bytes(client.get(url).content)
            static.append(f"/{name}")
    return static


def _loadavg(averages: tuple[float, float, float]) -> str:
    return "/".join(f"{a:.2f}" for a in averages)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--no-analyses", action="store_true", help="skip running the analyses first")
    parser.add_argument("--seconds", type=float, default=15.0, help="load duration per run with wrk")
    parser.add_argument("--client", choices=("wrk", "httpx"), default="wrk" if shutil.which("wrk") else "httpx",
                        help="load generator: wrk (C, Debian package) or httpx (Python, the client's own limit "
                             "is ~200 req/s here)")
    args = parser.parse_args()

    def measure(base, urls, headers, tags):
        if args.client == "wrk":
            return _wrk(base, urls, headers, args.clients, args.seconds, tags)
        return asyncio.run(_load(base, urls, headers, args.clients, args.requests, tags))

    load_start = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        with serve_demo(folder) as (base, token):
            headers = {"Authorization": f"Bearer {token}"}
            urls = _prepare(base, headers, not args.no_analyses)
            asyncio.run(_load(base, urls, headers, args.clients, min(args.requests, 200)))  # warm-up
            tags = _tags(base, urls, headers)
            service, revalidated = (measure(base, urls, headers, t) for t in (None, tags))
            static_folder = folder / "static"
            static_folder.mkdir()
            static_urls = _static_copy(static_folder, folder, urls, base, headers)
        with _server(["--serve-static", str(static_folder)], static_urls[0]) as static_base:
            asyncio.run(_load(static_base, static_urls, {}, args.clients, min(args.requests, 200)))
            peer = measure(static_base, static_urls, {}, None)
    rows = [{"server": "stadstwin service", **service},
            {"server": "stadstwin service, revalidated (304)", **revalidated},
            {"server": "static files (peer)", **peer},
            {"server": "ratio service/static", "throughput_rps": service["throughput_rps"] / peer["throughput_rps"],
             **{k: service[k] / peer[k] for k in ("p50_ms", "p95_ms", "p99_ms")}}]
    load = f"{args.seconds:g} s of wrk" if args.client == "wrk" else f"{args.requests} requests from httpx"
    stack = ", ".join(name if importlib.util.find_spec(name) else f"no {name}" for name in ("uvloop", "httptools"))
    report("service", rows, notes=(
        f"{args.clients} concurrent clients, {load}, round robin over {len(urls)} URLs "
        f"({', '.join(urls)}); uvicorn on loopback ({stack}), one worker process; {os.cpu_count()} CPUs "
        f"shared with the clients; load average (1, 5, 15 min) {_loadavg(load_start)} at the start, "
        f"{_loadavg(os.getloadavg())} at the end."))


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1].startswith("--serve-"):
        _run_server(sys.argv[1:])
    else:
        main()
