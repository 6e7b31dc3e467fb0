"""The agent: turns one customer message into a reply, from the knowledge base."""

from __future__ import annotations

from core.messages import Reply
from core.offline_responder import OfflineResponder
from core.settings import AnswerSettings
from knowledge.base import KnowledgeBase
from knowledge.hits import Hit


class Agent:
    def __init__(self, *, knowledge: KnowledgeBase, settings: AnswerSettings) -> None:
        self._knowledge = knowledge
        self._settings = settings
        self._responder = OfflineResponder(settings)

    async def search(self, query: str, k: int) -> list[Hit]:
        return await self._knowledge.search(query, k)

    async def respond(self, text: str) -> Reply:
        hits = await self._knowledge.search(text, self._settings.top_k)
        return self._responder.answer(text, hits)
