"""What stands between an HTTP request and the Bot: one JSON error shape, API keys, a rate limit, a body cap."""
from __future__ import annotations

import asyncio
import hmac
import logging
import math
import time
from collections.abc import Callable, Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot.errors import BadQuestion, BotError, EntryNotFound, ModelUnavailable, QuestionTooLong, StoreBusy

log = logging.getLogger(__name__)
ERRORS = {  # status -> the stable `error` clients can match on; `detail` says what happened and what to do
    400: "bad request", 401: "missing API key", 403: "forbidden", 404: "not found", 405: "method not allowed",
    408: "request timeout", 413: "too large", 422: "invalid input", 429: "rate limited", 500: "internal error", 503: "not ready",
}
KEY_HEADER = "X-API-Key"


class ApiError(HTTPException):
    """An error with its status, stable message and detail; rendered by `error_response`."""

    def __init__(self, status: int, detail: Any, error: str | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(status, detail, headers)
        self.error = error or ERRORS.get(status, "error")


def error_response(status: int, error: str, detail: Any, headers: Mapping[str, str] | None = None) -> JSONResponse:
    """The one JSON shape of every error: {ok: false, status, error, detail}."""
    return JSONResponse({"ok": False, "status": status, "error": error, "detail": detail}, status, headers)


def install_error_handlers(app: FastAPI) -> None:
    """Render FastAPI's own errors (404 route, 405, 413 body, 422 validation) and the bot's in the one shape."""

    async def http_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, HTTPException)
        status: int = exc.status_code
        detail: Any = exc.detail
        if status in (404, 405) and not isinstance(exc, ApiError):
            detail = f"no route {request.method} {request.url.path}; the routes are listed at /docs"
        if status == 400 and not isinstance(exc, ApiError):  # FastAPI's "error parsing the body": invalid input
            status, detail = 422, [{"loc": ["body"], "type": "json_invalid",
                                    "msg": "the body is not JSON this API can read (invalid UTF-8, nested too deep "
                                           "or a number too long); send one JSON object as in the schema"}]
        return error_response(status, getattr(exc, "error", ERRORS.get(status, "error")), detail, exc.headers)

    async def invalid(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        detail = [{"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]} for e in exc.errors()]
        return error_response(422, ERRORS[422], detail)

    async def bot_error(request: Request, exc: Exception) -> JSONResponse:
        if isinstance(exc, ModelUnavailable):  # a model process died mid-question: the next try gets a new one
            log.error("%s %s: %s", request.method, request.url.path, exc)
            return error_response(503, "model unavailable", str(exc), {"Retry-After": "1"})
        if isinstance(exc, StoreBusy):  # nothing was stored: the client sends the same request again later
            log.error("%s %s: %s", request.method, request.url.path, exc)
            return error_response(503, "store busy", str(exc), {"Retry-After": "5"})
        status = (404 if isinstance(exc, EntryNotFound) else 413 if isinstance(exc, QuestionTooLong)
                  else 422 if isinstance(exc, BadQuestion) else 500)
        error = "unknown entry" if status == 404 else ERRORS[status]
        return error_response(status, error, str(exc))

    async def crash(request: Request, exc: Exception) -> JSONResponse:
        log.error("%s %s failed", request.method, request.url.path, exc_info=exc)
        return error_response(500, ERRORS[500], "the server failed on this request; the error is in its log")

    app.add_exception_handler(HTTPException, http_error)
    app.add_exception_handler(RequestValidationError, invalid)
    app.add_exception_handler(BotError, bot_error)
    app.add_exception_handler(Exception, crash)


def check_key(keys: list[str], given: str | None, what: str) -> None:
    """Refuse unless `given` is one of `keys`: 401 without a key, 403 with a wrong one or when none is configured."""
    if not keys:
        raise ApiError(403, f"{what} needs an API key and the server has none; the operator sets "
                            "BOT_API_KEYS=<key>[,<key>...] and gives a key to each client", "no API key configured")
    if not given:
        raise ApiError(401, f"{what} needs an API key: send it in the {KEY_HEADER} header",
                       headers={"WWW-Authenticate": KEY_HEADER})
    if not any(hmac.compare_digest(given.encode(), key.encode()) for key in keys):  # constant time: no timing hints
        raise ApiError(403, f"the {KEY_HEADER} header does not match any configured key", "wrong API key")


class TokenBucket:
    """Per-client token buckets: a burst of `per_minute` requests, refilled at per_minute/60 a second."""

    MAX_CLIENTS = 10_000  # past this, clients whose bucket has refilled are forgotten (it would be full anyway)

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.capacity, self.rate, self.clock = float(per_minute), per_minute / 60.0, clock
        self.buckets: dict[str, tuple[float, float]] = {}  # client -> (tokens, when counted)

    def take(self, client: str) -> float:
        """Spend one token; 0.0 when the request may go ahead, else the seconds until a token is there."""
        now = self.clock()
        tokens, then = self.buckets.get(client, (self.capacity, now))
        tokens = min(self.capacity, tokens + (now - then) * self.rate)
        if len(self.buckets) >= self.MAX_CLIENTS and client not in self.buckets:
            self._forget_idle(now)
        if tokens >= 1.0:
            self.buckets[client] = (tokens - 1.0, now)
            return 0.0
        self.buckets[client] = (tokens, now)
        return (1.0 - tokens) / self.rate

    def _forget_idle(self, now: float) -> None:
        full = [c for c, (tokens, then) in self.buckets.items() if tokens + (now - then) * self.rate >= self.capacity]
        for client in full:
            del self.buckets[client]


class RateLimit:
    """ASGI middleware: 429 with Retry-After once a client IP has spent its bucket (health checks and docs are free)."""

    # the forum's webhook is free too: every delivery comes from the forum's one address
    FREE = ("/healthz", "/readyz", "/docs", "/openapi.json", "/redoc", "/v1/discourse/webhook")

    def __init__(self, app: ASGIApp, per_minute: int) -> None:
        self.app, self.per_minute, self.buckets = app, per_minute, TokenBucket(per_minute)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not scope["path"].startswith(self.FREE) and scope["method"] != "OPTIONS":
            client = scope["client"][0] if scope.get("client") else Headers(scope=scope).get("host", "?")
            wait = self.buckets.take(client)
            if wait > 0:
                retry = str(math.ceil(wait))
                response = error_response(429, ERRORS[429], f"more than {self.per_minute} requests a minute from "
                                          f"{client}; retry in {retry} s", {"Retry-After": retry})
                return await response(scope, receive, send)
        await self.app(scope, receive, send)


class BodyLimit:
    """ASGI middleware: 413 for a request body over `max_bytes`, declared (Content-Length) or streamed (chunked), and
    408 for one that stops arriving for `timeout` seconds (a client that never sends it would hold its slot)."""

    def __init__(self, app: ASGIApp, max_bytes: int, timeout: float = 10.0) -> None:
        self.app, self.max_bytes, self.timeout = app, max_bytes, timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        detail = f"the request body is larger than {self.max_bytes // 1024} KB"
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            return await error_response(413, ERRORS[413], detail)(scope, receive, send)
        seen, complete = 0, False

        async def counted() -> Message:
            nonlocal seen, complete
            if complete:  # the body is in: what comes next is a disconnect, which may take as long as it likes
                return await receive()
            try:
                message = await asyncio.wait_for(receive(), self.timeout)
            except TimeoutError:
                # Connection: close, or the server would keep waiting for the rest of the body on this connection
                raise ApiError(408, f"the request body stopped arriving for {self.timeout:g} s; send the whole "
                                    "body at once", headers={"Connection": "close"}) from None
            complete = message["type"] != "http.request" or not message.get("more_body", False)
            seen += len(message.get("body", b""))
            if seen > self.max_bytes:
                raise ApiError(413, detail)  # an HTTPException: FastAPI passes it on to the error handler
            return message

        await self.app(scope, counted, send)
