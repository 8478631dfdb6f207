"""python -m bot: every command, each a thin shell over Bot or one package (docs/cli.md lists them).

Over 300 lines because it is one small function per command plus their argparse definitions.
"""
from __future__ import annotations

import argparse
import json
import logging
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from bot.chitchat import CODE_ONLY
from bot.errors import BadQuestion, BotError, KBError

if TYPE_CHECKING:
    from bot.context import Context

EXAMPLES = """examples:
  python -m bot ask "why is there no 1/m in dZ[L]?"
  python -m bot ask --json "how is dA_prev = W.T dZ derived"
  python -m bot ask --after dz-output-derivation "and what if the hidden layer is ReLU instead?"
  python -m bot ask --jsonl questions.jsonl > answers.jsonl
  python -m bot eval ../shared/eval/dev.jsonl
  python -m bot run one-over-m-in-dzl
  python -m bot derive dz-output --loss mse
  python -m bot check-grads my_backward.py
  python -m bot report --days 7 --csv week.csv
  python -m bot discourse draft https://community.deeplearning.ai/t/some-topic/1234
  python -m bot serve --port 8000
"""


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(message)s", stream=sys.stderr)
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        return int(args.run(args) or 0)
    except KBError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 1
    except BadQuestion as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 2
    except BotError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bot", description="Backprop math Q&A over a curated KB.",
                                     epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(required=True, metavar="COMMAND")

    ask = sub.add_parser("ask", help="answer a question", epilog=EXAMPLES,
                         formatter_class=argparse.RawDescriptionHelpFormatter)
    ask.add_argument("question", nargs="?", help="the question; '-' reads it from standard input")
    ask.add_argument("--json", action="store_true", help="print one JSON object")
    ask.add_argument("--jsonl", metavar="FILE", type=Path,
                     help="answer each line of FILE ({\"question\": ...}); one JSON object per line")
    ask.add_argument("-k", "--top-k", type=_positive, default=None,
                     help="ranked answers to return (default and minimum: 3)")
    ask.add_argument("--after", metavar="ENTRY_ID",
                     help="the previous answer's entry id: read a follow-up (\"and for ReLU?\") against it; "
                          "in --jsonl, a line's {\"context\": {\"previous_entry_id\": ...}} does the same")
    ask.set_defaults(run=_ask)

    build = sub.add_parser("build", help="(re)build the index from kb/, with a progress bar")
    build.add_argument("--if-stale", action="store_true", help="only when the KB or the model changed")
    build.set_defaults(run=_build)
    validate = sub.add_parser("validate", help="check every KB file; one line per problem")
    validate.set_defaults(run=_validate)
    run = sub.add_parser("run", help="run an entry's NumPy snippet (or any file) in the sandbox")
    what = run.add_mutually_exclusive_group(required=True)
    what.add_argument("entry", nargs="?", help="the entry id whose snippet to run")
    what.add_argument("--file", type=Path, help="run this Python file instead (what the chat's Edit and run uses)")
    run.set_defaults(run=_run)
    derive = sub.add_parser("derive", help="print a step-by-step SymPy derivation (every derived step checked)")
    derive.add_argument("name", nargs="?", help="derivation name; without one, the list of names")
    derive.add_argument("--activation", help="sigmoid, tanh, relu, leaky_relu or softmax")
    derive.add_argument("--loss", help="bce, cce or mse")
    derive.add_argument("--layer", type=int, help="layer number shown in the superscripts")
    derive.add_argument("--json", action="store_true", help="print the steps as JSON")
    derive.set_defaults(run=_derive)
    listing = sub.add_parser("list", help="list the entries: id, topics, title")
    listing.set_defaults(run=_list)
    evaluate = sub.add_parser("eval", help="top-1, recall@3, MRR and scope metrics on a JSONL file")
    evaluate.add_argument("files", type=Path, nargs="+", metavar="FILE",
                          help="JSONL of {\"question\": ..., \"topics\": [...]}; several files share one model load")
    evaluate.add_argument("--misses", type=int, default=20, help="misses to print (default: 20)")
    evaluate.add_argument("--confusions", type=int, default=10, help="confusions to print (default: 10)")
    evaluate.set_defaults(run=_eval)
    report = sub.add_parser("report", help="for mentors: unanswered questions grouped by meaning, feedback per entry")
    report.add_argument("--days", type=float, default=None, help="only the last N days (default: the whole log)")
    report.add_argument("--json", action="store_true", help="print the report as one JSON object")
    report.add_argument("--csv", type=Path, metavar="FILE", help="also write the log (asks joined with feedback) to FILE")
    report.set_defaults(run=_report)
    store = sub.add_parser("store", help="for operators: the question log (asks and feedback)")
    store_sub = store.add_subparsers(required=True, metavar="ACTION")
    recover = store_sub.add_parser("recover", help="merge the rows a damaged log (moved aside) still holds into "
                                                   "the current one, BOT_DB_PATH")
    recover.add_argument("damaged", type=Path, help="the *.damaged-<time> file the warning named")
    recover.set_defaults(run=_store_recover)
    copy = store_sub.add_parser("copy", help="copy every ask and rating from one log to another (e.g. SQLite to "
                                             "PostgreSQL); run it again and it adds only what is missing")
    copy.add_argument("--from", dest="source", required=True, metavar="URL",
                      help="the log to read: sqlite:///.data/bot.sqlite3 (a relative path) or sqlite:////abs/path")
    copy.add_argument("--to", dest="target", required=True, metavar="URL",
                      help="the log to write: postgresql://user:password@host:5432/db (created tables and all)")
    copy.set_defaults(run=_store_copy)
    forum = sub.add_parser("discourse", help="for admins: the bot on a Discourse forum (BOT_DISCOURSE_*)")
    forum_sub = forum.add_subparsers(required=True, metavar="ACTION")
    draft = forum_sub.add_parser("draft", help="print what the bot would post on an existing topic (read through "
                                               "the forum's API), without posting")
    draft.add_argument("topic", metavar="TOPIC_URL_OR_ID", help="e.g. 1234 or https://forum/t/why-1-m/1234")
    draft.set_defaults(run=_discourse_draft)
    serve = sub.add_parser("serve", help="start the HTTP API and link previews (FastAPI); docs at /docs")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1; 0.0.0.0: all)")
    serve.add_argument("--port", type=int, default=8000, help="port (default: 8000)")
    serve.add_argument("--workers", type=int, default=None,
                       help="model processes, each with its own model (~550 MB) on one core; questions that arrive "
                            "together are encoded as one batch (default: BOT_API_WORKERS, 0 = one per core)")
    serve.set_defaults(run=_serve)
    check = sub.add_parser("check-grads", help="check your backward pass: each dW, db against finite differences",
                           description="Runs FILE in the sandbox on a small seeded network (m = 7) and says, per "
                                       "gradient, OK or what is wrong (1/m, shapes, products). Exit 0 when every "
                                       "gradient is OK, 1 otherwise. Start from: python -m bot check-grads "
                                       "--template backward > my_backward.py")
    check.add_argument("file", nargs="?", type=Path, help="a Python file defining backward(X, Y, params, cache), "
                       "L_model_backward(AL, Y, caches) or linear_backward(dZ, cache); '-' reads standard input")
    check.add_argument("--template", choices=["backward", "assignment"], help="print a template to fill in and exit")
    check.add_argument("--json", action="store_true", help="print the report as one JSON object")
    check.set_defaults(run=_check_grads)
    return parser


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _bot(progress: bool = False, rebuild: bool = False) -> Any:
    """Load the Bot; with progress, say what the start is doing and show a bar while embedding."""
    if progress:
        print("loading the model and the index ...", file=sys.stderr, flush=True)
    from bot.answer import Bot  # heavy: imports torch and sentence-transformers

    if not progress:
        return Bot(rebuild=rebuild)
    tick, close = progress_bar(sys.stderr)
    try:
        return Bot(progress=tick, rebuild=rebuild)
    finally:
        close()


