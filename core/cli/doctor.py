"""`supporthub doctor`: a live check of everything the hub depends on, before going live.

One check per dependency, all at once, each within a timeout: the database (it answers; the
schema's revision against the newest migration), the vector index (reachable, not empty), the
embedding model (loads offline, encodes), every configured channel (its `check()`: Slack
auth.test, Telegram getMe, Twilio's account, the SMTP and IMAP logins) and the LLM (its models
endpoint lists the configured model). Nothing is written: no probe row, no migration.

Each result is one line, OK or FAIL with the reason (WARN for what a support lead must know
but is no failure: no staff desk), and the exit status is 1 when any check failed. A reason
never carries a secret: a channel's `CheckFailed` is written without one,
any other exception is shown as its type and first line only, and every line is masked as the
log is (`core.ops.logs`: the settings' secrets, a Telegram token in a URL), since a library's
message may quote a URL with a token in it.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit

from sqlalchemy import func, inspect, select, text
from sqlalchemy.engine import Connection, make_url

from core.action_settings import ActionSettings, host_entry
from core.channel import Channel, CheckableChannel, CheckFailed
from core.handoff.reach import where_to_reach
from core.ops.logs import SecretMask
from core.ops.runtime import desks
from core.pipeline.hub_gate import HubGate
from core.registry import load_channels
from core.settings import LlmSettings, Settings
from core.store.db import MIGRATIONS_DIR, StaffMember, make_engine
from knowledge.settings import KnowledgeSettings

T = TypeVar("T")

MODEL_TIMEOUT_S = 60.0
"""The model's check is local CPU work, not a network call: loading all-MiniLM-L6-v2 took
8 s on 2 cores (importing torch), so it gets at least this long whatever `--timeout` says."""
REASON_MAX_CHARS = 200
PROBE_SENTENCE = "How do I reset my password?"


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    run: Callable[[], Awaitable[str]]
    """Returns what it verified, in one line; raises `CheckFailed` (or anything) on failure."""
    timeout_s: float


@dataclass(frozen=True, slots=True)
class Outcome:
    name: str
    status: str  # OK | FAIL | SKIP | WARN
    detail: str


# -- the checks ----------------------------------------------------------------------------


async def check_database(settings: Settings) -> str:
    """SELECT 1 and the schema's Alembic revision; read-only (serve applies pending migrations)."""
    url = make_url(settings.resolved_database_url)
    if url.get_backend_name() == "sqlite":
        where = url.database or ":memory:"
        if url.database and url.database != ":memory:" and not Path(url.database).exists():
            return f"sqlite: no database at {where} yet (serve creates it)"
    else:
        where = f"{url.host or 'localhost'}:{url.port or 'default port'}/{url.database or ''}"
    engine = make_engine(settings.resolved_database_url, settings.postgres)
    try:
        async with engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
            current = await connection.run_sync(_current_revision)
            version = ".".join(str(part) for part in connection.dialect.server_version_info or ())
    finally:
        await engine.dispose()
    return f"{url.get_backend_name()} {version} at {where}, {schema_state(current)}"


def _current_revision(connection: Connection) -> str | None:
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(connection).get_current_revision()


def schema_state(current: str | None) -> str:
    """Where the schema stands against this version's migrations; CheckFailed for a revision
    this version does not know (a newer supporthub migrated the database)."""
    from alembic.script import ScriptDirectory
    from alembic.script.revision import ResolutionError

    script = ScriptDirectory(str(MIGRATIONS_DIR))
    head = ", ".join(script.get_heads())
    if current is None:
        return f"no schema yet (serve creates it at revision {head})"
    try:
        pending = len(list(script.iterate_revisions("heads", current)))
    except ResolutionError:
        raise CheckFailed(
            f"schema at revision {current}, which this supporthub does not know "
            f"(its newest is {head}): was it migrated by a newer version?"
        ) from None
    if not pending:
        return f"schema at revision {current} (up to date)"
    return f"schema at revision {current}, {pending} migration(s) to {head} pending (serve applies them)"


def count_chunks(knowledge: KnowledgeSettings, data_dir: Path) -> str:
    """The Chroma collection answers and holds chunks (blocking: run it in a thread)."""
    from knowledge.search.index import DenseStore

    if knowledge.chroma_url:
        where = f"the Chroma server {without_credentials(knowledge.chroma_url)}"
    else:
        folder = (data_dir / "chroma").resolve()
        where = str(folder)
        if not folder.is_dir():
            raise CheckFailed(
                f"no index in {folder}: run supporthub reindex, or run doctor where the hub runs "
                "(or with SUPPORTHUB_DATA_DIR set to its data dir)"
            )
    store = DenseStore.open(chroma_url=knowledge.chroma_url, data_dir=data_dir, collection=knowledge.collection)
    chunks = store.count()
    if chunks == 0:
        raise CheckFailed(f"collection {knowledge.collection!r} in {where} is empty: run supporthub reindex")
    return f"{chunks:,} chunks in collection {knowledge.collection!r} in {where}"


