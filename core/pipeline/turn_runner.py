"""One turn of a conversation, start to finish: read the message (signals, files, facts),
let a person have it when a person owns the conversation, ask the escalation policy, let the
agent answer, ask the policy again, and store it all at once.

The policy runs twice: before answering (a request for a person, a keyword, frustration need
no answer first) and after (a reply that could not answer, or the LLM asking for a person).
A score typed in answer to an open satisfaction survey is kept and thanked before either, and
nothing else happens (`core.handoff.survey`).

A person is brought in only when a desk can take the case (`core.pipeline.staffing`). Without
one the policy still speaks, but nothing waits for a person who does not exist: the bot keeps
the conversation and keeps answering, and the customer is told where to reach the team
(`core.handoff.reach`). The responders know it before they write (`TurnContext.reach`): they offer
nobody, and say where to write where they would have offered a person. A request for a person
is answered with where to reach the team (and the answer, when the message also asked
something the help centre covers): the customer asked for something the bot cannot give, and
the honest reply is where they can get it, not silence and not a promise.

A turn is taken (`take`, which the hub retries when it fails) and, once its reply is on its
way, followed up (`follow_up`): work the customer should not wait for — the staff's suggested
reply for a conversation escalated before any answer, and the rolling summary.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime

from core.answering.agent import Answerer
from core.answering.attachments import AttachmentReader
from core.answering.language import message_language
from core.answering.memory import extract_facts, extractive_summary, within_budget
from core.answering.sentiment import SentimentAnalyzer
from core.handoff.cases import CaseOpening
from core.handoff.hours import BusinessHours
from core.handoff.policy import Escalation, Rule, decide
from core.handoff.reach import NO_PERSON, where_to_reach
from core.handoff.survey import THANKS, SurveyAnswer, score_of
from core.languages import N_, _, speaking
from core.messages import Author, Reply
from core.pipeline.staffing import Staffing
from core.pipeline.turn_transactions import FinishedTurn, TurnResult, TurnState, TurnTransactions
from core.settings import Settings
from core.store.db import ConversationState, utcnow
from core.store.inbox import PendingMessage
from core.streaming import StreamSink
from core.turn_context import AgentOutcome, AttachmentText, Fact, PastMessage, Responder, Signals, TurnContext

log = logging.getLogger(__name__)

READ_CHARS = 10_000
"""How much of a message a turn reads: its mood, its facts, its questions and what is searched,
what the policy and the responders see. These are rules and regular expressions whose time
grows with the text, and most of them run on the event loop; the stored message keeps all the
channel took in (a channel's own limit: `api.max_text_length`, `email.max_text_length`…)."""

HANDOFF_NOTICE = N_("I've passed this conversation to a person from our support team; they'll follow up here.")
DECLINED_HANDOFF = N_(
    "I couldn't find this in our help centre, so I've passed your question to a person "
    "from our support team; they'll follow up here."
)
_LATER = {
    HANDOFF_NOTICE: N_(
        "I've passed this conversation to a person from our support team. "
        "Our team is back {back}; they'll reply here then."
    ),
    DECLINED_HANDOFF: N_(
        "I couldn't find this in our help centre, so I've passed your question to a person "
        "from our support team. Our team is back {back}; they'll reply here then."
    ),
}
"""Each handoff notice out of business hours: when a person will answer, in place of "they'll
follow up here"."""
FILE_PROBLEM = N_("I couldn't use a file you sent: {problem}")


def out_of_hours(notice: str, back: str) -> str:
    """A handoff notice (`HANDOFF_NOTICE`, `DECLINED_HANDOFF`) out of business hours, in the
    language spoken now ("… Our team is back Monday at 09:00 CET; they'll reply here then.")."""
    return _(_LATER[notice], back=back)


@dataclass(frozen=True, slots=True)
class TakenTurn:
    """A committed turn, and what is left to do once its reply is on its way."""

    finished: FinishedTurn
    suggest_from: TurnContext | None = None
    """Escalated before any answer, with an LLM: draft a reply for staff from this context."""
    summarize: TurnState | None = None
    """The conversation grew long: fold its older turns into the rolling summary."""
    case_summary_from: tuple[TurnContext, str] | None = None
    """Escalated, with an LLM: have it summarise the case for staff from this context and
    the escalation's reason."""
    responder: Responder = Responder.NONE
    declined: bool = False
    """The reply said the knowledge base held no answer."""


class TurnRunner:
    def __init__(
        self,
        *,
        transactions: TurnTransactions,
        agent: Answerer,
        analyzer: SentimentAnalyzer,
        reader: AttachmentReader,
        settings: Settings,
        staffing: Staffing | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        """`staffing`: whether a desk can take a case, so a customer handed over is told a person
        will follow up (out of `handoff.hours`, when); without one nobody is handed over, and
        the replies say where to reach the team (`core.handoff.reach`; None: always staffed).
        `clock`: the time a turn is taken (tests freeze it)."""
        self._transactions = transactions
        self._agent = agent
        self._analyzer = analyzer
        self._reader = reader
        self._settings = settings
        self._staffing = staffing or Staffing(desk=True, inbox=None)
        self._clock = clock
        self._hours = BusinessHours.of(settings.handoff.hours)

    async def take(self, pending: PendingMessage, *, push: bool, stream: StreamSink | None) -> TakenTurn | None:
        """Answer (or stay silent for a person) and store the outcome. None when the message
        was answered already: by an earlier attempt, or by another worker."""
        state = await self._transactions.load(pending)
        if state is None:
            return None
        text = pending.text[:READ_CHARS]
        signals, stated, written_in = await asyncio.to_thread(self._read, text)
        with speaking(written_in or state.language or self._settings.languages.default):
            return await self._answer(pending, state, text, signals, stated, written_in, push=push, stream=stream)

    async def _answer(
        self,
        pending: PendingMessage,
        state: TurnState,
        text: str,
        signals: Signals,
        stated: list[Fact],
        written_in: str | None,
        *,
        push: bool,
        stream: StreamSink | None,
    ) -> TakenTurn | None:
        """The turn, its sentences said in the conversation's language (`take`)."""
        unread = await self._reader.read_all([file for _, file in state.unread], contact=state.contact_id)
        converted = dict(zip((row_id for row_id, _ in state.unread), unread, strict=True))
        files = (*state.read, *converted.values())
        facts = [replace(f, source_message_id=pending.id) for f in stated]
        base = TurnResult(
            signals=signals,
            reply=None,
            attachments=converted,
            facts=facts,
            had_pending=state.pending is not None,
            message_language=written_in,
            language=written_in or state.language,
        )
        if state.state != ConversationState.BOT:  # a person has it
            return await self._finish(pending, base, None, signals, push=push)
        if (rating := await self._survey_answer(pending, text, files)) is not None:
            return await self._finish(
                pending, replace(base, reply=Reply(_(THANKS)), rating=rating), None, signals, push=push
            )
        history = [m for m in state.messages if m.id > state.policy_from]
        history.append(PastMessage(pending.id, Author.CUSTOMER, text, signals))
        staffed = await self._staffing.staffed()
        early = decide(history, settings=self._settings.handoff)
        if not staffed and early is not None and early.rule is Rule.UNANSWERED:
            early = None  # nobody to hand over to: the declines before do not change how this message is answered
        context = replace(
            self._context(pending, text, state, facts, files),
            language=written_in or state.language,
            reach=None if staffed else self._reach(told_by_turn=early is not None),
        )
        if early is not None and staffed:  # the customer hears so at once; staff get a draft afterwards
            reply = Reply(_with_problems(self._now_told(HANDOFF_NOTICE), files), handoff=True)
            taken = await self._finish(pending, replace(base, reply=reply), early, signals, push=push)
            if taken is None or self._agent.llm is None:
                return taken
            return replace(taken, suggest_from=context, case_summary_from=(context, early.reason))
        outcome = await self._agent.respond(context, stream=stream)
        drafted = [*history, PastMessage(0, Author.BOT, outcome.reply.text, declined=outcome.declined)]
        wanted = early or decide(drafted, settings=self._settings.handoff, agent_request=outcome.escalation)
        late = wanted if staffed else None
        reply = self._reply(pending, outcome, wanted, early=early, staffed=staffed)
        reply = replace(reply, text=_with_problems(reply.text, files))
        result = replace(
            base,
            reply=reply,
            declined=outcome.declined,
            facts=[*facts, *outcome.facts],
            pending=outcome.pending,
        )
        suggestion = outcome.reply.text if late is not None and self._agent.llm is not None else None
        taken = await self._finish(
            pending, result, late, signals, push=push, suggestion=suggestion, responder=outcome.responder
        )
        if taken is not None and late is not None and self._agent.llm is not None:
            taken = replace(taken, case_summary_from=(context, late.reason))
        if taken is not None and len(state.messages) + 2 >= self._settings.memory.summarize_after:
            return replace(taken, summarize=state)
        return taken

    async def follow_up(self, pending: PendingMessage, taken: TakenTurn) -> str | None:
        """The work left after a turn's reply went out; the id of a case that got a suggested
        reply or the model's summary (its card shows them), else None."""
        if taken.summarize is not None:
            await self._summarize(pending, taken.summarize)
        case_id = taken.finished.case_id
        if case_id is None:
            return None
        changed = False
        if taken.suggest_from is not None and (suggestion := await self._suggestion(taken.suggest_from)) is not None:
            await self._transactions.save_suggestion(case_id, suggestion)
            changed = True
        if taken.case_summary_from is not None:
            summary = await self._case_summary(*taken.case_summary_from)
            if summary is not None:
                await self._transactions.save_case_summary(case_id, summary)
                changed = True
        return case_id if changed else None

    async def _case_summary(self, context: TurnContext, reason: str) -> str | None:
        """With an LLM, what staff read first on the case: the customer's need, what the bot
        tried, why a person, what is known. None when the model fails (the extractive summary
        on the card stands)."""
        llm = self._agent.llm
        if llm is None:
            return None
        messages = [*context.recent, PastMessage(context.message_id, Author.CUSTOMER, context.text)]
        try:
            return await llm.case_summary(messages, reason=reason)
        except Exception as exc:  # noqa: BLE001 — the card's extractive summary stands in
            log.warning("turn: the LLM could not summarise case for message %s (%s)", context.message_id, exc)
            return None

    async def _survey_answer(
        self, pending: PendingMessage, text: str, files: tuple[AttachmentText, ...]
    ) -> SurveyAnswer | None:
        """The score a message gives to the survey it answers, if it is one (a lone digit, the
        customer's first message since the survey's question); None for an ordinary message."""
        score = score_of(text) if not files else None
        if score is None:
            return None
        survey_id = await self._transactions.survey_answered(pending)
        return SurveyAnswer(survey_id, score) if survey_id is not None else None

    async def _finish(
        self,
        pending: PendingMessage,
        result: TurnResult,
        escalation: Escalation | None,
        signals: Signals,
        *,
        push: bool,
        suggestion: str | None = None,
        responder: Responder = Responder.NONE,
    ) -> TakenTurn | None:
        if escalation is not None:
            log.info(
                "turn: conversation %s escalated (%s): %s", pending.conversation_id, escalation.rule, escalation.reason
            )
            opening = CaseOpening(
                escalation.rule.value, escalation.reason, signals.frustration, suggestion, language=result.language
            )
            result = replace(result, escalation=opening)
        finished = await self._transactions.finish(pending, result, push=push)
        return TakenTurn(finished, responder=responder, declined=result.declined) if finished is not None else None

    async def _suggestion(self, context: TurnContext) -> str | None:
        """With an LLM, a draft answer for the person who takes over; never for the customer.
        In staff's language: what they send is translated for the customer (`core.handoff.translations`)."""
        staff = self._settings.languages.staff
        try:
            with speaking(staff):
                return (await self._agent.respond(replace(context, language=staff))).reply.text
        except Exception:
            log.warning("turn: no suggested reply for message %s", context.message_id, exc_info=True)
            return None

    def _read(self, text: str) -> tuple[Signals, list[Fact], str | None]:
        """The message's mood, the facts it states and the language it is surely in: rules,
        regular expressions and n-grams, CPU work that runs in a worker thread (`take`)."""
        language = message_language(text, tuple(self._settings.languages.detect))
        return self._analyzer.analyze(text, language), extract_facts(text), language

    def _reply(
        self,
        pending: PendingMessage,
        outcome: AgentOutcome,
        wanted: Escalation | None,
        *,
        early: Escalation | None,
        staffed: bool,
    ) -> Reply:
        """The answer as the customer reads it: as written, or with the policy wanting a person,
        handed over (a desk takes cases) or kept by the bot (none does)."""
        if wanted is None:
            return outcome.reply
        if staffed:
            return self._handed_over(outcome)
        log.info(
            "turn: conversation %s escalated (%s) but no desk takes cases; the bot keeps it: %s",
            pending.conversation_id,
            wanted.rule,
            wanted.reason,
        )
        return self._kept(outcome, early)

    def _reach(self, *, told_by_turn: bool) -> str:
        """Where to reach the team, for the responders to say where they would offer a person;
        "" when the turn says it itself (`_kept`)."""
        return "" if told_by_turn else where_to_reach(self._settings.handoff, now=self._clock())

    def _handed_over(self, outcome: AgentOutcome) -> Reply:
        if outcome.declined:
            return Reply(self._now_told(DECLINED_HANDOFF), handoff=True)
        return Reply(f"{outcome.reply.text}\n\n{self._now_told(HANDOFF_NOTICE)}", outcome.reply.citations, handoff=True)

    def _kept(self, outcome: AgentOutcome, early: Escalation | None) -> Reply:
        """The reply when the policy wants a person and no desk takes cases: the bot keeps the
        conversation and keeps answering. A reply written after the policy spoke (two declines
        in a row) already says where to reach the team. When it spoke first (a request for a
        person, frustration, a keyword), the answer is followed by where to reach the team; with
        nothing the help centre covers ("I want a person", "I'll call my lawyer") that is the
        whole reply, as the handoff notice is with a desk."""
        if early is None:
            return replace(outcome.reply, handoff=True)
        told = where_to_reach(self._settings.handoff, now=self._clock())
        if early.rule is Rule.HUMAN_REQUEST:
            told = f"{_(NO_PERSON)} {told}"
        if outcome.declined:
            return Reply(told, handoff=True)
        return Reply(f"{outcome.reply.text}\n\n{told}", outcome.reply.citations, handoff=True)

    def _now_told(self, notice: str) -> str:
        """A staffed handoff notice as it reads now: out of business hours, when the team is back."""
        back = self._hours.when_back(self._clock())
        return _(notice) if back is None else out_of_hours(notice, back)

    def _context(
        self,
        pending: PendingMessage,
        text: str,
        state: TurnState,
        facts: list[Fact],
        files: tuple[AttachmentText, ...],
    ) -> TurnContext:
        _, recent = within_budget(state.messages, self._settings.memory.context_tokens)
        return TurnContext(
            message_id=pending.id,
            text=text,
            recent=tuple(recent),
            summary=state.summary,
            facts=(*state.facts, *facts),
            attachments=files,
            contact_id=state.contact_id,
            conversation_id=pending.conversation_id,
            pending=state.pending,
        )

    async def _summarize(self, pending: PendingMessage, state: TurnState) -> None:
        """Fold the turns that no longer fit the budget into the rolling summary; the LLM
        writes it when configured, else it is extractive."""
        older, _ = within_budget(state.messages, self._settings.memory.context_tokens // 2)
        if not older:
            return
        summary = extractive_summary(state.summary, older)
        llm = self._agent.llm
        if llm is not None:
            try:
                summary = await llm.summarize(state.summary, older)
            except Exception as exc:  # noqa: BLE001 — the extractive summary stands in
                log.warning(
                    "turn: the LLM could not summarize conversation %s (%s); kept an extractive summary",
                    pending.conversation_id,
                    exc,
                )
        await self._transactions.save_summary(pending.conversation_id, summary=summary, upto=older[-1].id)


def _with_problems(text: str, files: tuple[AttachmentText, ...]) -> str:
    """The reply, preceded by what could not be done with the customer's files."""
    notes = [_(FILE_PROBLEM, problem=f.problem) for f in files if f.problem]
    return "\n".join([*notes, "", text]) if notes else text
