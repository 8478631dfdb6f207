"""The HTTP API and link previews: a thin FastAPI shell over the same Bot (python -m bot serve).

One process serves HTTP; the model runs in worker processes (one per core by default) that take the questions
arriving together as one batch. The Bot loads in a thread started at startup (/readyz says 503 until it is
there); inference and the sandbox run in threads, so the event loop keeps answering while they work.
Over 300 lines because it is the whole HTTP surface (models, routes, startup) read in one place; the guards and
the preview page are their own modules.
"""
from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import asdict
from functools import partial
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

import anyio
from fastapi import APIRouter, Depends, FastAPI, Header, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import FileResponse, HTMLResponse, Response
from fastapi.security import APIKeyHeader
from pydantic import BaseModel, ConfigDict, Field, field_validator

from bot.answer import AMBIGUOUS, VISIBLE, Bot, check_question, surrogate_at
from bot.config import Settings, load_settings, sandbox_limits, writable_cache
from bot.context import Context
from bot.datatypes import Answer, Entry, RunResult, Suggestion
from bot.errors import EntryNotFound
from bot.mentors.store import MAX_COMMENT_CHARS, Feedback, Store, open_store, store_url
from bot.proofs.sandbox import MAX_CODE_CHARS, describe_isolation, isolation_mode, run_code
from bot.retrieval.embed import load_embedder
from bot.serve import card, discourse, preview
from bot.serve.batching import MAX_TEXTS, BatchingEmbedder
from bot.serve.forum import forum_post
from bot.serve.guards import ERRORS, KEY_HEADER, ApiError, BodyLimit, RateLimit, check_key, install_error_handlers
from bot.serve.model_process import ModelProcess

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


router = APIRouter(responses=_documented(404, 408, 413, 422, 429, 503))
KEYED = _documented(401, 403)
PREVIEW_POLICY = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:"  # no script runs on previews


def _not_a_bool(value: Any) -> Any:
    """An integer as JSON Schema means it: 1.0 is one, true is not (pydantic would read it as 1)."""
    if isinstance(value, bool):
        raise ValueError("expected an integer, got a boolean")
    return value


class AskContext(BaseModel):
    model_config = ConfigDict(extra="forbid")
    previous_entry_id: str = Field(min_length=1, examples=["dz-output-derivation"],
                                   description="answer.id of the previous answer in this conversation")
    previous_question: str = Field("", max_length=4000,
                                   description="That answer's question, if you have it (its activation, loss or "
                                               "layer carry over to a follow-up that keeps them)")


class AskRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    question: str = Field(min_length=1, pattern=VISIBLE.pattern, examples=["why no 1/m in dZ2?"],
                          description="The question in the student's words: at least one character that is not "
                                      "white space or a control character (control characters are removed)")
    top_k: int | None = Field(None, ge=1, le=50, description="Ranked answers to return (at least 3)")
    context: AskContext | None = Field(None, description="The previous turn: a short follow-up (\"and for ReLU?\", "
                                                         "\"what about db?\") is read against its entry")

    _whole = field_validator("top_k", mode="before")(_not_a_bool)


class SuggestionOut(BaseModel):
    id: str
    title: str
    summary: str = Field(description="One or two sentences: what the entry answers")
    topics: list[str]
    score: float | None = Field(description="Ranking score (not a probability); null for a related-entry link")
    url: str = Field(description="The entry in the chat")


class EntryOut(BaseModel):
    id: str
    title: str
    summary: str
    topics: list[str]
    weeks: list[str]
    body: str = Field(description="The explanation in Markdown with $-math")
    url: str


