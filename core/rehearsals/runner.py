"""Run rehearsals through the hub's real answering path, on a throwaway copy of its state.

The hub is opened as `serve` opens it — the same settings, help centre index, answer bar,
language and LLM — but on a database of its own in a temporary folder (the operator's
calibration of the answer bar copied in), with no channel that delivers, no desk, no schedule,
and every declared action pointed at a stand-in of the company's systems
(`core.rehearsals.company_stand_in`). So nothing a rehearsal says reaches a customer, the staff,
the audit trail or the dashboard's figures, and the folder is gone when the run ends.

Each rehearsal is a conversation of its own (a new customer); one hub serves every rehearsal
that wants the same staffing (`staff: none` or `present`), and they run in the order given.
"""

from __future__ import annotations

import mimetypes
import tempfile
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from pydantic import SecretStr
from sqlalchemy import select

from core.answering.answer_explain import explanation
from core.answering.language import message_language
from core.answering.llm_responder import LlmFailure, LlmResponder
from core.cli.terminal import PulledChannel, pulled_reply
from core.messages import Address, Attachment, InboundMessage, StoredMessage
from core.ops.runtime import Runtime, open_database, open_runtime
from core.rehearsals import wordings
from core.rehearsals.checks import TurnOutcome, failures, own_words
from core.rehearsals.company_stand_in import CompanyStandIn
from core.rehearsals.script import Rehearsal, Turn
from core.settings import Settings
from core.store.case_tables import Case
from core.store.db import AnswerCalibration, Conversation, Memory, StaffMember
from core.store.rehearsal_runs import Judged


@dataclass(frozen=True, slots=True)
class TurnResult:
    turn: Turn
    said: str
    """What the customer wrote in this run (the turn's text, or a variant's wording)."""
    outcome: TurnOutcome
    failed: tuple[str, ...]
    explained: tuple[str, ...] = ()
    """On a failure: how the offline path decided (`supporthub ask --explain`)."""
    judged: tuple[Judged, ...] = ()


@dataclass(frozen=True, slots=True)
class RehearsalResult:
    rehearsal: Rehearsal
    turns: tuple[TurnResult, ...]
    wording: str | None = None
    """The variant this run tried (`core.rehearsals.wordings`); None: the turns as written."""

    @property
    def passed(self) -> bool:
        """Every expectation held; criteria in plain words are reported apart (`judgements`)."""
        return all(not turn.failed for turn in self.turns)

    @property
    def judgements(self) -> list[Judged]:
        return [judgement for turn in self.turns for judgement in turn.judged]


@dataclass
class Rehearsing:
    """One throwaway hub and the stand-in of the company's systems it calls."""

    runtime: Runtime
    settings: Settings
    company: CompanyStandIn
    llm: LlmResponder | None
    """The configured LLM (None: offline): it judges criteria in words and writes paraphrases."""


async def run_rehearsals(
    settings: Settings,
    rehearsals: Sequence[Rehearsal],
    *,
    variants: bool = False,
    progress: Callable[[RehearsalResult], None] = lambda _: None,
) -> list[RehearsalResult]:
    """Every rehearsal (and, with `variants`, each of its reworded runs: `core.rehearsals.wordings`,
    and the LLM's paraphrases when one is configured), in order."""
    results: list[RehearsalResult] = []
    channels = sorted({turn.channel or r.channel for r in rehearsals for turn in r.turns})
    calibrations = await _calibrations(settings)
    async with AsyncExitStack() as opened:
        hubs: dict[str, Rehearsing] = {}  # by staffing, each opened when a rehearsal first wants it
        for rehearsal in rehearsals:
            if (hub := hubs.get(rehearsal.staff)) is None:
                staffed = rehearsal.staff == "present"
                hub = await opened.enter_async_context(
                    _throwaway_hub(settings, channels, calibrations, staffed=staffed)
                )
                hubs[rehearsal.staff] = hub
            for wording, run in [(None, rehearsal), *(await _variants(hub, rehearsal) if variants else [])]:
                result = await _rehearse(hub, run, wording)
                results.append(result)
                progress(result)
    return results


async def _variants(hub: Rehearsing, rehearsal: Rehearsal) -> list[tuple[str, Rehearsal]]:
    found = wordings.variants(rehearsal)
    if hub.llm is not None:
        found += await wordings.paraphrased(rehearsal, partial(hub.llm.paraphrases, count=wordings.PARAPHRASES))
    return found


async def _calibrations(settings: Settings) -> list[dict[str, object]]:
    """The operator's calibrations of the answer bar, as rows to copy."""
    async with open_database(settings) as (_, sessionmaker), sessionmaker() as session:
        rows = (await session.execute(select(AnswerCalibration))).scalars().all()
        return [
            {column.key: getattr(row, column.key) for column in AnswerCalibration.__table__.columns} for row in rows
        ]


