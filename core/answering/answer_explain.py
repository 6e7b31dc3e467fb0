"""`supporthub ask --explain`: how the offline path read a message and why it answered or
declined each question — the same steps the agent takes, shown rather than acted on."""

from __future__ import annotations

from core.answering.agent import ask_each
from core.answering.answer_decision import match
from core.answering.offline_responder import OfflineResponder
from core.settings import AnswerSettings
from knowledge.base import KnowledgeBase
from knowledge.hits import Hit


async def explanation(message: str, *, knowledge: KnowledgeBase, settings: AnswerSettings) -> list[str]:
    """Per question of `message`: the question, the query as searched when spelling changed
    it, the decision with each signal's share, and the hits (match, document › section)."""

    async def search(query: str) -> list[Hit]:
        return await knowledge.search(query, settings.top_k)

    responder = OfflineResponder(settings)
    lines: list[str] = []
    for asked in await ask_each(message, search):
        lines.append(f"question: {asked.question}")
        corrected = knowledge.corrected(asked.question)
        if corrected != asked.question:
            lines.append(f"  searched as: {corrected}")
        lines.append(f"  {responder.decide(asked.hits).explain()}")
        lines.extend(f"  hit: match {match(hit):.2f}  {hit.source} › {hit.section}" for hit in asked.hits)
    return lines
