"""Actions through the real channel adapters: an order looked up with the identity each channel
verifies (the widget's signed email, the phone a Telegram user shared about themselves, a
DMARC-passed mail sender), and "what's the status of my case?" answered from the hub's own cases
on every customer channel, as the customer reads it there."""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import partial
from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy import select

from channels.email.settings import EmailSettings
from channels.email.stand_in import SmtpRelay
from channels.telegram.stand_in import FakeBotApi
from channels.telegram.stand_in_updates import private_message
from channels.twilio.stand_in import FakeTwilio
from channels.web.settings import WebSettings
from core.action_settings import ActionSettings
from core.cli.server import RUNTIME, create_app
from core.desk_port import CaseAction
from core.handoff.desk_store import act_on_case
from core.settings import AdminSettings, OutboxSettings, Settings
from core.store.case_tables import Case
from tests.app_client import AppClient
from tests.fakes.company_api import FakeCompanyApi
from tests.integration.staff_steps import on_staff
from tests.integration.test_actions import ORDER, TOKEN_ENV, say
from tests.integration.test_conversations import _ask, _signed_hello
from tests.integration.test_email import body_text, deliver, mail
from tests.integration.test_sms import CUSTOMER as SMS_CUSTOMER
from tests.integration.test_sms import sms_settings, text_in
from tests.integration.test_telegram import deliver as telegram_deliver
from tests.integration.test_telegram import ready, telegram_settings, update
from tests.integration.trusted import TRUSTED, trusted_api

ESCALATE = "I want to talk to a person"
STATUS_QUESTION = "what's the status of my case?"
ORDER_QUESTION = "Hi! Where is my order 12345?"
ADA = "ada@example.com"
SENDER = "victoria@shop.example"
DMARC_PASSED = "mx.example.com; dmarc=pass (p=REJECT) header.from=shop.example"
SHARED_PHONE = {"phone_number": "4915112345678", "first_name": "Ana", "user_id": 808}
VERIFIED_PHONE = "+4915112345678"


def order_lookup(api: FakeCompanyApi, *, by: str) -> ActionSettings:
    """`order_status` passing the customer's verified `by` (email or phone) to the fake shop."""
    return ActionSettings(
        private_hosts=[api.host_port],
        declared={
            "order_status": {
                "description": "Look up the status of one of the customer's orders",
                "url": f"{api.url}/api/orders/{{order_number}}?{by}={{contact.{by}}}",
                "headers": {"Authorization": f"Bearer {{env.{TOKEN_ENV}}}"},
                "parameters": ORDER,
                "examples": ["where is my order", "track my parcel", "has my order shipped yet"],
                "result": {"template": "Order {order_number} is **{status}** with {carrier}, arriving {eta}."},
            }
        },
    )


def trusting_mailbox(relay: SmtpRelay, port: int) -> EmailSettings:
    """The support address on `port`, replying through `relay`, trusting a DMARC verdict."""
    return EmailSettings(
        address="support@example.com",
        smtp_host=relay.host,
        smtp_port=relay.port,
        smtp_security="none",
        listen_port=port,
        trust_authentication_results=True,
    )


@pytest.fixture
def base(
    make_settings: Callable[..., Settings], company_api: FakeCompanyApi, monkeypatch: pytest.MonkeyPatch
) -> Callable[..., Settings]:
    """Settings with the shop's order lookup (by email unless `by="phone"`), a quick outbox, and
    the inbox on (`on_staff` makes it a desk that takes cases)."""
    monkeypatch.setenv(TOKEN_ENV, company_api.token)

    def make(*, by: str = "email", **overrides: Any) -> Settings:
        return make_settings(
            actions=order_lookup(company_api, by=by),
            outbox=OutboxSettings(poll_interval_s=0.2, backoff_base_s=0.2),
            admin=AdminSettings(token=SecretStr("staffed")),
            **overrides,
        )

    return make


