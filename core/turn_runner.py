"""One turn of a conversation, start to finish: read the message (signals, files, facts),
let a person have it when a person owns the conversation, ask the escalation policy, let the
agent answer, ask the policy again, and store it all at once.

The policy runs twice: before answering (a request for a person, a keyword, frustration need
no answer first) and after (a reply that could not answer, or the LLM asking for a person).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import replace

from core.agent import Agent
from core.attachments import AttachmentReader
from core.memory import extract_facts, extractive_summary, within_budget
from core.messages import Author, Reply
from core.sentiment import SentimentAnalyzer
from core.settings import Settings
from core.store import Store
from core.streaming import StreamSink
from core.turn_context import AgentOutcome, AttachmentText, Fact, PastMessage, Signals, TurnContext
from core.turn_transactions import FinishedTurn, PendingMessage, TurnResult, TurnState
from handoff.cases import BOT_STATES, CaseOpening
from handoff.policy import Escalation, decide

log = logging.getLogger(__name__)

HANDOFF_NOTICE = "I've passed this conversation to a person from our support team; they'll follow up here."
DECLINED_HANDOFF = (
    "I couldn't find this in our help centre, so I've passed your question to a person "
    "from our support team; they'll follow up here."
)


class TurnRunner:
    def __init__(
        self,
        *,
        store: Store,
        agent: Agent,
        analyzer: SentimentAnalyzer,
        reader: AttachmentReader,
        settings: Settings,
    ) -> None:
        self._store = store
        self._agent = agent
        self._analyzer = analyzer
        self._reader = reader
        self._settings = settings

    async def run(
        self,
        pending: PendingMessage,
        *,
        push: bool,
        stream: StreamSink | None,
        delivered: Callable[[FinishedTurn], Awaitable[None]],
    ) -> None:
        """Answer (or stay silent for a person) and store the outcome; `delivered` is called
        with it (not when another worker answered first), before any summarizing."""
        state = await self._store.load_turn(pending)
        signals = self._analyzer.analyze(pending.text)
        converted = dict(zip((row_id for row_id, _ in state.unread),
                             await self._reader.read_all([file for _, file in state.unread]), strict=True))
        files = (*state.read, *converted.values())
        facts = [replace(f, source_message_id=pending.id) for f in extract_facts(pending.text)]
        base = TurnResult(signals=signals, reply=None, attachments=converted, facts=facts)
        if state.state not in BOT_STATES:  # a person has it
            await self._finish(pending, base, None, signals, push=push, delivered=delivered)
            return
        history = [m for m in state.messages if m.id > state.policy_from]
        history.append(PastMessage(pending.id, Author.CUSTOMER, pending.text, signals))
        context = self._context(pending, state, facts, files)
        early = decide(history, settings=self._settings.handoff)
        if early is not None:
            reply = Reply(_with_problems(HANDOFF_NOTICE, files), handoff=True)
            await self._finish(pending, replace(base, reply=reply), early, signals, push=push, delivered=delivered,
                               suggestion=await self._suggestion(context))
            return
        outcome = await self._agent.respond(context, stream=stream)
        drafted = [*history, PastMessage(0, Author.BOT, outcome.reply.text, declined=outcome.declined)]
        late = decide(drafted, settings=self._settings.handoff, agent_request=outcome.escalation)
        reply = _handed_over(outcome) if late is not None else outcome.reply
        reply = replace(reply, text=_with_problems(reply.text, files))
        result = replace(base, reply=reply, declined=outcome.declined, facts=[*facts, *outcome.facts])
        suggestion = outcome.reply.text if late is not None and self._agent.llm is not None else None
        if await self._finish(pending, result, late, signals, push=push, delivered=delivered, suggestion=suggestion):
            await self._summarize_if_long(pending, state)

    async def _finish(
        self,
        pending: PendingMessage,
        result: TurnResult,
        escalation: Escalation | None,
        signals: Signals,
        *,
        push: bool,
        delivered: Callable[[FinishedTurn], Awaitable[None]],
        suggestion: str | None = None,
    ) -> bool:
        if escalation is not None:
            log.info("turn: conversation %s escalated (%s): %s", pending.conversation_id, escalation.rule, escalation.reason)
            opening = CaseOpening(escalation.rule.value, escalation.reason, signals.frustration, suggestion)
            result = replace(result, escalation=opening)
        finished = await self._store.finish_turn(pending, result, push=push)
        if finished is not None:
            await delivered(finished)
        return finished is not None

    async def _suggestion(self, context: TurnContext) -> str | None:
        """With an LLM, a draft answer for the person who takes over; never for the customer."""
        if self._agent.llm is None:
            return None
        try:
            return (await self._agent.respond(context)).reply.text
        except Exception:  # noqa: BLE001 — the case opens without a suggestion
            log.warning("turn: no suggested reply for message %s", context.message_id, exc_info=True)
            return None

    def _context(
        self, pending: PendingMessage, state: TurnState, facts: list[Fact], files: tuple[AttachmentText, ...]
    ) -> TurnContext:
        _, recent = within_budget(state.messages, self._settings.memory.context_tokens)
        return TurnContext(
            message_id=pending.id,
            text=pending.text,
            recent=tuple(recent),
            summary=state.summary,
            facts=(*state.facts, *facts),
            attachments=files,
        )

    async def _summarize_if_long(self, pending: PendingMessage, state: TurnState) -> None:
        """Fold the turns that no longer fit the budget into the rolling summary once the
        unsummarized tail is long; the LLM writes it when configured, else it is extractive."""
        if len(state.messages) + 2 < self._settings.memory.summarize_after:
            return
        older, _ = within_budget(state.messages, self._settings.memory.context_tokens // 2)
        if not older:
            return
        summary = extractive_summary(state.summary, older)
        llm = self._agent.llm
        if llm is not None:
            try:
                summary = await llm.summarize(state.summary, older)
            except Exception as exc:  # noqa: BLE001 — the extractive summary stands in
                log.warning("turn: the LLM could not summarize conversation %s (%s); kept an extractive summary",
                            pending.conversation_id, exc)
        await self._store.save_summary(pending.conversation_id, summary=summary, upto=older[-1].id)


def _handed_over(outcome: AgentOutcome) -> Reply:
    if outcome.declined:
        return Reply(DECLINED_HANDOFF, handoff=True)
    return Reply(f"{outcome.reply.text}\n\n{HANDOFF_NOTICE}", outcome.reply.citations, handoff=True)


def _with_problems(text: str, files: tuple[AttachmentText, ...]) -> str:
    """The reply, preceded by what could not be done with the customer's files."""
    notes = [f"I couldn't use a file you sent: {f.problem}" for f in files if f.problem]
    return "\n".join([*notes, "", text]) if notes else text
