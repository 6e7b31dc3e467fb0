"""The hub never leaves a customer without a reply, even when answering keeps failing."""

from __future__ import annotations

import asyncio

from core.attachments import AttachmentReader
from core.hub import ANSWER_ATTEMPTS, APOLOGY, Hub
from core.messages import Address, Author, InboundMessage
from core.sentiment import SentimentAnalyzer
from core.settings import Settings
from core.store import Store
from core.streaming import StreamSink
from core.turn_context import AgentOutcome, TurnContext
from core.turn_runner import TurnRunner
from tests.fakes.flaky_channel import FlakyChannel


class BrokenAgent:
    """An agent whose every answer fails (a bug, a dead model server): not what is under test."""

    def __init__(self) -> None:
        self.calls = 0

    async def respond(self, context: TurnContext, *, stream: StreamSink | None = None) -> AgentOutcome:
        self.calls += 1
        raise RuntimeError("the model crashed")

    async def search(self, query: str, k: int) -> list[object]:
        return []


async def test_repeated_failures_end_in_an_apology_that_offers_a_person(store: Store) -> None:
    agent, channel, settings = BrokenAgent(), FlakyChannel(), Settings()
    reader = AttachmentReader(settings.attachments)
    turns = TurnRunner(
        store=store, agent=agent, analyzer=SentimentAnalyzer(settings.sentiment), reader=reader, settings=settings  # type: ignore[arg-type]
    )
    hub = Hub(store=store, agent=agent, turns=turns, channels={"flaky": channel}, settings=settings)  # type: ignore[arg-type]
    receipt = await hub.receive(
        InboundMessage(address=Address("flaky", "erin"), external_id="q1", sender_id="erin", text="help?")
    )
    reply = await hub.wait_for_reply(receipt.message_id, timeout=10)
    async with asyncio.timeout(10):
        while not channel.delivered:  # delivery follows the stored reply
            await asyncio.sleep(0.01)
    await hub.stop()
    assert agent.calls == ANSWER_ATTEMPTS
    assert reply is not None and reply.text == APOLOGY and reply.handoff and reply.author is Author.BOT
    assert [m.text for _, m in channel.delivered] == [APOLOGY]
    case = (await store.conversation_overview(receipt.conversation_id)).case  # type: ignore[union-attr]
    assert case is not None and case.rule == "error" and case.state == "waiting"