def load_model(knowledge: KnowledgeSettings) -> str:
    """Load the embedding model offline and encode one sentence (blocking: run it in a thread)."""
    from knowledge.embedding.embedder import Embedder

    started = time.monotonic()
    embedder = Embedder.load(knowledge, serving=True)  # as `serve` runs it
    vectors = embedder.encode([PROBE_SENTENCE])
    if vectors.shape != (1, embedder.dim):
        raise CheckFailed(f"encoding a sentence gave an array of shape {vectors.shape}, not (1, {embedder.dim})")
    name = knowledge.model or "all-MiniLM-L6-v2 (bundled)"
    return (
        f"{name}: {embedder.dim} dimensions on {embedder.model.runtime}, loaded and encoded a sentence "
        f"in {time.monotonic() - started:.1f} s"
    )


async def check_llm(llm: LlmSettings) -> str:
    """The models endpoint answers with the key, and lists the configured model."""
    from openai import APIStatusError, AsyncOpenAI

    key = llm.api_key.get_secret_value() if llm.api_key is not None else ""
    where = without_credentials(llm.base_url) if llm.base_url else "api.openai.com"
    client = AsyncOpenAI(
        base_url=llm.base_url or None, api_key=key or "not-needed", timeout=llm.timeout_s, max_retries=0
    )
    try:
        models = [model.id async for model in client.models.list()]
    except APIStatusError as exc:  # its message may quote the key back: only the status and code
        code = f" {exc.code or exc.type}" if exc.code or exc.type else ""
        raise CheckFailed(f"{where}: GET /models: HTTP {exc.status_code}{code}") from None
    finally:
        await client.close()
    if llm.model not in models:
        listed = ", ".join(sorted(models)[:5]) + (", …" if len(models) > 5 else "")
        raise CheckFailed(f"{where}: model {llm.model!r} is not among the {len(models)} it lists ({listed})")
    return f"{where}: model {llm.model!r} is available ({len(models)} models listed)"


async def check_action(actions: ActionSettings, name: str) -> str:
    """The action's endpoint answers through the same safe client the bot uses: its host is
    listed, resolves to an address it may use, and answers the fixed part of its URL with the
    action's headers. Any answer counts but a refusal of the credentials or a server error: the
    check cannot know a real order number, so a 404 or 405 there still shows the way is open. A
    header's secret unset in the environment fails the line, naming the variable: the hub starts
    without it, and every call of the action fails until it is set."""
    from core.answering.actions.calls import ActionFailed, ActionRequest
    from core.answering.actions.catalog import Action, MissingSecret
    from core.answering.actions.http_call import SafeHttp

    action = Action(name, actions.declared[name])
    declaration = action.declaration
    if host_entry(declaration.url) is None:
        raise Skipped("its host is a placeholder, so there is nothing fixed to try")
    base = declaration.url.split("{", 1)[0].split("?", 1)[0]
    try:
        headers = action.headers()
    except MissingSecret as unset:
        raise CheckFailed(f"{unset}: every call of this action fails until it is set") from None
    http = SafeHttp(actions)
    try:
        answer = await http.send(ActionRequest("GET", base, headers), timeout_s=declaration.timeout_s)
        status = answer.status
    except ActionFailed as failed:
        if failed.status is None or not failed.kind.startswith("http_"):
            raise CheckFailed(str(failed)) from None
        status = failed.status
    finally:
        await http.aclose()
    where = urlsplit(base)
    shown = f"{where.scheme}://{where.netloc}{where.path}"
    if status in (401, 403):
        raise CheckFailed(f"GET {shown} answered HTTP {status}: check the credentials in its headers")
    if status >= 500:
        raise CheckFailed(f"GET {shown} answered HTTP {status}")
    return f"GET {shown} answered HTTP {status}"


def channel_checks(settings: Settings, timeout_s: float) -> list[Check]:
    """Every configured channel's own check; one failing line when they cannot be loaded."""
    try:
        channels = load_channels(settings, HubGate().port)  # never opened: a check asks the platform only
    except Exception as exc:  # noqa: BLE001 — an unknown or misconfigured channel, a broken plugin
        return [Check("channels", _failing(describe(exc)), timeout_s)]
    return [
        *(
            Check(name, channel.check if isinstance(channel, CheckableChannel) else _skipped, timeout_s)
            for name, channel in channels.items()
        ),
        Check("desk", desk_check(settings, channels), timeout_s),
    ]


class Skipped(Exception):
    """A check that cannot be made (a channel without `check()`): reported, not failed."""


class Warned(Exception):
    """Nothing failed, but something a support lead must know: reported as WARN, not failed."""


