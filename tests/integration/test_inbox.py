"""The inbox at /admin/inbox, a staff desk in the browser: a Telegram customer asks for a person,
the case is in the queue, and two people on the staff claim it, reply (the reply reaches the
customer on Telegram), write an internal note (it never does), assign it and resolve it; the
case's page streams its changes; every form wants the page's CSRF value."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable
from functools import partial
from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy import select

from channels.slack.stand_in import FakeSlack
from channels.telegram.stand_in import FakeBotApi
from channels.telegram.stand_in_updates import private_message
from core.admin.inbox import views as inbox
from core.cli.server import RUNTIME, create_app
from core.handoff.canned import save_canned_reply
from core.handoff.desk_store import RESOLVED_NOTICE
from core.pipeline.turn_runner import HANDOFF_NOTICE
from core.settings import AdminSettings, OutboxSettings, Settings
from core.store.case_tables import Case
from core.store.db import Message, StaffRole
from tests.app_client import AppClient
from tests.integration.staff_desk_steps import case_card, desk_settings, staff_replies
from tests.integration.staff_steps import Person, browser, joined, next_event
from tests.integration.test_staff_desk import in_thread
from tests.integration.test_telegram import deliver, ready, telegram_settings, update

TOKEN = "dashboard-token-of-the-lead"
CUSTOMER_CHAT = "777"


@pytest.fixture
async def hub(
    aiohttp_client: Callable[..., Any], make_settings: Callable[..., Settings], telegram: FakeBotApi
) -> AppClient:
    settings = make_settings(
        admin=AdminSettings(token=SecretStr(TOKEN)),
        telegram=telegram_settings(telegram.api_url),
        outbox=OutboxSettings(poll_interval_s=0.2, backoff_base_s=0.2),
    )
    client: AppClient = await aiohttp_client(create_app(settings))
    await telegram.wait_for_calls("getWebhookInfo", 1)
    await ready(client)
    return client


async def handed_over(hub: AppClient, telegram: FakeBotApi) -> str:
    """A Telegram customer asks for a person; the id of the case that opens."""
    asked = update(private_message("My name is Rosa. Can I talk to a person about my invoice?", message_id=1))
    assert await deliver(hub, asked) == 200
    await telegram.wait_for_calls("sendMessage", 1)
    async with hub.app[RUNTIME].sessionmaker() as session:
        return (await session.execute(select(Case.id))).scalar_one()


async def texts_to_customer(telegram: FakeBotApi, count: int) -> list[str]:
    calls = await telegram.wait_for_calls("sendMessage", count)
    return [call.params["text"] for call in calls if call.params["chat_id"] == CUSTOMER_CHAT]


async def test_two_people_work_a_telegram_case_from_the_inbox(hub: AppClient, telegram: FakeBotApi) -> None:
    async with joined(hub, "ana@example.com", name="Ana") as ana, joined(hub, "bo@example.com", name="Bo") as bo:
        case_id = await handed_over(hub, telegram)
        (notice,) = await texts_to_customer(telegram, 1)
        assert HANDOFF_NOTICE.split(";")[0] in notice  # people are on the staff: a person is promised

        queue = await (await ana.get("/admin/inbox")).text()
        assert "Can I talk to a person about my invoice?" in queue and "waiting for a person" in queue
        assert f"/admin/inbox/{case_id}" in queue
        page = f"/admin/inbox/{case_id}"
        case_page = await (await ana.get(page)).text()
        assert "Why a person" in case_page and "name: <bdi>Rosa</bdi>" in case_page

        claimed = await ana.form(f"{page}/claim", page)
        assert (claimed.status, claimed.headers["Location"]) == (303, page)
        assert "With Ana" in await (await bo.get(page)).text()

        await bo.form(f"{page}/note", page, text="She wrote to billing yesterday too.")
        await ana.form(f"{page}/reply", page, text="Hi Rosa, I'm **Ana**. Which invoice is it?")
        texts = await texts_to_customer(telegram, 2)
        assert texts[1] == "Hi Rosa, I'm <b>Ana</b>. Which invoice is it?"  # rendered for Telegram
        assert not any("billing yesterday" in text for text in texts)  # the note stayed among staff

        shown = await (await bo.get(page)).text()
        assert "She wrote to billing yesterday too." in shown and "(internal note)" in shown
        assert re.search(r"<strong><bdi>Ana</bdi></strong> · [^<]+</div>\s*<div class=\"said\"><p>Hi Rosa", shown)

        bo_id = re.search(r'<option value="(\w+)">Bo</option>', shown)
        assert bo_id is not None
        await ana.form(f"{page}/assign", page, to=bo_id.group(1))
        mine = await (await bo.get("/admin/inbox?mine=1")).text()
        assert f"/admin/inbox/{case_id}" in mine and "with Bo" in mine

        resolved = await bo.form(f"{page}/resolve", page)
        assert resolved.status == 303
        texts = await texts_to_customer(telegram, 3)
        assert texts[2] == RESOLVED_NOTICE
        (question,) = (await texts_to_customer(telegram, 4))[3:]
        assert question.startswith("How did we do?")
        assert await deliver(hub, update(private_message("5", message_id=2))) == 200
        await texts_to_customer(telegram, 5)  # thanked
        overview = await (await ana.get("/admin/api/overview")).json()
        assert [(row["staff"], row["average"]) for row in overview["satisfaction_by_staff"]] == [("Bo", 5.0)]
        again = await bo.form(f"{page}/resolve", page)
        assert again.status == 409 and "Nothing changed: a closed case cannot become closed." in await again.text()
        assert "No open cases" in await (await ana.get("/admin/inbox")).text()

    async with hub.app[RUNTIME].sessionmaker() as session:
        senders = (await session.execute(select(Message.sender).where(Message.author == "staff"))).scalars().all()
    assert senders == ["Ana", "Bo"]  # the reply, and the resolved notice


async def test_the_queue_shows_what_the_customer_asked_not_their_yes_to_a_person(
    hub: AppClient, telegram: FakeBotApi
) -> None:
    """Issue 60: the queue's row read "yes please, I'd like to talk to a person"."""
    async with joined(hub, "ana@example.com", name="Ana") as ana:
        assert await deliver(hub, update(private_message("Can I pay with bitcoin?", message_id=1))) == 200
        (offer,) = await texts_to_customer(telegram, 1)
        assert "person" in offer  # declined, and a person offered
        said_yes = update(private_message("yes please, I'd like to talk to a person", message_id=2))
        assert await deliver(hub, said_yes) == 200
        await texts_to_customer(telegram, 2)
        queue = await (await ana.get("/admin/inbox")).text()
    row = re.search(r'<li class="queued.*?</li>', queue, re.DOTALL)
    assert row is not None and "Can I pay with bitcoin?" in row.group(0) and "yes please" not in row.group(0), queue


