"""Customer-style messages answered offline, end to end: the question found behind a preamble,
each question of a message answered with its own sources, and the sample help centre's price
table quoted with only the row the question names, shown readably by each channel (issue 14).
The channels' fakes and helpers are the ones their own integration tests use."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from typing import Any

import pytest
from pydantic import SecretStr

from channels.email.settings import EmailSettings
from channels.email.stand_in import SmtpRelay
from channels.slack.settings import SlackSettings
from channels.slack.stand_in import BOT_TOKEN, FakeSlack
from channels.slack.stand_in_events import message_event
from channels.telegram.stand_in import FakeBotApi
from channels.telegram.stand_in_updates import private_message
from channels.twilio.stand_in import FakeTwilio
from core.cli.server import create_app
from core.settings import OutboxSettings, Settings
from tests.app_client import AppClient
from tests.integration import test_email as email_steps
from tests.integration import test_slack as slack_steps
from tests.integration import test_sms as sms_steps
from tests.integration import test_telegram as telegram_steps
from tests.integration.test_api import ask
from tests.ports import free_port

BUSINESS_PER_MONTH = "how much is the Business plan per month?"
OUTBOX = OutboxSettings(poll_interval_s=0.2, backoff_base_s=0.2)
_PRE = re.compile(r"<pre>(.*?)</pre>", re.DOTALL)
_CODE_BLOCK = re.compile(r"```\n(.*?)\n```", re.DOTALL)


def columns_line_up(lines: Sequence[str]) -> bool:
    """A table as aligned lines: a header, a rule and rows whose column breaks ("|" in a row,
    "+" in the rule) sit at the same places on every line."""
    breaks = {tuple(i for i, char in enumerate(line) if char in "|+") for line in lines}
    return len(lines) >= 3 and len(breaks) == 1 and breaks != {()}


def labelled(lines: Sequence[str], label: str) -> list[str]:
    return [line for line in lines if line.startswith(label)]


async def test_a_preamble_neither_steers_the_search_nor_is_forgotten(client: AppClient) -> None:
    message = "Hi! my name is Dana and I'm on the Pro plan. Can I export my data as CSV?"
    reply = (await ask(client, message, contact="dana"))["reply"]
    sources = [citation["source"] for citation in reply["citations"]]
    assert not reply["handoff"] and sources[0].endswith("exporting-your-data.md"), sources
    assert not any(source.endswith("billing-and-invoices.md") for source in sources)
    assert "CSV" in reply["text"]
    assert (await ask(client, "what's my name?", contact="dana"))["reply"]["text"] == "Your name is Dana."
    assert (await ask(client, "what's my plan?", contact="dana"))["reply"]["text"] == "Your plan is Pro."


async def test_a_fact_before_a_question_never_swallows_the_question(client: AppClient) -> None:
    asked = (await ask(client, "I'm on the Starter plan. Can I use the Slack integration?", contact="sam"))["reply"]
    assert not asked["handoff"] and asked["citations"][0]["source"].endswith("integrations.md"), asked["text"]
    assert "noted" not in asked["text"]
    beyond = (await ask(client, "I'm on the Business plan. Do you sponsor football teams?", contact="sam"))["reply"]
    assert beyond["handoff"] and "noted" not in beyond["text"]  # declined, not taken for a remark about the plan
    told = (await ask(client, "my name is Sam and I'm on the Business plan", contact="sam"))["reply"]
    assert told["text"] == "Nice to meet you, Sam! Thanks, I've noted your plan. How can I help?"
    assert (await ask(client, "what's my plan?", contact="sam"))["reply"]["text"] == "Your plan is Business."


async def test_a_price_question_is_answered_with_a_table_of_the_row_it_names(client: AppClient) -> None:
    reply = (await ask(client, BUSINESS_PER_MONTH))["reply"]
    lines = reply["text"].splitlines()
    assert not reply["handoff"] and labelled(lines, "| Plan") and labelled(lines, "| Business |"), reply["text"]
    assert not labelled(lines, "| Starter |") and not labelled(lines, "| Free |")
    assert all(line.startswith("|") for line in lines if " | " in line), "a table flattened into a line"


async def test_two_questions_in_one_message_are_each_answered_with_their_sources(client: AppClient) -> None:
    reply = (await ask(client, "Can I export my data as CSV and how do I cancel my subscription?"))["reply"]
    sources = [citation["source"] for citation in reply["citations"]]
    export = [i for i, source in enumerate(sources) if source.endswith("exporting-your-data.md")]
    cancel = [i for i, source in enumerate(sources) if source.endswith("cancelling-your-subscription.md")]
    assert export and cancel and export[0] < cancel[0], sources
    assert not reply["handoff"]


@pytest.fixture
async def telegram_client(
    aiohttp_client: Callable[..., Any], make_settings: Callable[..., Settings], telegram: FakeBotApi
) -> AppClient:
    settings = make_settings(telegram=telegram_steps.telegram_settings(telegram.api_url), outbox=OUTBOX)
    client: AppClient = await aiohttp_client(create_app(settings))
    await telegram.wait_for_calls("getWebhookInfo", 1)
    await telegram_steps.ready(client)
    return client


async def test_telegram_shows_the_price_row_as_aligned_columns(
    telegram_client: AppClient, telegram: FakeBotApi
) -> None:
    update = telegram_steps.update(private_message(BUSINESS_PER_MONTH, user_id=901))
    assert await telegram_steps.deliver(telegram_client, update) == 200
    (sent,) = await telegram.wait_for_calls("sendMessage", 1)
    blocks = _PRE.findall(sent.params["text"])
    assert len(blocks) == 1, sent.params["text"]
    lines = blocks[0].splitlines()
    assert columns_line_up(lines) and labelled(lines, "Plan") and labelled(lines, "Business "), blocks[0]
    assert not labelled(lines, "Starter")


@pytest.fixture
async def sms_client(
    aiohttp_client: Callable[..., Any], make_settings: Callable[..., Settings], twilio: FakeTwilio
) -> AppClient:
    sms = sms_steps.sms_settings(twilio)
    return await aiohttp_client(create_app(make_settings(sms=sms, outbox=OUTBOX)))  # type: ignore[no-any-return]


async def test_sms_says_the_price_row_as_a_sentence(sms_client: AppClient, twilio: FakeTwilio) -> None:
    assert (await sms_steps.text_in(sms_client, BUSINESS_PER_MONTH))[0] == 200
    (sent,) = await twilio.wait_for_sent(1)
    body = str(sent.params["Body"])
    business = labelled(body.splitlines(), "Business:")
    assert len(business) == 1 and "20" in business[0] and "16" in business[0], body
    assert "|" not in body and "Starter" not in body


@pytest.fixture
async def slack_client(
    aiohttp_client: Callable[..., Any], make_settings: Callable[..., Settings], slack: FakeSlack
) -> AppClient:
    settings = make_settings(
        slack=SlackSettings(
            bot_token=SecretStr(BOT_TOKEN),
            signing_secret=SecretStr(slack_steps.SECRET),
            api_url=slack.base_url,
            customer_channels=[slack_steps.CUSTOMER_CHANNEL],
            staff_channel=slack_steps.STAFF_CHANNEL,
        ),
        outbox=OUTBOX,
    )
    return await aiohttp_client(create_app(settings))  # type: ignore[no-any-return]


async def test_slack_shows_the_price_row_in_a_code_block(slack_client: AppClient, slack: FakeSlack) -> None:
    event = message_event(channel="D0DANA", user="U0DANA", text=BUSINESS_PER_MONTH, ts="1700000901.000100")
    assert await slack_steps.post_event(slack_client, event) == 200
    (reply,) = await slack_steps.posted(slack, 1)
    blocks = json.loads(reply["blocks"]) if isinstance(reply["blocks"], str) else reply["blocks"]
    text = "\n".join(block["text"]["text"] for block in blocks)
    (code,) = _CODE_BLOCK.findall(text)
    lines = code.splitlines()
    assert columns_line_up(lines) and labelled(lines, "Business "), text
    assert not labelled(lines, "Starter")


async def test_email_shows_the_price_row_as_aligned_text_and_an_html_table(
    aiohttp_client: Callable[..., Any], make_settings: Callable[..., Settings], relay: SmtpRelay
) -> None:
    port = free_port()
    email = EmailSettings(
        address=email_steps.SUPPORT,
        display_name="Brightdesk Support",
        smtp_host=relay.host,
        smtp_port=relay.port,
        smtp_security="none",
        listen_port=port,
    )
    await aiohttp_client(create_app(make_settings(email=email, outbox=OUTBOX)))
    await email_steps.deliver(port, email_steps.mail(BUSINESS_PER_MONTH, subject="Prices"))
    (answer,) = await relay.wait_for(1, timeout=30)
    lines = email_steps.body_text(answer.message).splitlines()
    table = [line for line in lines if "|" in line or line.startswith("-")]
    assert columns_line_up(table) and labelled(table, "Business "), lines
    assert not labelled(lines, "Starter")
    html_part = answer.message.get_body(("html",))
    assert html_part is not None
    html = str(html_part.get_content())
    assert html.count("<table") == 1 and re.search(r"<td[^>]*>Business</td>", html) and "Starter" not in html, html