async def the_case(client: AppClient) -> str:
    """The id of the one case in the hub (each test has one contact with one case)."""
    ids = await client.app[RUNTIME].transactions.run(lambda session: list(session.scalars(select(Case.id))))
    assert len(ids) == 1, ids
    return str(ids[0])


async def hand_back(client: AppClient, case_id: str) -> None:
    """Staff give the conversation back to the bot (the case is then `returned`)."""
    await client.app[RUNTIME].transactions.run(
        partial(act_on_case, case_id=case_id, action=CaseAction.RETURN, actor="U-staff", push=frozenset())
    )


def reference(case_id: str) -> str:
    return f"#{case_id[:8].upper()}"


def assert_lists(text: str, case_id: str, state: str) -> None:
    """`text` shows the case, by its reference, in `state` on one line (a table row or its text form)."""
    line = next((line for line in text.splitlines() if reference(case_id) in line), None)
    assert line is not None, text
    assert state in line, text


# -- an order looked up with the identity each channel verifies ----------------------------------


async def test_a_signed_in_widget_visitors_order_is_looked_up_with_their_signed_email(
    aiohttp_client: Callable[..., Any], base: Callable[..., Settings], company_api: FakeCompanyApi
) -> None:
    client: AppClient = await aiohttp_client(
        create_app(base(web=WebSettings(identity_secret=SecretStr("site-secret"))))
    )
    company_api.add_order("12345", email=ADA, status="shipped", carrier="DHL", eta="Friday")
    ws = await client.ws_connect("/widget/ws")
    await _signed_hello(ws, token=None, email="Ada@Example.com")
    text = await _ask(ws, "q1", ORDER_QUESTION)
    assert "Order 12345 is **shipped** with DHL, arriving Friday." in text
    [request] = company_api.requests_to("/api/orders")
    assert request.query["email"] == ADA


async def test_an_anonymous_widget_visitor_is_asked_to_verify_and_nothing_is_called(
    aiohttp_client: Callable[..., Any], base: Callable[..., Settings], company_api: FakeCompanyApi
) -> None:
    client: AppClient = await aiohttp_client(
        create_app(base(web=WebSettings(identity_secret=SecretStr("site-secret"))))
    )
    ws = await client.ws_connect("/widget/ws")
    await _signed_hello(ws, token=None, email=None)
    assert (await _ask(ws, "q1", ORDER_QUESTION)).startswith("I can only do that for a verified account")
    assert company_api.requests == []


async def test_a_telegram_user_who_shared_their_own_contact_gets_their_order_by_phone(
    aiohttp_client: Callable[..., Any],
    base: Callable[..., Settings],
    company_api: FakeCompanyApi,
    telegram: FakeBotApi,
) -> None:
    client: AppClient = await aiohttp_client(create_app(base(by="phone", telegram=telegram_settings(telegram.api_url))))
    await ready(client)
    company_api.add_order("12345", phone=VERIFIED_PHONE, status="shipped", carrier="DHL", eta="Friday")
    assert await telegram_deliver(client, update(private_message(None, user_id=808, contact=SHARED_PHONE))) == 200
    await telegram.wait_for_calls("sendMessage", 1)
    assert await telegram_deliver(client, update(private_message(ORDER_QUESTION, user_id=808, message_id=2))) == 200
    answer = (await telegram.wait_for_calls("sendMessage", 2))[1]
    assert answer.params["chat_id"] == "808"
    assert "Order 12345 is <b>shipped</b> with DHL, arriving Friday." in answer.params["text"]
    [request] = company_api.requests_to("/api/orders")
    assert request.query["phone"] == VERIFIED_PHONE and "email" not in request.query


