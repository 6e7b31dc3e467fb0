"""/admin/actions as an operator checks it: the actions the bot may call and the hosts they may
reach (never a header's secret), then every call newest first with its arguments masked and how
it ended; filtered by action, paged, and the same in JSON with the Bearer token."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy.orm import Session

from core.action_settings import ActionDeclaration, ActionSettings
from core.answering.actions.calls import CallRecord, masked
from core.cli.server import RUNTIME, create_app
from core.settings import AdminSettings, Settings
from core.store.action_calls import record
from core.store.db import Contact, Conversation
from tests.app_client import AppClient
from tests.integration.test_admin_access import BEARER, TOKEN

SHOP_TOKEN = "shop-secret-7f3a9c"
ORDER_URL = "https://shop.example.com/api/orders/{order_number}?email={contact.email}"
ORDER = {"type": "object", "properties": {"order_number": {"type": "string"}}, "required": ["order_number"]}
CANCEL = {
    "type": "object",
    "properties": {"order_number": {"type": "string"}, "reason": {"type": "string"}},
    "required": ["order_number"],
}


def actions() -> ActionSettings:
    return ActionSettings(
        allowed_hosts=["shop.example.com"],
        private_hosts=["orders.internal:8080"],
        declared={
            "order_status": ActionDeclaration(
                description="Look up the status of one of the customer's orders",
                url=ORDER_URL,
                headers={"Authorization": "Bearer {env.SHOP_TOKEN}"},
                parameters=ORDER,
                examples=["where is my order", "track my parcel"],
            ),
            "cancel_order": ActionDeclaration(
                description="Cancel an order that has not shipped",
                method="POST",
                url="http://orders.internal:8080/orders/{order_number}/cancel",
                headers={"X-Api-Key": "{env.SHOP_TOKEN}"},
                parameters=CANCEL,
                writes=True,
            ),
        },
    )


@pytest.fixture
async def hub(
    aiohttp_client: Callable[..., Any], make_settings: Callable[..., Settings], monkeypatch: pytest.MonkeyPatch
) -> AppClient:
    monkeypatch.setenv("SHOP_TOKEN", SHOP_TOKEN)
    settings = make_settings(admin=AdminSettings(token=SecretStr(TOKEN)), actions=actions())
    return await aiohttp_client(create_app(settings))  # type: ignore[no-any-return]


async def conversation_of(hub: AppClient, name: str) -> tuple[str, str]:
    """A contact (by display name) and a web conversation of theirs: (contact id, conversation id)."""

    def work(session: Session) -> tuple[str, str]:
        contact = Contact(display_name=name)
        session.add(contact)
        session.flush()
        conversation = Conversation(contact_id=contact.id, channel="web", chat_id=f"chat-{contact.id}")
        session.add(conversation)
        session.flush()
        return contact.id, conversation.id

    return await hub.app[RUNTIME].transactions.run(work)


async def audited(hub: AppClient, *calls: CallRecord) -> None:
    for call in calls:
        await hub.app[RUNTIME].transactions.run(partial(record, call=call))


def calls_table(page: str) -> str:
    start = page.index('<table id="calls">')
    return page[start : page.index("</table>", start)]


async def two_calls(hub: AppClient) -> str:
    """An order looked up, then a cancellation the shop failed: the conversation's id."""
    contact_id, conversation_id = await conversation_of(hub, "Ada Lovelace")
    await audited(
        hub,
        CallRecord(
            action="order_status",
            contact_id=contact_id,
            conversation_id=conversation_id,
            arguments=masked({"order_number": "12345678"}, {}),
            identity=("email",),
            outcome="ok",
            http_status=200,
            duration_ms=120,
        ),
        CallRecord(
            action="cancel_order",
            contact_id=contact_id,
            conversation_id=conversation_id,
            arguments=masked(
                {"order_number": "87654321", "reason": "<b>too late</b>"}, {"reason": {"enum": ["<b>too late</b>"]}}
            ),
            identity=(),
            outcome="http_502",
            http_status=502,
            duration_ms=2300,
            detail="the shop answered 502 <Bad Gateway>",
        ),
    )
    return conversation_id


async def test_the_page_lists_calls_newest_first_masked_with_how_each_ended(hub: AppClient) -> None:
    conversation_id = await two_calls(hub)
    response = await hub.get("/admin/actions", headers=BEARER)
    assert response.status == 200
    page = await response.text()
    assert '<a href="/admin/actions" aria-current="page">Actions</a>' in page
    table = calls_table(page)
    assert table.index("<td>cancel_order</td>") < table.index("<td>order_status</td>")
    assert "order_number: 12•••78" in table and "order_number: 87•••21" in table
    assert "12345678" not in page and "87654321" not in page
    assert "reason: &lt;b&gt;too late&lt;/b&gt;" in table and "<b>too late" not in page
    assert "the shop answered 502 &lt;Bad Gateway&gt;" in table
    assert '<span class="ok">ok</span>' in table and '<span class="bad">http_502</span>' in table
    assert table.count(f'<a href="/admin/conversations/{conversation_id}"><bdi>Ada Lovelace</bdi></a>') == 2
    assert "<td>web</td>" in table and "<td>email</td>" in table
    assert '<td class="num">502</td>' in table and '<td class="num">2300 ms</td>' in table
    assert "2 calls, newest first." in page


