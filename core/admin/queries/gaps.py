"""Knowledge gaps: the customer questions the knowledge base could not answer, grouped by meaning,
so the team knows which articles to write next.

A question is *unanswered* when the bot's reply to it (the bot message whose `reply_to` is the
customer message) was declined, or got a thumbs down. Questions are grouped with the encoder the
knowledge base already holds (no second model) by `sentence_transformers.util.community_detection`;
each group's *typical* question is its community's centre, the question most others are close to.

A group the current index now answers, or that the team keeps for a person, drops off
(`GapFinder.knowledge_gaps`).
"""

from __future__ import annotations

import asyncio
import re
from collections import OrderedDict
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, Literal, TypeVar

import numpy as np
from sqlalchemy import Select, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from core.admin.queries.overview import Period
from core.answering.agent import ask_each
from core.answering.answer_decision import HAND_OVER_SOURCE, Decision, decide
from core.answering.questions import questions
from core.store.db import Feedback, Message
from knowledge.base import QUERY_SUB_BATCH, KnowledgeBase
from knowledge.hits import Hit
from knowledge.tables import IndexVersion, KnowledgeDocument

SIMILAR = 0.70
"""Cosine to a group's centre at which a question joins the group. Chosen on real paraphrases:
StackFAQ's 125 threads, each asked by its users in about ten wordings (1,249 questions), grouped by
`community_detection` at thresholds from 0.50 to 0.80 and scored by pairwise F1 against the
threads. F1 is flat from 0.66 to 0.72 (0.727-0.730, highest at 0.70) and falls either side (0.604
at 0.60, 0.654 at 0.75). Within that plateau the higher threshold is taken, for precision: at 0.70,
84% of the pairs put in one group are true paraphrases (74% at 0.66), at a recall of 64% — a gap
split in two is shown twice, while two questions merged hide one. On the 164 distinct questions
of config/eval/sample-questions.jsonl, 0.70 merges 8 into 4 pairs, near-duplicates such as "how
many api requests per minute can we send on business" and "whats the rate limit on the api for
enterprise, per minute" (0.66: 12 questions; 0.60: 24)."""
MAX_VECTORS = 20_000
"""Question vectors kept between page loads (all-MiniLM-L6-v2: 1.5 KB each, 30 MB in all)."""
MAX_RECHECKS = 10_000
"""Re-check results kept, per typical question and index version."""
MAX_EXAMPLES = 5

Why = Literal["declined", "thumbs down"]


@dataclass(frozen=True, slots=True)
class Question:
    message_id: int
    conversation_id: str
    channel: str
    text: str
    created_at: datetime
    why: Why
    """'declined' wins when a declined reply was thumbed down as well."""


@dataclass(frozen=True, slots=True)
class UnansweredQuestions:
    questions: list[Question]
    """The newest (by the time of the reply), at most the limit asked for."""
    total: int
    """All of them in the period."""


@dataclass(frozen=True, slots=True)
class Gap:
    typical: str
    count: int
    last_seen: datetime
    examples: list[str]
    """Up to five other wordings, newest first, none the same as another or as `typical`."""
    conversation_ids: list[str]
    """Distinct, newest first."""
    declined: int
    thumbs_down: int


@dataclass(frozen=True, slots=True)
class GapReport:
    gaps: list[Gap]
    """Largest first (ties: most recently seen first), at most the limit asked for."""
    questions_grouped: int
    questions_total: int
    resolved: int
    """Groups left out because the index, changed since, now answers them — counted among the
    groups examined to fill the page (all of them when the page is not full)."""


