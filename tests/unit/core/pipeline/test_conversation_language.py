"""The hub knows the customer's language: each message's is stored, the conversation keeps its
own through a short "ok", a case says which one the customer needs, and the answer is said in it."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.languages import spoken
from core.messages import Address, InboundMessage, Reply
from core.pipeline.storage import Storage
from core.settings import HandoffSettings, Settings
from core.store.case_tables import Case
from core.store.db import Conversation, Message
from core.streaming import StreamSink
from core.turn_context import AgentOutcome, TurnContext
from tests.fakes.flaky_channel import FlakyChannel
from tests.unit.core.pipeline.test_hub import ScriptedAgent, hub_for

pytestmark = pytest.mark.postgres


class LanguageEcho(ScriptedAgent):
    """Answers with the language the turn told it and the one the hub speaks in meanwhile."""

    async def respond(self, context: TurnContext, *, stream: StreamSink | None = None) -> AgentOutcome:
        return AgentOutcome(Reply(f"{context.language} {spoken()}"))


async def test_the_conversation_keeps_the_customers_language(
    storage: Storage, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    channel = FlakyChannel()
    hub = hub_for(storage, LanguageEcho(), channel, Settings())
    said = []
    for number, text in enumerate(["Wie verbinde ich mein Bankkonto?", "ok"]):
        receipt = await hub.receive(
            InboundMessage(Address("flaky", "lena"), external_id=f"m{number}", sender_id="lena", text=text)
        )
        reply = await hub.wait_for_reply(receipt.message_id, timeout=10)
        assert reply is not None
        said.append(reply.text)
    await hub.stop()
    assert said == ["de de", "de de"]

    async with sessionmaker() as session:
        conversation = (await session.execute(select(Conversation.language))).scalar_one()
        messages = (await session.execute(select(Message.author, Message.language).order_by(Message.id))).all()
    assert conversation == "de"
    assert [tuple(row) for row in messages] == [("customer", "de"), ("bot", "de"), ("customer", None), ("bot", "de")]


async def test_before_any_sure_message_the_default_is_spoken(storage: Storage) -> None:
    channel = FlakyChannel()
    hub = hub_for(storage, LanguageEcho(), channel, Settings(languages={"default": "fr"}))
    receipt = await hub.receive(InboundMessage(Address("flaky", "max"), external_id="m1", sender_id="max", text="ok"))
    reply = await hub.wait_for_reply(receipt.message_id, timeout=10)
    await hub.stop()
    assert reply is not None and reply.text == "None fr"


async def test_a_case_says_which_language_the_customer_needs(
    storage: Storage, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    channel = FlakyChannel()
    settings = Settings(handoff=HandoffSettings(keywords=["Anwalt"]))
    hub = hub_for(storage, LanguageEcho(), channel, settings)
    receipt = await hub.receive(
        InboundMessage(
            Address("flaky", "jonas"),
            external_id="m1",
            sender_id="jonas",
            text="Ich werde meinen Anwalt einschalten, wenn das nicht bald geklärt wird",
        )
    )
    reply = await hub.wait_for_reply(receipt.message_id, timeout=10)
    await hub.stop()
    assert reply is not None and reply.handoff
    async with sessionmaker() as session:
        assert (await session.execute(select(Case.language))).scalar_one() == "de"
