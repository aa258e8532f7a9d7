"""Conditional and compressed answers for what a viewer reads again and again.

Files the service wrote once (GLB layers, result PNGs and GeoTIFFs) and bodies kept per finished job
(findings) never change under their URL's current meaning, so each answer carries a strong ``ETag``
(of the bytes) with ``Cache-Control: private, no-cache``: a browser revalidates every time (the
answer depends on the caller's token) and gets ``304 Not Modified`` without a body when it holds
the current bytes. Compressible media are gzipped once — files into a ``.gz`` beside them, bodies
in memory — and sent with ``Content-Encoding: gzip`` to callers that accept it.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import threading
import uuid
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import FileResponse, Response

#: media worth compressing (PNG is compressed already)
COMPRESSIBLE = frozenset({"model/gltf-binary", "image/tiff", "application/json", "application/geo+json"})
_GZIP_LEVEL = 6
_CHUNK = 1 << 20
_file_tags: dict[tuple[str, int, int], str] = {}
_body_gzip: dict[str, bytes] = {}
_BODY_GZIP_SIZE = 64
_lock = threading.Lock()


def file_answer(request: Request, path: Path, media_type: str) -> Response:
    """``path`` as ``media_type``: 304 when the caller holds it, gzipped when it accepts that."""
    tag = _file_tag(path)
    if _holds(request, tag):
        return _not_modified(tag)
    headers = _headers(tag)
    if media_type in COMPRESSIBLE and _accepts_gzip(request):
        headers["Content-Encoding"] = "gzip"
        return FileResponse(_gzipped_file(path), media_type=media_type, headers=headers)
    return FileResponse(path, media_type=media_type, headers=headers)


def body_answer(request: Request, body: bytes, media_type: str) -> Response:
    """``body`` as ``media_type``: 304 when the caller holds it, gzipped when it accepts that."""
    tag = f'"{hashlib.blake2b(body, digest_size=16).hexdigest()}"'
    if _holds(request, tag):
        return _not_modified(tag)
    headers = _headers(tag)
    if media_type in COMPRESSIBLE and _accepts_gzip(request):
        headers["Content-Encoding"] = "gzip"
        return Response(_gzipped_body(tag, body), media_type=media_type, headers=headers)
    return Response(body, media_type=media_type, headers=headers)


def json_answer(request: Request, value: Any) -> Response:
    """``value`` as compact JSON through :func:`body_answer`."""
    return body_answer(request, json.dumps(value, separators=(",", ":")).encode(), "application/json")


def _headers(tag: str) -> dict[str, str]:
    return {"ETag": tag, "Cache-Control": "private, no-cache", "Vary": "Accept-Encoding, Authorization"}


def _not_modified(tag: str) -> Response:
    return Response(status_code=304, headers=_headers(tag))


def _holds(request: Request, tag: str) -> bool:
    """Whether the request's If-None-Match names ``tag`` (or ``*``)."""
    sent = request.headers.get("if-none-match")
    if not sent:
        return False
    tags = {t.strip().removeprefix("W/") for t in sent.split(",")}
    return "*" in tags or tag in tags


def _accepts_gzip(request: Request) -> bool:
    for part in request.headers.get("accept-encoding", "").split(","):
        coding, _, params = part.strip().partition(";")
        if coding.strip().lower() == "gzip":
            return params.replace(" ", "").lower() not in ("q=0", "q=0.0", "q=0.00", "q=0.000")
    return False


def _file_tag(path: Path) -> str:
    """Strong ETag of a file's bytes, hashed once per (path, size, mtime)."""
    stat = path.stat()
    key = (str(path), stat.st_size, stat.st_mtime_ns)
    with _lock:
        cached = _file_tags.get(key)
    if cached is not None:
        return cached
    digest = hashlib.blake2b(digest_size=16)
    with path.open("rb") as f:
        for block in iter(lambda: f.read(_CHUNK), b""):
            digest.update(block)
    tag = f'"{digest.hexdigest()}"'
    with _lock:
        _file_tags[key] = tag
    return tag


def _gzipped_file(path: Path) -> Path:
    """``path`` gzipped into ``path.gz`` once (written to a temporary name, then renamed)."""
    target = path.with_name(path.name + ".gz")
    if target.is_file() and target.stat().st_mtime_ns >= path.stat().st_mtime_ns:
        return target
    staging = target.with_name(f"{target.name}.{uuid.uuid4().hex}.tmp")
    try:
        staging.write_bytes(gzip.compress(path.read_bytes(), compresslevel=_GZIP_LEVEL, mtime=0))
        os.replace(staging, target)
    finally:
        staging.unlink(missing_ok=True)
    return target


def _gzipped_body(tag: str, body: bytes) -> bytes:
    with _lock:
        cached = _body_gzip.get(tag)
    if cached is not None:
        return cached
    packed = gzip.compress(body, compresslevel=_GZIP_LEVEL, mtime=0)
    with _lock:
        if len(_body_gzip) >= _BODY_GZIP_SIZE:
            _body_gzip.pop(next(iter(_body_gzip)))
        _body_gzip[tag] = packed
    return packed
