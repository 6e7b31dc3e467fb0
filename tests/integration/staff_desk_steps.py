"""What a person does on the staff desk in the channel tests: the desk's settings, waiting for
the case card in the staff channel of the fake Slack, and answering in its thread with a
signed event."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from pydantic import SecretStr

from channels.slack.settings import SlackSettings
from channels.slack.stand_in import BOT_TOKEN, FakeSlack
from channels.slack.stand_in_events import message_event, signed_headers
from tests.app_client import AppClient

STAFF = "C0STAFF"
SLACK_SECRET = "desk-signing-secret"


def desk_settings(slack: FakeSlack) -> SlackSettings:
    """The staff desk in the fake Slack's STAFF channel, signing events with SLACK_SECRET."""
    return SlackSettings(
        bot_token=SecretStr(BOT_TOKEN),
        signing_secret=SecretStr(SLACK_SECRET),
        api_url=slack.base_url,
        staff_channel=STAFF,
    )


async def case_card(slack: FakeSlack, *, timeout: float = 30) -> Any:
    """The first case card posted in the staff channel (not a thread message)."""
    async with asyncio.timeout(timeout):
        while not (
            cards := [
                c
                for c in slack.requests
                if c.method == "chat.postMessage" and c.body["channel"] == STAFF and not c.body.get("thread_ts")
            ]
        ):
            await asyncio.sleep(0.05)
    return cards[0]


async def staff_replies(client: AppClient, slack: FakeSlack, text: str, *, ts: str) -> Any:
    """A person answers in the thread of the case card; the card, once the hub took the reply."""
    card = await case_card(slack)
    event = message_event(
        channel=STAFF, user="U0SAM", text=text, ts=ts, thread_ts=card.response["ts"], channel_type="channel"
    )
    body = json.dumps(event)
    response = await client.post("/slack/events", data=body, headers=signed_headers(SLACK_SECRET, body))
    assert response.status == 200
    return card
