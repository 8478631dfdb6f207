"""The HTTP API and link previews: a thin FastAPI shell over the same Bot (python -m bot serve).

The model loads once per worker process, in a thread started at startup (/readyz says 503 until it is there);
inference and the sandbox run in worker threads, so the event loop keeps answering while they work.
"""
from __future__ import annotations

import asyncio
import logging
import os
import socket
import threading
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import asdict
from typing import Annotated, Any, TypeVar

import anyio
from fastapi import APIRouter, Depends, FastAPI, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import HTMLResponse
from fastapi.security import APIKeyHeader
from pydantic import BaseModel, ConfigDict, Field
from uvicorn.protocols.http.h11_impl import H11Protocol

from bot import preview
from bot.answer import Answer, Bot, Suggestion, check_question
from bot.config import Settings, load_settings, sandbox_limits
from bot.errors import EntryNotFound
from bot.guards import ERRORS, KEY_HEADER, ApiError, BodyLimit, RateLimit, check_key, install_error_handlers
from bot.kb import Entry
from bot.render import forum_post
from bot.sandbox import MAX_CODE_CHARS, RunResult, run_code
from bot.store import Feedback, Store

log = logging.getLogger(__name__)
T = TypeVar("T")


class ErrorBody(BaseModel):
    """Every error has this shape."""
    ok: bool = False
    status: int
    error: str = Field(description="A stable message per kind of error, e.g. 'unknown entry'")
    detail: Any = Field(description="What happened and what to do; for 422 a list of {loc, msg, type}")


