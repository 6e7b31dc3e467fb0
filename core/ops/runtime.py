"""Wiring, once: database, knowledge base, agent and hub for a set of channels.

The server and the CLI's `ask`/`chat` share it, so every answer takes the same path.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from functools import partial

from aiohttp import web
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session

from core.answering.actions.flow import Actions
from core.answering.agent import Agent
from core.answering.attachments import AttachmentReader
from core.answering.language import load_detector
from core.answering.llm_responder import LlmResponder
from core.answering.sentiment import SentimentAnalyzer
from core.channel import Channel
from core.desk_port import DeskPort, StaffMail
from core.handoff.customer_cases import StoredCaseBook
from core.handoff.desk import StaffDesk
from core.handoff.hours import Sla
from core.handoff.reach import where_to_reach
from core.handoff.translations import StaffTranslations
from core.handoff.waiting import WaitingMail
from core.languages import use_catalogs
from core.ops.reindex_process import ReindexRunner
from core.pipeline.hub import Hub
from core.pipeline.hub_gate import HubGate
from core.pipeline.notifications import MessageListener
from core.pipeline.staffing import Staffing
from core.pipeline.storage import Storage
from core.pipeline.turn_runner import TurnRunner
from core.rate_limits import RateLimits, sessions_per_ip
from core.settings import Settings
from core.store.action_calls import StoredActionPorts
from core.store.calibrations import CalibrationCache
from core.store.contacts import dialect_insert
from core.store.db import HealthProbe, libpq_url, make_engine, make_sessionmaker, own_backends, prepare_database, utcnow
from core.store.staff import has_active_staff, public_base
from core.store.transactions import Transactions, transactions_for
from knowledge.base import KnowledgeBase

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Runtime:
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    knowledge: KnowledgeBase
    transactions: Transactions
    storage: Storage
    hub: Hub
    reindexer: ReindexRunner
    """The scheduler's and the dashboard's re-index runs, in a child process."""
    calibration: CalibrationCache
    """The operator's calibration of the answer bar, as this process last read it."""
    waiting_mail: WaitingMail | None = None
    """Mails the staff about cases waiting with nobody signed in (`core.handoff.waiting`); None
    without a channel that can mail (`StaffMail`) or with `handoff.mail_waiting_after_minutes` 0."""

    async def database_problem(self) -> str | None:
        """Why the database cannot answer a query or take a write; None when it can."""
        try:
            async with asyncio.timeout(PROBE_TIMEOUT_S), self.engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
        except TimeoutError:  # a stalled server, or every pooled connection waiting on one
            return f"the database did not answer within {PROBE_TIMEOUT_S:g} s"
        except Exception as exc:  # noqa: BLE001 — any failure means "not ready"; the probe says which
            return f"the database does not answer ({type(exc).__name__}: {exc})"
        try:
            async with asyncio.timeout(PROBE_TIMEOUT_S):
                await self.transactions.run(write_probe)
        except TimeoutError:
            return f"the database did not take a write within {PROBE_TIMEOUT_S:g} s (locked by another process?)"
        except Exception as exc:  # noqa: BLE001
            cause = exc.__cause__ or exc
            return f"the database cannot write ({type(cause).__name__}: {getattr(cause, 'orig', None) or cause})"
        return None


PROBE_TIMEOUT_S = 2.0
"""Longer than an orchestrator's probe would wait; a database this slow is not ready."""
ACTION_PHRASINGS_BATCH = 32
"""Texts encoded at once for the actions' example phrasings (a few dozen, once)."""


def write_probe(session: Session) -> None:
    """Rewrite the probe's row: a write that needs the lock and disk space any message does."""
    statement = dialect_insert(session)(HealthProbe).values(id=1, written_at=utcnow())
    session.execute(statement.on_conflict_do_update(index_elements=["id"], set_={"written_at": utcnow()}))


