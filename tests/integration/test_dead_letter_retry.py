"""Retrying a dead letter from the Status page, as a staff action (`core.admin.views.dashboard`):
a script gets the re-queued reply as JSON, a refusal as plain text; a browser gets the Status page
again with the reason; only what was done is in the audit trail."""

from __future__ import annotations

from sqlalchemy import select

from core.cli.server import RUNTIME
from core.store.db import Contact, Conversation, DeliveryStatus, Message, OutboxItem, StaffAction
from tests.app_client import AppClient
from tests.integration.test_admin_access import BEARER, admin, csrf_of, sign_in  # noqa: F401


async def outbox_item(client: AppClient, status: DeliveryStatus) -> int:
    """A reply to a Telegram chat, in the outbox with `status`."""
    async with client.app[RUNTIME].sessionmaker.begin() as session:
        session.add(Contact(id=f"contact-{status}"))
        session.add(
            Conversation(
                id=f"conv-{status}", contact_id=f"contact-{status}", channel="telegram", chat_id=f"chat-{status}"
            )
        )
        await session.flush()
        message = Message(conversation_id=f"conv-{status}", channel="telegram", author="bot", text="Hello")
        session.add(message)
        await session.flush()
        item = OutboxItem(
            message_id=message.id,
            conversation_id=f"conv-{status}",
            channel="telegram",
            chat_id=f"chat-{status}",
            status=status,
            attempts=8,
            last_error="HTTP 403: blocked" if status == DeliveryStatus.DEAD else None,
        )
        session.add(item)
        await session.flush()
        return item.id


async def test_a_script_retries_a_dead_letter_and_is_told_why_a_delivered_reply_cannot_be(admin: AppClient) -> None:
    dead = await outbox_item(admin, DeliveryStatus.DEAD)
    sent = await outbox_item(admin, DeliveryStatus.SENT)

    retried = await admin.post(f"/admin/outbox/{dead}/retry", headers=BEARER)
    assert retried.status == 200
    assert await retried.json() == {
        "id": dead,
        "channel": "telegram",
        "conversation_id": f"conv-{DeliveryStatus.DEAD}",
        "unreachable": None,
    }
    refused = await admin.post(f"/admin/outbox/{sent}/retry", headers=BEARER)
    assert (refused.status, refused.content_type, await refused.text()) == (
        409,
        "text/plain",
        f"outbox item {sent} was delivered already; only dead letters can be re-queued\n",
    )

    async with admin.app[RUNTIME].sessionmaker() as session:
        done = (await session.execute(select(StaffAction.actor, StaffAction.action, StaffAction.target))).all()
    assert [tuple(row) for row in done] == [("admin token", "retry", f"outbox {dead}")]


async def test_a_browser_gets_the_status_page_again_with_the_reason(admin: AppClient) -> None:
    sent = await outbox_item(admin, DeliveryStatus.SENT)
    await sign_in(admin)

    refused = await admin.post(f"/admin/outbox/{sent}/retry", data={"csrf": await csrf_of(admin)})
    page = await refused.text()
    assert (refused.status, refused.content_type) == (409, "text/html")
    assert f'id="problem">Not retried: outbox item {sent} was delivered already;' in page
    assert 'id="dead-letters"' in page  # the Status page itself, not an error page
