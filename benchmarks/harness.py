"""Shared benchmark harness: time the project and its peer in one run, report ratios.

Each ``benchmarks/bench_*.py`` runs standalone (``python benchmarks/bench_x.py``), calls
``measure`` for the project and for its peer on the same input, and ends with ``report``, which
prints a table and writes ``benchmarks/results/<name>.json``. Timings are best-of-``repeat``
wall-clock seconds after one warm-up call (so numba compilation is excluded).
"""

from __future__ import annotations

import json
import platform
import re
import resource
import subprocess
import time
import tracemalloc
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

RESULTS = Path(__file__).parent / "results"


def measure(fn: Callable[[], Any], *, repeat: int = 3, warmup: bool = True) -> tuple[float, Any]:
    """Best wall-clock time of ``fn()`` over ``repeat`` calls [s], and its last result."""
    if warmup:
        fn()
    best = float("inf")
    result = None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def peak_python_memory(fn: Callable[[], Any]) -> tuple[float, Any]:
    """Peak memory allocated through Python/numpy during ``fn()`` [MiB] (tracemalloc), and its result."""
    tracemalloc.start()
    try:
        result = fn()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak / 2**20, result


def peak_rss_mib() -> float:
    """Peak resident set size of this process so far [MiB]."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def report(name: str, rows: list[dict[str, Any]], *, notes: str = "") -> Path:
    """Print ``rows`` as a table and write them with machine facts to ``results/<name>.json``."""
    table = Table(title=f"benchmark: {name}")
    columns = list(dict.fromkeys(key for row in rows for key in row))
    for column in columns:
        table.add_column(column, justify="right")
    for row in rows:
        table.add_row(*(_fmt(row.get(c, "")) for c in columns))
    console = Console()
    console.print(table)
    if notes:
        console.print(notes)
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps({
        "benchmark": name,
        "when": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": {"python": platform.python_version(), "processor": platform.machine()},
        "notes": notes,
        "rows": rows,
    }, indent=2, default=str))
    return path


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def run_child(command: list[str]) -> tuple[dict[str, str], float, float]:
    """Run ``command`` (a ``--case`` of a bench) under ``/usr/bin/time -v``: the ``key=value`` fields of the
    ``RESULT`` line it prints, its peak resident memory [MiB] and its wall time [s]."""
    start = time.perf_counter()
    done = subprocess.run(["/usr/bin/time", "-v", *command], capture_output=True, text=True, check=True)
    wall = time.perf_counter() - start
    peak = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", done.stderr).group(1)) / 1024
    fields = dict(item.split("=") for item in re.search(r"RESULT (.*)", done.stdout).group(1).split())
    return fields, peak, wall


def bench_scenes(folder: Path, tile: float, demo_scale: int, demo_tile: float) -> list[tuple[Path, float]]:
    """(scene, tile size [m]) to run: ``scenes/delft`` and, when ``demo_scale``, the demo district written at
    that scale into ``folder``."""
    scenes = [(Path(__file__).resolve().parents[1] / "scenes" / "delft", tile)]
    if demo_scale:
        from stadstwin.sample import write_sample

        scenes.append((write_sample(folder / f"demo-x{demo_scale}", scale=demo_scale), demo_tile))
    return scenes
