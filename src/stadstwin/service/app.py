"""The web service: ``create_app(scenes_root, db_path)`` gives the FastAPI app (API under /api, the
viewer's built files at / when present). Errors are JSON ``{"detail": reason}``, never a stack trace,
and never name a confidential owner's assets to another organisation (``redact.Visibility.error``).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Collection
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.utils import is_body_allowed_for_status_code
from starlette.exceptions import HTTPException as StarletteHTTPException

from stadstwin import __version__
from stadstwin.analyses.registry import ANALYSES
from stadstwin.errors import StadstwinError
from stadstwin.service import (
    routes_compare,
    routes_layers,
    routes_plans,
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
from stadstwin.service.store import Principal, Store

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
        for feature in catalog.file_plans(name):
            store.seed_plan(name, feature)
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
    # routes are matched in order: what a viewer reads again and again first (a GLB 304: 28 % fewer calls)
    for module in (routes_layers, routes_results, routes_scenes, routes_variants, routes_plans, routes_compare,
                   routes_processes):
        app.include_router(module.router)
    app.include_router(routes_layers.tiles_router)
    if viewer_dist is not None and Path(viewer_dist).is_dir():
        app.mount("/", StaticFiles(directory=viewer_dist, html=True), name="viewer")
    return app


def _caller(request: Request) -> Principal | None:
    """The caller of a request by its bearer token, or None without a valid one."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return request.app.state.service.store.principal(token.strip())


def _visible_detail(request: Request, detail: Any) -> Any:
    """An error's detail as the caller may see it: a message naming a confidential owner's asset (e.g. a
    variant edit's feature id) reads ``confidential`` to other organisations."""
    svc: Service = request.app.state.service
    if not svc.confidential:
        return detail
    who = _caller(request)
    visibility = svc.visibility(who)
    return visibility.error(detail, svc.withheld_anywhere(who)) if visibility.hidden else detail


async def _answer(request: Request, status: int, detail: Any, headers: dict[str, str] | None = None) -> JSONResponse:
    detail = await run_in_threadpool(_visible_detail, request, detail)
    return JSONResponse({"detail": detail}, status_code=status, headers=headers)


def _add_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(NotFound)
    async def not_found(request: Request, exc: NotFound) -> JSONResponse:
        return await _answer(request, 404, str(exc))

    @app.exception_handler(StadstwinError)
    async def invalid(request: Request, exc: StadstwinError) -> JSONResponse:
        return await _answer(request, 422, str(exc))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code in (204, 304) or not is_body_allowed_for_status_code(exc.status_code):
            return Response(status_code=exc.status_code, headers=exc.headers)
        return await _answer(request, exc.status_code, exc.detail, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def malformed(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in err['loc'])}: {err['msg']}" for err in exc.errors())
        return await _answer(request, 422, problems)

    @app.exception_handler(Exception)
    async def internal(request: Request, exc: Exception) -> JSONResponse:
        log.error("internal error on %s %s", request.method, request.url.path, exc_info=exc)
        return JSONResponse({"detail": "internal error"}, status_code=500)