@asynccontextmanager
async def open_knowledge(settings: Settings) -> AsyncIterator[KnowledgeBase]:
    """The knowledge base alone, as the knowledge commands and re-index runs use it: the model
    loaded when a run has something to embed, on PyTorch for a big run and on ONNX Runtime for a
    small one or a search (`KnowledgeBase.open`, `knowledge.embedding.embedder.SMALL_RUN_TEXTS`)."""
    async with open_database(settings) as (_, sessionmaker):
        knowledge = await asyncio.to_thread(
            partial(KnowledgeBase.open, settings.knowledge, data_dir=settings.data_dir, sessionmaker=sessionmaker)
        )
        try:
            if settings.knowledge.chroma_url:
                await knowledge.catch_up()  # another host may have re-indexed the shared server
            yield knowledge
        finally:
            await knowledge.aclose()


@asynccontextmanager
async def open_database(settings: Settings) -> AsyncIterator[tuple[AsyncEngine, async_sessionmaker[AsyncSession]]]:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.resolved_database_url, settings.postgres)
    try:
        await prepare_database(engine)
        yield engine, make_sessionmaker(engine)
    finally:
        await engine.dispose()


def running(request: web.Request, key: web.AppKey[Runtime]) -> Runtime:
    """The application's runtime for a request; 503 while the hub is still starting (the
    runtime opens after the application is built)."""
    runtime = request.config_dict.get(key)
    if runtime is None:
        raise web.HTTPServiceUnavailable(text="supporthub is still starting; try again in a moment\n")
    return runtime


def desk_port(channels: Mapping[str, Channel]) -> DeskPort | None:
    """The first channel that can hold the staff desk and is configured to (Slack with a staff
    channel); None without: cases are then kept for `supporthub cases` and the API."""
    return next((c for _, c in desks(channels)), None)


def waiting_mail(settings: Settings, transactions: Transactions, channels: Mapping[str, Channel]) -> WaitingMail | None:
    """The job that mails the staff about waiting cases, through the first channel that can mail."""
    mail = next((channel for channel in channels.values() if isinstance(channel, StaffMail)), None)
    minutes = settings.handoff.mail_waiting_after_minutes
    if mail is None or not minutes:
        return None
    base = public_base(settings)
    return WaitingMail(
        transactions, mail, after=timedelta(minutes=minutes), case_url=lambda case_id: f"{base}/admin/inbox/{case_id}"
    )


def desks(channels: Mapping[str, Channel]) -> list[tuple[str, DeskPort]]:
    """The channels that hold a staff desk as configured, by name, in order."""
    return [(name, c) for name, c in channels.items() if isinstance(c, DeskPort) and c.desk_ready]


def staff_desk(
    transactions: Transactions,
    channels: Mapping[str, Channel],
    *,
    sla: Sla,
    survey: bool = True,
    translations: StaffTranslations | None = None,
) -> StaffDesk | None:
    port = desk_port(channels)
    if port is None:
        return None
    push = frozenset(name for name, channel in channels.items() if channel.capabilities.push)
    return StaffDesk(
        transactions=transactions,
        port=port,
        note_prefix=port.note_prefix,
        push=push,
        sla=sla,
        survey=survey,
        translations=translations,
    )


def message_listener(engine: AsyncEngine, hub: Hub) -> MessageListener | None:
    """On PostgreSQL, the hub hears of messages other processes store (widget sockets held
    here, replies awaited here); SQLite has one serving process."""
    dsn = libpq_url(engine.url.render_as_string(hide_password=False))
    if dsn is None:
        return None
    return MessageListener(
        dsn, own_backends=own_backends(engine), on_message=hub.stored_elsewhere, on_connect=hub.catch_up
    )