async def test_giving_a_case_back_lets_the_bot_answer_again(hub: AppClient, telegram: FakeBotApi) -> None:
    async with joined(hub, "cy@example.com", name="Cy") as cy:
        case_id = await handed_over(hub, telegram)
        page = f"/admin/inbox/{case_id}"
        await cy.form(f"{page}/return", page)
        assert await deliver(hub, update(private_message("How do I reset my password?", message_id=2))) == 200
        texts = await texts_to_customer(telegram, 2)
        assert "password" in texts[1].lower() and "Sources" in texts[1]


async def test_the_case_page_streams_each_change(hub: AppClient, telegram: FakeBotApi) -> None:
    async with joined(hub, "dee@example.com", name="Dee") as dee:
        case_id = await handed_over(hub, telegram)
        async with await dee.get(f"/admin/inbox/{case_id}/events") as stream:
            assert stream.headers["Content-Type"] == "text/event-stream"
            first = await next_event(stream)
            assert await deliver(hub, update(private_message("Hello? Is anyone there?", message_id=2))) == 200
            second = await next_event(stream)
            assert second != first
        async with await dee.get("/admin/inbox/events") as queue_stream:
            before = await next_event(queue_stream)
            await dee.form(f"/admin/inbox/{case_id}/note", f"/admin/inbox/{case_id}", text="on it")
            assert await next_event(queue_stream) != before


