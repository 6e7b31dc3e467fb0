"""Canned replies: saved under a slug, refused with a reason when they cannot be, and filled for
one customer by a plain lookup that never reaches an attribute and keeps markdown literal."""

from __future__ import annotations

from datetime import timedelta
from functools import partial

import pytest
from sqlalchemy.orm import Session

from core.handoff.canned import (
    BadCannedReply,
    NameTaken,
    NoSuchCannedReply,
    UnknownCanned,
    canned_for_case,
    canned_replies,
    canned_reply,
    delete_canned_reply,
    fill,
    render_canned_reply,
    save_canned_reply,
)
from core.store.db import Contact, Conversation, Memory, utcnow
from core.store.transactions import Transactions

pytestmark = pytest.mark.postgres

REFUND = "Hi {name}, your refund is on its way. — {agent}"


@pytest.mark.parametrize(
    ("body", "customer", "agent", "filled"),
    [
        (REFUND, "Ada Lovelace", "Sam", "Hi Ada Lovelace, your refund is on its way. — Sam"),
        ("Hi {first_name}!", "Ada Lovelace", None, "Hi Ada!"),
        ("Hi {name}, {first_name}. — {agent}", None, None, "Hi there, there. — the support team"),
        ("Hi {name}", "   ", "", "Hi there"),
        ("Hi {name}", "[click](https://evil.example)", None, r"Hi \[click\]\(https\://evil.example\)"),
        ("{name.__class__} {name[0]} {nmae} {{name}}", "Ada", None, "{name.__class__} {name[0]} {nmae} {Ada}"),
    ],
    ids=["both", "first-name", "nobody-known", "blank", "markdown-stays-literal", "no-attributes-unknown-kept"],
)
def test_placeholders_are_filled_by_lookup_only(
    body: str, customer: str | None, agent: str | None, filled: str
) -> None:
    assert fill(body, customer=customer, agent=agent) == filled


async def test_saved_replies_are_listed_by_name_changed_and_deleted(transactions: Transactions) -> None:
    saved = await transactions.run(
        partial(save_canned_reply, name=" Refund-Policy ", body="Refunds take 5 days.\r\n\r\nThanks!", actor="lead")
    )
    assert (saved.name, saved.body, saved.updated_by) == ("refund-policy", "Refunds take 5 days.\n\nThanks!", "lead")
    await transactions.run(partial(save_canned_reply, name="apology", body="Sorry, {name}.", actor="lead"))
    assert [c.name for c in await transactions.run(canned_replies)] == ["apology", "refund-policy"]

    changed = await transactions.run(
        partial(save_canned_reply, name="refunds", body="Refunds take 3 days.", actor="sam", replacing="refund-policy")
    )
    assert (changed.name, changed.body, changed.updated_by) == ("refunds", "Refunds take 3 days.", "sam")
    assert changed.updated_at >= saved.updated_at
    assert await transactions.run(partial(canned_reply, name="refund-policy")) is None

    await transactions.run(partial(delete_canned_reply, name="apology"))
    assert [c.name for c in await transactions.run(canned_replies)] == ["refunds"]
    with pytest.raises(NoSuchCannedReply, match="no canned reply named 'apology'"):
        await transactions.run(partial(delete_canned_reply, name="apology"))


@pytest.mark.parametrize(
    ("name", "body", "reason"),
    [
        ("", "Hello", "1 to 40 lower-case letters, digits and hyphens"),
        ("refund policy", "Hello", "1 to 40 lower-case letters"),
        ("x" * 41, "Hello", "1 to 40 lower-case letters"),
        ("ok", " \r\n ", "the reply is empty"),
        ("ok", "x" * 5_001, "the reply is 5,001 characters; at most 5,000"),
        ("ok", "Hi {Name}, {agnt}", "unknown placeholder {Name}, {agnt}; the placeholders are {name}, {first_name}"),
    ],
)
async def test_a_reply_that_cannot_be_saved_says_why_and_nothing_is_saved(
    transactions: Transactions, name: str, body: str, reason: str
) -> None:
    with pytest.raises(BadCannedReply) as refused:
        await transactions.run(partial(save_canned_reply, name=name, body=body, actor="lead"))
    assert reason in str(refused.value)
    assert await transactions.run(canned_replies) == []


async def test_two_replies_never_share_a_name(transactions: Transactions) -> None:
    for name in ("refunds", "apology"):
        await transactions.run(partial(save_canned_reply, name=name, body=f"The {name} text.", actor="lead"))
    with pytest.raises(NameTaken, match="'refunds' exists already"):
        await transactions.run(partial(save_canned_reply, name="refunds", body="Again", actor="lead"))
    with pytest.raises(NameTaken, match="'refunds' exists already"):
        await transactions.run(
            partial(save_canned_reply, name="refunds", body="Moved", actor="lead", replacing="apology")
        )
    with pytest.raises(NoSuchCannedReply):
        await transactions.run(partial(save_canned_reply, name="x", body="y", actor="lead", replacing="gone"))
    assert {c.name: c.body for c in await transactions.run(canned_replies)} == {
        "apology": "The apology text.",
        "refunds": "The refunds text.",
    }


def a_customer(session: Session, *, contact_id: str, display_name: str | None, told: list[str]) -> None:
    session.add(Contact(id=contact_id, display_name=display_name))
    session.add(Conversation(id=f"c-{contact_id}", contact_id=contact_id, channel="web", chat_id=contact_id))
    session.flush()
    for minutes, name in enumerate(told):
        at = utcnow() + timedelta(minutes=minutes)
        session.add(Memory(contact_id=contact_id, key="name", value=name, created_at=at, updated_at=at))


@pytest.mark.parametrize(
    ("display_name", "told", "greeting"),
    [
        ("Ada Lovelace", ["Augusta"], "Hi Ada Lovelace (Ada)"),
        (None, ["Augusta", "Ada"], "Hi Ada (Ada)"),
        ("  ", [], "Hi there (there)"),
    ],
    ids=["display-name-first", "else-the-newest-name-told", "else-there"],
)
async def test_a_reply_is_filled_with_the_best_known_name_of_the_conversations_customer(
    transactions: Transactions, display_name: str | None, told: list[str], greeting: str
) -> None:
    await transactions.run(partial(a_customer, contact_id="ada", display_name=display_name, told=told))
    await transactions.run(partial(save_canned_reply, name="hi", body="Hi {name} ({first_name})", actor="lead"))
    filled = await transactions.run(partial(render_canned_reply, name="hi", conversation_id="c-ada", agent="Sam"))
    assert filled == greeting
    with pytest.raises(NoSuchCannedReply):
        await transactions.run(partial(render_canned_reply, name="bye", conversation_id="c-ada", agent="Sam"))


async def test_an_unknown_name_in_a_case_thread_lists_the_names(transactions: Transactions) -> None:
    unknown = await transactions.run(partial(canned_for_case, desk_ref="1.2", name="refnds", agent=None))
    assert unknown == UnknownCanned("refnds", ())
    assert "there are none yet (add them at /admin/replies)" in unknown.explanation()
    for name in ("refunds", "apology"):
        await transactions.run(partial(save_canned_reply, name=name, body="Text", actor="lead"))
    unknown = await transactions.run(partial(canned_for_case, desk_ref="1.2", name="refnds", agent=None))
    assert isinstance(unknown, UnknownCanned)
    assert unknown.explanation() == "No canned reply named 'refnds'; the names are: apology, refunds."
    assert await transactions.run(partial(canned_for_case, desk_ref="1.2", name="refunds", agent=None)) is None