async def test_a_texters_order_is_looked_up_with_the_phone_they_text_from(
    aiohttp_client: Callable[..., Any], base: Callable[..., Settings], company_api: FakeCompanyApi, twilio: FakeTwilio
) -> None:
    client: AppClient = await aiohttp_client(create_app(base(by="phone", sms=sms_settings(twilio))))
    company_api.add_order("12345", phone=SMS_CUSTOMER, status="shipped", carrier="DHL", eta="Friday")
    assert (await text_in(client, ORDER_QUESTION))[0] == 200
    (sent,) = await twilio.wait_for_sent(1)
    assert sent.params["To"] == SMS_CUSTOMER
    assert str(sent.params["Body"]) == "Order 12345 is shipped with DHL, arriving Friday."
    [request] = company_api.requests_to("/api/orders")
    assert request.query["phone"] == SMS_CUSTOMER


async def test_a_dmarc_passed_mail_senders_order_is_looked_up_with_their_address(
    aiohttp_client: Callable[..., Any],
    base: Callable[..., Settings],
    company_api: FakeCompanyApi,
    relay: SmtpRelay,
    smtp_port: int,
) -> None:
    email = trusting_mailbox(relay, smtp_port)
    await aiohttp_client(create_app(base(email=email)))
    company_api.add_order("12345", email=SENDER, status="shipped", carrier="DHL", eta="Friday")
    message = mail(ORDER_QUESTION, subject="My order", sender=SENDER)
    message["Authentication-Results"] = DMARC_PASSED
    await deliver(smtp_port, message)
    (answer,) = await relay.wait_for(1, timeout=30)
    assert answer.rcpt_tos == (SENDER,)
    plain = body_text(answer.message)
    assert "Order 12345 is" in plain and "shipped" in plain and "with DHL, arriving Friday." in plain
    assert "**" not in plain
    html = answer.message.get_body(("html",))
    assert html is not None and "<strong>shipped</strong>" in str(html.get_content())
    [request] = company_api.requests_to("/api/orders")
    assert request.query["email"] == SENDER


async def test_a_mail_sender_whose_dmarc_did_not_pass_is_asked_to_verify_and_nothing_is_called(
    aiohttp_client: Callable[..., Any],
    base: Callable[..., Settings],
    company_api: FakeCompanyApi,
    relay: SmtpRelay,
    smtp_port: int,
) -> None:
    email = trusting_mailbox(relay, smtp_port)
    await aiohttp_client(create_app(base(email=email)))
    company_api.add_order("12345", email=SENDER, status="shipped", carrier="DHL", eta="Friday")
    await deliver(smtp_port, mail(ORDER_QUESTION, subject="My order", sender=SENDER))  # no verdict: a forger's
    (answer,) = await relay.wait_for(1, timeout=30)
    assert body_text(answer.message).startswith("I can only do that for a verified account")
    assert company_api.requests == []


# -- "what's the status of my case?" on every channel ---------------------------------------------


async def test_the_case_status_is_answered_through_the_api(
    aiohttp_client: Callable[..., Any], base: Callable[..., Settings]
) -> None:
    client: AppClient = await aiohttp_client(create_app(base(api=trusted_api())), headers=TRUSTED)
    await on_staff(client.app)
    assert (await say(client, ESCALATE))["handoff"] is True
    case_id = await the_case(client)
    await hand_back(client, case_id)
    reply = await say(client, STATUS_QUESTION)
    assert reply["text"].startswith("Here is your support case:")
    assert_lists(reply["text"], case_id, "resolved")
    assert ESCALATE in reply["text"]


async def test_no_case_offers_a_person_only_where_one_can_come(
    aiohttp_client: Callable[..., Any], base: Callable[..., Settings]
) -> None:
    """Without a desk that takes cases "just ask" for a person would lead nowhere: the reply
    says where to reach the team instead (`core.handoff.reach`); with one, a person is offered."""
    client: AppClient = await aiohttp_client(create_app(base(api=trusted_api())), headers=TRUSTED)
    alone = await say(client, STATUS_QUESTION)
    assert alone["text"] == (
        "I can't find any support case of yours. "
        "You can reach our support team at support@brightdesk.example or +1 555 0100."
    )
    await on_staff(client.app)
    staffed = await say(client, "Hi! Any news? What is the status of my case?")
    assert staffed["text"] == "I can't find any support case of yours. If something needs a person, just ask."