class AskResponse(BaseModel):
    question: str
    kind: Literal["answer", "out_of_scope", "greeting"] = Field(description="greeting: any small talk")
    in_scope: bool
    confidence: float = Field(ge=0, le=1, description="Calibrated probability that the KB answers the question")
    entry_confidence: float = Field(ge=0, le=1, description="Calibrated probability that answers[0] is the entry "
                                                            "that answers it (at most confidence)")
    ambiguous: bool = Field(description=f"In scope, but entry_confidence < {AMBIGUOUS}: show the candidates")
    candidates: list[SuggestionOut] = Field(description="When ambiguous: the two or three entries it may be")
    answers: list[SuggestionOut] = Field(description="Ranked nearest entries, at least 3")
    message: str = Field(description="One line for the user: a caveat, the not-covered reply or the small-talk reply")
    related: list[SuggestionOut]
    snippet: str | None = Field(description="The entry's runnable NumPy demonstration")
    derivation: dict[str, Any] | None = Field(description="The SymPy derivation: {name, title, choice, steps, detected}")
    follow_up_of: str | None = Field(None, description="context.previous_entry_id when the question was read as a "
                                                       "follow-up to it; null when it was read alone")
    body: str | None
    answer: EntryOut | None = Field(description="The best entry when in scope")
    answer_markdown: str = Field(description="A forum-ready reply (Discourse Markdown)")
    permalink: str | None
    ask_id: int | None = Field(description="Pass it to POST /v1/feedback; null when asks are not logged")


class FeedbackRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    entry_id: str = Field(examples=["one-over-m-placement"])
    question: str = Field(min_length=1, pattern=VISIBLE.pattern)
    helpful: bool = Field(strict=True)
    comment: str | None = Field(None, max_length=MAX_COMMENT_CHARS)
    ask_id: int | None = Field(None, ge=1, le=2**63 - 1,
                               description="The ask_id POST /v1/ask returned; one that matches no ask is stored "
                                           "as no link (the rating is kept)")

    _whole = field_validator("ask_id", mode="before")(_not_a_bool)


class RunRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: str = Field(description="A Python file's text", examples=["import numpy as np\nprint(np.ones(3))"])


def create_app(bot_factory: Callable[[], Bot], settings: Settings | None = None, owns_bot: bool = False) -> FastAPI:
    """The app; `bot_factory` runs once, in a thread, when the app starts (tests pass a prebuilt Bot).

    With `owns_bot`, the Bot's model processes are stopped when the app shuts down."""
    settings = settings or load_settings()
    app = FastAPI(title="Backprop Q&A API", version="1", lifespan=_lifespan,
                  description="Curated answers to backprop-math questions. Errors: {ok: false, status, error, "
                              f"detail}}. Keys go in the {KEY_HEADER} header.")
    app.state.settings, app.state.bot_factory, app.state.owns_bot = settings, bot_factory, owns_bot
    app.state.bot, app.state.load_error, app.state.pages, app.state.discourse = None, None, {}, None
    app.state.store = open_store(store_url(settings))
    # threads that may wait on the model at once: enough for every model process to get a full batch
    app.state.inference = ThreadPoolExecutor(max(32, MAX_TEXTS * _workers(settings)), thread_name_prefix="inference")
    app.state.sandbox = threading.BoundedSemaphore(2)  # snippets at once: each may take 1 GB
    install_error_handlers(app)
    app.include_router(router)
    app.add_middleware(BodyLimit, max_bytes=settings.api_max_body_kb * 1024, timeout=settings.api_body_timeout_s)
    if settings.api_rate_limit:
        app.add_middleware(RateLimit, per_minute=settings.api_rate_limit)
    if settings.cors_origin_list:  # added last, so it is outermost: errors and 429s carry the CORS headers too
        app.add_middleware(CORSMiddleware, allow_origins=settings.cors_origin_list, allow_methods=["GET", "POST"],
                           allow_headers=["Content-Type", KEY_HEADER, IDEMPOTENCY_HEADER], max_age=600)
    return app


def app_from_env(settings: Settings | None = None) -> FastAPI:
    """What `python -m bot serve` runs: settings from BOT_* variables, the real model in worker processes."""
    settings = settings or load_settings()
    return create_app(partial(_serving_bot, settings), settings, owns_bot=True)


def _workers(settings: Settings) -> int:
    return settings.api_workers or os.cpu_count() or 1


