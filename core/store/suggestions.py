"""Suggested answers: what the support team answered, for a person to review before the bot uses
it (`core.store.db.Suggestion`).

Where they come from, each in the transaction of the thing that made it:
- a resolved case (`from_case`): the customer's question and the staff replies that answered it,
  with the bot's answer before the case when it gave one (a wrong answer, then);
- a thumbs down (`from_vote`): the question and the reply voted down, the answer left to write;
- a knowledge gap (`for_gap`): a group of questions and the answer written for it in place.

Nothing goes live by itself. Going live (`approve`, `link`) writes knowledge's own tables
(`knowledge.ingest.written`) in the same transaction: an approved answer becomes a written document,
"Support team answers › the question", and a link adds the question to an article's section as a
phrasing; `withdraw` takes either out. The next ingest run indexes the change
(`core.ops.reindex_process.ReindexRunner.soon`). Personal data found in a suggestion (emails,
phone and order numbers, what the customer's memory holds) blocks approval until it is redacted
(`core.answering.personal_data`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, delete, func, select, update
from sqlalchemy.orm import Session

from core.answering.answer_decision import HAND_OVER_SOURCE, TEAM_ANSWERS_PREFIX
from core.answering.personal_data import Found, find, leave_out, redact
from core.answering.questions import asks_anything, questions
from core.answering.sentiment import asks_for_person
from core.answering.small_talk import small_talk
from core.invariants import present
from core.messages import Author
from core.store import contacts
from core.store.case_tables import Case, CopilotUse
from core.store.db import (
    Contact,
    Conversation,
    Memory,
    Message,
    Suggestion,
    SuggestionOrigin,
    SuggestionState,
    utcnow,
)
from core.turn_context import FactKey
from knowledge.ingest import written

TEAM_ANSWERS = "Support team answers"
"""The title approved answers are indexed and cited under."""
MAX_QUESTION_CHARS = 500
MAX_ANSWER_CHARS = 20_000
HAND_OVER_SECTION = "Questions a person answers"
HAND_OVER_TEXT = "Our support team answers questions like this in person: the conversation goes to one of them."
EARLIER_MESSAGES = 10
KEPT_AS_ANSWER = 0.8
"""A reply that kept this much of a suggested passage answered with that passage: the case's
suggestion offers to link its question there (`AnsweredFrom`)."""
PENDING_VOTES_PER_CONTACT = 1
"""Suggestions one customer's thumbs down may have waiting for review at once: each vote still
counts (the dashboard's helpfulness), but a customer voting down every reply queues one, not all."""
IDENTIFYING = (FactKey.NAME.value, FactKey.EMAIL.value, FactKey.PHONE.value, FactKey.ORDER_NUMBER.value)
"""How far back before a case opened its question is looked for."""
CUSTOMER_MESSAGES_READ = 50
"""How many of the customer's latest messages are read for the numbers they gave."""


class ReviewError(ValueError):
    """A review step that cannot be taken, with the reason to show."""


class NoSuchSuggestion(ReviewError):
    pass


class NeedsAdmin(ReviewError):
    """A step only an admin may take (the suggestion went live meanwhile)."""


@dataclass(frozen=True, slots=True)
class SuggestionView:
    """A suggestion as the review page shows it."""

    id: int
    origin: str
    state: str
    question: str
    answer: str
    phrasings: list[str]
    bot_reply: str | None
    conversation_id: str | None
    case_id: str | None
    answered_by: str | None
    source: str | None
    section: str | None
    reviewed_by: str | None
    reviewed_at: datetime | None
    created_at: datetime
    personal_data: list[Found]
    """What must be redacted before it can be approved (in the question, then the answer)."""
    answered_from: AnsweredFrom | None = None
    """The passage staff replied from on the case page, kept mostly as suggested: the section a
    pending question is most likely linked to."""


@dataclass(frozen=True, slots=True)
class AnsweredFrom:
    """A help-centre passage (or a team answer) a case's reply was sent from (`CopilotUse`)."""

    source: str
    section: str
    kept: float


def _question(text: str) -> str | None:
    """What a customer message asks other than for a person, as the hub searches it ("deliveries
    to Dublin" too: a bare need is searched whole); None for small talk and a request for a
    person alone."""
    if small_talk(text) is not None:
        return None
    return " ".join(question for question in questions(text) if not asks_for_person(question)) or None


def from_case(session: Session, case: Case, *, resolved_by: str) -> int | None:
    """The suggestion a resolved case yields: the customer's question and what staff replied,
    once per case; None when no person replied (nothing to learn) or it was made already."""
    if session.scalar(select(Suggestion.id).where(Suggestion.case_id == case.id)) is not None:
        return None
    replies = session.execute(
        select(Message.id, Message.text, Message.sender)
        .where(
            Message.conversation_id == case.conversation_id,
            Message.author == Author.STAFF.value,
            Message.created_at >= case.opened_at,
        )
        .order_by(Message.id)
    ).all()
    if not replies:
        return None
    earlier_case_ended = session.scalar(
        select(func.max(Case.closed_at)).where(
            Case.conversation_id == case.conversation_id, Case.id != case.id, Case.closed_at <= case.opened_at
        )
    )
    since = [Message.created_at > earlier_case_ended] if earlier_case_ended is not None else []
    before = session.execute(
        select(Message.author, Message.text, Message.declined, Message.citations)
        .where(Message.conversation_id == case.conversation_id, Message.id < replies[0].id, *since)
        .order_by(Message.id.desc())
        .limit(EARLIER_MESSAGES)
    ).all()
    said = [row.text for row in before if row.author == Author.CUSTOMER.value]
    asked = next(
        (found for text in sorted(said, key=lambda text: not asks_anything(text)) if (found := _question(text))),
        None,
    )  # the latest message that asks, else the latest that says something
    if asked is None:
        return None
    bot_answer = next(
        (row.text for row in before if row.author == Author.BOT.value and row.citations and not row.declined), None
    )
    now = utcnow()
    suggestion = Suggestion(
        origin=SuggestionOrigin.CASE.value,
        state=SuggestionState.PENDING,
        question=asked[:MAX_QUESTION_CHARS],
        answer="\n\n".join(reply.text for reply in replies)[:MAX_ANSWER_CHARS],
        phrasings=[],
        bot_reply=bot_answer,
        conversation_id=case.conversation_id,
        case_id=case.id,
        answered_by=next((reply.sender for reply in reversed(replies) if reply.sender), resolved_by),
        created_at=now,
        updated_at=now,
    )
    session.add(suggestion)
    session.flush()
    return suggestion.id


def from_vote(session: Session, message: Message, *, down: bool) -> None:
    """A thumbs down on a bot reply queues its question for review, with the reply, unless the
    customer has `PENDING_VOTES_PER_CONTACT` waiting already; a vote changed back to up takes a
    suggestion nobody has reviewed yet out of the queue."""
    existing = session.scalar(select(Suggestion).where(Suggestion.message_id == message.id))
    if not down:
        if existing is not None and existing.state == SuggestionState.PENDING:
            session.delete(existing)
        return
    question = session.get(Message, message.reply_to) if message.reply_to is not None else None
    if existing is not None or question is None:
        return
    if _pending_votes(session, message.conversation_id) >= PENDING_VOTES_PER_CONTACT:
        return
    now = utcnow()
    session.add(
        Suggestion(
            origin=SuggestionOrigin.THUMBS_DOWN.value,
            state=SuggestionState.PENDING,
            question=(_question(question.text) or question.text.strip())[:MAX_QUESTION_CHARS],
            answer="",
            phrasings=[],
            bot_reply=message.text,
            conversation_id=message.conversation_id,
            message_id=message.id,
            created_at=now,
            updated_at=now,
        )
    )


def _pending_votes(session: Session, conversation_id: str) -> int:
    """The suggestions from thumbs down of the conversation's customer still waiting for review;
    the customer's row is locked first, so two votes at once cannot both pass the cap."""
    contact_id = select(Conversation.contact_id).where(Conversation.id == conversation_id).scalar_subquery()
    session.execute(select(Contact.id).where(Contact.id == contact_id).with_for_update())
    pending = (
        select(func.count())
        .select_from(Suggestion)
        .join(Conversation, Conversation.id == Suggestion.conversation_id)
        .where(
            Conversation.contact_id == contact_id,
            Suggestion.origin == SuggestionOrigin.THUMBS_DOWN.value,
            Suggestion.state == SuggestionState.PENDING,
        )
    )
    return session.execute(pending).scalar_one()


def for_gap(session: Session, *, question: str, phrasings: Sequence[str], answer: str, actor: str) -> int:
    """A suggestion written on the Knowledge gaps page for a group of questions (pending:
    `approve` or `link` it next, in the same transaction)."""
    now = utcnow()
    typical = _clean_question(leave_out(question, find(question)) or question)
    suggestion = Suggestion(
        origin=SuggestionOrigin.GAP.value,
        state=SuggestionState.PENDING,
        question=typical,
        answer=answer.strip()[:MAX_ANSWER_CHARS],
        phrasings=_other_wordings(typical, phrasings),
        answered_by=actor,
        created_at=now,
        updated_at=now,
    )
    session.add(suggestion)
    session.flush()
    return suggestion.id


def _clean_question(text: str) -> str:
    question = " ".join(text.split())[:MAX_QUESTION_CHARS]
    if not question:
        raise ReviewError("the question is empty")
    return question


def _other_wordings(question: str, phrasings: Sequence[str]) -> list[str]:
    """The other wordings worth linking: each once, none holding personal data (a customer's
    order number has no place in the index)."""
    seen = {question.casefold()}
    kept: list[str] = []
    for text in phrasings:
        wording = " ".join(text.split())[: written.MAX_PHRASING_CHARS]
        if wording and wording.casefold() not in seen and not find(wording):
            seen.add(wording.casefold())
            kept.append(wording)
    return kept


def _reviewed(suggestion: Suggestion, actor: str, state: SuggestionState | None = None) -> None:
    if state is not None:
        suggestion.state = state
    suggestion.reviewed_by, suggestion.reviewed_at = actor, utcnow()
    suggestion.updated_at = suggestion.reviewed_at


def _get(session: Session, suggestion_id: int, *states: SuggestionState) -> Suggestion:
    suggestion = session.get(Suggestion, suggestion_id, with_for_update=True)
    if suggestion is None:
        raise NoSuchSuggestion(f"there is no suggestion {suggestion_id}")
    if states and suggestion.state not in states:
        raise ReviewError(f"the suggestion is {suggestion.state}")
    return suggestion


def known_personal_data(session: Session, conversation_id: str | None) -> list[str]:
    """What the hub knows of the customer of a conversation that names them: their display name;
    their verified email and phone, and the address or number they write from
    (`contacts.known_identifiers`: a WhatsApp customer's phone); their name, email, phone and
    order numbers in its memory (not their plan: "the Pro plan" names nobody); and what their
    own latest messages in the conversation hold by shape ("my purchase 5821", an IBAN)."""
    if conversation_id is None:
        return []
    conversation = session.get(Conversation, conversation_id)
    if conversation is None:
        return []
    contact = session.get(Contact, conversation.contact_id)
    facts = session.scalars(
        select(Memory.value).where(Memory.contact_id == conversation.contact_id, Memory.key.in_(IDENTIFYING))
    ).all()
    said = session.scalars(
        select(Message.text)
        .where(Message.conversation_id == conversation_id, Message.author == Author.CUSTOMER.value)
        .order_by(Message.id.desc())
        .limit(CUSTOMER_MESSAGES_READ)
    )
    given = [found.text for text in said for found in find(text)]
    names = [contact.display_name] if contact is not None and contact.display_name else []
    return [*names, *contacts.known_identifiers(session, conversation.contact_id), *facts, *given]


def personal_data(session: Session, conversation_id: str | None, texts: Sequence[str]) -> list[Found]:
    """Personal data in `texts` (positions in each), with what is known of the conversation's
    customer."""
    known = known_personal_data(session, conversation_id)
    return [found for text in texts for found in find(text, known=known)]


def _check_private(session: Session, conversation_id: str | None, texts: Sequence[str]) -> None:
    found = personal_data(session, conversation_id, texts)
    if found:
        listed = ", ".join(sorted({f"{item.kind} “{item.text}”" for item in found}))
        raise ReviewError(f"personal data to redact first: {listed}")


def edit(
    session: Session,
    suggestion_id: int,
    *,
    question: str,
    answer: str,
    actor: str,
    collection: str,
    may_change_live: bool = True,
) -> bool:
    """Change a suggestion's question and answer; whether that changed a live answer, which is
    rewritten in the index (the next run), the questions linked to it following a changed
    question. Without `may_change_live` (an agent), a live answer is refused (`NeedsAdmin`),
    decided here, in the transaction that holds the row."""
    suggestion = _get(session, suggestion_id, SuggestionState.PENDING, SuggestionState.APPROVED)
    live = suggestion.state == SuggestionState.APPROVED
    if live and not may_change_live:
        raise NeedsAdmin("only an admin can change a live answer")
    new_question = _clean_question(question)
    suggestion.answer = answer.strip()[:MAX_ANSWER_CHARS]
    if live and suggestion.source is not None:
        _check_publishable(session, suggestion, new_question)
        old_section = suggestion.section
        section = written.put_document(
            session, source=suggestion.source, title=TEAM_ANSWERS, section=new_question, text=suggestion.answer
        )
        if old_section is not None and section != old_section:
            written.move_links(
                session, collection=collection, source=suggestion.source, section=old_section, to=section
            )
            session.execute(
                update(Suggestion)
                .where(Suggestion.source == suggestion.source, Suggestion.section == old_section)
                .values(section=section)
            )
        suggestion.section = section
        suggestion.reviewed_by, suggestion.reviewed_at = actor, utcnow()
    suggestion.question = new_question
    suggestion.updated_at = utcnow()
    return live


def redact_all(session: Session, suggestion_id: int) -> int:
    """Take the personal data found in a pending suggestion out: left out of its question and
    wordings (a placeholder there would make every question holding, say, an order number look
    like this one), replaced with placeholders in its answer; how many were found."""
    suggestion = _get(session, suggestion_id, SuggestionState.PENDING)
    known = known_personal_data(session, suggestion.conversation_id)
    count = 0

    def clean(text: str, *, how: Callable[[str, Sequence[Found]], str]) -> str:
        nonlocal count
        found = find(text, known=known)
        count += len(found)
        return how(text, found)

    suggestion.question = clean(suggestion.question, how=leave_out) or suggestion.question
    suggestion.phrasings = [wording for text in suggestion.phrasings if (wording := clean(text, how=leave_out))]
    suggestion.answer = clean(suggestion.answer, how=redact)
    suggestion.updated_at = utcnow()
    return count


def _check_publishable(session: Session, suggestion: Suggestion, question: str | None = None) -> None:
    if not suggestion.answer.strip():
        raise ReviewError("write the answer first")
    texts = [question or suggestion.question, *suggestion.phrasings, suggestion.answer]
    _check_private(session, suggestion.conversation_id, texts)


def approve(session: Session, suggestion_id: int, *, actor: str, collection: str) -> str:
    """Make a pending suggestion a support team answer (indexed by the next run); its source."""
    suggestion = _get(session, suggestion_id, SuggestionState.PENDING)
    _check_publishable(session, suggestion)
    _publish(session, suggestion, collection)
    suggestion.answered_by = suggestion.answered_by or actor  # a thumbs down's answer is the reviewer's
    _reviewed(suggestion, actor, SuggestionState.APPROVED)
    return present(suggestion.source, "the approved suggestion's source, which _publish() sets,")


def _publish(session: Session, suggestion: Suggestion, collection: str) -> None:
    source = f"{TEAM_ANSWERS_PREFIX}{suggestion.id}"
    section = written.put_document(
        session, source=source, title=TEAM_ANSWERS, section=suggestion.question, text=suggestion.answer
    )
    suggestion.source, suggestion.section = source, section
    if suggestion.phrasings:
        written.link(
            session,
            collection=collection,
            links=[written.Link(source, section, text) for text in suggestion.phrasings],
        )


def _unpublish(session: Session, suggestion: Suggestion, collection: str) -> None:
    if suggestion.source is None:
        return
    if suggestion.state == SuggestionState.APPROVED:
        written.remove_document(session, source=suggestion.source)
        written.unlink_source(session, collection=collection, source=suggestion.source)
    elif suggestion.section is not None:  # linked, or kept for a person
        held = _held_by_others(session, suggestion)
        written.unlink(
            session,
            collection=collection,
            links=[
                written.Link(suggestion.source, suggestion.section, text)
                for text in (suggestion.question, *suggestion.phrasings)
                if text not in held
            ],
        )
        if suggestion.source == HAND_OVER_SOURCE and not written.linked_to(session, source=HAND_OVER_SOURCE):
            written.remove_document(session, source=HAND_OVER_SOURCE)


def _held_by_others(session: Session, suggestion: Suggestion) -> set[str]:
    """The wordings other live suggestions link to the same section: a link is one row
    whoever made it, and stays while one of them is live."""
    others = session.scalars(
        select(Suggestion).where(
            Suggestion.id != suggestion.id,
            Suggestion.source == suggestion.source,
            Suggestion.section == suggestion.section,
            Suggestion.state.in_([SuggestionState.APPROVED, SuggestionState.LINKED, SuggestionState.HAND_OVER]),
        )
    )
    held: set[str] = set()
    for other in others:
        held.update(other.phrasings)
        if other.state != SuggestionState.APPROVED:  # an answer's question is its heading, not a link
            held.add(other.question)
    return held


def hand_over(session: Session, suggestion_id: int, *, actor: str, collection: str) -> None:
    """Keep a pending suggestion's question for a person: it (and its other wordings) becomes a
    phrasing of the questions a person answers, so a customer question closer to it than to any
    answer is handed over (`core.answering.answer_decision.HAND_OVER_SOURCE`). For what the bot
    must not answer: an account's own state, a refund to chase, a complaint."""
    section = written.put_document(
        session, source=HAND_OVER_SOURCE, title=TEAM_ANSWERS, section=HAND_OVER_SECTION, text=HAND_OVER_TEXT
    )
    _link_question(session, suggestion_id, HAND_OVER_SOURCE, section, actor, collection, SuggestionState.HAND_OVER)


def link(session: Session, suggestion_id: int, *, source: str, section: str, actor: str, collection: str) -> None:
    """Answer a pending suggestion's question with a section the index holds instead (an
    article's, or a support team answer's): the question (and its other wordings) become
    phrasings of that section. The caller checks the section exists in the index."""
    _link_question(session, suggestion_id, source, section, actor, collection, SuggestionState.LINKED)


def _link_question(
    session: Session,
    suggestion_id: int,
    source: str,
    section: str,
    actor: str,
    collection: str,
    state: SuggestionState,
) -> None:
    suggestion = _get(session, suggestion_id, SuggestionState.PENDING)
    wordings = [suggestion.question, *suggestion.phrasings]
    _check_private(session, suggestion.conversation_id, wordings)
    written.link(session, collection=collection, links=[written.Link(source, section, text) for text in wordings])
    suggestion.source, suggestion.section = source, section
    _reviewed(suggestion, actor, state)


def reject(session: Session, suggestion_id: int, *, actor: str) -> None:
    _reviewed(_get(session, suggestion_id, SuggestionState.PENDING), actor, SuggestionState.REJECTED)


def withdraw(session: Session, suggestion_id: int, *, actor: str, collection: str) -> None:
    """Take a live answer or link out of the index (the next run); a withdrawn answer takes
    the questions linked to it along."""
    suggestion = _get(
        session, suggestion_id, SuggestionState.APPROVED, SuggestionState.LINKED, SuggestionState.HAND_OVER
    )
    if suggestion.state == SuggestionState.APPROVED:
        linked = select(Suggestion).where(
            Suggestion.state == SuggestionState.LINKED, Suggestion.source == suggestion.source
        )
        for other in session.scalars(linked):
            _reviewed(other, actor, SuggestionState.WITHDRAWN)
    _unpublish(session, suggestion, collection)
    _reviewed(suggestion, actor, SuggestionState.WITHDRAWN)


def forget_conversations(session: Session, conversation_ids: Select[str]) -> None:
    """Drop the suggestions of conversations being erased (or expired) that never went live:
    they quote the customer. Live answers were cleared of personal data before going live, and
    stay, without their conversation and without the bot's reply they kept."""
    session.execute(
        delete(Suggestion).where(
            Suggestion.conversation_id.in_(conversation_ids),
            Suggestion.state.in_([SuggestionState.PENDING, SuggestionState.REJECTED]),
        )
    )
    session.execute(  # what the bot had said was never checked for personal data
        update(Suggestion)
        .where(Suggestion.conversation_id.in_(conversation_ids))
        .values(bot_reply=None)
        .execution_options(synchronize_session=False)
    )


def _answered_from(session: Session, case_ids: Sequence[str]) -> dict[str, AnsweredFrom]:
    """Per case, the newest reply sent from a passage with at least `KEPT_AS_ANSWER` of it kept."""
    rows = session.execute(
        select(CopilotUse.case_id, CopilotUse.source, CopilotUse.section, CopilotUse.kept)
        .where(CopilotUse.case_id.in_(case_ids), CopilotUse.section != "", CopilotUse.kept >= KEPT_AS_ANSWER)
        .order_by(CopilotUse.id)
    )
    return {case_id: AnsweredFrom(source, section, kept) for case_id, source, section, kept in rows}


def view(session: Session, suggestion: Suggestion, *, answered_from: AnsweredFrom | None = None) -> SuggestionView:
    return SuggestionView(
        id=suggestion.id,
        origin=suggestion.origin,
        state=suggestion.state,
        question=suggestion.question,
        answer=suggestion.answer,
        phrasings=list(suggestion.phrasings),
        bot_reply=suggestion.bot_reply,
        conversation_id=suggestion.conversation_id,
        case_id=suggestion.case_id,
        answered_by=suggestion.answered_by,
        source=suggestion.source,
        section=suggestion.section,
        reviewed_by=suggestion.reviewed_by,
        reviewed_at=suggestion.reviewed_at,
        created_at=suggestion.created_at,
        personal_data=(
            personal_data(
                session, suggestion.conversation_id, [suggestion.question, *suggestion.phrasings, suggestion.answer]
            )
            if suggestion.state == SuggestionState.PENDING
            else []
        ),
        answered_from=answered_from,
    )


def listed(session: Session, *, states: Sequence[SuggestionState], limit: int = 200) -> list[SuggestionView]:
    """Suggestions in these states, the newest first."""
    rows = session.scalars(
        select(Suggestion)
        .where(Suggestion.state.in_(states))
        .order_by(Suggestion.created_at.desc(), Suggestion.id.desc())
        .limit(limit)
    ).all()
    pending_cases = [row.case_id for row in rows if row.case_id and row.state == SuggestionState.PENDING]
    answered = _answered_from(session, pending_cases) if pending_cases else {}
    return [view(session, row, answered_from=answered.get(row.case_id or "")) for row in rows]


def one(session: Session, suggestion_id: int) -> SuggestionView | None:
    suggestion = session.get(Suggestion, suggestion_id)
    if suggestion is None:
        return None
    pending_case = suggestion.case_id if suggestion.state == SuggestionState.PENDING else None
    answered = _answered_from(session, [pending_case]) if pending_case else {}
    return view(session, suggestion, answered_from=answered.get(pending_case or ""))