def progress_bar(stream: TextIO) -> tuple[Callable[[int, int], None], Callable[[], None]]:
    """A (tick, close) pair drawing "embedding the KB" on `stream`; the bar clears its line as soon as the last
    text is embedded, so a warning that follows (e.g. the index could not be saved) starts a line of its own."""
    from tqdm import tqdm

    bars: list[tqdm] = []

    def tick(done: int, total: int) -> None:
        if not bars:
            bars.append(tqdm(total=total, desc="embedding the KB", unit="text", file=stream, leave=False))
        bars[0].update(done - bars[0].n)
        if done >= total:
            bars[0].close()

    def close() -> None:
        for bar in bars:
            bar.close()

    return tick, close


def _ask(args: argparse.Namespace) -> int:
    if args.jsonl is not None:
        return _ask_jsonl(args)
    question = _stdin_text() if args.question == "-" else args.question
    if question is None:
        raise BadQuestion("no question given; usage: python -m bot ask \"your question\" (or - for stdin)")
    from bot.answer import check_question
    from bot.config import load_settings

    check_question(question, load_settings().max_question_chars)  # refuse bad input before the model loads
    answer = _bot(progress=True).ask(question, args.top_k, derive=args.json, context=_after(args))  # text: name only
    if args.json:
        print(json.dumps(answer.to_dict(), ensure_ascii=False))
    else:
        print(_render(answer))
    return 0