def _serving_bot(settings: Settings) -> Bot:
    workers = _workers(settings)
    # one thread each unless BOT_EMBED_THREADS says otherwise: N processes use N cores
    model = partial(load_embedder, settings.model, settings.embed_backend, writable_cache(settings.cache_dir),
                    settings.threads or 1)
    with ThreadPoolExecutor(workers) as starting:  # children load side by side (ONNX ~0.3 s, torch ~10 s)
        started = [starting.submit(ModelProcess, model, f"model-{i + 1}") for i in range(workers)]
    try:
        models = [future.result() for future in started]
    except BaseException:
        for future in started:
            if future.exception() is None:
                future.result().close()
        raise
    log.info("%d model process(es) ready", workers)

    def building(done: int, total: int) -> None:  # only called when the index is (re)built: first start, KB edits
        if done == total:
            log.info("index built: %d texts embedded", total)

    return Bot(settings, BatchingEmbedder(models), progress=building)


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    async with anyio.create_task_group() as tasks:
        tasks.start_soon(_load, app)
        yield
        tasks.cancel_scope.cancel()
    if app.state.discourse is not None:
        await anyio.to_thread.run_sync(app.state.discourse.stop)
    if app.state.owns_bot and app.state.bot is not None:
        await anyio.to_thread.run_sync(app.state.bot.close)


async def _load(app: FastAPI) -> None:
    log.info("sandbox: %s", describe_isolation(app.state.settings.sandbox_isolation))
    start = time.perf_counter()
    try:
        app.state.bot = bot = await anyio.to_thread.run_sync(app.state.bot_factory, abandon_on_cancel=True)
        log.info("model and index ready in %.1f s", time.perf_counter() - start)
        settings: Settings = app.state.settings
        if settings.discourse_mode != "off" and not settings.discourse_missing:
            app.state.discourse = discourse.Worker(bot, app.state.store, settings).start()
        await anyio.to_thread.run_sync(bot.warm, abandon_on_cancel=True)
    except Exception as exc:  # keep serving: /readyz reports it, and the log has the traceback
        app.state.load_error = f"{type(exc).__name__}: {exc}"
        log.exception("the bot failed to load")


# Dependencies are `async def`: FastAPI runs a plain `def` one in a worker thread, a thread hop on every request.
async def _bot(request: Request) -> Bot:
    state = request.app.state
    if state.bot is None:
        if state.load_error:  # retrying cannot help: an operator has to fix it (the log says how) and restart
            raise ApiError(503, f"the bot failed to load: {state.load_error}; fix it and restart `bot serve`")
        raise ApiError(503, "the model and the index are loading (a few seconds after start); retry shortly",
                       headers={"Retry-After": "5"})
    return state.bot  # type: ignore[no-any-return]


def _known(bot: Bot, entry_id: str) -> Entry:
    """The entry, or a 404 that tells an HTTP client where the ids are."""
    try:
        return bot.kb.get(entry_id)
    except EntryNotFound:
        raise ApiError(404, f"no entry with id {entry_id!r}; GET /v1/entries lists the ids", "unknown entry") from None


async def _settings(request: Request) -> Settings:
    return request.app.state.settings  # type: ignore[no-any-return]


BotDep = Annotated[Bot, Depends(_bot)]
SettingsDep = Annotated[Settings, Depends(_settings)]
KeyDep = Annotated[str | None, Depends(APIKeyHeader(name=KEY_HEADER, auto_error=False))]
IDEMPOTENCY_HEADER = "Idempotency-Key"
# A client that sends a request again (its reply lost to a restart, perhaps on another replica) sends the same key:
# the question or rating is then stored once
IdempotencyDep = Annotated[str | None, Header(alias=IDEMPOTENCY_HEADER, max_length=200, pattern=r"^[!-~]+$",
                                              description="Any unique token per request (e.g. a UUID); the same "
                                                          "token again stores nothing new")]


@router.get("/healthz", tags=["health"])
async def healthz() -> dict[str, bool]:
    """The process is up (the model may still be loading)."""
    return {"ok": True}


@router.get("/readyz", tags=["health"])
async def readyz(bot: BotDep, settings: SettingsDep) -> dict[str, Any]:
    """The model and the index are loaded: 200, else 503; and the isolation snippets run in."""
    return {"ok": True, "entries": len(bot.kb.entries), "model": bot.embedder.name,
            "sandbox": {"isolation": isolation_mode(settings.sandbox_isolation),
                        "detail": describe_isolation(settings.sandbox_isolation)}}


