"""Suggestions as the stores keep them: which cases and votes queue one, what it holds, that
nothing is written into knowledge before approval, and what erasing a customer takes along."""

from __future__ import annotations

from datetime import timedelta
from functools import partial

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.desk_port import CaseAction
from core.handoff.cases import CaseOpening
from core.handoff.desk_store import act_on_case, say
from core.messages import Address, Author, Citation, InboundMessage, Reply
from core.ops.privacy import forget_contacts
from core.pipeline.storage import Storage
from core.pipeline.turn_transactions import TurnResult
from core.store import suggestions
from core.store.db import Conversation, Suggestion
from core.store.inbox import PendingMessage
from core.store.transactions import Transactions
from core.turn_context import Fact, FactKey
from knowledge.tables import LinkedPhrasing, WrittenDocument

pytestmark = pytest.mark.postgres

CITED = (Citation("billing.md", "Billing", "Invoices", 0.7),)
ANSWER = "Yes: ask us for an invoice and pay it by bank transfer within 30 days."


async def turn(
    storage: Storage,
    address: Address,
    external_id: str,
    text: str,
    reply: Reply,
    *,
    facts: tuple[Fact, ...] = (),
    escalate: bool = False,
    verified_phone: str | None = None,
) -> tuple[str, str | None]:
    """One customer message and the bot's reply: (conversation id, case id if it escalated)."""
    message = InboundMessage(  # external ids are unique per channel
        address, f"{address.chat_id}-{external_id}", address.chat_id, text, verified_phone=verified_phone
    )
    receipt = await storage.inbox.save(message, lease=timedelta(seconds=30))
    pending = PendingMessage(receipt.message_id, receipt.conversation_id, text, address)
    opening = CaseOpening("human_request", "The customer asked for a person.") if escalate else None
    finished = await storage.turns.finish(
        pending, TurnResult(signals=None, reply=reply, facts=facts, escalation=opening), push=False
    )
    assert finished is not None
    return receipt.conversation_id, finished.case_id


def staff_reply(session: Session, *, conversation_id: str, text: str, sender: str) -> None:
    conversation = session.get(Conversation, conversation_id)
    assert conversation is not None
    say(session, conversation, author=Author.STAFF, text=text, push=frozenset(), sender=sender)


async def resolve(transactions: Transactions, case_id: str, *, replies: list[str], conversation_id: str) -> None:
    for text in replies:
        await transactions.run(partial(staff_reply, conversation_id=conversation_id, text=text, sender="Ana"))
    await transactions.run(
        partial(act_on_case, case_id=case_id, action=CaseAction.RESOLVE, actor="Ana", push=frozenset(), survey=False)
    )


def queued(session: Session) -> list[Suggestion]:
    return list(session.scalars(select(Suggestion).order_by(Suggestion.id)))


async def test_a_case_answered_by_a_person_queues_its_question_the_replies_and_the_wrong_answer(
    storage: Storage, transactions: Transactions
) -> None:
    address = Address("api", "rosa")
    await turn(storage, address, "m1", "Can I pay by bank transfer?", Reply("Pay by card under Billing.", CITED))
    conversation_id, case_id = await turn(
        storage,
        address,
        "m2",
        "That's not it. Can I talk to a person?",
        Reply("A person will reply.", handoff=True),
        escalate=True,
    )
    assert case_id is not None
    await resolve(transactions, case_id, replies=["Hi Rosa!", ANSWER], conversation_id=conversation_id)

    [suggestion] = await transactions.run(queued)
    assert (suggestion.origin, suggestion.state, suggestion.question) == (
        "case",
        "pending",
        "Can I pay by bank transfer?",
    )
    assert suggestion.answer == f"Hi Rosa!\n\n{ANSWER}"
    assert (suggestion.bot_reply, suggestion.answered_by, suggestion.case_id) == (
        "Pay by card under Billing.",
        "Ana",
        case_id,
    )
    assert await transactions.run(lambda s: list(s.scalars(select(WrittenDocument)))) == []  # not live


async def test_a_case_with_no_staff_reply_or_no_question_queues_nothing(
    storage: Storage, transactions: Transactions
) -> None:
    silent, silent_case = await turn(
        storage,
        Address("api", "a"),
        "m1",
        "How do I export?",
        Reply("A person will reply.", handoff=True),
        escalate=True,
    )
    asked_for_person, person_case = await turn(
        storage,
        Address("api", "b"),
        "m1",
        "I want to talk to a person",
        Reply("A person will reply.", handoff=True),
        escalate=True,
    )
    assert silent_case is not None and person_case is not None
    await resolve(transactions, silent_case, replies=[], conversation_id=silent)
    await resolve(transactions, person_case, replies=["Sure, how can I help?"], conversation_id=asked_for_person)
    assert await transactions.run(queued) == []


async def test_a_thumbs_down_queues_the_reply_once_and_changing_the_vote_takes_it_back(
    storage: Storage, transactions: Transactions
) -> None:
    address = Address("api", "max")
    await turn(storage, address, "m1", "Can our accountant have a login?", Reply("Invoices are under Billing.", CITED))
    [bot] = [m for m in await storage.views.history(address) if m.author is Author.BOT]
    for _ in range(2):
        await storage.feedback.save(bot.id, rating="down", address=address)
    [suggestion] = await transactions.run(queued)
    assert (suggestion.origin, suggestion.question, suggestion.answer) == (
        "thumbs down",
        "Can our accountant have a login?",
        "",
    )
    assert suggestion.bot_reply == "Invoices are under Billing."
    await storage.feedback.save(bot.id, rating="up", address=address)
    assert await transactions.run(queued) == []