@asynccontextmanager
async def _throwaway_hub(
    settings: Settings, channels: Sequence[str], calibrations: Sequence[dict[str, object]], *, staffed: bool
) -> AsyncIterator[Rehearsing]:
    company = CompanyStandIn()
    await company.start()
    try:
        with tempfile.TemporaryDirectory(prefix="supporthub-rehearsal-") as folder:
            database = Path(folder) / "rehearsal.db"
            own = settings.model_copy(
                update={
                    "database_url": f"sqlite+aiosqlite:///{database}",
                    "redis_url": "",
                    "schedule": [],
                    "actions": company.pointed_here(settings.actions),
                    "admin": settings.admin.model_copy(update={"token": SecretStr("rehearsal") if staffed else None}),
                }
            )
            async with open_database(own) as (_, sessionmaker), sessionmaker.begin() as session:
                session.add_all(AnswerCalibration(**row) for row in calibrations)
                if staffed:
                    session.add(
                        StaffMember(email="rehearsal@invalid", name="Rehearsal", role="agent", password_hash="!")
                    )
            silent = {name: PulledChannel(name) for name in channels}
            llm = LlmResponder(own.llm) if own.llm.enabled else None
            try:
                async with open_runtime(own, silent, operator=False) as runtime:
                    yield Rehearsing(runtime, own, company, llm)
            finally:
                if llm is not None:
                    await llm.aclose()
    finally:
        await company.stop()


async def _rehearse(hub: Rehearsing, rehearsal: Rehearsal, wording: str | None) -> RehearsalResult:
    hub.company.answers = dict(rehearsal.stand_in)
    customer = f"rehearsal-{uuid.uuid4().hex}"
    turns: list[TurnResult] = []
    cases = 0
    for turn in rehearsal.turns:
        channel = turn.channel or rehearsal.channel
        calls_before = len(hub.company.calls)
        message = InboundMessage(
            address=Address(channel, customer),
            external_id=uuid.uuid4().hex,
            sender_id=customer,
            text=turn.customer,
            attachments=tuple(_attachment(rehearsal.path.parent / path) for path in turn.attachments),
            verified_email=turn.email,
            verified_phone=turn.phone,
            language_hint=turn.language,
        )
        runtime = hub.runtime
        try:
            receipt, reply = await pulled_reply(runtime.hub, message)
        except TimeoutError as exc:
            raise TimeoutError(f"{rehearsal.path}: {turn.customer!r}: {exc}") from None
        outcome, cases = await _outcome(hub, receipt.conversation_id, reply, hub.company.calls[calls_before:], cases)
        failed = tuple(failures(turn.expect, outcome))
        explained: tuple[str, ...] = ()
        if failed and reply is not None:
            explained = tuple(
                await explanation(
                    turn.customer,
                    knowledge=runtime.knowledge,
                    settings=hub.settings.answer,
                    learned=await runtime.calibration.fresh(),
                )
            )
        judged = tuple([await _judged(hub.llm, turn.customer, reply, criterion) for criterion in turn.expect.judged])
        turns.append(TurnResult(turn, turn.customer, outcome, failed, explained, judged))
    return RehearsalResult(rehearsal, tuple(turns), wording=wording)


async def _judged(judge: LlmResponder | None, customer: str, reply: StoredMessage | None, criterion: str) -> Judged:
    if judge is None:
        return Judged(criterion, None, "not judged: no LLM is configured (llm.api_key)")
    if reply is None:
        return Judged(criterion, False, "the bot did not reply")
    try:
        met, why = await judge.judge(customer=customer, reply=reply.text, criterion=criterion)
    except LlmFailure as exc:
        return Judged(criterion, None, f"not judged: {exc}")
    return Judged(criterion, met, why)


async def _outcome(
    hub: Rehearsing, conversation_id: str, reply: StoredMessage | None, calls: Sequence[tuple[str, str]], cases: int
) -> tuple[TurnOutcome, int]:
    """What the turn did, and how many cases the conversation has now (`cases` before it)."""
    async with hub.runtime.sessionmaker() as session:
        conversation = await session.get_one(Conversation, conversation_id)
        reasons = (
            (
                await session.execute(
                    select(Case.reason).where(Case.conversation_id == conversation_id).order_by(Case.opened_at, Case.id)
                )
            )
            .scalars()
            .all()
        )
        memories = (await session.execute(select(Memory).where(Memory.contact_id == conversation.contact_id))).scalars()
        facts = {memory.key: memory.value for memory in memories}
        pending = conversation.pending_action is not None
    opened = reasons[-1] if len(reasons) > cases else None
    contact = hub.settings.handoff.contact
    outcome = TurnOutcome(
        reply=None if reply is None else reply.text,
        sources=() if reply is None else tuple(c.source for c in reply.citations),
        declined=reply is not None and reply.handoff and not reply.citations and opened is None,
        case_reason=opened,
        language=None
        if reply is None
        else message_language(own_words(reply.text), tuple(hub.settings.languages.detect)),
        facts=facts,
        calls=tuple(calls),
        asked_first=pending,
        reach=tuple(way for way in (contact.email, contact.phone) if way),
    )
    return outcome, len(reasons)


def _attachment(path: Path) -> Attachment:
    content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return Attachment(filename=path.name, content_type=content_type, data=path.read_bytes())