@router.post("/v1/ask", tags=["answers"], response_model=AskResponse)
async def ask(body: AskRequest, bot: BotDep, request: Request, idempotency_key: IdempotencyDep = None) -> dict[str, Any]:
    """The same object as `python -m bot ask --json`, plus `answer_markdown` (a forum reply), `permalink`, `ask_id`."""
    store = request.app.state.store if request.app.state.settings.log_questions else None
    context = Context(body.context.previous_entry_id, body.context.previous_question) if body.context else None
    return await _infer(request, _answer, bot, body.question, body.top_k, store, context, idempotency_key)


async def _infer(request: Request, work: Callable[..., T], *args: Any) -> T:
    """Run model work off the event loop, on an inference thread: it waits there for its batch's turn, so
    sandbox runs and store writes (in the default thread pool) never queue behind the model."""
    return await asyncio.get_running_loop().run_in_executor(request.app.state.inference, work, *args)


def _answer(bot: Bot, question: str, top_k: int | None, store: Store | None, context: Context | None = None,
            key: str | None = None) -> dict[str, Any]:
    """The whole of /v1/ask in one thread: a hop between threads costs more than the answer's own 0.6 ms."""
    start = time.perf_counter()
    answer = bot.ask(question, top_k, context=context)
    ask_id = None
    if store is not None:
        try:
            ask_id = store.log_ask(answer, "api", (time.perf_counter() - start) * 1000, _scoped("ask", key))
        except Exception:  # logged; the client still gets its answer (with ask_id null)
            log.exception("could not log the ask")
    permalink = bot.permalink(answer.entry.id) if answer.entry else None
    markdown = forum_post(answer, permalink)  # the one post a forum gets, the forum bot's included
    return answer.to_dict() | {"answer_markdown": markdown, "permalink": permalink, "ask_id": ask_id}


@router.get("/v1/similar", tags=["answers"])
async def similar(bot: BotDep, request: Request,
                  text: Annotated[str, Query(min_length=1, pattern=VISIBLE.pattern,
                                             description="A draft title or question")],
                  k: Annotated[int, Query(ge=1, le=50)] = 5) -> dict[str, Any]:
    """The k nearest entries with their ranking scores: retrieval only, cheap enough for every few keystrokes."""
    hits = await _infer(request, bot.similar, text, k)
    return {"text": text, "entries": [_linked(bot, s) for s in hits]}


def _linked(bot: Bot, suggestion: Suggestion) -> dict[str, Any]:
    return suggestion.to_dict() | {"permalink": bot.permalink(suggestion.id)}


WIDGET_JS = (Path(__file__).parent / "static" / "widget.js").read_bytes()  # ~5 KB, read once
SCRIPT: dict[int | str, dict[str, Any]] = {200: {"description": "The script (plain JavaScript, no dependencies)",
                                                 "content": {"text/javascript": {"schema": {"type": "string"}}}}}


# response_class=Response (no media type of its own) keeps the errors documented as the JSON they are
@router.get("/widget.js", tags=["widget"], response_class=Response, responses=SCRIPT)
async def widget() -> Response:
    """The composer widget: one <script> tag on a forum page lists the matching entries while a student writes."""
    return Response(WIDGET_JS, media_type="text/javascript",
                    headers={"Cache-Control": "public, max-age=3600", "X-Content-Type-Options": "nosniff"})


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
    return await _run(request, code, curated=True)


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


async def _run(request: Request, code: str, curated: bool = False) -> dict[str, Any]:
    settings: Settings = request.app.state.settings

    def limited() -> RunResult:
        with request.app.state.sandbox:
            return run_code(code, sandbox_limits(settings), settings.sandbox_isolation, curated)

    result = await run_in_threadpool(limited)
    return asdict(result) | {"ok": result.ok}


@router.post("/v1/feedback", tags=["answers"], status_code=201, responses=KEYED)
async def feedback(body: FeedbackRequest, bot: BotDep, settings: SettingsDep, key: KeyDep,
                   request: Request, idempotency_key: IdempotencyDep = None) -> dict[str, Any]:
    """Record whether an answer helped (open unless the server sets BOT_API_KEYS; then it needs a key)."""
    if settings.api_key_list:
        check_key(settings.api_key_list, key, "POST /v1/feedback")
    _known(bot, body.entry_id)
    if body.comment is not None and (where := surrogate_at(body.comment)) is not None:
        raise ApiError(422, f"the comment has a lone UTF-16 surrogate at character {where + 1}, which is not text; "
                            "remove it and send again")
    note = Feedback(body.entry_id, check_question(body.question, settings.max_question_chars), body.helpful,
                    body.comment, body.ask_id)
    return {"ok": True, "id": await run_in_threadpool(request.app.state.store.add_feedback, note,
                                                      _scoped("feedback", idempotency_key))}


