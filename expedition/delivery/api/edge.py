"""The edge of the partner service: request bodies are capped, and authenticated before being read.

A raw ASGI middleware in front of FastAPI (which would otherwise read and parse a request's body
before any dependency checks the token):

* a ``Content-Length`` over ``[api] max_body_bytes`` gets 413 at once, before anything is read;
* a request with a body under ``/v1/`` is authenticated first (:func:`expedition.delivery.api.auth.authenticate`,
  the same throttled check as every route): 401/429 without reading the body;
* the body is then read by this middleware up to the cap (a chunked body that passes it gets
  413) and replayed to the application.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from fastapi import HTTPException
from starlette.concurrency import run_in_threadpool

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_BODY_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


async def _answer(send: Send, status: int, detail: str, headers: dict[str, str] | None = None) -> None:
    body = json.dumps({"detail": detail}).encode("utf-8")
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
           (b"connection", b"close")]
    raw += [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


class EdgeGuard:
    """ASGI middleware: body cap and authentication before the body (see the module docstring)."""

    def __init__(self, app: ASGIApp, api: Any) -> None:
        self.app = app
        self.api = api  # the FastAPI application, whose state.qe is the ApiState

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in _BODY_METHODS:
            await self.app(scope, receive, send)
            return
        from expedition.delivery.api.auth import authenticate

        state = self.api.state.qe
        cap = state.config.max_body_bytes
        headers = {k.lower(): v for k, v in scope.get("headers", [])}
        length = headers.get(b"content-length")
        if length is not None:
            try:
                declared = int(length)
            except ValueError:
                await _answer(send, 400, "Content-Length is not a number")
                return
            if declared > cap:
                await _answer(send, 413, f"request body larger than {cap} bytes")
                return
        if str(scope.get("path", "")).startswith("/v1/"):
            auth = headers.get(b"authorization", b"").decode("latin-1")
            scheme, _, token = auth.partition(" ")
            client = scope.get("client")
            try:
                partner = await run_in_threadpool(
                    authenticate, state, token.strip() if scheme.lower() == "bearer" else None,
                    client[0] if client else None,
                )
            except HTTPException as exc:
                await _answer(send, exc.status_code, str(exc.detail), dict(exc.headers or {}))
                return
            scope.setdefault("state", {})["partner"] = partner
        chunks: list[bytes] = []
        size = 0
        while True:
            msg = await receive()
            if msg["type"] == "http.disconnect":
                return
            chunk = msg.get("body", b"")
            size += len(chunk)
            if size > cap:
                await _answer(send, 413, f"request body larger than {cap} bytes")
                return
            chunks.append(chunk)
            if not msg.get("more_body", False):
                break
        body = b"".join(chunks)
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)