async def test_the_case_status_is_answered_in_the_widget(
    aiohttp_client: Callable[..., Any], base: Callable[..., Settings]
) -> None:
    client: AppClient = await aiohttp_client(create_app(base()))
    await on_staff(client.app)
    ws = await client.ws_connect("/widget/ws")
    await _signed_hello(ws, token=None, email=None)
    await _ask(ws, "q1", ESCALATE)
    case_id = await the_case(client)
    await hand_back(client, case_id)
    text = await _ask(ws, "q2", STATUS_QUESTION)
    assert text.startswith("Here is your support case:")
    assert_lists(text, case_id, "resolved")


async def test_the_case_status_is_answered_on_telegram(
    aiohttp_client: Callable[..., Any], base: Callable[..., Settings], telegram: FakeBotApi
) -> None:
    client: AppClient = await aiohttp_client(create_app(base(telegram=telegram_settings(telegram.api_url))))
    await on_staff(client.app)
    await ready(client)
    assert await telegram_deliver(client, update(private_message(ESCALATE, user_id=809))) == 200
    await telegram.wait_for_calls("sendMessage", 1)
    case_id = await the_case(client)
    await hand_back(client, case_id)
    assert await telegram_deliver(client, update(private_message(STATUS_QUESTION, user_id=809, message_id=2))) == 200
    answer = (await telegram.wait_for_calls("sendMessage", 2))[1]
    text = answer.params["text"]
    assert answer.params["chat_id"] == "809" and answer.params["parse_mode"] == "HTML"
    assert text.startswith("Here is your support case:")
    assert_lists(text, case_id, "resolved")
    assert "|---|" not in text


async def test_the_case_status_is_answered_by_email_from_another_thread_while_the_case_waits(
    aiohttp_client: Callable[..., Any],
    base: Callable[..., Settings],
    relay: SmtpRelay,
    smtp_port: int,
) -> None:
    """The escalated thread is the team's now (the bot is silent in it); the customer asks about
    it in a new mail and is told it waits for a person."""
    email = EmailSettings(
        address="support@example.com",
        smtp_host=relay.host,
        smtp_port=relay.port,
        smtp_security="none",
        listen_port=smtp_port,
    )
    client: AppClient = await aiohttp_client(create_app(base(email=email)))
    await on_staff(client.app)
    await deliver(smtp_port, mail(ESCALATE, subject="Broken invoice"))
    await relay.wait_for(1, timeout=30)
    case_id = await the_case(client)
    await deliver(smtp_port, mail(STATUS_QUESTION, subject="My case"))
    answer = (await relay.wait_for(2, timeout=30))[1].message
    assert answer["Subject"] == "Re: My case"
    plain = body_text(answer)
    assert plain.startswith("Here is your support case:")
    assert_lists(plain, case_id, "waiting for a person from our team")
    assert "|---|" not in plain
    html = answer.get_body(("html",))
    assert html is not None and "<table" in str(html.get_content())


async def test_the_case_status_is_answered_by_sms(
    aiohttp_client: Callable[..., Any], base: Callable[..., Settings], twilio: FakeTwilio
) -> None:
    client: AppClient = await aiohttp_client(create_app(base(sms=sms_settings(twilio))))
    await on_staff(client.app)
    assert (await text_in(client, ESCALATE))[0] == 200
    await twilio.wait_for_sent(1)
    case_id = await the_case(client)
    await hand_back(client, case_id)
    assert (await text_in(client, STATUS_QUESTION))[0] == 200
    sent = (await twilio.wait_for_sent(2))[1]
    body = str(sent.params["Body"])
    assert body.startswith("Here is your support case:")
    assert_lists(body, case_id, "resolved")
    assert "|---|" not in body and "**" not in body
    assert not re.search(r"^\s*\|", body, re.MULTILINE), body
