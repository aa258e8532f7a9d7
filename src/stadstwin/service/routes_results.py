"""Results of finished analysis jobs per variant: raster overlays (PNG + legend, GeoTIFF) and findings.

A variant shows the newest successful run of each analysis on its current version; after an edit the
analyses have to run again before results appear.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from stadstwin.service.artifacts import read_findings
from stadstwin.service.auth import Reader
from stadstwin.service.catalog import NotFound
from stadstwin.service.context import Service, Svc
from stadstwin.service.http_cache import Prepared, answer, file_answer, prepare_json
from stadstwin.service.store import Job, Principal

router = APIRouter(prefix="/api")

_MEDIA = {"png": "image/png", "tif": "image/tiff"}


def raster_entries(job: Job, base_url: str) -> list[dict[str, Any]]:
    """A job's result rasters with their PNG and GeoTIFF links under ``base_url``."""
    return [{"analysis": job.process, "raster": r["raster"], "png": f"{base_url}/{r['raster']}.png",
             "tif": f"{base_url}/{r['raster']}.tif", "bounds": r["bounds"], "legend": r["legend"]}
            for r in (job.result or {}).get("rasters", [])]


async def raster_file(svc: Service, job: Job, raster: str, suffix: str, request: Request) -> Response:
    """A job's raster as PNG overlay or GeoTIFF (ETag / 304, gzip); 404 unless the job wrote that raster."""
    names = {r["raster"] for r in (job.result or {}).get("rasters", [])}
    if raster not in names or suffix not in _MEDIA:
        raise NotFound(f"no raster {raster!r} ({suffix}) in the results of {job.process}",
                       hint=f"rasters: {', '.join(sorted(names)) or 'none'}")
    return await file_answer(request, svc.runner.folder(job.id) / f"{raster}.{suffix}", _MEDIA[suffix])


def _findings(svc: Service, who: Principal, jobs: list[Job]) -> Prepared:
    features = []
    for job in jobs:
        for feature in read_findings(svc.runner.folder(job.id)):
            properties = {"analysis": job.process, **(feature.get("properties") or {})}
            features.append({**feature, "properties": properties})
    withheld = svc.job_withheld(who, jobs[0]) if jobs else frozenset()
    collection = {"type": "FeatureCollection", "features": svc.visibility(who).features(features, withheld)}
    return prepare_json(collection, "application/geo+json")


async def findings_answer(svc: Service, who: Principal, jobs: list[Job], request: Request) -> Response:
    """The findings of analysis jobs on one variant version as one GeoJSON FeatureCollection, as ``who``
    may see them (ETag / 304, gzip). Finished jobs never change, so the answer is prepared once per
    jobs and visibility."""
    key = ("findings", tuple(job.id for job in jobs), svc.visibility(who).hidden)
    return answer(request, await svc.responses.get_or_compute(key, lambda: _findings(svc, who, jobs)))


def _current_jobs(svc: Service, scene: str, vid: str) -> list[Job]:
    version, _ = svc.variant_version(scene, vid)
    return [j for j in svc.store.latest_results(scene, vid, version) if j.process in svc.analyses]


@router.get("/scenes/{scene}/variants/{vid}/results", response_model=list[dict[str, Any]])
async def results(scene: str, vid: str, who: Reader, svc: Svc, request: Request) -> Response:
    """Result rasters of the finished analyses of this variant version (ETag / 304, gzip)."""
    jobs = _current_jobs(svc, scene, vid)
    key = ("results", scene, vid, tuple(job.id for job in jobs))
    listing = svc.responses.get(key)
    if listing is None:
        base_url = f"/api/scenes/{scene}/variants/{vid}/results"
        listing = svc.responses.put(key, prepare_json(
            [entry for job in jobs for entry in raster_entries(job, f"{base_url}/{job.process}")]))
    return answer(request, listing)


@router.get("/scenes/{scene}/variants/{vid}/results/{analysis}/{raster}.{suffix}")
async def result_raster(scene: str, vid: str, analysis: str, raster: str, suffix: str, who: Reader,
                        svc: Svc, request: Request) -> Response:
    """A result raster as RGBA PNG overlay (north-up, covering its bounds) or GeoTIFF."""
    job = next((j for j in _current_jobs(svc, scene, vid) if j.process == analysis), None)
    if job is None:
        raise NotFound(f"no finished {analysis!r} run on variant {vid!r}",
                       hint=f"POST /api/processes/{{id}}/execution; processes: {', '.join(svc.analyses) or 'none'}")
    return await raster_file(svc, job, raster, suffix, request)


@router.get("/scenes/{scene}/variants/{vid}/findings")
async def variant_findings(scene: str, vid: str, who: Reader, svc: Svc, request: Request) -> Response:
    """Findings of every finished analysis on this variant version (GeoJSON, EPSG:7415; ETag / 304, gzip)."""
    return await findings_answer(svc, who, _current_jobs(svc, scene, vid), request)
