"""The hub never leaves a customer without a reply, even when answering keeps failing, and
never asks the model twice for one message, even when what follows the answer fails."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError

from core.answering.attachments import AttachmentReader
from core.answering.llm_responder import LlmResponder
from core.answering.sentiment import SentimentAnalyzer
from core.messages import Address, Author, InboundMessage, Reply
from core.pipeline.hub import ANSWER_ATTEMPTS, SORRY, Hub
from core.pipeline.storage import Storage
from core.pipeline.turn_runner import READ_CHARS, TurnRunner
from core.rate_limits import RateLimits
from core.settings import OutboxSettings, Settings
from core.streaming import StreamSink
from core.turn_context import AgentOutcome, TurnContext
from knowledge.hits import Hit
from tests.fakes.flaky_channel import FlakyChannel

pytestmark = pytest.mark.postgres


class ScriptedAgent:
    """An agent that answers every question with one line, or fails (a bug, a dead model
    server): the agent is not what is under test, the hub's handling of it is."""

    llm: LlmResponder | None = None

    def __init__(self, *, fail: bool = False) -> None:
        self.fail = fail
        self.calls = 0
        self.prepared: list[str] = []

    async def respond(self, context: TurnContext, *, stream: StreamSink | None = None) -> AgentOutcome:
        self.calls += 1
        if self.fail:
            raise RuntimeError("the model crashed")
        return AgentOutcome(Reply(f"An answer to: {context.text}"))

    async def search(self, query: str, k: int) -> list[Hit]:
        return []

    def prepare(self, text: str) -> None:
        self.prepared.append(text)


def hub_for(storage: Storage, agent: ScriptedAgent, channel: FlakyChannel, settings: Settings) -> Hub:
    reader = AttachmentReader(settings.attachments)
    turns = TurnRunner(
        transactions=storage.turns,
        agent=agent,
        analyzer=SentimentAnalyzer(settings.sentiment),
        reader=reader,
        settings=settings,
    )
    limits = RateLimits(per_contact=settings.limits.per_contact, per_ip=settings.limits.per_ip)
    return Hub(
        storage=storage, agent=agent, turns=turns, channels={channel.name: channel}, settings=settings, limits=limits
    )


async def delivered(channel: FlakyChannel, count: int) -> None:
    async with asyncio.timeout(20):
        while len(channel.delivered) < count:
            await asyncio.sleep(0.01)


async def test_the_agent_starts_on_a_message_as_it_arrives_with_the_text_its_turn_reads(storage: Storage) -> None:
    """The question's encode runs while the message is stored and its turn read
    (`Agent.prepare`): it is asked for when the hub receives the message, before any turn."""
    channel, agent = FlakyChannel(), ScriptedAgent()
    hub = hub_for(storage, agent, channel, Settings())
    long = "How do I export my data? " + "x" * READ_CHARS
    await hub.receive(InboundMessage(Address("flaky", "erin"), "q1", "erin", "How do I export my data?"))
    await hub.receive(InboundMessage(Address("flaky", "erin"), "q2", "erin", long))
    assert agent.prepared == ["How do I export my data?", long[:READ_CHARS]]
    await delivered(channel, 2)
    await hub.stop()
    assert agent.calls == 2


class FailingToPrepare(ScriptedAgent):
    def prepare(self, text: str) -> None:
        raise RuntimeError("a bug in working out the questions")


async def test_a_message_is_stored_and_answered_when_starting_on_it_fails(storage: Storage) -> None:
    channel = FlakyChannel()
    hub = hub_for(storage, FailingToPrepare(), channel, Settings())
    receipt = await hub.receive(InboundMessage(Address("flaky", "erin"), "q1", "erin", "How do I export my data?"))
    assert not receipt.duplicate
    await delivered(channel, 1)
    await hub.stop()
    assert channel.delivered[0][1].text == "An answer to: How do I export my data?"


async def test_repeated_failures_end_in_an_apology_that_says_where_to_write_and_keeps_the_conversation(
    storage: Storage,
) -> None:
    """No staff desk here: the apology promises nobody, it names where to write, and no case
    leaves the conversation waiting for nobody."""
    agent, channel, settings = ScriptedAgent(fail=True), FlakyChannel(), Settings()
    hub = hub_for(storage, agent, channel, settings)
    receipt = await hub.receive(
        InboundMessage(address=Address("flaky", "erin"), external_id="q1", sender_id="erin", text="help?")
    )
    reply = await hub.wait_for_reply(receipt.message_id, timeout=10)
    await delivered(channel, 1)  # delivery follows the stored reply
    await hub.stop()
    assert agent.calls == ANSWER_ATTEMPTS
    apology = f"{SORRY} You can reach our support team at support@brightdesk.example or +1 555 0100."
    assert reply is not None and reply.text == apology and reply.handoff and reply.author is Author.BOT
    assert [m.text for _, m in channel.delivered] == [apology]
    overview = await storage.views.overview(receipt.conversation_id)
    assert overview is not None and overview.case is None and overview.state == "bot"


@pytest.fixture
def outbox_claim_fails_once() -> Iterator[list[str]]:
    """The database refuses the outbox's first claim of a delivery (a lock timeout, a dropped
    connection): a failure after the turn committed. Yields the statements it refused."""
    refused: list[str] = []

    def refuse(conn: object, cursor: object, statement: str, *args: object) -> None:
        claim = statement.lstrip().upper().startswith("UPDATE OUTBOX") and "CLAIMS" in statement.upper()
        if not refused and claim:
            refused.append(statement)
            raise OperationalError(statement, {}, Exception("database is locked"))

    event.listen(Engine, "before_cursor_execute", refuse)
    yield refused
    event.remove(Engine, "before_cursor_execute", refuse)


async def test_a_failure_after_the_turn_committed_never_asks_the_model_again(
    storage: Storage, outbox_claim_fails_once: list[str]
) -> None:
    agent, channel = ScriptedAgent(), FlakyChannel()
    hub = hub_for(storage, agent, channel, Settings(outbox=OutboxSettings(poll_interval_s=0.1)))
    address = Address("flaky", "finn")
    first = await hub.receive(InboundMessage(address, external_id="q1", sender_id="finn", text="where is my invoice?"))
    assert await hub.wait_for_reply(first.message_id, timeout=10) is not None
    async with asyncio.timeout(10):
        while not outbox_claim_fails_once:  # the turn's own delivery attempt hit the failure
            await asyncio.sleep(0.01)
    await hub.start()  # the sweep delivers what the failed attempt left in the outbox
    # A second question in the same conversation is answered only once the first one's
    # worker is done with it: proof that a retry of the first turn would have happened by now.
    second = await hub.receive(InboundMessage(address, external_id="q2", sender_id="finn", text="and my receipt?"))
    assert await hub.wait_for_reply(second.message_id, timeout=10) is not None
    await delivered(channel, 2)
    await hub.stop()
    assert agent.calls == 2
    assert [m.text for _, m in channel.delivered] == [
        "An answer to: where is my invoice?",
        "An answer to: and my receipt?",
    ]
    history = await storage.views.history(address)
    assert [m.author for m in history] == [Author.CUSTOMER, Author.BOT, Author.CUSTOMER, Author.BOT]
