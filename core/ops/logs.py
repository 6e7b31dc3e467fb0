"""Logging for every command: one handler on the root logger renders our standard-library
log calls and every library's alike — JSON lines for a log collector or text for people —
with the ids bound in contextvars (`core.log_context`), and masks every secret of the
settings in the rendered line.

structlog rather than the standard library alone: its `ProcessorFormatter` gives foreign
(library) records the same processors as ours, `merge_contextvars` carries the ids through
tasks and threads, and the JSON and console renderers are kept by others. The codebase keeps
calling `logging.getLogger(__name__).info("… %s", x)`: nothing else needs to know structlog.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Iterable, Iterator
from types import TracebackType
from urllib.parse import unquote, urlsplit

import structlog
from pydantic import BaseModel, SecretStr
from structlog.typing import EventDict, Processor, WrappedLogger

from core.settings import Settings

HANDLER_NAME = "supporthub"
NOISY = (
    "httpx",
    "httpx2",
    "telegram",
    "twilio",
    "mail.log",
    "aioimaplib",
    "openai",
    "chromadb",
    "sentence_transformers",
    "apscheduler",
    "alembic",
    "bm25s",
    "httpcore",
    "httpcore2",
    "markdown_it",
)
"""Held at WARNING even at DEBUG: httpx (and httpx2, under openai) logs every request's URL and
python-telegram-bot's debug lines show the API URL, both holding the Telegram bot token; the
rest are chatty (markdown_it logs every rule it tries on every reply).
(aiohttp's access log is not among them: `core.log_context.AccessLogger` writes it, without
query strings.)"""
OWN = frozenset({"core", "channels", "handoff", "knowledge", "supporthub", "aiohttp.access"})
"""Loggers logged at `log.level`: ours, and the access log (`core.log_context.AccessLogger`).
Every other library's lines show from WARNING up unless `log.level` is DEBUG: at INFO, faiss
announces which CPU build it tried on every command and bm25s (which sets its own logger's
level) said "Building index from tokens" as a debug line."""
MIN_SECRET_LENGTH = 6
"""Shorter values would mask ordinary words; a secret that short protects nothing anyway."""
MASK = "***"
TELEGRAM_TOKEN_IN_URL = re.compile(r"\bbot\d+:[A-Za-z0-9_-]+")
"""Bot API and file URLs carry the token as `/bot<digits>:<secret>/` (even one not in the
settings, such as a token that was just replaced)."""


def configure_logging(settings: Settings) -> None:
    """Send every log record to stderr, as `settings.log` says; calling it again replaces the
    handler it installed before (and leaves other handlers, such as pytest's, alone)."""
    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer: list[Processor] = (
        [structlog.processors.format_exc_info, structlog.processors.JSONRenderer()]
        if wants_json(settings)
        else [
            structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty(), exception_formatter=structlog.dev.plain_traceback)
        ]
    )
    # plain_traceback, not rich's: rich shows every frame's local variables, secrets included.
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            *renderer,
            SecretMask(settings_secrets(settings)),
        ],
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.set_name(HANDLER_NAME)
    handler.setFormatter(formatter)
    handler.setLevel(settings.log.level)  # a library that sets its own logger's level stays under it
    handler.addFilter(LibraryLevel(logging.getLevelName(settings.log.level)))
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.name == HANDLER_NAME]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(settings.log.level)
    logging.captureWarnings(True)  # a library's warning is a log line too, not a stray stderr line
    sys.excepthook = log_uncaught  # and so is a crash's traceback: masked, and JSON when asked
    for noisy in NOISY:
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLevelName(settings.log.level)))


class LibraryLevel(logging.Filter):
    """Holds other libraries' lines at WARNING (see `OWN`), and the `NOISY` ones at WARNING even
    at DEBUG."""

    def __init__(self, level: int) -> None:
        super().__init__()
        self.level = level

    def filter(self, record: logging.LogRecord) -> bool:
        if _within(record.name, OWN):
            return True
        floor = logging.WARNING if self.level > logging.DEBUG or _within(record.name, NOISY) else self.level
        return record.levelno >= floor


def _within(name: str, families: Iterable[str]) -> bool:
    return any(name == family or name.startswith(family + ".") for family in families)


def log_uncaught(kind: type[BaseException], value: BaseException, traceback: TracebackType | None) -> None:
    if issubclass(kind, KeyboardInterrupt):
        sys.__excepthook__(kind, value, traceback)
        return
    logging.getLogger("supporthub").critical("supporthub stopped: an uncaught error", exc_info=(kind, value, traceback))


def wants_json(settings: Settings) -> bool:
    return settings.log.format == "json" or (settings.log.format == "auto" and not sys.stderr.isatty())


def settings_secrets(settings: Settings) -> set[str]:
    """Every secret value of the settings long enough to mask: each `SecretStr`, and the
    password of any URL setting (`database_url`, `redis_url`…), as written and decoded."""
    found = set()
    for value in _leaves(settings):
        if isinstance(value, SecretStr):
            found.add(value.get_secret_value())
        elif isinstance(value, str) and "://" in value:
            try:
                password = urlsplit(value).password
            except ValueError:  # not a URL after all
                continue
            if password:
                found.update({password, unquote(password)})
    return {secret for secret in found if len(secret) >= MIN_SECRET_LENGTH}


def _leaves(value: object) -> Iterator[object]:
    if isinstance(value, BaseModel):
        for name in type(value).model_fields:
            yield from _leaves(getattr(value, name))
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _leaves(item)
    else:
        yield value


class SecretMask:
    """The last processor: replaces each secret, and Telegram tokens in URLs, with `***` in
    the rendered line, tracebacks included — a safety net under every log call, whatever
    fails and whichever library logs it. A secret is masked as written, as JSON escapes it
    and as `repr` does (the text renderer shows values inside lists and dicts that way)."""

    def __init__(self, secrets: set[str]) -> None:
        forms = {form for secret in secrets for form in (secret, json.dumps(secret)[1:-1], repr(secret)[1:-1])}
        longest_first = sorted(forms, key=len, reverse=True)  # a secret may contain another
        self._secrets = re.compile("|".join(map(re.escape, longest_first))) if forms else None

    def __call__(self, logger: WrappedLogger, method_name: str, line: EventDict | str) -> str:
        if not isinstance(line, str):
            raise TypeError("SecretMask must come after the renderer")
        return self.mask(line)

    def mask(self, text: str) -> str:
        if self._secrets is not None:
            text = self._secrets.sub(MASK, text)
        return TELEGRAM_TOKEN_IN_URL.sub(f"bot{MASK}", text)