def _after(args: argparse.Namespace) -> Context | None:
    from bot.context import Context

    return Context(args.after) if args.after else None


def _line_context(row: dict[str, Any]) -> Context | None:
    """A --jsonl line's "context" object, as POST /v1/ask takes it; ValueError naming the field otherwise."""
    from bot.context import Context

    context = row.get("context")
    if context is None:
        return None
    if not isinstance(context, dict) or not isinstance(context.get("previous_entry_id"), str) \
            or not isinstance(context.get("previous_question", ""), str):
        raise ValueError("'context' must be an object like {\"previous_entry_id\": \"dz-output-derivation\"} "
                         "(with an optional string 'previous_question')")
    return Context(context["previous_entry_id"], context.get("previous_question", ""))


def _stdin_text() -> str:
    data = sys.stdin.buffer.read()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadQuestion(f"standard input is not UTF-8 text (byte 0x{data[exc.start]:02x} at byte {exc.start}); "
                          "save or paste the question as UTF-8") from None


def _ask_jsonl(args: argparse.Namespace) -> int:
    try:
        lines = args.jsonl.read_bytes().splitlines()
    except OSError as exc:
        raise BadQuestion(f"cannot read {args.jsonl}: {exc}") from None
    bot = _bot(progress=True)
    for number, raw in enumerate(lines, 1):
        if not raw.strip():
            continue
        try:
            line = raw.decode("utf-8")  # one line that is not UTF-8 is one error object, not the end of the run
            row = json.loads(line)
            question = row.get("question") if isinstance(row, dict) else None
            if not isinstance(question, str):
                raise ValueError("expected an object with a string field 'question'")
            out = bot.ask(question, args.top_k, context=_line_context(row) or _after(args)).to_dict()
        except json.JSONDecodeError as exc:
            out = {"line": number, "error": f"not valid JSON ({exc.msg} at column {exc.colno}); "
                                            "write one object per line, like {\"question\": \"...\"}"}
        except UnicodeDecodeError as exc:
            out = {"line": number, "error": f"not UTF-8 text (byte 0x{raw[exc.start]:02x} at byte {exc.start}); "
                                            "save the file as UTF-8"}
        except RecursionError:
            out = {"line": number, "error": "JSON nested too deep; write one flat object per line, like "
                                            "{\"question\": \"...\"}"}
        except (ValueError, BadQuestion) as exc:
            out = {"line": number, "error": str(exc)}
        print(json.dumps(out, ensure_ascii=False), flush=True)
    return 0


