"""The web service: ``create_app(scenes_root, db_path)`` gives the FastAPI app (API under /api, the
viewer's built files at / when present). Errors are JSON ``{"detail": reason}``, never a stack trace.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Collection
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles

from stadstwin import __version__
from stadstwin.analyses.registry import ANALYSES
from stadstwin.errors import StadstwinError
from stadstwin.service import (
    routes_compare,
    routes_layers,
    routes_processes,
    routes_results,
    routes_scenes,
    routes_variants,
)
from stadstwin.service.catalog import NotFound, SceneCatalog
from stadstwin.service.context import Service
from stadstwin.service.jobs import JobRunner
from stadstwin.service.limits import MAX_BODY_BYTES, BodySizeLimit
from stadstwin.service.processes import processes
from stadstwin.service.store import Store

log = logging.getLogger(__name__)


def create_app(scenes_root: str | Path, db_path: str | Path, *, files: str | Path | None = None,
               confidential: Collection[str] = (), viewer_dist: str | Path | None = None, workers: int = 2,
               max_body_bytes: int = MAX_BODY_BYTES) -> FastAPI:
    """The service for the scenes in ``scenes_root`` with its database at ``db_path``.

    files         folder for job results and GLB caches (default: ``files`` beside the database)
    confidential  organisations (network owner names) whose assets others see only as occupied space
    viewer_dist   the built viewer, served at / when the folder exists
    workers       job worker threads
    """
    store = Store(db_path)
    analyses = dict(ANALYSES)
    catalog = SceneCatalog(scenes_root, analyses)
    for name in catalog.scenes:
        for body in catalog.file_variants(name):
            store.seed_variant(name, body)
    table = processes(analyses)
    files = Path(files) if files is not None else Path(db_path).parent / "files"
    runner = JobRunner(store, catalog, table, files, workers)
    runner.recover()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        runner.shutdown(wait=False)

    app = FastAPI(title="stadstwin", version=__version__, lifespan=lifespan,
                  description="3D digital twin of Dutch streets: scenes, plan variants, analyses as jobs.")
    app.state.service = Service(store, catalog, runner, table, analyses, frozenset(confidential), files)
    app.add_middleware(BodySizeLimit, limit=max_body_bytes)
    _add_error_handlers(app)
    for module in (routes_scenes, routes_variants, routes_layers, routes_results, routes_compare, routes_processes):
        app.include_router(module.router)
    if viewer_dist is not None and Path(viewer_dist).is_dir():
        app.mount("/", StaticFiles(directory=viewer_dist, html=True), name="viewer")
    return app


def _add_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(NotFound)
    async def not_found(request: Request, exc: NotFound) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=404)

    @app.exception_handler(StadstwinError)
    async def invalid(request: Request, exc: StadstwinError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=422)

    @app.exception_handler(RequestValidationError)
    async def malformed(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in err['loc'])}: {err['msg']}" for err in exc.errors())
        return JSONResponse({"detail": problems}, status_code=422)

    @app.exception_handler(Exception)
    async def internal(request: Request, exc: Exception) -> JSONResponse:
        log.error("internal error on %s %s", request.method, request.url.path, exc_info=exc)
        return JSONResponse({"detail": "internal error"}, status_code=500)
