"""The Status page's facts: which channels this hub serves and when each last delivered a
reply, the outbox's depth and dead letters, whether an LLM answers, the bar the offline
decision answers at (and where it comes from), and the versions that explain an answer
(supporthub, the database schema, the embedding model, the index)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from importlib.metadata import version

from sqlalchemy import Connection

from core.admin.queries import operations
from core.answering.answer_decision import answer_bar
from core.ops.runtime import Runtime
from core.settings import Settings
from core.store.calibrations import load as load_calibration
from core.store.dead_letters import UndeliveredReply

DEAD_LETTERS_SHOWN = 50


@dataclass(frozen=True, slots=True)
class ChannelStatus:
    name: str
    on: bool
    last_sent_at: datetime | None
    """The last reply the outbox delivered on this channel (None: none yet, or not an outbox channel)."""
    pending: int
    dead: int
    held: int
    """Replies waiting for their customer to write again (WhatsApp's 24-hour rule)."""


@dataclass(frozen=True, slots=True)
class Status:
    channels: list[ChannelStatus]
    dead_letters: list[UndeliveredReply]
    held_replies: list[UndeliveredReply]
    """Replies a platform takes only once their customer writes again (WhatsApp's 24-hour rule)."""
    llm_configured: bool
    llm_model: str | None
    supporthub_version: str
    schema_revision: str | None
    embedding_model: str
    index_version: str | None
    chunks: int
    answer_bar: float
    answer_bar_source: str
    """The help centre's own floor, or answer.min_match (`core.answering.answer_decision.answer_bar`)."""


async def read_status(
    runtime: Runtime, settings: Settings, *, serving: Sequence[str], installed: Sequence[str]
) -> Status:
    """`serving`: the channels this hub runs; `installed`: every channel it could."""
    names = sorted(set(installed) | set(serving))
    async with runtime.sessionmaker() as session:
        deliveries = {row.channel: row for row in await operations.delivery_status(session)}
        dead = await operations.dead_letters(session, limit=DEAD_LETTERS_SHOWN)
        held = await operations.held_replies(session, limit=DEAD_LETTERS_SHOWN)
        index_version = await operations.index_version(session, settings.knowledge.collection)
        connection = await session.connection()
        revision = await connection.run_sync(_schema_revision)
    channels = []
    for name in names:
        delivery = deliveries.get(name)
        channels.append(
            ChannelStatus(
                name,
                name in serving,
                delivery.last_sent_at if delivery else None,
                delivery.pending if delivery else 0,
                delivery.dead if delivery else 0,
                delivery.held if delivery else 0,
            )
        )
    learned = await load_calibration(runtime.sessionmaker, settings.knowledge.collection)
    bar = answer_bar(settings.answer, runtime.knowledge.paraphrase_floor, learned)
    return Status(
        channels=channels,
        dead_letters=dead,
        held_replies=held,
        llm_configured=settings.llm.enabled,
        llm_model=settings.llm.model if settings.llm.enabled else None,
        supporthub_version=version("supporthub"),
        schema_revision=revision,
        embedding_model=settings.knowledge.model or "all-MiniLM-L6-v2 (bundled)",
        index_version=index_version,
        chunks=await runtime.knowledge.chunk_count(),
        answer_bar=bar.value,
        answer_bar_source=bar.why,
    )


def _schema_revision(connection: Connection) -> str | None:
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(connection).get_current_revision()