def _render(answer: Any) -> str:
    lines = []
    if answer.message and (not answer.candidates or answer.message == CODE_ONLY):  # the candidates say the rest
        lines += [answer.message, ""]
    if answer.candidates:
        lines += ["This may be one of these:"]
        for number, s in enumerate(answer.candidates, 1):
            lines += [f"  {number}. {s.title}  [{s.id}]", f"     {s.summary}", f"     {s.url}"]
        lines += ["", "The first one, in full:", ""]
    if answer.entry is not None:
        sure = "" if answer.ambiguous else f", {answer.entry_confidence:.0%} likely the entry you need"
        lines += [f"# {answer.entry.title}", f"({answer.answers[0].url}{sure})", "", answer.entry.body.rstrip(), ""]
        if answer.entry.derivation:
            lines += [f"Derivation: python -m bot derive {answer.entry.derivation}"]
        if answer.snippet:
            lines += [f"Check it numerically: python -m bot run {answer.entry.id}"]
        if answer.related:
            lines += ["", "Related:"] + [f"  - {s.title}  [{s.id}]" for s in answer.related]
        others = answer.answers[1:]
    else:
        others = answer.answers
    if others:
        lines += ["", "Nearest entries:" if answer.entry is None else "Other matches:"]
        lines += [f"  - {s.title}  [{s.id}] ({s.score:.2f})" for s in others]
    return "\n".join(lines).rstrip()


def _build(args: argparse.Namespace) -> int:
    start = time.perf_counter()
    if args.if_stale:  # decided from the manifest and the files: loading the model would cost more than the check
        from bot.config import load_settings, writable_cache
        from bot.retrieval.corpus import is_current
        from bot.retrieval.embed import needs_export
        from bot.retrieval.kb import load_kb

        settings = load_settings()
        kb, cache = load_kb(settings.kb_dir), writable_cache(settings.cache_dir)
        if is_current(kb, cache, settings.model) and not needs_export(settings.model, settings.embed_backend, cache):
            print(f"index is current: {len(kb.entries)} entries, model {settings.model}, in {cache} "
                  f"({time.perf_counter() - start:.1f} s)")
            return 0
    bot = _bot(progress=True, rebuild=not args.if_stale)
    print(f"index ready: {len(bot.kb.entries)} entries ({len(bot.retriever.docs)} texts), model {bot.embedder.name}, "
          f"in {bot.cache} ({time.perf_counter() - start:.1f} s)")
    return 0


def _validate(args: argparse.Namespace) -> int:
    from bot.config import load_settings
    from bot.retrieval.kb import validate_kb

    settings = load_settings()
    problems = validate_kb(settings.kb_dir)
    for problem in problems:
        print(problem)
    if not problems:
        print(f"{settings.kb_dir}: OK")
    return 1 if problems else 0


def _run(args: argparse.Namespace) -> int:
    from bot.config import load_settings, sandbox_limits
    from bot.proofs.sandbox import run_code
    from bot.retrieval.kb import load_kb

    settings = load_settings()
    if args.file is not None:
        try:
            code = args.file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise BadQuestion(f"cannot read {args.file}: {exc}") from None
    else:
        entry = load_kb(settings.kb_dir).get(args.entry)
        if entry.snippet_code is None:
            raise BadQuestion(f"entry {entry.id!r} has no snippet; `python -m bot list` shows the entries")
        code = entry.snippet_code
    result = run_code(code, sandbox_limits(settings), settings.sandbox_isolation, curated=args.file is None)
    for stream, output in ((sys.stdout, result.stdout), (sys.stderr, result.stderr)):
        shown = visible(output)
        stream.write(shown + ("\n" if shown and not shown.endswith("\n") else ""))  # the verdict starts a line
        stream.flush()
    print(f"[{'ok' if result.ok else 'failed'}: {result.message}; sandbox: {result.isolation}]", file=sys.stderr)
    return 0 if result.ok else 1


