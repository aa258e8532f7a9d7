"""Comparison of two variants of a scene: the report as JSON and as self-contained HTML.

Runs every registered analysis on both (results are cached by content, so a repeat is quick) and
withholds confidential owners' attributes from the findings for other organisations.
"""

from __future__ import annotations

import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse

from stadstwin.scenario.compare import Comparison
from stadstwin.scenario.report import report_data, write_report
from stadstwin.service.auth import Reader
from stadstwin.service.context import Service, Svc
from stadstwin.service.processes import comparison
from stadstwin.service.store import Principal

router = APIRouter(prefix="/api/scenes/{scene}")


def _visible(svc: Service, who: Principal, scene: str, a: str, b: str) -> Comparison:
    bodies = [svc.variant(scene, vid)[0].model_dump(mode="json") for vid in (a, b)]
    done = comparison(svc.catalog, scene, bodies, svc.analyses, {}, lambda percent, message: None)
    visibility = svc.visibility(who)
    withheld = svc.withheld(who, scene, bodies)
    if not withheld:
        return done
    runs = [replace(run, results={name: replace(result, findings=visibility.features(result.findings, withheld))
                                  for name, result in run.results.items()}) for run in done.runs]
    return replace(done, runs=runs)


def _html(done: Comparison) -> str:
    with tempfile.TemporaryDirectory() as folder:
        html_path, _ = write_report(done, Path(folder))
        return html_path.read_text(encoding="utf-8")


@router.get("/compare")
async def compare(scene: str, a: Annotated[str, Query(description="reference variant id")],
                  b: Annotated[str, Query(description="variant id")], who: Reader,
                  svc: Svc) -> dict[str, Any]:
    """The comparison report of ``b`` against ``a`` as JSON."""
    done = await run_in_threadpool(_visible, svc, who, scene, a, b)
    return report_data(done)


@router.get("/compare.html", response_class=HTMLResponse)
async def compare_html(scene: str, a: Annotated[str, Query()], b: Annotated[str, Query()], who: Reader,
                       svc: Svc) -> HTMLResponse:
    """The comparison report of ``b`` against ``a`` as one self-contained HTML page."""
    done = await run_in_threadpool(_visible, svc, who, scene, a, b)
    return HTMLResponse(await run_in_threadpool(_html, done))
