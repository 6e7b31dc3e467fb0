"""The satisfaction survey end to end, as a support lead meets it: a person resolves a case from
the Slack staff desk, the customer gets the question in their own channel (the widget's
buttons, a Telegram message), answers, and the dashboard shows the rating beside the bot's
thumbs, under the person who had the case."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy import select

from channels.slack.stand_in import FakeSlack
from channels.slack.stand_in_events import block_action, signed_headers
from channels.telegram.stand_in import FakeBotApi
from channels.telegram.stand_in_updates import private_message
from core.cli.server import RUNTIME, create_app
from core.handoff.desk_store import RESOLVED_NOTICE
from core.handoff.survey import QUESTION, THANKS
from core.settings import AdminSettings, OutboxSettings, Settings
from core.store.case_tables import CaseRating
from tests.app_client import AppClient
from tests.integration.staff_desk_steps import SLACK_SECRET, STAFF, case_card, desk_settings
from tests.integration.test_telegram import deliver, ready, telegram_settings, update

TOKEN = "dashboard-token-of-the-lead"
BEARER = {"Authorization": f"Bearer {TOKEN}"}
AGENT = "U0SAM"


@pytest.fixture
async def hub(
    aiohttp_client: Callable[..., Any], make_settings: Callable[..., Settings], slack: FakeSlack, telegram: FakeBotApi
) -> AppClient:
    """The hub with the widget, Telegram, the Slack staff desk and the dashboard."""
    settings = make_settings(
        slack=desk_settings(slack),
        telegram=telegram_settings(telegram.api_url),
        admin=AdminSettings(token=SecretStr(TOKEN)),
        outbox=OutboxSettings(poll_interval_s=0.2, backoff_base_s=0.2),
    )
    client: AppClient = await aiohttp_client(create_app(settings))
    await ready(client)
    return client


async def resolve_from_the_desk(hub: AppClient, slack: FakeSlack) -> None:
    """A person presses Resolve on the case card."""
    card = await case_card(slack)
    blocks = card.body["blocks"]
    blocks = json.loads(blocks) if isinstance(blocks, str) else blocks
    case_id = next(b for b in blocks if b["type"] == "actions")["elements"][0]["value"]
    body = block_action(
        action_id="case_resolve", value=case_id, user=AGENT, channel=STAFF, message_ts=card.response["ts"]
    )
    response = await hub.post("/slack/events", data=body, headers=signed_headers(SLACK_SECRET, body))
    assert response.status == 200


async def ratings(hub: AppClient) -> list[tuple[str, str, int | None]]:
    async with hub.app[RUNTIME].sessionmaker() as session:
        rows = (await session.execute(select(CaseRating.staff, CaseRating.channel, CaseRating.score))).all()
    return [(row.staff, row.channel, row.score) for row in rows]


async def next_message(ws: Any, author: str) -> dict[str, Any]:
    while True:
        frame = await ws.receive_json(timeout=30)
        if frame["type"] == "message" and frame["author"] == author:
            return frame  # type: ignore[no-any-return]


async def test_a_widget_customer_rates_with_a_button_and_the_dashboard_shows_it(
    hub: AppClient, slack: FakeSlack
) -> None:
    ws = await hub.ws_connect("/widget/ws")
    await ws.send_json({"type": "hello", "token": None, "after": 0})
    await ws.receive_json()
    await ws.send_json({"type": "message", "id": "m1", "text": "I want to talk to a human please"})
    await next_message(ws, "bot")

    await resolve_from_the_desk(hub, slack)
    assert (await next_message(ws, "staff"))["text"] == RESOLVED_NOTICE
    question = await next_message(ws, "bot")
    assert question["text"] == QUESTION and question["survey"] == "question"

    await ws.send_json({"type": "rating", "message_id": question["id"], "score": 5})
    while (frame := await ws.receive_json(timeout=30))["type"] != "rating":
        pass
    assert frame == {"type": "rating", "message_id": question["id"], "score": 5}
    assert await ratings(hub) == [(AGENT, "web", 5)]

    overview = await (await hub.get("/admin/api/overview?period=today", headers=BEARER)).json()
    assert overview["satisfaction"] == {
        "ratings": 1,
        "satisfied": 1,
        "average": 5.0,
        "asked": 1,
        "satisfied_share": 1.0,
        "answered": 1,
        "lapsed": 0,
        "still_open": 0,
    }
    assert overview["satisfaction_by_staff"] == [{"staff": AGENT, "ratings": 1, "satisfied": 1, "average": 5.0}]
    page = await (await hub.get("/admin?period=today", headers=BEARER)).text()
    figure = page[page.index('id="satisfaction"') :]
    assert (
        figure.startswith('id="satisfaction">100%<')
        and "1 of 1 rated 4 or 5; average 5.0 of 5; 1 asked: 1 answered, 0 lapsed)" in figure
    )
    staff_table = page[page.index('id="satisfaction-by-staff"') :]
    assert f'<td>{AGENT}</td><td class="num">1</td><td class="num">100%</td><td class="num">5.0</td>' in staff_table
    definition = page[page.index('id="resolution-definition"') :]
    assert "no case was opened there, neither because the customer asked for a person" in definition


async def test_a_telegram_customer_rates_with_a_digit_once_then_is_answered_as_usual(
    hub: AppClient, slack: FakeSlack, telegram: FakeBotApi
) -> None:
    assert await deliver(hub, update(private_message("I want to talk to a human please", user_id=901))) == 200
    await telegram.wait_for_calls("sendMessage", 1)
    await resolve_from_the_desk(hub, slack)
    told = await telegram.wait_for_calls("sendMessage", 3)
    assert [c.params["text"] for c in told[1:]] == [RESOLVED_NOTICE, QUESTION]

    assert await deliver(hub, update(private_message("4", user_id=901, message_id=2))) == 200
    assert (await telegram.wait_for_calls("sendMessage", 4))[3].params["text"] == THANKS
    assert await ratings(hub) == [(AGENT, "telegram", 4)]

    assert await deliver(hub, update(private_message("5", user_id=901, message_id=3))) == 200
    again = (await telegram.wait_for_calls("sendMessage", 5))[4].params["text"]
    assert again != THANKS  # answered once: a second digit is an ordinary message for the bot
    assert await ratings(hub) == [(AGENT, "telegram", 4)]
    overview = await (await hub.get("/admin/api/overview?period=today&channel=telegram", headers=BEARER)).json()
    assert overview["satisfaction"]["ratings"] == 1 and overview["satisfaction"]["average"] == 4.0


async def test_any_other_message_after_the_question_gets_a_normal_answer_and_the_survey_lapses(
    hub: AppClient, slack: FakeSlack, telegram: FakeBotApi
) -> None:
    assert await deliver(hub, update(private_message("I need a real person", user_id=902))) == 200
    await telegram.wait_for_calls("sendMessage", 1)
    await resolve_from_the_desk(hub, slack)
    await telegram.wait_for_calls("sendMessage", 3)

    question = update(private_message("How do I reset my password?", user_id=902, message_id=2))
    assert await deliver(hub, question) == 200
    answer = (await telegram.wait_for_calls("sendMessage", 4))[3].params["text"]
    assert "password" in answer.lower() and "<b>Sources:</b>" in answer
    assert await deliver(hub, update(private_message("4", user_id=902, message_id=3))) == 200
    late = (await telegram.wait_for_calls("sendMessage", 5))[4].params["text"]
    assert late != THANKS
    assert await ratings(hub) == [(AGENT, "telegram", None)]  # asked, never answered
    overview = await (await hub.get("/admin/api/overview?period=today", headers=BEARER)).json()
    lapsed = {key: overview["satisfaction"][key] for key in ("asked", "answered", "lapsed", "still_open")}
    assert lapsed == {"asked": 1, "answered": 0, "lapsed": 1, "still_open": 0}  # issue 60: not waiting any more