# Escape sequences (clear screen, window title, cursor moves), carriage returns and bidirectional overrides would let
# a snippet repaint the terminal; tabs and newlines are the only controls that pass.
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_FORGED_VERDICT = re.compile(r"^(?=\[(?:ok|failed):)", re.MULTILINE)


def visible(output: str) -> str:
    """A snippet's output safe for a terminal: controls shown as \\xNN / \\uNNNN, a line that starts like the
    verdict (`[ok:` or `[failed:`) shown with a leading backslash, so the real verdict is the only one."""
    shown = _CONTROLS.sub(lambda m: f"\\x{ord(m[0]):02x}" if ord(m[0]) < 0x100 else f"\\u{ord(m[0]):04x}", output)
    return _FORGED_VERDICT.sub("\\\\", shown)


def _derive(args: argparse.Namespace) -> int:
    from bot.proofs.derive import NAMES, derive

    if args.name is None:
        print("\n".join(NAMES))
        return 0
    try:
        derivation = derive(args.name, activation=args.activation, loss=args.loss, layer=args.layer)
    except ValueError as exc:
        raise BadQuestion(str(exc)) from None
    print(json.dumps(derivation.to_dict(), ensure_ascii=False) if args.json else derivation.to_markdown())
    return 0


def _list(args: argparse.Namespace) -> int:
    from bot.config import load_settings
    from bot.retrieval.kb import load_kb

    for entry in load_kb(load_settings().kb_dir).entries:
        print(f"{entry.id:32} {','.join(entry.topics):48} {entry.title}")
    return 0


def _eval(args: argparse.Namespace) -> int:
    from bot.evaluate import evaluate, read_cases, render

    try:
        sets = [(path, read_cases(path)) for path in args.files]
    except (OSError, ValueError) as exc:
        raise BadQuestion(str(exc)) from None
    bot = _bot(progress=True)
    for n, (path, cases) in enumerate(sets):
        print(("\n" if n else "") + render(evaluate(cases, bot.ask, bot.kb), str(path), args.misses, args.confusions))
    return 0