def _unanswered(period: Period) -> Select[int, str, str, str, datetime, bool, int]:
    """Newest reply first, each row with the count of all. The bot's replies in the period are read
    through the index on (author, created_at, channel) and narrowed to the declined and the
    thumbed down before their questions are fetched by primary key; counting in the same
    statement (a window) scans them once. A question belongs to the period its reply was
    written in, as the overview counts declined replies (`core.admin.queries.overview.outcomes`)."""
    bot, customer = aliased(Message), aliased(Message)
    conditions = [bot.author == "bot", bot.created_at >= period.since, bot.created_at < period.until]
    if period.channel is not None:
        conditions.append(bot.channel == period.channel)
    replies = (
        select(bot.id, bot.reply_to.label("question"), bot.declined, bot.created_at)
        .outerjoin(Feedback, Feedback.message_id == bot.id)
        .where(*conditions, or_(bot.declined, Feedback.rating == "down"))
        .subquery()
    )
    return (
        select(
            customer.id,
            customer.conversation_id,
            customer.channel,
            customer.text,
            customer.created_at,
            replies.c.declined,
            func.count().over(),
        )
        .join(replies, customer.id == replies.c.question)
        .where(customer.author == "customer")
        .order_by(replies.c.created_at.desc(), replies.c.id.desc())
    )


async def unanswered_questions(session: AsyncSession, period: Period, *, limit: int = 1000) -> UnansweredQuestions:
    """The questions the bot declined, or got a thumbs down for, in the period: the newest
    `limit` (by the time of the reply) and how many there are in all."""
    if limit < 1:
        raise ValueError(f"limit must be at least 1, not {limit}")
    rows = (await session.execute(_unanswered(period).limit(limit))).all()
    found = [
        Question(message_id, conversation_id, channel, text, created_at, "declined" if declined else "thumbs down")
        for message_id, conversation_id, channel, text, created_at, declined, _ in rows
    ]
    return UnansweredQuestions(found, rows[0][-1] if rows else 0)


_SPACES = re.compile(r"\s+")


def _wording(text: str) -> str:
    return _SPACES.sub(" ", text).strip().casefold()


def _gap(members: Sequence[Question]) -> Gap:
    """A group from its questions, its centre first."""
    typical = members[0].text.strip()
    newest = sorted(members, key=lambda q: (q.created_at, q.message_id), reverse=True)
    seen = {_wording(typical)}
    examples: list[str] = []
    for question in newest:
        wording = _wording(question.text)
        if wording not in seen and len(examples) < MAX_EXAMPLES:
            seen.add(wording)
            examples.append(question.text.strip())
    return Gap(
        typical=typical,
        count=len(members),
        last_seen=newest[0].created_at,
        examples=examples,
        conversation_ids=list(dict.fromkeys(q.conversation_id for q in newest)),
        declined=sum(1 for q in members if q.why == "declined"),
        thumbs_down=sum(1 for q in members if q.why == "thumbs down"),
    )


def _communities(vectors: np.ndarray) -> list[list[int]]:
    """Every row in exactly one community (`min_community_size=1`), its centre first."""
    from sentence_transformers.util import community_detection

    return community_detection(vectors, threshold=SIMILAR, min_community_size=1)


def groups(found: Sequence[Question], vectors: np.ndarray) -> list[Gap]:
    """`found` grouped by the cosine of their `vectors` (unit length, same order), largest first,
    ties most recently seen first. Synchronous: run it off the event loop."""
    gaps = [_gap([found[i] for i in community]) for community in _communities(vectors)]
    return sorted(gaps, key=lambda gap: (gap.count, gap.last_seen), reverse=True)


def asked(text: str) -> str:
    """What a message asks, as the hub searches it (`core.answering.questions`): the facts and pleasantries
    around a question ("Hi, I'm Omar from Acme, we moved from Asana last month.") pull the same
    question asked by different people apart. Measured on StackFAQ with one of six such openings
    put before half the questions: pairwise F1 0.641 on the messages as written, 0.656 on what
    they ask (recall 0.508 → 0.557, precision 0.869 → 0.797); on the questions alone it changes
    27 of 1,249 and F1 not (0.730 → 0.728)."""
    return " ".join(questions(text))


