"""Comparison of two variants of a scene: the report as JSON and as self-contained HTML.

The report comes from the result cache when every analysis of both variants has run before (by any
path: a job, the CLI on the same scene folder, a batch study). Otherwise nothing is computed in the
request: a ``compare`` job is started (or the one already running for these variant versions is
reused) and the answer is ``202 Accepted`` with ``Location: /api/jobs/{id}``; ask again when it is
done. Confidential owners' attributes are withheld from the findings for other organisations.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, JSONResponse, Response

from stadstwin.scenario.compare import Comparison
from stadstwin.scenario.report import report_data, write_report
from stadstwin.service.auth import Reader
from stadstwin.service.context import Service, Svc
from stadstwin.service.processes import comparison
from stadstwin.service.routes_processes import status_info
from stadstwin.service.store import Job, Principal

router = APIRouter(prefix="/api/scenes/{scene}")

RUNNING = ("accepted", "running")


def _inputs(svc: Service, scene: str, a: str, b: str) -> dict[str, Any]:
    """The inputs of the ``compare`` job for ``b`` against ``a``, variants resolved to version and body."""
    resolved = [svc.variant(scene, vid) for vid in (a, b)]
    return {"scene": scene, "variants": [a, b], "settings": {}, "variant_versions": [v for _, v in resolved],
            "variant_bodies": [variant.model_dump(mode="json") for variant, _ in resolved]}


def _job(svc: Service, who: Principal, inputs: dict[str, Any]) -> Job:
    """The running ``compare`` job for exactly these inputs, or a new one."""
    for job in svc.store.jobs(status=RUNNING):
        if job.process == "compare" and job.inputs == inputs:
            return job
    return svc.runner.submit("compare", inputs, who)


def _visible(svc: Service, who: Principal, scene: str, a: str, b: str) -> Comparison | Job:
    """The comparison as ``who`` may see it when every result is cached; else the job computing it."""
    inputs = _inputs(svc, scene, a, b)
    done = comparison(svc.catalog, scene, inputs["variant_bodies"], {}, cached_only=True)
    if done is None:
        return _job(svc, who, inputs)
    return svc.visibility(who).comparison(done, svc.withheld(who, scene, inputs["variant_bodies"]))


def _accepted(svc: Service, who: Principal, job: Job) -> JSONResponse:
    status = svc.visibility(who).job(status_info(job), svc.job_withheld(who, job))
    return JSONResponse(status, status_code=202, headers={"Location": f"/api/jobs/{job.id}"})


def _html(done: Comparison) -> str:
    with tempfile.TemporaryDirectory() as folder:
        html_path, _ = write_report(done, Path(folder))
        return html_path.read_text(encoding="utf-8")


@router.get("/compare", responses={202: {"description": "computing: a compare job, see Location"}})
async def compare(scene: str, a: Annotated[str, Query(description="reference variant id")],
                  b: Annotated[str, Query(description="variant id")], who: Reader, svc: Svc) -> Any:
    """The comparison report of ``b`` against ``a`` as JSON, or 202 with the job computing it."""
    done = await run_in_threadpool(_visible, svc, who, scene, a, b)
    return _accepted(svc, who, done) if isinstance(done, Job) else report_data(done)


@router.get("/compare.html", response_class=HTMLResponse,
            responses={202: {"description": "computing: a compare job, see Location"}})
async def compare_html(scene: str, a: Annotated[str, Query()], b: Annotated[str, Query()], who: Reader,
                       svc: Svc) -> Response:
    """The comparison report of ``b`` against ``a`` as one self-contained HTML page, or 202 with the job."""
    done = await run_in_threadpool(_visible, svc, who, scene, a, b)
    if isinstance(done, Job):
        return _accepted(svc, who, done)
    return HTMLResponse(await run_in_threadpool(_html, done))