def _report(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from bot.config import load_settings
    from bot.mentors.insights import build_report, render
    from bot.mentors.store import open_store, store_url
    from bot.retrieval.kb import load_kb

    if args.days is not None and args.days <= 0:
        raise BadQuestion(f"--days must be a positive number of days, got {args.days}")
    settings = load_settings()
    if not settings.db_url and not settings.db_path.exists():
        print(f"no questions logged yet: {settings.db_path} does not exist (BOT_DB_PATH; the chat creates it)")
        return 0
    store, since = open_store(store_url(settings)), time.time() - args.days * 86400 if args.days else None
    report = build_report(store, load_kb(settings.kb_dir), _bot, since)  # the model loads only if there is a group
    if args.csv is not None:
        try:
            with args.csv.open("w", newline="", encoding="utf-8") as out:
                print(f"wrote {store.export_csv(out, since)} rows to {args.csv}", file=sys.stderr)
        except OSError as exc:
            raise BadQuestion(f"cannot write {args.csv}: {exc.strerror}") from None
    print(json.dumps(asdict(report), ensure_ascii=False) if args.json else render(report))
    return 0


def _store_recover(args: argparse.Namespace) -> int:
    from bot.config import load_settings
    from bot.mentors.store import open_store, store_url

    if not args.damaged.is_file():
        raise BadQuestion(f"{args.damaged} is not a file; give the *.damaged-<time> path the warning named")
    store = open_store(store_url(load_settings()))
    counts = store.recover(args.damaged)
    print(f"recovered {counts['asks']} asks and {counts['feedback']} ratings from {args.damaged} into {store.where}; "
          f"the file is now {args.damaged}.recovered")
    return 0


def _discourse_draft(args: argparse.Namespace) -> int:
    from bot.config import load_settings
    from bot.serve import discourse

    topic_id = discourse.topic_id_from(args.topic)  # refuse a bad argument before the model loads
    line, made = discourse.preview(_bot(progress=True), load_settings(), topic_id)
    print(line, file=sys.stderr)
    if made.markdown is not None:
        print(made.markdown, end="")
    return 0


def _store_copy(args: argparse.Namespace) -> int:
    from bot.mentors.store import open_store, redact

    if args.source.startswith("sqlite:///") and not Path(args.source[len("sqlite:///"):]).is_file():
        raise BadQuestion(f"--from {args.source}: no such file; give the log to copy, e.g. sqlite:///.data/bot.sqlite3")
    if args.source == args.target:
        raise BadQuestion(f"--from and --to are the same log ({redact(args.source)}); give two different ones")
    source, target = open_store(args.source), open_store(args.target)
    counts = source.copy_to(target)
    print(f"copied {counts['asks']} asks and {counts['feedback']} ratings from {source.where} to {target.where} "
          f"({counts['asks_there']} asks and {counts['feedback_there']} ratings were already there); "
          f"{target.where} now holds {target.count('asks')} asks and {target.count('feedback')} ratings")
    return 0


def _serve(args: argparse.Namespace) -> int:
    import os

    from bot.config import load_settings, localhost_warning
    from bot.retrieval.kb import load_kb

    if (args.workers is not None and args.workers < 0) or not 0 < args.port < 65536:
        raise BadQuestion(f"--workers must be >= 0 (0 = one per core) and --port 1..65535, got {args.workers} and "
                          f"{args.port}")
    settings = load_settings(**({} if args.workers is None else {"api_workers": args.workers}))
    load_kb(settings.kb_dir)  # a broken KB stops here with its problems, before any model process starts
    if warning := localhost_warning(settings):
        print(f"warning: {warning}", file=sys.stderr)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")  # the sandbox forks; tokenizers warns after a fork
    import uvicorn
    from uvicorn.config import LOGGING_CONFIG

    from bot.serve.api import app_from_env

    logs = {**LOGGING_CONFIG, "loggers": {**LOGGING_CONFIG["loggers"],  # bot.*'s start-up and errors, as uvicorn's
                                          "bot": {"handlers": ["default"], "level": "INFO", "propagate": False}}}
    # bounded: connections held open (a slow client's are closed by the app's body timeout) and a SIGTERM's wait
    uvicorn.run(app_from_env(settings), host=args.host, port=args.port, log_config=logs,
                limit_concurrency=settings.api_max_connections,
                timeout_graceful_shutdown=max(1, round(settings.api_shutdown_timeout_s)))
    return 0


def _check_grads(args: argparse.Namespace) -> int:
    from bot.config import load_settings, sandbox_limits
    from bot.lab.check import check_code
    from bot.lab.templates import TEMPLATES

    if args.template:
        print(TEMPLATES[args.template], end="")
        return 0
    if args.file is None:
        raise BadQuestion("no file given; usage: python -m bot check-grads FILE (or --template backward)")
    try:
        code = sys.stdin.read() if str(args.file) == "-" else args.file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise BadQuestion(f"cannot read {args.file}: {exc}") from None
    settings = load_settings()
    report = check_code(code, sandbox_limits(settings), settings.sandbox_isolation)
    if report.failure is not None and report.failure.kind == "input":
        raise BadQuestion(f"{args.file}: {report.failure.message}")
    print(json.dumps(report.to_dict(), ensure_ascii=False) if args.json else visible(report.to_text(settings.public_url)))
    return 0 if report.ok else 1