def _scoped(route: str, key: str | None) -> str | None:
    """The client's key as a write key: one token reused on /v1/ask and /v1/feedback names two writes."""
    return None if key is None else f"{route}:{key}"


class WebhookResponse(BaseModel):
    ok: bool
    action: Literal["pong", "ignored", "queued", "duplicate"] = Field(
        description="queued: the topic is claimed and its draft will be posted; duplicate: claimed before")
    reason: str
    topic_id: int | None


@router.post("/v1/discourse/webhook", tags=["forum"], response_model=WebhookResponse, responses=KEYED,
             openapi_extra=discourse.OPENAPI)
async def discourse_webhook(request: Request, settings: SettingsDep,
                            x_discourse_event: Annotated[str | None, Header()] = None,
                            x_discourse_event_signature: Annotated[str | None, Header()] = None,
                            x_discourse_instance: Annotated[str | None, Header()] = None) -> dict[str, Any]:
    """A Discourse webhook delivery (post events): a new topic in a watched category gets one draft reply."""
    payload = discourse.check_delivery(settings, request.headers, await request.body())
    result = await run_in_threadpool(discourse.accept, payload, x_discourse_event or "", settings,
                                     request.app.state.store)
    if result["action"] == "queued" and request.app.state.discourse is not None:
        request.app.state.discourse.wake()
    return result


MISSING_PAGE: dict[int | str, dict[str, Any]] = {404: {"description": "No such entry: an HTML page pointing to the chat when the client accepts "
                                     "text/html, else the JSON error shape",
                      "content": {"text/html": {"schema": {"type": "string"}},
                                  "application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}}}


@router.get("/e/{entry_id}", tags=["previews"], response_class=HTMLResponse, responses=MISSING_PAGE)
async def entry_page(entry_id: str, bot: BotDep, request: Request) -> HTMLResponse:
    """The entry as an HTML page with OpenGraph and Twitter-card tags: a pasted link unfurls into a card."""
    pages: dict[str, str] = request.app.state.pages  # one per entry at most: the KB is fixed for the process
    if entry_id not in pages:
        try:
            _known(bot, entry_id)
        except ApiError:
            if "text/html" not in request.headers.get("accept", ""):
                raise  # an API client: the JSON error shape
            return HTMLResponse(preview.missing_page(entry_id, bot.settings.public_url), 404,
                                headers={"Content-Security-Policy": PREVIEW_POLICY})
        # crawlers need an absolute og:image: BOT_API_BASE_URL, else the address this request came to
        base_url = request.app.state.settings.api_base_url.rstrip("/") or str(request.base_url).rstrip("/")
        pages[entry_id] = await run_in_threadpool(_page, bot, entry_id, base_url)
    return HTMLResponse(pages[entry_id], headers={"Content-Security-Policy": PREVIEW_POLICY,
                                                  "Cache-Control": "public, max-age=3600"})


@router.get("/e/{entry_id}/card.png", tags=["previews"], response_class=FileResponse,
            responses={200: {"content": {"image/png": {}}, "description": "A 1200x630 PNG"}})
async def entry_card(entry_id: str, bot: BotDep) -> FileResponse:
    """The picture of a shared link (og:image): the entry's title and key formula, drawn once and cached."""
    entry = _known(bot, entry_id)
    path = await run_in_threadpool(card.card_path, entry, bot.settings.cache_dir)
    return FileResponse(path, media_type="image/png", headers={"Cache-Control": "public, max-age=86400"})


def _page(bot: Bot, entry_id: str, base_url: str) -> str:
    answer = bot.answer_for(entry_id)
    assert answer.entry is not None
    related = [(r.title, bot.permalink(r.id)) for r in answer.related]
    return preview.entry_page(answer.entry, bot.permalink(entry_id), bot.url(entry_id), answer.derivation, related,
                              f"{base_url}/e/{entry_id}/card.png")
