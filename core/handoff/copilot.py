"""Suggested replies for the person who takes a case, without an LLM: the help centre's passages
that answer the customer's last question, the team's approved answers and the canned replies,
ranked, at most `MAX_SUGGESTIONS`, each with its source; with an LLM configured, the model's
draft (`Case.suggestion`, written when the case opened) as well.

The customer's last question is read as the case's card reads it (`desk_store.asked`), but over
what they wrote since the case opened too: the newest of their messages that asks something
(a request for a person left out while anything else was said), else their newest message.
That message is searched as the bot searches one (`core.answering.agent.ask_each`: each of its
questions, in its better reading, in the customer's language first), so staff see what the bot
would have quoted, and more: one passage per document (three passages of one article are one
suggestion, not three), each question of the message in turn. The team's approved answers are
written knowledge documents ("Support team answers › …", `core.store.suggestions`), found by the
same search; a canned reply is not in the index, and competes by the cosine of its text with
the question, the measure a passage's `Hit.relevance` is. Measured in
`tests/bench/bench_copilot.py`: on 20 handed-over cases of the sample help centre the right
article is among the suggestions for 18; among the plain search's top three passages for 14 when
it is given the question, for 9 when given the customer's last message.

Reading the case is one transaction (`asked_on_case`); the search and the encoding run in the
knowledge base's worker threads (`KnowledgeBase.search`, `aencode`), off the event loop.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from functools import partial
from itertools import chain, zip_longest
from typing import Protocol

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.answering.agent import ask_each
from core.answering.answer_decision import TEAM_ANSWERS_PREFIX
from core.answering.offline_responder import Asked
from core.answering.sentiment import asks_for_person
from core.handoff.canned import Canned, canned_replies, customer_name, fill
from core.handoff.desk_store import HUMAN_REQUEST, SUMMARY_MESSAGES, asked
from core.messages import Author
from core.store.case_tables import Case
from core.store.db import Conversation, Message
from knowledge.hits import Hit
from knowledge.ingest.chunking import heading_text

MAX_SUGGESTIONS = 3
"""Suggestions from the help centre, the team's answers and the canned replies (the model's
draft comes on top)."""
SEARCHED = 8
"""Passages searched per question: enough for three documents when one article fills several."""
MODEL = "model"
"""The source of the model's draft."""
CANNED_LINK = "/admin/replies"


class SuggestionKind(StrEnum):
    HELP_CENTRE = "help centre"
    TEAM_ANSWER = "team answer"
    CANNED = "canned reply"
    DRAFT = "model's draft"


@dataclass(frozen=True, slots=True)
class Suggestion:
    kind: SuggestionKind
    key: str
    """What the insert link names: the passage's chunk id, `canned:NAME`, or `draft`."""
    text: str
    """What the reply box is filled with."""
    source: str
    """The document's source, the canned reply's name, or `MODEL`."""
    title: str
    """What staff read it under: the passage's heading, the canned reply's name."""
    link: str
    """Where to read the source (the document's web address, the canned replies' page); may be empty."""
    section: str = ""
    """A passage's section in its document: what the learning loop links a question to."""


@dataclass(frozen=True, slots=True)
class CaseAsked:
    """What the suggestions of a case are made from, read in one transaction."""

    message: str | None
    """The customer's message that asks (`asked_on_case`); None when they wrote nothing."""
    language: str | None
    """The conversation's language (ISO 639-1): its passages are searched first."""
    customer: str | None
    """The name a canned reply greets them by."""
    canned: tuple[Canned, ...]
    draft: str | None
    """The model's draft, when an LLM wrote one."""


class Searchable(Protocol):
    """What the copilot needs of the knowledge base (`knowledge.base.KnowledgeBase`)."""

    async def search(self, query: str, k: int = 5, *, language: str | None = None) -> list[Hit]: ...

    async def aencode(self, texts: Sequence[str]) -> np.ndarray: ...


