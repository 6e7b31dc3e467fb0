"""Slack's Web API answered by something else: a proxy's or a gateway's error page (HTML, sent
as HTML or, by a gateway keeping the API's type, as `application/json`). A staff member's name
is decoration: the reply in the case thread still reaches the customer, and the desk names the
person by their Slack id. A reply to a Slack customer is retried, and the log and `supporthub
doctor` say what answered."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from channels.slack.channel import SlackChannel
from channels.slack.stand_in import FakeSlack
from channels.slack.stand_in_events import message_event, signed_headers
from core.channel import CheckFailed
from core.cli.server import create_app
from core.pipeline.hub_gate import HubGate
from core.settings import OutboxSettings, Settings
from tests.app_client import AppClient
from tests.integration.staff_desk_steps import SLACK_SECRET, desk_settings, staff_replies
from tests.settle import until

BAD_GATEWAY = (
    "<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center></body></html>"
)
PAGE_TYPES = pytest.mark.parametrize("page_type", ["text/html", "application/json"])


@pytest.fixture
async def client(
    aiohttp_client: Callable[..., Any], make_settings: Callable[..., Settings], slack: FakeSlack
) -> AppClient:
    outbox = OutboxSettings(poll_interval_s=0.2, backoff_base_s=0.2)
    return await aiohttp_client(create_app(make_settings(slack=desk_settings(slack), outbox=outbox)))  # type: ignore[no-any-return]


async def staff_lines(client: AppClient, conversation_id: str) -> list[str]:
    listed = await (await client.get(f"/api/conversations/{conversation_id}/messages")).json()
    return [m["text"] for m in listed["messages"] if m["author"] == "staff"]


@PAGE_TYPES
async def test_a_staff_reply_reaches_the_customer_when_slack_answers_users_info_with_a_502_page(
    client: AppClient, slack: FakeSlack, page_type: str
) -> None:
    asked = await (await client.post("/api/messages", json={"contact": "kim", "text": "I need a real person"})).json()
    slack.users["U0SAM"] = {"real_name": "Sam Jones"}
    slack.fail_next("users.info", status=502, page=BAD_GATEWAY, page_type=page_type)

    card = await staff_replies(client, slack, "Hi Kim, Sam here: your refund went out today.", ts="1700000600.000100")

    lines = await until(lambda: staff_lines(client, asked["conversation_id"]))
    assert lines == ["Hi Kim, Sam here: your refund went out today."]
    assert slack.received_request_count("users.info") == 1
    await until(lambda: [c for c in slack.calls("chat.update") if c["ts"] == card.response["ts"]])
    assert "<@U0SAM>" in json.dumps(slack.calls("chat.update")[-1]["blocks"])  # claimed, named by the id


@PAGE_TYPES
async def test_a_reply_slack_answered_with_a_502_page_is_retried_and_the_log_says_so(
    client: AppClient, slack: FakeSlack, caplog: pytest.LogCaptureFixture, page_type: str
) -> None:
    slack.fail_next("chat.postMessage", status=502, page=BAD_GATEWAY, page_type=page_type)
    body = json.dumps(message_event(channel="D0KIM", user="U0KIM", text="How do I reset my password?", ts="1.1"))
    assert (await client.post("/slack/events", data=body, headers=signed_headers(SLACK_SECRET, body))).status == 200

    await until(lambda: slack.delivered("chat.postMessage"))
    (answer,) = slack.delivered("chat.postMessage")
    assert answer["channel"] == "D0KIM" and "password" in answer["text"].lower()
    retried = [r.getMessage() for r in caplog.records if r.getMessage().startswith("outbox: sending message")]
    assert len(retried) == 1 and retried[0].endswith("slack chat.postMessage: HTTP 502 not a Slack answer"), retried


@PAGE_TYPES
async def test_doctor_says_slack_answered_with_a_page_not_json(
    slack: FakeSlack, tmp_path: Path, page_type: str
) -> None:
    channel = SlackChannel(Settings(data_dir=tmp_path, slack=desk_settings(slack)), HubGate().port)
    slack.fail_next("auth.test", status=502, page=BAD_GATEWAY, page_type=page_type)
    with pytest.raises(CheckFailed) as failed:
        await channel.check()  # the `slack` line of `supporthub doctor`
    assert str(failed.value) == "auth.test: HTTP 502 not a Slack answer"