def _documented(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return {status: {"model": ErrorBody, "description": ERRORS[status]} for status in statuses}


router = APIRouter(responses=_documented(404, 413, 422, 429, 503))
KEYED = _documented(401, 403)
PREVIEW_POLICY = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:"  # no script runs on previews


class AskRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    question: str = Field(description="The question in the student's words", examples=["why no 1/m in dZ2?"])
    top_k: int | None = Field(None, ge=1, le=50, description="Ranked answers to return (at least 3)")


class FeedbackRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    entry_id: str = Field(examples=["one-over-m-placement"])
    question: str
    helpful: bool
    comment: str | None = Field(None, max_length=2000)
    ask_id: int | None = Field(None, ge=1, description="The ask_id POST /v1/ask returned")


class RunRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: str = Field(description="A Python file's text", examples=["import numpy as np\nprint(np.ones(3))"])


def create_app(bot_factory: Callable[[], Bot], settings: Settings | None = None) -> FastAPI:
    """The app; `bot_factory` runs once, in a thread, when the app starts (tests pass a prebuilt Bot)."""
    settings = settings or load_settings()
    app = FastAPI(title="Backprop Q&A API", version="1", lifespan=_lifespan,
                  description="Curated answers to backprop-math questions. Errors: {ok: false, status, error, "
                              f"detail}}. Keys go in the {KEY_HEADER} header.")
    app.state.settings, app.state.bot_factory = settings, bot_factory
    app.state.bot, app.state.load_error, app.state.pages = None, None, {}
    app.state.store = Store(settings.db_path)
    app.state.inference = ThreadPoolExecutor(os.cpu_count() or 1, thread_name_prefix="inference")
    app.state.sandbox = threading.BoundedSemaphore(2)  # snippets at once per worker: each may take 1 GB
    install_error_handlers(app)
    app.include_router(router)
    app.add_middleware(BodyLimit, max_bytes=settings.api_max_body_kb * 1024)
    if settings.api_rate_limit:
        app.add_middleware(RateLimit, per_minute=settings.api_rate_limit)
    if settings.cors_origin_list:  # added last, so it is outermost: errors and 429s carry the CORS headers too
        app.add_middleware(CORSMiddleware, allow_origins=settings.cors_origin_list, allow_methods=["GET", "POST"],
                           allow_headers=["Content-Type", KEY_HEADER], max_age=600)
    return app


class NoDelayHTTP(H11Protocol):
    """uvicorn's HTTP/1.1 with TCP_NODELAY on every connection.

    With --workers > 1 uvicorn binds the socket itself (proto 0), so asyncio does not set TCP_NODELAY, and each
    response waits for the client's delayed ACK: measured 44 ms for /healthz instead of 1 ms.
    """

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().connection_made(transport)


def app_from_env() -> FastAPI:
    """What `python -m bot serve` runs in each worker: settings from BOT_* variables, the real model."""
    settings = load_settings()
    return create_app(lambda: Bot(settings), settings)


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    async with anyio.create_task_group() as tasks:
        tasks.start_soon(_load, app)
        yield
        tasks.cancel_scope.cancel()


async def _load(app: FastAPI) -> None:
    start = time.perf_counter()
    try:
        app.state.bot = await anyio.to_thread.run_sync(app.state.bot_factory, abandon_on_cancel=True)
        log.info("model and index ready in %.1f s", time.perf_counter() - start)
    except Exception as exc:  # keep serving: /readyz reports it, and the log has the traceback
        app.state.load_error = f"{type(exc).__name__}: {exc}"
        log.exception("the bot failed to load")


def _bot(request: Request) -> Bot:
    state = request.app.state
    if state.bot is None:
        detail = (f"the bot failed to load: {state.load_error}" if state.load_error
                  else "the model and the index are loading (about 10 s after start); retry shortly")
        raise ApiError(503, detail, headers={"Retry-After": "5"})
    return state.bot  # type: ignore[no-any-return]


def _known(bot: Bot, entry_id: str) -> Entry:
    """The entry, or a 404 that tells an HTTP client where the ids are."""
    try:
        return bot.kb.get(entry_id)
    except EntryNotFound:
        raise ApiError(404, f"no entry with id {entry_id!r}; GET /v1/entries lists the ids", "unknown entry") from None


def _settings(request: Request) -> Settings:
    return request.app.state.settings  # type: ignore[no-any-return]


BotDep = Annotated[Bot, Depends(_bot)]
SettingsDep = Annotated[Settings, Depends(_settings)]
KeyDep = Annotated[str | None, Depends(APIKeyHeader(name=KEY_HEADER, auto_error=False))]


@router.get("/healthz", tags=["health"])
async def healthz() -> dict[str, bool]:
    """The process is up (the model may still be loading)."""
    return {"ok": True}


@router.get("/readyz", tags=["health"])
async def readyz(bot: BotDep) -> dict[str, Any]:
    """The model and the index are loaded: 200, else 503."""
    return {"ok": True, "entries": len(bot.kb.entries), "model": bot.embedder.name}


@router.post("/v1/ask", tags=["answers"])
async def ask(body: AskRequest, bot: BotDep, request: Request) -> dict[str, Any]:
    """The same object as `python -m bot ask --json`, plus `answer_markdown` (a forum reply), `permalink`, `ask_id`."""
    start = time.perf_counter()
    answer = await _infer(request, bot.ask, body.question, body.top_k)
    store = request.app.state.store if request.app.state.settings.log_questions else None
    # the rest in the shared pool: a write waiting on another worker's lock must not hold up the model
    return await run_in_threadpool(_reply, bot, answer, store, (time.perf_counter() - start) * 1000)


async def _infer(request: Request, work: Callable[..., T], *args: Any) -> T:
    """Run model work off the event loop, on one of this worker's inference threads (one per core).

    Requests queue for the model instead of 40 threads fighting over the cores; and a worker that the kernel
    handed most of the connections can still use every core (torch runs without the GIL).
    """
    return await asyncio.get_running_loop().run_in_executor(request.app.state.inference, work, *args)


def _reply(bot: Bot, answer: Answer, store: Store | None, latency_ms: float) -> dict[str, Any]:
    ask_id = store.log_ask(answer, "api", latency_ms) if store else None
    permalink = bot.permalink(answer.entry.id) if answer.entry else None
    markdown = forum_post(answer, permalink or "") if answer.kind != "greeting" else answer.message + "\n"
    return answer.to_dict() | {"answer_markdown": markdown, "permalink": permalink, "ask_id": ask_id}


@router.get("/v1/similar", tags=["answers"])
async def similar(bot: BotDep, request: Request, text: Annotated[str, Query(description="A draft title or question")],
                  k: Annotated[int, Query(ge=1, le=50)] = 5) -> dict[str, Any]:
    """The k nearest entries with their ranking scores: retrieval only, cheap enough for every few keystrokes."""
    hits = await _infer(request, bot.similar, text, k)
    return {"text": text, "entries": [_linked(bot, s) for s in hits]}


def _linked(bot: Bot, suggestion: Suggestion) -> dict[str, Any]:
    return asdict(suggestion) | {"permalink": bot.permalink(suggestion.id)}


@router.get("/v1/entries", tags=["entries"])
async def entries(bot: BotDep) -> dict[str, Any]:
    """Every entry: id, title, summary, topics, permalink."""
    return {"entries": [{"id": e.id, "title": e.title, "summary": e.summary, "topics": list(e.topics),
                         "permalink": bot.permalink(e.id)} for e in bot.kb.entries]}


@router.get("/v1/entries/{entry_id}", tags=["entries"])
async def entry(entry_id: str, bot: BotDep) -> dict[str, Any]:
    """One whole entry: body (Markdown with $-math), derivation steps (LaTeX), snippet, related entries."""
    _known(bot, entry_id)
    answer: Answer = await run_in_threadpool(bot.answer_for, entry_id)  # SymPy's first derivation takes ~1 s
    assert answer.entry is not None
    e = answer.entry
    return {"id": e.id, "title": e.title, "summary": e.summary, "topics": list(e.topics), "weeks": list(e.weeks),
            "body": e.body, "derivation": answer.derivation, "snippet": e.snippet, "snippet_code": e.snippet_code,
            "related": [_linked(bot, r) for r in answer.related], "url": bot.url(e.id),
            "permalink": bot.permalink(e.id)}


@router.post("/v1/entries/{entry_id}/run", tags=["sandbox"])
async def run_entry(entry_id: str, bot: BotDep, request: Request) -> dict[str, Any]:
    """Run the entry's curated NumPy snippet in the sandbox; `ok` says whether it ran and exited 0."""
    code = _known(bot, entry_id).snippet_code
    if code is None:
        raise ApiError(404, f"entry {entry_id!r} has no snippet; GET /v1/entries/{entry_id} shows what it has",
                       "no snippet")
    return await _run(request, code)


@router.post("/v1/run", tags=["sandbox"], responses=KEYED)
async def run(body: RunRequest, settings: SettingsDep, key: KeyDep, request: Request) -> dict[str, Any]:
    """Run any Python code in the sandbox: off unless the server sets BOT_API_RUN_CODE=true, and needs a key."""
    if not settings.api_run_code:
        raise ApiError(403, "running arbitrary code over HTTP is off on this server; an operator who wants it "
                            "sets BOT_API_RUN_CODE=true and BOT_API_KEYS", "disabled")
    check_key(settings.api_key_list, key, "POST /v1/run")
    if len(body.code) > MAX_CODE_CHARS:
        raise ApiError(413, f"the code is {len(body.code):,} characters; the sandbox runs at most {MAX_CODE_CHARS:,}")
    return await _run(request, body.code)


async def _run(request: Request, code: str) -> dict[str, Any]:
    settings: Settings = request.app.state.settings

    def limited() -> RunResult:
        with request.app.state.sandbox:
            return run_code(code, sandbox_limits(settings), settings.sandbox_isolation)

    result = await run_in_threadpool(limited)
    return asdict(result) | {"ok": result.ok}


@router.post("/v1/feedback", tags=["answers"], status_code=201, responses=KEYED)
async def feedback(body: FeedbackRequest, bot: BotDep, settings: SettingsDep, key: KeyDep,
                   request: Request) -> dict[str, Any]:
    """Record whether an answer helped (open unless the server sets BOT_API_KEYS; then it needs a key)."""
    if settings.api_key_list:
        check_key(settings.api_key_list, key, "POST /v1/feedback")
    _known(bot, body.entry_id)
    note = Feedback(body.entry_id, check_question(body.question, settings.max_question_chars), body.helpful,
                    body.comment, body.ask_id)
    return {"ok": True, "id": await run_in_threadpool(request.app.state.store.add_feedback, note)}


@router.get("/e/{entry_id}", tags=["previews"], response_class=HTMLResponse)
async def entry_page(entry_id: str, bot: BotDep, request: Request) -> HTMLResponse:
    """The entry as an HTML page with OpenGraph and Twitter-card tags: a pasted link unfurls into a card."""
    pages: dict[str, str] = request.app.state.pages  # one per entry at most: the KB is fixed for the process
    if entry_id not in pages:
        _known(bot, entry_id)
        pages[entry_id] = await run_in_threadpool(_page, bot, entry_id)
    return HTMLResponse(pages[entry_id], headers={"Content-Security-Policy": PREVIEW_POLICY,
                                                  "Cache-Control": "public, max-age=3600"})


def _page(bot: Bot, entry_id: str) -> str:
    answer = bot.answer_for(entry_id)
    assert answer.entry is not None
    related = [(r.title, bot.permalink(r.id)) for r in answer.related]
    return preview.entry_page(answer.entry, bot.permalink(entry_id), bot.url(entry_id), answer.derivation, related)
