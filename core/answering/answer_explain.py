"""`supporthub ask --explain`: how the offline path read a message and why it answered or
declined each question — the same steps the agent takes, shown rather than acted on. Every
message gets an explanation: one answered from memory or as small talk says so (nothing was
searched), and a searched one shows the bar the decision used."""

from __future__ import annotations

from core.answering.agent import ask_each
from core.answering.answer_decision import Learned, match
from core.answering.memory import extract_facts, recall_key
from core.answering.offline_responder import OfflineResponder
from core.answering.questions import asks_anything
from core.answering.small_talk import SmallTalk, small_talk
from core.settings import AnswerSettings
from knowledge.base import KnowledgeBase
from knowledge.hits import Hit

_SMALL_TALK = {SmallTalk.GREETING: "a greeting", SmallTalk.THANKS: "thanks"}


async def explanation(
    message: str, *, knowledge: KnowledgeBase, settings: AnswerSettings, learned: Learned | None = None
) -> list[str]:
    """Per question of `message`: the question, the query as searched when spelling changed
    it, the decision with each signal's share, and the hits (match, the whole document's
    cosine, document › section); or
    the one line saying which other path answered the message. `learned`: the operator's
    calibration (`core.answering.calibration`), if any."""
    if (key := recall_key(message)) is not None:
        return [f"memory: the message asks back the customer's {_label(key)}; answered from memory, nothing searched"]
    stated = extract_facts(message)
    if stated and not asks_anything(message):
        noted = " and ".join(dict.fromkeys(_label(fact.key) for fact in stated))
        return [f"memory: the message tells the customer's {noted} and asks nothing; acknowledged, nothing searched"]

    async def search(query: str) -> list[Hit]:
        return await knowledge.search(query, settings.top_k)

    asked_all = await ask_each(message, search)
    if len(asked_all) == 1 and (kind := small_talk(asked_all[0].question)) in _SMALL_TALK:
        return [f"small talk: {_SMALL_TALK[kind]}; answered as such, nothing quoted"]
    responder = OfflineResponder(settings, floor=lambda: knowledge.paraphrase_floor, learned=lambda: learned)
    bar = responder.bar()
    lines = [f"bar: match {bar.value:.2f}, {bar.why}"]
    for asked in asked_all:
        lines.append(f"question: {asked.question}")
        corrected = knowledge.corrected(asked.question)
        if corrected != asked.question:
            lines.append(f"  searched as: {corrected}")
        lines.append(f"  {responder.decide(asked.hits).explain()}")
        lines.extend(
            f"  hit: match {match(hit):.2f}{_document_cosine(hit)}  {hit.source} › {hit.section}" for hit in asked.hits
        )
    return lines


def _document_cosine(hit: Hit) -> str:
    """The whole document's cosine (`Hit.document_relevance`), which counts beside the match in
    which passage is answered from (`answer_decision.answer_key`); nothing when it was not
    computed."""
    return "" if hit.document_relevance is None else f"  document {hit.document_relevance:.2f}"


def _label(key: str) -> str:
    return key.replace("_", " ")
