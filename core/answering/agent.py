"""The agent: turns one customer turn into a reply, from memory and the knowledge base.

With an LLM configured the model answers (tools, streaming); when it fails for any reason the
offline responder answers that turn instead, so a customer is never left without a reply.
Questions about what the customer told us ("what's my name?") are answered from memory on
both paths' behalf before any search.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from functools import partial
from itertools import chain, zip_longest
from typing import Protocol

from core.answering.actions.flow import Actions, ActionTurn
from core.answering.answer_decision import match
from core.answering.calibration import Calibrations
from core.answering.llm_responder import LlmFailure, LlmResponder
from core.answering.memory import acknowledgement, recall_key, recall_reply
from core.answering.offline_responder import Asked, OfflineResponder
from core.answering.questions import asks_anything, readings, statements
from core.languages import N_, _, listing
from core.messages import Reply
from core.quoting import literal
from core.settings import AnswerSettings
from core.streaming import StreamSink
from core.turn_context import AgentOutcome, TurnContext
from knowledge.base import KnowledgeBase
from knowledge.hits import Hit

log = logging.getLogger(__name__)

ASK_WHAT = N_("What would you like to know? Tell me in a sentence and I'll look it up.")
ATTACHMENT_QUERY_CHARS = 1000
"""How much of a file's text searches the knowledge base when the message says little."""


class Answerer(Protocol):
    """What the hub and a turn need of the agent: `Agent` is the one the app wires."""

    @property
    def llm(self) -> LlmResponder | None:
        """The model, when one is configured (it also drafts staff replies and summaries)."""
        ...

    async def search(self, query: str, k: int) -> list[Hit]: ...

    def prepare(self, text: str) -> None:
        """Start the work a turn for a message of `text` will likely need, as the message arrives."""
        ...

    async def respond(self, context: TurnContext, *, stream: StreamSink | None = None) -> AgentOutcome: ...


class Agent:
    def __init__(
        self,
        *,
        knowledge: KnowledgeBase,
        settings: AnswerSettings,
        llm: LlmResponder | None = None,
        calibration: Calibrations | None = None,
        actions: Actions | None = None,
    ) -> None:
        """`calibration`: the operator's, read again now and then (`core.answering.calibration`).
        `actions`: the operator's and the built-in ones (`core.answering.actions`)."""
        self._knowledge = knowledge
        self._actions = actions if actions else None
        self._settings = settings
        self._calibration = calibration
        self._offline = OfflineResponder(
            settings,
            floor=lambda: knowledge.paraphrase_floor,
            learned=lambda: calibration.current if calibration is not None else None,
        )
        self._llm = llm

    @property
    def llm(self) -> LlmResponder | None:
        return self._llm

    async def search(self, query: str, k: int) -> list[Hit]:
        return await self._knowledge.search(query, k)

    def prepare(self, text: str) -> None:
        """Start encoding the questions `respond` will search for a message of `text`
        (`knowledge.embedding.prepared`): the encode runs on the other core while the message
        is stored and its turn read. Not for a question about what the customer told us, which
        is answered from memory; a turn that searches nothing after all (a person has the
        conversation, an action waits for an answer) leaves the encode unused."""
        if recall_key(text) is not None:
            return
        for query in dict.fromkeys(query for options in readings(text) for query in options):
            self._knowledge.prepare(query, self._settings.top_k)

    async def respond(self, context: TurnContext, *, stream: StreamSink | None = None) -> AgentOutcome:
        if self._actions is not None and context.pending is not None:  # the customer answers an action's question
            turn = await self._actions.resume(context)
            if turn is not None:
                return _acted(turn)
        key = recall_key(context.text)
        if key is not None:
            return AgentOutcome(recall_reply(key, context.facts))
        query = _query(context)
        if not query.strip():  # only a file, and it could not be read
            return AgentOutcome(Reply(_(ASK_WHAT)))
        search = partial(self._search_top_k, language=context.language)  # the customer's language first
        if query == context.text:
            asked = await ask_each(query, search)
        else:  # a file's text is searched as it is, not taken apart into questions
            asked = [Asked(query, await search(query))]
        acted = False
        if self._llm is not None:
            try:
                return await self._llm.respond(
                    context,
                    hits=focused(asked, self._settings.top_k),
                    search=search,
                    stream=stream,
                    actions=self._actions,
                )
            except LlmFailure as failure:
                log.warning("agent: the LLM failed (%s); answering message %s offline", failure, context.message_id)
                acted = failure.acted
        if self._actions is not None and query == context.text and not acted:
            best = max((hit.relevance for one in asked for hit in one.hits), default=0.0)
            turn = await self._actions.offline(context, knowledge_best=best)
            if turn is not None:
                return _acted(turn)
        if self._calibration is not None:
            await self._calibration.fresh()
        return self._respond_offline(context, asked)

    async def _search_top_k(self, query: str, *, language: str | None = None) -> list[Hit]:
        return await self._knowledge.search(query, self._settings.top_k, language=language)

    def _respond_offline(self, context: TurnContext, asked: list[Asked]) -> AgentOutcome:
        readable = [a for a in context.attachments if a.text]
        stated = [f for f in context.facts if f.source_message_id == context.message_id]
        if stated and not asks_anything(context.text):  # "my name is Alice": nothing to look up, something to note
            return AgentOutcome(acknowledgement(stated))
        reply = self._offline.answer_all(asked, reach=context.reach)
        declined = reply.handoff and not reply.citations
        if readable:
            read = _("I've read {files}.", files=listing([literal(f.filename) for f in readable]))
            reply = Reply(f"{read} {reply.text}", reply.citations, reply.handoff)
        return AgentOutcome(reply, declined=declined)


async def ask_each(message: str, search: Callable[[str], Awaitable[list[Hit]]]) -> list[Asked]:
    """Each question of `message` (`core.answering.questions`) with its own search results, in
    its better reading (`best_reading`); the searches run together (one encoder batch)."""
    each = readings(message)
    queries = list(dict.fromkeys(query for options in each for query in options))
    found = dict(zip(queries, await asyncio.gather(*(search(query) for query in queries)), strict=True))
    told = statements(message)
    return [best_reading(options, found, told=told) for options in each]


def best_reading(options: Sequence[str], found: Mapping[str, list[Hit]], *, told: str = "") -> Asked:
    """Of a question's readings (alone, with the sentence before it, with the story before it:
    `core.answering.questions.readings`), the one whose best passage matches best; the question
    alone on a tie. `told`: what the message says besides its questions (`statements`)."""
    alone = options[0]
    return max(
        (Asked(query, found[query], alone="" if query == alone else alone, told=told) for query in options),
        key=lambda a: max(map(match, a.hits), default=-1.0),
    )


def focused(asked: list[Asked], k: int) -> list[Hit]:
    """The passages for the model: each question's hits in turn, best first, at most `k` per
    question, none twice."""
    merged = chain.from_iterable(zip_longest(*(one.hits[:k] for one in asked)))
    first: dict[str, Hit] = {}
    for hit in merged:
        if hit is not None:
            first.setdefault(hit.chunk_id, hit)
    return list(first.values())


def _acted(turn: ActionTurn) -> AgentOutcome:
    return AgentOutcome(turn.reply, pending=turn.pending, acted=True)


def _query(context: TurnContext) -> str:
    """The message, or with little said, the message with the start of its files' text."""
    texts = [a.text for a in context.attachments if a.text]
    if not texts or len(context.text.split()) >= 8:
        return context.text
    return f"{context.text}\n{texts[0][:ATTACHMENT_QUERY_CHARS]}".strip()