@asynccontextmanager
async def open_runtime(
    settings: Settings, channels: Mapping[str, Channel], *, gate: HubGate | None = None, operator: bool = True
) -> AsyncIterator[Runtime]:
    """Open everything, start the hub and the channels; close it all in reverse order. `gate`
    is the one the channels were built with: it passes their calls to the hub while it runs.
    `operator`: the hub serves customers, so its set-up's gaps (no staff desk) are logged for the
    operator; a throwaway hub (a rehearsal's) says nothing of them."""
    use_catalogs(settings.languages.catalogs, default=settings.languages.default)
    async with open_database(settings) as (engine, sessionmaker):
        knowledge = await asyncio.to_thread(
            partial(
                KnowledgeBase.open,
                settings.knowledge,
                data_dir=settings.data_dir,
                sessionmaker=sessionmaker,
                serving=True,
            )
        )
        llm = LlmResponder(settings.llm) if settings.llm.enabled else None
        reader = AttachmentReader(settings.attachments)
        try:
            if settings.knowledge.chroma_url:
                await knowledge.catch_up()  # a new host builds its local index here, once
            calibration = CalibrationCache(sessionmaker, settings.knowledge.collection)
            await calibration.fresh()
            await asyncio.to_thread(load_detector, tuple(settings.languages.detect))  # not on the first message
            transactions = transactions_for(engine, sessionmaker)
            actions = Actions(
                settings.actions,
                ports=StoredActionPorts(transactions),
                cases=StoredCaseBook(transactions),
                encode=partial(knowledge.encode, batch_size=ACTION_PHRASINGS_BATCH),
                aencode=knowledge.aencode,
            )
            agent = Agent(
                knowledge=knowledge, settings=settings.answer, llm=llm, calibration=calibration, actions=actions
            )
            storage = Storage.on(transactions)
            translations = (
                StaffTranslations(llm, staff=settings.languages.staff, transactions=transactions)
                if llm is not None
                else None
            )
            desk = staff_desk(
                transactions,
                channels,
                sla=Sla.of(settings.handoff),
                survey=settings.handoff.survey,
                translations=translations,
            )
            staffing = Staffing(
                desk=desk is not None,
                inbox=partial(transactions.run, has_active_staff) if settings.admin.token is not None else None,
            )
            if operator and not await staffing.staffed():
                log.warning(
                    "no staff desk: nobody is handed over, and a customer who needs a person is told %r "
                    "([handoff.contact]); invite people to the inbox (supporthub staff invite, with "
                    "SUPPORTHUB_ADMIN__TOKEN set) or set slack.staff_channel for the Slack staff desk",
                    where_to_reach(settings.handoff, now=utcnow()),
                )
            turns = TurnRunner(
                transactions=storage.turns,
                agent=agent,
                analyzer=SentimentAnalyzer(settings.sentiment),
                reader=reader,
                settings=settings,
                staffing=staffing,
            )
            limits = RateLimits(
                per_contact=settings.limits.per_contact,
                per_ip=settings.limits.per_ip,
                sessions_per_ip=sessions_per_ip(settings),
                redis_url=settings.redis_url,
            )
            hub = Hub(
                storage=storage,
                agent=agent,
                turns=turns,
                channels=channels,
                settings=settings,
                limits=limits,
                desk=desk,
                staffing=staffing,
                shared=engine.dialect.name == "postgresql",
                translations=translations,
            )
            await hub.start()
            reindexer = ReindexRunner(settings, knowledge)
            listener = message_listener(engine, hub)
            started: list[Channel] = []
            if gate is not None:
                gate.open(hub)
            try:
                for channel in channels.values():
                    await channel.start()
                    started.append(channel)
                if listener is not None:
                    await listener.start()
                yield Runtime(
                    engine,
                    sessionmaker,
                    knowledge,
                    transactions,
                    storage,
                    hub,
                    reindexer,
                    calibration,
                    waiting_mail(settings, transactions, channels),
                )
            finally:
                await reindexer.aclose()
                if listener is not None:
                    await listener.stop()
                for channel in reversed(started):
                    await channel.stop()
                if gate is not None:
                    gate.close()
                await hub.stop()
                await actions.aclose()
                await transactions.close()
        finally:
            await reader.aclose()
            if llm is not None:
                await llm.aclose()
            await knowledge.aclose()