K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class _Lru(Generic[K, V]):
    def __init__(self, capacity: int) -> None:
        self._capacity = capacity
        self._items: OrderedDict[K, V] = OrderedDict()

    def get(self, key: K) -> V | None:
        value = self._items.get(key)
        if value is not None:
            self._items.move_to_end(key)
        return value

    def put(self, key: K, value: V) -> None:
        self._items[key] = value
        self._items.move_to_end(key)
        while len(self._items) > self._capacity:
            self._items.popitem(last=False)


@dataclass(frozen=True, slots=True)
class _IndexState:
    version: str
    changed_at: datetime


@dataclass(frozen=True, slots=True)
class _Recheck:
    answered_from: frozenset[str] | None
    """The documents the current index answers each question of the message from; None when it
    declines one of them."""


class GapFinder:
    """Knowledge gaps over one knowledge base, with what a page reload need not compute again:
    question vectors by message id and re-check results by question and index version. Build one
    per app.

    Encoding is the cost of a first visit: 1,000 StackFAQ questions over the sample help centre
    took 9.7 s cold and 0.10 s on the next loads (2 busy CPUs; the query alone, 30 days of a
    million messages: 0.2-0.3 s on SQLite, 0.3 s on PostgreSQL); afterwards a load encodes only
    the questions that arrived since."""

    def __init__(
        self, knowledge: KnowledgeBase, *, max_vectors: int = MAX_VECTORS, max_rechecks: int = MAX_RECHECKS
    ) -> None:
        self._knowledge = knowledge
        self._vectors: _Lru[int, np.ndarray] = _Lru(max_vectors)
        self._rechecks: _Lru[tuple[str, str, float, int], _Recheck] = _Lru(max_rechecks)

    async def knowledge_gaps(
        self,
        session: AsyncSession,
        period: Period,
        *,
        min_match: float,
        top_k: int = 5,
        limit_groups: int = 50,
        limit_questions: int = 1000,
    ) -> GapReport:
        """The period's latest `limit_questions` unanswered questions grouped, the largest
        `limit_groups` groups first, without those the current index answers. `min_match` and
        `top_k` are the answer settings the hub decides with (`answer.*`).

        A group drops off when the index now answers its typical question (every question of it,
        searched and decided as the offline responder does) from a document added or changed
        after the group was last seen. Not merely when the index changed: a question answered
        and thumbed down, which the bot still answers from the same unchanged article, must stay
        a gap; and a document edited since is the one the team wrote to close it."""
        found = await unanswered_questions(session, period, limit=limit_questions)
        vectors = await self._vectors_of(found.questions)
        gaps = await asyncio.to_thread(groups, found.questions, vectors)
        index = await self._index_state(session)
        kept: list[Gap] = []
        resolved = 0
        examined = 0
        while len(kept) < limit_groups and examined < len(gaps):
            window = gaps[examined : examined + limit_groups]
            examined += len(window)
            done = await self._answered_now(session, window, index, min_match=min_match, top_k=top_k)
            resolved += sum(done)
            kept.extend(gap for gap, answered in zip(window, done, strict=True) if not answered)
        return GapReport(kept[:limit_groups], len(found.questions), found.total, resolved)

    async def warm(self, session: AsyncSession, period: Period, *, limit_questions: int = 1000) -> int:
        """Encode the period's latest unanswered questions ahead of a visit, so the page finds
        them cached; how many were new."""
        found = await unanswered_questions(session, period, limit=limit_questions)
        new = sum(1 for question in found.questions if self._vectors.get(question.message_id) is None)
        await self._vectors_of(found.questions)
        return new

    async def _vectors_of(self, found: Sequence[Question]) -> np.ndarray:
        """Unit vectors of what each question asks; only those not seen before are encoded, in
        one batch in a worker thread."""
        embedder = self._knowledge.embedder
        if not found:
            return np.zeros((0, embedder.dim), dtype=np.float32)
        vectors: dict[int, np.ndarray] = {}
        for question in found:
            vector = self._vectors.get(question.message_id)
            if vector is not None:
                vectors[question.message_id] = vector
        missing = [q for q in found if q.message_id not in vectors]
        if missing:
            encoded = await asyncio.to_thread(
                embedder.encode, [asked(q.text) for q in missing], batch_size=QUERY_SUB_BATCH
            )
            for question, vector in zip(missing, encoded, strict=True):
                self._vectors.put(question.message_id, vector)
                vectors[question.message_id] = vector
        return np.stack([vectors[q.message_id] for q in found])

    async def _index_state(self, session: AsyncSession) -> _IndexState | None:
        """The collection's index version and when an ingest run last changed it; None before
        any run recorded one (then no group can be known to be answered since)."""
        row = (
            await session.execute(
                select(IndexVersion.version, IndexVersion.updated_at).where(
                    IndexVersion.collection == self._knowledge.dense.collection_name
                )
            )
        ).first()
        return None if row is None else _IndexState(row.version, row.updated_at)

    async def _answered_now(
        self, session: AsyncSession, gaps: Sequence[Gap], index: _IndexState | None, *, min_match: float, top_k: int
    ) -> list[bool]:
        """Per gap: the index changed after it was last seen and now answers its typical question
        from a document changed since. The version's time rules most groups out without a search:
        only those seen before the last run that changed the index are searched."""
        if index is None:
            return [False] * len(gaps)
        candidates = [i for i, gap in enumerate(gaps) if gap.last_seen < index.changed_at]
        checks = await self._recheck(
            [gaps[i].typical for i in candidates], index.version, min_match=min_match, top_k=top_k
        )
        changed = await _changed_at(session, set().union(*(check.answered_from or () for check in checks)))
        answered = [False] * len(gaps)
        for i, check in zip(candidates, checks, strict=True):
            if check.answered_from is not None:
                answered[i] = any(
                    changed[source] > gaps[i].last_seen for source in check.answered_from if source in changed
                )
        return answered

    async def _recheck(self, texts: Sequence[str], version: str, *, min_match: float, top_k: int) -> list[_Recheck]:
        """How the current index decides on each text. The searches run together, so the
        knowledge base encodes them in shared batches. Results are kept per index version, but
        only once this process's local index is that version (a host following a shared Chroma
        server catches up a couple of seconds after a run)."""
        keys = [(text, version, min_match, top_k) for text in texts]
        results: dict[tuple[str, str, float, int], _Recheck] = {}
        for key in keys:
            cached = self._rechecks.get(key)
            if cached is not None:
                results[key] = cached
        missing = [key for key in dict.fromkeys(keys) if key not in results]

        async def search(query: str) -> list[Hit]:
            return await self._knowledge.search(query, top_k)

        asked_each = await asyncio.gather(*(ask_each(text, search) for text, *_ in missing))
        current = self._knowledge.local.snapshot.index_version == version
        for key, each in zip(missing, asked_each, strict=True):
            decisions = [decide(one.hits, min_match=min_match) for one in each]
            settled = [d for d in decisions if _settled(d)]
            sources = frozenset(d.best.source for d in settled if d.best is not None)
            results[key] = _Recheck(sources if len(settled) == len(decisions) else None)
            if current:
                self._rechecks.put(key, results[key])
        return [results[key] for key in keys]


def _settled(decision: Decision) -> bool:
    """Answered, or kept for a person on purpose (Suggestions' "Always hand over"): either way no
    longer a gap to write for."""
    return decision.answer or (decision.best is not None and decision.best.source == HAND_OVER_SOURCE)


async def _changed_at(session: AsyncSession, sources: set[str]) -> dict[str, datetime]:
    """When each of these documents was last added or changed."""
    if not sources:
        return {}
    rows = await session.execute(
        select(KnowledgeDocument.source, KnowledgeDocument.updated_at).where(
            KnowledgeDocument.source.in_(sorted(sources))
        )
    )
    return {source: updated_at for source, updated_at in rows}
