"""Limits at the edge: request body size (checked before anything parses it) and the id pattern.

The body limit is a small ASGI middleware rather than FastAPI's ``max_body_size`` because that one
answers in plain text, and every error of this API is JSON with a reason.
"""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

#: Largest accepted request body [bytes] (a variant with many edits is well below this).
MAX_BODY_BYTES = 2 * 1024 * 1024
#: What a scene, variant, job or process id may look like (no path separators, no leading dot).
ID_PATTERN = r"^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,99}$"


class BodySizeLimit:
    """413 for a body above ``limit`` bytes: by Content-Length before the app runs, and by counting
    while the body streams in (so a body without Content-Length cannot get past it either)."""

    def __init__(self, app: ASGIApp, limit: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope.get("headers") or []).get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.limit):
            await self._reject(send)
            return
        received = 0
        started = False

        async def counted_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    raise _TooLarge
            return message

        async def tracked_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted_receive, tracked_send)
        except _TooLarge:
            if started:
                raise
            await self._reject(send)

    async def _reject(self, send: Send) -> None:
        body = json.dumps({"detail": f"request body larger than {self.limit} bytes"}).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})


class _TooLarge(Exception):
    """Raised into the app when a streamed body passes the limit."""