async def test_approval_waits_for_personal_data_and_withdrawing_an_answer_takes_its_links(
    storage: Storage, transactions: Transactions
) -> None:
    address = Address("api", "rosa")
    conversation_id, case_id = await turn(
        storage,
        address,
        "m1",
        "My name is Rosa Diaz. Can I talk to a person? Can I pay by bank transfer?",
        Reply("A person will reply.", handoff=True),
        facts=(Fact(FactKey.NAME, "Rosa Diaz"), Fact(FactKey.ORDER_NUMBER, "A-20931")),
        escalate=True,
    )
    assert case_id is not None
    await resolve(
        transactions, case_id, replies=[f"Hi Rosa, about order A-20931: {ANSWER}"], conversation_id=conversation_id
    )
    [suggestion] = await transactions.run(queued)
    approve = partial(suggestions.approve, suggestion_id=suggestion.id, actor="Lee", collection="knowledge")
    with pytest.raises(
        suggestions.ReviewError, match="personal data to redact first: name “Rosa”, order number “A-20931”"
    ):
        await transactions.run(approve)
    assert await transactions.run(partial(suggestions.redact_all, suggestion_id=suggestion.id)) == 2
    source = await transactions.run(approve)
    [document] = await transactions.run(lambda s: list(s.scalars(select(WrittenDocument))))
    assert (document.source, document.title, document.section) == (
        source,
        "Support team answers",
        "Can I pay by bank transfer?",
    )
    assert document.text == f"Hi [name], about order [order number]: {ANSWER}"

    other_id = await transactions.run(
        partial(
            suggestions.for_gap,
            question="pay via wire?",
            phrasings=["wire transfer ok?", "order 123456 by wire?"],
            answer="",
            actor="Lee",
        )
    )
    await transactions.run(
        partial(
            suggestions.link,
            suggestion_id=other_id,
            source=source,
            section=document.section,
            actor="Lee",
            collection="knowledge",
        )
    )
    links = await transactions.run(lambda s: sorted(s.scalars(select(LinkedPhrasing.text))))
    assert links == ["pay via wire?", "wire transfer ok?"]  # the wording with an order number is left out

    await transactions.run(
        partial(
            suggestions.edit,
            suggestion_id=suggestion.id,
            question="Can I pay by bank transfer instead of card?",
            answer=ANSWER,
            actor="Lee",
            collection="knowledge",
        )
    )
    sections = await transactions.run(lambda s: sorted(set(s.scalars(select(LinkedPhrasing.section)))))
    assert sections == ["Can I pay by bank transfer instead of card?"]  # the links follow the new heading
    assert {row.section for row in await transactions.run(queued)} == {"Can I pay by bank transfer instead of card?"}
    [document] = await transactions.run(lambda s: list(s.scalars(select(WrittenDocument))))
    assert (document.section, document.text) == ("Can I pay by bank transfer instead of card?", ANSWER)

    await transactions.run(
        partial(suggestions.withdraw, suggestion_id=suggestion.id, actor="Lee", collection="knowledge")
    )
    assert [s.state for s in await transactions.run(queued)] == ["withdrawn", "withdrawn"]
    assert await transactions.run(lambda s: list(s.scalars(select(WrittenDocument)))) == []
    assert await transactions.run(lambda s: list(s.scalars(select(LinkedPhrasing)))) == []


async def test_erasing_a_customer_drops_their_pending_suggestions_and_keeps_live_answers(
    storage: Storage, transactions: Transactions
) -> None:
    for chat, question in (("ivy", "Can I pay by bank transfer?"), ("ivy-2", "Do you sell gift cards?")):
        conversation_id, case_id = await turn(
            storage,
            Address("api", chat),
            "m1",
            f"Can I talk to a person? {question}",
            Reply("Sure.", handoff=True),
            escalate=True,
        )
        assert case_id is not None
        await resolve(transactions, case_id, replies=[ANSWER], conversation_id=conversation_id)
    first, _pending = await transactions.run(queued)
    await transactions.run(partial(suggestions.approve, suggestion_id=first.id, actor="Lee", collection="knowledge"))
    for chat in ("ivy", "ivy-2"):
        await transactions.run(partial(forget_contacts, selector=f"api:{chat}"))
    [kept] = await transactions.run(queued)
    assert (kept.id, kept.state, kept.conversation_id) == (first.id, "approved", None)


async def test_a_whatsapp_customers_verified_phone_and_the_purchase_they_gave_are_found_in_any_spelling(
    storage: Storage, transactions: Transactions
) -> None:
    phone = "+16505551234"
    conversation_id, case_id = await turn(
        storage,
        Address("whatsapp", phone),
        "m1",
        "My purchase 5821 never came. Can I talk to a person? Where is the returns warehouse?",
        Reply("A person will reply.", handoff=True),
        escalate=True,
        verified_phone=phone,
    )
    assert case_id is not None
    typed = "We will call you on +1\u00a0650\u00a0555\u00a01234 about 5\u200b821 once the warehouse opens."
    await resolve(transactions, case_id, replies=[typed], conversation_id=conversation_id)
    [suggestion] = await transactions.run(queued)
    approve = partial(suggestions.approve, suggestion_id=suggestion.id, actor="Lee", collection="knowledge")
    with pytest.raises(
        suggestions.ReviewError, match="personal data to redact first: order number “5\u200b821”, phone"
    ):
        await transactions.run(approve)
    assert await transactions.run(partial(suggestions.redact_all, suggestion_id=suggestion.id)) == 2
    await transactions.run(approve)
    [document] = await transactions.run(lambda s: list(s.scalars(select(WrittenDocument))))
    assert document.text == "We will call you on [phone] about [order number] once the warehouse opens."