def asked_on_case(session: Session, case_id: str) -> CaseAsked | None:
    """What the case's suggestions are made from; None for an unknown case. The message is the
    newest of the customer's last `SUMMARY_MESSAGES` that asks something, requests for a person
    left out unless that is all they said; else their newest."""
    case = session.get(Case, case_id)
    if case is None:
        return None
    conversation = session.get(Conversation, case.conversation_id)
    if conversation is None:
        return None
    said = session.execute(
        select(Message.text, Message.intent)
        .where(Message.conversation_id == conversation.id, Message.author == Author.CUSTOMER.value)
        .order_by(Message.id.desc())
        .limit(SUMMARY_MESSAGES)
    ).all()
    asking = [row.text for row in said if row.intent != HUMAN_REQUEST] or [row.text for row in said[:1]]
    _, index = asked(asking)
    return CaseAsked(
        message=asking[index] if index is not None else None,
        language=conversation.language or case.language,
        customer=customer_name(session, conversation.contact_id),
        canned=tuple(canned_replies(session)),
        draft=case.suggestion,
    )


class Copilot:
    def __init__(self, knowledge: Searchable) -> None:
        self._knowledge = knowledge

    async def suggest(self, asked: CaseAsked, *, agent: str | None) -> list[Suggestion]:
        """At most `MAX_SUGGESTIONS` replies, closest to the question first, then the model's
        draft when there is one. `agent`: the name canned replies are signed with."""
        found = await self._ranked(asked, agent=agent) if asked.message else []
        if asked.draft:
            found.append(Suggestion(SuggestionKind.DRAFT, "draft", asked.draft, MODEL, "Drafted by the model", ""))
        return found

    async def _ranked(self, asked: CaseAsked, *, agent: str | None) -> list[Suggestion]:
        search = partial(self._knowledge.search, k=SEARCHED, language=asked.language)
        each = await ask_each(asked.message or "", search)
        wanted = [one for one in each if not asks_for_person(one.question)] or each
        passages = _one_per_document(wanted)[:MAX_SUGGESTIONS]
        scored = [(hit.relevance, _passage(hit)) for hit in passages]
        if asked.canned:
            scored += await self._canned(asked, [one.question for one in wanted], agent=agent)
        scored.sort(key=lambda pair: pair[0], reverse=True)  # stable: the search's order on a tie
        return [suggestion for _, suggestion in scored[:MAX_SUGGESTIONS]]

    async def _canned(
        self, asked: CaseAsked, questions: list[str], *, agent: str | None
    ) -> list[tuple[float, Suggestion]]:
        """Each canned reply with its best cosine with a question (the questions were encoded by
        their search just now: `aencode` finds them among its recent vectors)."""
        vectors = await self._knowledge.aencode([*questions, *(reply.body for reply in asked.canned)])
        asking, bodies = vectors[: len(questions)], vectors[len(questions) :]
        closeness = (bodies @ asking.T).max(axis=1)
        return [
            (
                float(score),
                Suggestion(
                    SuggestionKind.CANNED,
                    f"canned:{reply.name}",
                    fill(reply.body, customer=asked.customer, agent=agent),
                    reply.name,
                    reply.name,
                    CANNED_LINK,
                ),
            )
            for reply, score in zip(asked.canned, closeness, strict=True)
        ]


def _one_per_document(asked: Sequence[Asked]) -> list[Hit]:
    """The questions' passages in turn (each one's best, then each one's second…), the first of
    each document only."""
    seen: dict[str, Hit] = {}
    for hit in chain.from_iterable(zip_longest(*(one.hits for one in asked))):
        if hit is not None:
            seen.setdefault(hit.source, hit)
    return list(seen.values())


def _passage(hit: Hit) -> Suggestion:
    team = hit.source.startswith(TEAM_ANSWERS_PREFIX)
    return Suggestion(
        SuggestionKind.TEAM_ANSWER if team else SuggestionKind.HELP_CENTRE,
        hit.chunk_id,
        hit.text,
        hit.source,
        heading_text(hit.title, hit.section),
        hit.url if hit.url.startswith(("https://", "http://")) else "",
        hit.section,
    )
