"""Conditional and compressed answers for what a viewer reads again and again.

Files the service wrote once (GLB layers, result PNGs and GeoTIFFs) and bodies kept per finished job
(findings) never change under their URL's current meaning, so each answer carries a strong ``ETag``
(of the bytes) with ``Cache-Control: private, no-cache``: a browser revalidates every time (the
answer depends on the caller's token) and gets ``304 Not Modified`` without a body when it holds
the current bytes.

Everything per answer is worked out once (:class:`Prepared`): the tag, and for compressible media the
gzip, sent with ``Content-Encoding: gzip`` to callers that accept it. A file is prepared once per
(path, size, mtime) and then answered from memory without a worker thread; files above
``IN_MEMORY_BYTES`` are sent from disk (their gzip written once into a ``.gz`` beside them), and the
bytes held in memory stay under ``MEMORY_BUDGET``.
"""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import json
import os
import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from fastapi import Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, Response

#: media worth compressing (PNG is compressed already)
COMPRESSIBLE = frozenset({"model/gltf-binary", "image/tiff", "application/json", "application/geo+json"})
#: files up to this size [bytes] are answered from memory, larger ones from disk
IN_MEMORY_BYTES = 16 * 2**20
#: most file bytes (plain and gzipped) held in memory at once [bytes]; the least recently used go first
MEMORY_BUDGET = 256 * 2**20
_GZIP_LEVEL = 6
_CHUNK = 1 << 20
T = TypeVar("T")


@dataclass(frozen=True)
class Prepared:
    """An answer worked out once: its strong ETag, media type, and bytes (plain and gzipped, when
    compressible) held in memory, or the file (and its ``.gz``) to send from disk when ``body`` is None."""

    tag: str
    media_type: str
    body: bytes | None = None
    gzipped: bytes | None = None
    path: Path | None = None
    gzipped_path: Path | None = None

    @property
    def nbytes(self) -> int:
        """Bytes held in memory."""
        return len(self.body or b"") + len(self.gzipped or b"")


def answer(request: Request, prepared: Prepared) -> Response:
    """``prepared`` for this request: 304 when the caller holds it, gzipped when it accepts that."""
    if _holds(request, prepared.tag):
        return Response(status_code=304, headers=_headers(prepared.tag))
    headers = _headers(prepared.tag)
    packed = prepared.gzipped is not None or prepared.gzipped_path is not None
    if packed and _accepts_gzip(request):
        headers["Content-Encoding"] = "gzip"
        if prepared.gzipped is not None:
            return Response(prepared.gzipped, media_type=prepared.media_type, headers=headers)
        return _DiskFile(prepared.gzipped_path, media_type=prepared.media_type, headers=headers)
    if prepared.body is not None:
        return Response(prepared.body, media_type=prepared.media_type, headers=headers)
    return _DiskFile(prepared.path, media_type=prepared.media_type, headers=headers)


def prepare_body(body: bytes, media_type: str) -> Prepared:
    """``body`` with its tag and (compressible media) its gzip; CPU-bound for big bodies."""
    tag = f'"{hashlib.blake2b(body, digest_size=16).hexdigest()}"'
    packed = gzip.compress(body, compresslevel=_GZIP_LEVEL, mtime=0) if media_type in COMPRESSIBLE else None
    return Prepared(tag, media_type, body, packed)


def prepare_json(value: Any, media_type: str = "application/json") -> Prepared:
    """``value`` as compact JSON, prepared (:func:`prepare_body`)."""
    return prepare_body(json.dumps(value, separators=(",", ":")).encode(), media_type)


def json_answer(request: Request, value: Any) -> Response:
    """``value`` as compact JSON (prepared per call: for small values)."""
    return answer(request, prepare_json(value))


async def file_answer(request: Request, path: Path, media_type: str) -> Response:
    """``path`` as ``media_type`` (see :func:`answer`): from memory once prepared; the first read of a
    file (hash, gzip) runs in a worker thread."""
    prepared = _files.get(path, media_type)
    if prepared is None:
        prepared = await once(_files.pending, (str(path), media_type), lambda: _files.prepare(path, media_type))
    return answer(request, prepared)


async def once(pending: dict[Hashable, asyncio.Future], key: Hashable, compute: Callable[[], T]) -> T:
    """``compute()`` in a worker thread, shared by every request that asks for ``key`` while it runs (the
    first viewers after a start do not each gzip the same layer); a request that goes away leaves it
    running for the others."""
    future = pending.get(key)
    if future is None:
        future = pending[key] = asyncio.ensure_future(run_in_threadpool(compute))
        future.add_done_callback(lambda _: pending.pop(key, None))
    return await asyncio.shield(future)


class _DiskFile(FileResponse):
    """A file sent from disk in 1 MiB reads (Starlette's 64 kB mean one worker-thread hop per 64 kB)."""

    chunk_size = _CHUNK


class BudgetCache:
    """The ``size`` most recently used values by key, whose prepared answers hold at most ``budget``
    bytes in all; the least recently used go first (the newest always stays). Thread-safe."""

    def __init__(self, size: int, budget: int) -> None:
        self.size = size
        self.budget = budget
        self._items: OrderedDict[Hashable, Any] = OrderedDict()
        self._held = 0
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> Any | None:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
            return self._items.get(key)

    def put(self, key: Hashable, value: T) -> T:
        with self._lock:
            self._held += _nbytes(value) - _nbytes(self._items.pop(key, None))
            self._items[key] = value
            while len(self._items) > 1 and (len(self._items) > self.size or self._held > self.budget):
                self._held -= _nbytes(self._items.popitem(last=False)[1])
        return value


def _nbytes(value: Any) -> int:
    return value.nbytes if isinstance(value, Prepared) else 0


class _FileCache:
    """Prepared files by (path, media type, size, mtime), the least recently used dropped past the budget."""

    def __init__(self, budget: int) -> None:
        self._kept = BudgetCache(size=2**31, budget=budget)
        self.pending: dict[Hashable, asyncio.Future] = {}  # preparations running, by path and media type

    @staticmethod
    def _key(path: Path, media_type: str) -> tuple:
        stat = path.stat()
        return str(path), media_type, stat.st_size, stat.st_mtime_ns

    def get(self, path: Path, media_type: str) -> Prepared | None:
        """The prepared file if its current version is; one ``stat``, no reading."""
        return self._kept.get(self._key(path, media_type))

    def prepare(self, path: Path, media_type: str) -> Prepared:
        """Hash (and gzip) the file once; blocking."""
        key = self._key(path, media_type)
        if key[2] > IN_MEMORY_BYTES:
            packed = _gzipped_file(path) if media_type in COMPRESSIBLE else None
            prepared = Prepared(_file_tag(path), media_type, path=path, gzipped_path=packed)
        else:
            body = path.read_bytes()
            prepared = prepare_body(body, media_type)
            if self._key(path, media_type) != key:  # rewritten while read: answer it, keep nothing
                return prepared
        return self._kept.put(key, prepared)


_files = _FileCache(MEMORY_BUDGET)


def _headers(tag: str) -> dict[str, str]:
    return {"ETag": tag, "Cache-Control": "private, no-cache", "Vary": "Accept-Encoding, Authorization"}


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
    """Strong ETag of a file's bytes, read in blocks."""
    digest = hashlib.blake2b(digest_size=16)
    with path.open("rb") as f:
        for block in iter(lambda: f.read(_CHUNK), b""):
            digest.update(block)
    return f'"{digest.hexdigest()}"'


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
