"""OGC API – Processes: the process list, asynchronous execution as stored jobs, job status and results."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response

from stadstwin.analyses.registry import PLANNING
from stadstwin.io.plan_register import plan_feature
from stadstwin.service.auth import Editor, Reader
from stadstwin.service.catalog import NotFound
from stadstwin.service.context import Service, Svc
from stadstwin.service.routes_results import findings_answer, raster_entries, raster_file
from stadstwin.service.store import Job, Principal

router = APIRouter(prefix="/api")


def status_info(job: Job) -> dict[str, Any]:
    """A job's status document (unredacted: answer it through ``_status``)."""
    links = [{"href": f"/api/jobs/{job.id}", "rel": "self", "type": "application/json"}]
    if job.status == "successful":
        links.append({"href": f"/api/jobs/{job.id}/results", "rel": "results", "type": "application/json"})
    return {"jobID": job.id, "processID": job.process, "type": "process", "status": job.status,
            "progress": job.progress, "message": job.message, "created": job.created, "updated": job.updated,
            "inputs": {k: v for k, v in job.inputs.items() if not k.endswith("_body") and not k.endswith("_bodies")},
            "links": links}


def _status(svc: Service, who: Principal, job: Job) -> dict[str, Any]:
    """A job's status document as ``who`` may see it (inputs and a failed job's message redacted)."""
    return svc.visibility(who).job(status_info(job), svc.job_withheld(who, job))


def _process(svc: Service, process_id: str):
    process = svc.processes.get(process_id)
    if process is None:
        raise NotFound(f"unknown process {process_id!r}", hint=f"processes: {', '.join(svc.processes)}")
    return process


def _resolve(svc: Service, who: Principal, process_id: str, inputs: dict[str, Any]) -> dict[str, Any]:
    """Inputs with the variants they name resolved to their current version and body, and for the plan
    register's analyses the stored plans as ``who`` sees them (the job is then ``who``'s organisation's)."""
    svc.scene_name(inputs["scene"])
    if process_id in PLANNING:
        plans = [plan_feature(p) for p in svc.visible_plans(who, inputs["scene"])]
        return {**inputs, "plans_for": who.organisation, "plans_body": plans}
    if "variant" in inputs:
        variant, version = svc.variant(inputs["scene"], inputs["variant"])
        return {**inputs, "variant_version": version, "variant_body": variant.model_dump(mode="json")}
    if "variants" in inputs:
        resolved = [svc.variant(inputs["scene"], vid) for vid in inputs["variants"]]
        return {**inputs, "variant_versions": [v for _, v in resolved],
                "variant_bodies": [variant.model_dump(mode="json") for variant, _ in resolved]}
    return inputs


@router.get("/processes")
def list_processes(who: Reader, svc: Svc) -> list[dict[str, Any]]:
    """The processes this service executes."""
    return [{"id": p.id, "title": p.title, "version": "1", "jobControlOptions": ["async-execute"],
             "links": [{"href": f"/api/processes/{p.id}", "rel": "self"}]} for p in svc.processes.values()]


@router.get("/processes/{process_id}")
def describe_process(process_id: str, who: Reader, svc: Svc) -> dict[str, Any]:
    """A process with its inputs (JSON schema)."""
    return _process(svc, process_id).describe()


@router.post("/processes/{process_id}/execution", status_code=201)
def execute(process_id: str, body: Annotated[dict[str, Any], Body()], who: Editor,
            svc: Svc) -> JSONResponse:
    """Start a job ({"inputs": {...}}); 201 with Location /api/jobs/{jobID}."""
    process = _process(svc, process_id)
    inputs = _resolve(svc, who, process_id, process.validate(body.get("inputs", {})))
    job = svc.runner.submit(process_id, inputs, who)
    return JSONResponse(_status(svc, who, job), status_code=201, headers={"Location": f"/api/jobs/{job.id}"})


@router.get("/jobs")
def list_jobs(who: Reader, svc: Svc) -> dict[str, Any]:
    """Every job, oldest first."""
    return {"jobs": [_status(svc, who, j) for j in svc.store.jobs() if svc.may_see(who, j)]}


@router.get("/jobs/{job_id}")
def job_status(job_id: str, who: Reader, svc: Svc) -> dict[str, Any]:
    """Status, progress (0-100) and message of a job."""
    return _status(svc, who, svc.job(job_id, who))


@router.delete("/jobs/{job_id}")
def dismiss(job_id: str, who: Editor, svc: Svc) -> dict[str, Any]:
    """Dismiss a job that has not ended (it is not started, or its result is dropped); 409 otherwise."""
    job = svc.job(job_id, who)
    if not svc.store.dismiss_job(job.id, who):
        raise HTTPException(409, f"job {job_id} has already ended: it is {svc.job(job_id).status}")
    return _status(svc, who, svc.job(job_id))


def _finished(svc: Service, who: Principal, job_id: str) -> Job:
    job = svc.job(job_id, who)
    if job.status != "successful":
        message = svc.visibility(who).text(job.message, svc.job_withheld(who, job)) if job.message else ""
        raise NotFound(f"job {job_id} has no results: it is {job.status}" + (f" ({message})" if message else ""))
    return job


def _results(svc: Service, who: Principal, job: Job) -> dict[str, Any]:
    result = dict(job.result or {})
    if job.process in svc.analyses or job.process in PLANNING:
        result["rasters"] = raster_entries(job, f"/api/jobs/{job.id}/results")
        result["findings"] = f"/api/jobs/{job.id}/findings"
    visibility = svc.visibility(who)
    if job.process == "build" and visibility.hidden and "summary" in result:
        result["summary"] = visibility.summary(svc.catalog.base(job.inputs["scene"])[1])
    return visibility.result(result, svc.job_withheld(who, job))


@router.get("/jobs/{job_id}/results")
async def job_results(job_id: str, who: Reader, svc: Svc) -> dict[str, Any]:
    """The result of a successful job: metrics and links to rasters and findings, or the comparison report."""
    return await run_in_threadpool(_results, svc, who, _finished(svc, who, job_id))


@router.get("/jobs/{job_id}/results/{raster}.{suffix}")
async def job_raster(job_id: str, raster: str, suffix: str, who: Reader, svc: Svc, request: Request) -> Response:
    """A raster of an analysis job as PNG overlay or GeoTIFF (ETag / 304, gzip)."""
    return await raster_file(svc, await run_in_threadpool(_finished, svc, who, job_id), raster, suffix, request)


@router.get("/jobs/{job_id}/findings")
async def job_findings(job_id: str, who: Reader, svc: Svc, request: Request) -> Response:
    """The findings of an analysis job (GeoJSON, EPSG:7415; ETag / 304, gzip)."""
    job = _finished(svc, who, job_id)
    if job.process not in svc.analyses and job.process not in PLANNING:
        raise NotFound(f"job {job_id} ({job.process}) has no findings")
    return await findings_answer(svc, who, [job], request)