def desk_check(settings: Settings, channels: Mapping[str, Channel]) -> Callable[[], Awaitable[str]]:
    """Whether a customer handed over can reach a person: a staff desk is set up (Slack's, or
    the inbox with someone on the staff who has joined)."""

    async def check() -> str:
        found = desks(channels)
        if found:
            return f"the {found[0][0]} staff desk takes the conversations handed over"
        told = where_to_reach(settings.handoff, now=datetime.now(UTC))
        if settings.admin.token is not None:
            people = await _inbox_people(settings)
            if people:
                return f"the inbox at /admin/inbox takes the conversations handed over ({people} on the staff)"
            raise Warned(
                f"the inbox has nobody to answer (supporthub staff invite EMAIL); customers needing a person read {told!r}"
            )
        raise Warned(
            "no staff desk (set slack.staff_channel, or admin.token and supporthub staff invite); "
            f"customers needing a person read {told!r}"
        )

    return check


async def _inbox_people(settings: Settings) -> int:
    """How many people on the staff can answer in the inbox; 0 before the database exists."""
    engine = make_engine(settings.resolved_database_url, settings.postgres)
    try:
        async with engine.connect() as connection:
            if not await connection.run_sync(lambda sync: inspect(sync).has_table("staff")):
                return 0
            found = await connection.execute(
                select(func.count()).where(StaffMember.password_hash.is_not(None), StaffMember.removed_at.is_(None))
            )
            return int(found.scalar_one())
    finally:
        await engine.dispose()


async def _skipped() -> str:
    raise Skipped("no live check: the channel has no check()")


def _failing(reason: str) -> Callable[[], Awaitable[str]]:
    async def fail() -> str:
        raise CheckFailed(reason)

    return fail


def all_checks(settings: Settings, timeout_s: float) -> list[Check]:
    checks = [
        Check("database", partial(check_database, settings), timeout_s),
        Check(
            "index", partial(in_daemon_thread, partial(count_chunks, settings.knowledge, settings.data_dir)), timeout_s
        ),
        Check(
            "model", partial(in_daemon_thread, partial(load_model, settings.knowledge)), max(timeout_s, MODEL_TIMEOUT_S)
        ),
        *channel_checks(settings, timeout_s),
    ]
    if settings.llm.enabled:
        checks.append(Check("llm", partial(check_llm, settings.llm), timeout_s))
    checks += [
        Check(f"action:{name}", partial(check_action, settings.actions, name), timeout_s)
        for name in settings.actions.declared
    ]
    return checks


# -- running them --------------------------------------------------------------------------


async def in_daemon_thread(work: Callable[[], T]) -> T:
    """`work` in a daemon thread: one still blocked when its check times out (a Chroma server
    that never answers) does not keep the command from exiting, as an executor's thread would."""
    done: concurrent.futures.Future[T] = concurrent.futures.Future()

    def run() -> None:
        if not done.set_running_or_notify_cancel():  # timed out before it began
            return
        try:  # from here on a timeout abandons the work: the result is dropped
            done.set_result(work())
        except Exception as exc:  # noqa: BLE001 — handed to the awaiting check
            done.set_exception(exc)

    threading.Thread(target=run, name="doctor-check", daemon=True).start()
    return await asyncio.wrap_future(done)


async def run_checks(checks: Sequence[Check], secrets: Iterable[str]) -> AsyncIterator[Outcome]:
    """Start every check at once; yield their outcomes in the order given, as each is known."""
    mask = SecretMask(set(secrets))
    tasks = [asyncio.create_task(_outcome(check, mask), name=f"doctor-{check.name}") for check in checks]
    try:
        for task in tasks:
            yield await task
    finally:
        for task in tasks:
            task.cancel()


async def _outcome(check: Check, mask: SecretMask) -> Outcome:
    status = "FAIL"
    try:
        async with asyncio.timeout(check.timeout_s):
            detail = await check.run()
        status = "OK"
    except TimeoutError:
        detail = f"no answer within {check.timeout_s:g} s"
    except CheckFailed as exc:
        detail = str(exc)
    except Skipped as exc:
        status, detail = "SKIP", str(exc)
    except Warned as exc:
        status, detail = "WARN", str(exc)
    except Exception as exc:  # noqa: BLE001 — any failure is this check's FAIL line
        detail = describe(exc)
    return Outcome(check.name, status, one_line(mask.mask(detail)))


def describe(exc: BaseException) -> str:
    """An unexpected exception as its type and first line; for SQLAlchemy's wrapper, the
    driver's own error (asyncpg's sits under SQLAlchemy's adapter)."""
    orig = getattr(exc, "orig", None)
    cause = (orig.__cause__ or orig) if isinstance(orig, BaseException) else exc
    lines = str(cause).strip().splitlines()
    return f"{type(cause).__name__}: {lines[0]}" if lines else type(cause).__name__


def where_it_looks(settings: Settings) -> str:
    """The folders a relative setting is read against: run from another folder, doctor checks
    another data dir, and says so."""
    return f"checking from {Path.cwd()}: data dir {settings.data_dir.resolve()}"


def one_line(detail: str) -> str:
    detail = " ".join(detail.split())
    return detail if len(detail) <= REASON_MAX_CHARS else detail[: REASON_MAX_CHARS - 1] + "…"


def without_credentials(url: str) -> str:
    parts = urlsplit(url)
    host = parts.hostname or ""
    return f"{parts.scheme}://{host}{f':{parts.port}' if parts.port else ''}{parts.path.rstrip('/')}"