async def test_scripts_read_the_same_calls_in_json(hub: AppClient) -> None:
    conversation_id = await two_calls(hub)
    response = await hub.get("/admin/api/actions", headers=BEARER)
    assert response.status == 200
    report = await response.json()
    audit = report["audit"]
    assert (audit["action"], audit["page"], audit["total"], audit["more"]) == (None, 1, 2, False)
    assert [
        (c["action"], c["arguments"], c["identity"], c["outcome"], c["http_status"], c["channel"])
        for c in audit["calls"]
    ] == [
        ("cancel_order", {"order_number": "87•••21", "reason": "<b>too late</b>"}, [], "http_502", 502, "web"),
        ("order_status", {"order_number": "12•••78"}, ["email"], "ok", 200, "web"),
    ]
    assert {c["conversation_id"] for c in audit["calls"]} == {conversation_id}
    assert list(audit["contacts"].values()) == ["Ada Lovelace"]
    assert [a["name"] for a in report["declared"]] == ["cancel_order", "order_status", "case_status", "case_note"]
    assert (report["allowed_hosts"], report["private_hosts"]) == (["shop.example.com"], ["orders.internal:8080"])


async def test_the_action_filter_shows_one_actions_calls_and_an_unknown_name_none(hub: AppClient) -> None:
    await two_calls(hub)
    one = await (await hub.get("/admin/api/actions?action=order_status", headers=BEARER)).json()
    assert [c["action"] for c in one["audit"]["calls"]] == ["order_status"] and one["audit"]["total"] == 1
    unknown = await (await hub.get("/admin/api/actions?action=nope", headers=BEARER)).json()
    assert (unknown["audit"]["calls"], unknown["audit"]["total"]) == ([], 0)
    page = await (await hub.get("/admin/actions?action=order_status", headers=BEARER)).text()
    assert "<td>order_status</td>" in calls_table(page) and "<td>cancel_order</td>" not in calls_table(page)
    assert '<option value="order_status" selected>' in page
    strange = await (await hub.get("/admin/actions?action=%3Cscript%3E", headers=BEARER)).text()
    assert "No call of <code>&lt;script&gt;</code>." in strange and "<script>" not in strange


@pytest.mark.parametrize("value", ["0", "-1", "two", "1.5", "", " 2", "10001", "99999999999999"])
async def test_a_page_that_is_not_a_page_number_is_a_400_with_the_reason(hub: AppClient, value: str) -> None:
    for path in ("/admin/actions", "/admin/api/actions"):
        response = await hub.get(path, params={"page": value}, headers=BEARER)
        if value == "":  # an empty page is the first, as on the conversation search
            assert response.status == 200
            continue
        assert (response.status, await response.text()) == (400, "page is a number from 1 to 10000\n"), path


async def test_fifty_calls_a_page_with_the_oldest_on_the_next(hub: AppClient) -> None:
    contact_id, conversation_id = await conversation_of(hub, "Grace Hopper")

    def fifty_one(session: Session) -> None:
        for n in range(51):
            call = CallRecord("order_status", contact_id, conversation_id, {"n": n}, ("email",), "ok", 200, n)
            record(session, call)

    await hub.app[RUNTIME].transactions.run(fifty_one)
    first = await (await hub.get("/admin/actions?action=order_status", headers=BEARER)).text()
    assert calls_table(first).count("<td>order_status</td>") == 50
    assert "n: 50<" in first and "n: 1<" in first and "n: 0<" not in first
    assert '<a href="?action=order_status&page=2">Older</a>' in first
    second = await (await hub.get("/admin/actions?action=order_status&page=2", headers=BEARER)).text()
    assert calls_table(second).count("<td>order_status</td>") == 1 and "n: 0<" in second
    assert '<a href="?action=order_status&page=1">Newer</a>' in second and "Older" not in second


async def test_the_declared_actions_and_hosts_are_shown_and_no_header_ever(hub: AppClient) -> None:
    await two_calls(hub)
    page = await (await hub.get("/admin/actions", headers=BEARER)).text()
    start = page.index('<table id="declared">')
    declared = page[start : page.index("</table>", start)]
    assert f"<code>GET {ORDER_URL}</code>" in declared
    assert "<code>POST http://orders.internal:8080/orders/{order_number}/cancel</code>" in declared
    assert "yes: the customer confirms first" in declared and "verified email" in declared
    assert "“where is my order”<br>“track my parcel”" in declared
    assert "Look up the status of one of the customer&#39;s orders" in declared
    for name in ("case_status", "case_note"):
        assert f'<strong>{name}</strong> <span class="tag">built in</span>' in declared
    assert "“what is the status of my case”" in declared
    assert "<code>shop.example.com</code>" in page and "<code>orders.internal:8080</code>" in page
    report = await (await hub.get("/admin/api/actions", headers=BEARER)).text()
    for shown in (page, report):
        assert SHOP_TOKEN not in shown
        assert "env.SHOP_TOKEN" not in shown and "X-Api-Key" not in shown and "Bearer" not in shown


async def test_before_any_call_the_page_says_so_and_where_actions_are_declared(hub: AppClient) -> None:
    page = await (await hub.get("/admin/actions", headers=BEARER)).text()
    table = calls_table(page)
    assert "No action has been called yet." in table and "<code>docs/actions.md</code>" in table


async def test_the_page_needs_a_sign_in(hub: AppClient) -> None:
    for path in ("/admin/actions", "/admin/api/actions"):
        response = await hub.get(path)
        assert (response.status, await response.text()) == (401, "Unauthorized\n"), path
    browser = await hub.get("/admin/actions", headers={"Accept": "text/html"}, allow_redirects=False)
    assert (browser.status, browser.headers["Location"]) == (303, "/admin/login")
    await hub.post("/admin/login", data={"token": TOKEN}, allow_redirects=False)
    assert (await hub.get("/admin/actions")).status == 200