async def test_shutting_down_ends_the_open_live_streams_at_once(
    hub: AppClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(inbox, "RECHECK_S", 3600.0)  # a stream left to its own recheck would hold shutdown an hour
    async with joined(hub, "gil@example.com", name="Gil") as gil, await gil.get("/admin/inbox/events") as stream:
        await next_event(stream)
        async with asyncio.timeout(60):
            await hub.close()  # the server's shutdown waits for every request still being answered


async def test_every_inbox_form_wants_the_pages_csrf_value_and_a_session(hub: AppClient, telegram: FakeBotApi) -> None:
    async with joined(hub, "eve@example.com", name="Eve") as eve:
        case_id = await handed_over(hub, telegram)
        page = f"/admin/inbox/{case_id}"
        for action in ["claim", "resolve", "return", "reply", "note", "assign"]:
            forged = await eve.post(f"{page}/{action}", {"csrf": "forged", "text": "hi", "to": "x"})
            assert forged.status == 403, action
        empty = await eve.form(f"{page}/reply", page, text="   ")
        assert empty.status == 400 and "the text is empty" in await empty.text()
        nobody = await eve.form(f"{page}/assign", page, to="not-a-person")
        assert nobody.status == 400
        unknown = await eve.get("/admin/inbox/0123456789abcdef0123456789abcdef")
        assert unknown.status == 404
    async with browser(hub) as stranger:
        assert (await stranger.get(f"/admin/inbox/{case_id}/events")).status == 401
    texts = await texts_to_customer(telegram, 1)
    assert len(texts) == 1  # the handoff notice: nothing of the refused forms reached the customer


async def test_without_anyone_on_the_staff_nobody_is_promised_and_no_case_waits(
    hub: AppClient, telegram: FakeBotApi
) -> None:
    asked = update(private_message("My name is Rosa. Can I talk to a person about my invoice?", message_id=1))
    assert await deliver(hub, asked) == 200
    (told,) = await texts_to_customer(telegram, 1)
    reach = "You can reach our support team at support@brightdesk.example or +1 555 0100."
    assert f"I can't bring in a person in this chat. {reach}" in told  # after the answer, before its sources
    async with hub.app[RUNTIME].sessionmaker() as session:
        assert (await session.execute(select(Case.id))).first() is None


async def test_the_admin_token_works_the_inbox_as_a_script(hub: AppClient, telegram: FakeBotApi) -> None:
    async with joined(hub, "fin@example.com", name="Fin", role=StaffRole.AGENT):
        case_id = await handed_over(hub, telegram)
    bearer = {"Authorization": f"Bearer {TOKEN}"}
    queue = await (await hub.get("/admin/api/inbox", headers=bearer)).json()
    assert [entry["case"]["id"] for entry in queue] == [case_id] and queue[0][
        "customer"
    ] == "Ada"  # the Telegram profile name comes first
    sent = await hub.post(
        f"/admin/inbox/{case_id}/reply", data={"text": "From a script"}, headers=bearer, allow_redirects=False
    )
    assert sent.status == 303
    assert (await texts_to_customer(telegram, 2))[1] == "From a script"
    case = await (await hub.get(f"/admin/api/inbox/{case_id}", headers=bearer)).json()
    assert case["case"]["case"]["owner"] == "admin token"


async def test_a_canned_reply_is_inserted_filled_in_then_sent_as_edited(hub: AppClient, telegram: FakeBotApi) -> None:
    body = "Hi {first_name}, this is {agent}. Refunds reach your card within **5 days**."
    await hub.app[RUNTIME].transactions.run(partial(save_canned_reply, name="refund-time", body=body, actor="test"))
    async with joined(hub, "gia@example.com", name="Gia") as gia:
        case_id = await handed_over(hub, telegram)
        page = f"/admin/inbox/{case_id}"
        listed = await (await gia.get(page)).text()
        assert '<option value="refund-time">refund-time</option>' in listed
        filled = await (await gia.get(f"{page}?canned=refund-time")).text()
        draft = re.search(r'<textarea name="text"[^>]*>([^<]*)</textarea>', filled)
        assert draft is not None
        assert draft.group(1) == "Hi Ada, this is Gia. Refunds reach your card within **5 days**."
        assert len(telegram.calls_to("sendMessage")) == 1  # inserting sent nothing
        edited = draft.group(1).replace("5 days", "3 days")
        await gia.form(f"{page}/reply", page, text=edited)
        texts = await texts_to_customer(telegram, 2)
        assert texts[1] == "Hi Ada, this is Gia. Refunds reach your card within <b>3 days</b>."
        unknown = await (await gia.get(f"{page}?canned=nope")).text()
        assert "There is no canned reply by that name." in unknown


async def test_the_inbox_and_the_slack_desk_show_one_case_alike(
    aiohttp_client: Callable[..., Any], make_settings: Callable[..., Settings], slack: FakeSlack
) -> None:
    settings = make_settings(admin=AdminSettings(token=SecretStr(TOKEN)), slack=desk_settings(slack))
    hub: AppClient = await aiohttp_client(create_app(settings))
    slack.users["U0SAM"] = {"real_name": "Sam Jones"}
    async with joined(hub, "hoa@example.com", name="Hoa") as hoa:
        asked = await hub.post("/api/messages", json={"contact": "kim", "text": "I want to talk to a person"})
        assert (await asked.json())["reply"]["handoff"]
        card = await case_card(slack)
        async with hub.app[RUNTIME].sessionmaker() as session:
            case_id = (await session.execute(select(Case.id))).scalar_one()
        page = f"/admin/inbox/{case_id}"

        await staff_replies(hub, slack, "note: VIP customer, be quick", ts="1700000500.000100")
        await staff_replies(hub, slack, "Hello Kim, Sam here.", ts="1700000500.000200")
        shown = await _until_shown(hoa, page, "Hello Kim, Sam here.")
        assert "VIP customer, be quick" in shown and "(internal note)" in shown  # the Slack note, kept with the case
        assert "With Sam Jones" in shown and "<strong>Sam Jones</strong>" in shown  # by name, not U0SAM

        await hoa.form(f"{page}/reply", page, text="And Hoa from the inbox.")
        thread = card.response["ts"]
        async with asyncio.timeout(30):
            while "*Reply from the inbox:* And Hoa from the inbox." not in in_thread(slack, thread):
                await asyncio.sleep(0.05)
        await hoa.form(f"{page}/resolve", page)
        async with asyncio.timeout(30):
            while '"text": "*State:*\\nclosed"' not in json.dumps(slack.calls("chat.update")[-1:]):
                await asyncio.sleep(0.05)


async def _until_shown(person: Person, page: str, text: str) -> str:
    async with asyncio.timeout(30):
        while text not in (html := await (await person.get(page)).text()):
            await asyncio.sleep(0.05)
    return html
