"""Requests as Slack sends them to a Bolt app: signed headers and payload builders.

Payloads follow Slack's documented shapes (the Events API `event_callback` envelope, the
`block_actions` interaction payload) for the workspace `FakeSlack` plays (`TEAM_ID`, bot
`BOT_USER_ID`), so a Bolt app whose client points at `FakeSlack` sees one consistent world.
Events are JSON bodies (`json.dumps` the dict); interactivity payloads are form-encoded
`payload=<json>`, so `block_action` returns the finished body string.

    body = json.dumps(message_event(channel="D1", user="U1", text="hi", ts="1700000001.000100"))
    await client.post("/slack/events", data=body, headers=signed_headers(SECRET, body))
"""

from __future__ import annotations

import json
import time
from typing import Any, Literal
from urllib.parse import urlencode

from slack_sdk.signature import SignatureVerifier

from channels.slack.stand_in import APP_ID, BOT_ID, BOT_USER_ID, TEAM_ID

VERIFICATION_TOKEN = "legacy-verification-token"
"""The deprecated `token` field Slack still puts in payloads; Bolt ignores it."""

ChannelType = Literal["im", "channel", "group", "mpim"]


def signed_headers(
    secret: str, body: str, *, timestamp: int | None = None, retry_num: int | None = None
) -> dict[str, str]:
    """Headers Slack sends with `body`, signed with the app's signing secret.

    `timestamp` defaults to now (Bolt refuses one more than five minutes old). The content type
    follows the body: JSON for events, form-encoded for interactivity. `retry_num` adds the
    headers of Slack's redelivery after a slow acknowledgement (same body, same event id).
    """
    timestamp = int(time.time()) if timestamp is None else timestamp
    signature = SignatureVerifier(secret).generate_signature(timestamp=str(timestamp), body=body)
    assert signature is not None  # None only without a secret
    is_json = body.lstrip().startswith("{")
    headers = {
        "Content-Type": "application/json" if is_json else "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": str(timestamp),
        "X-Slack-Signature": signature,
    }
    if retry_num is not None:
        headers |= {"X-Slack-Retry-Num": str(retry_num), "X-Slack-Retry-Reason": "http_timeout"}
    return headers


def message_event(
    *,
    channel: str,
    user: str,
    text: str,
    ts: str,
    thread_ts: str | None = None,
    channel_type: ChannelType = "im",
    event_id: str | None = None,
    bot_id: str | None = None,
    subtype: str | None = None,
    files: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """A `message` event in its envelope.

    `event_id` defaults to one derived from channel and ts, so building the same message twice
    gives the same id, as a Slack retry does. With `files` (objects from `FakeSlack.add_file`)
    the subtype defaults to `file_share`, as Slack sends it. `bot_id` makes it a bot's message
    (what an app sees of its own posts and other integrations'); user messages carry a
    `client_msg_id` instead.
    """
    event: dict[str, Any] = {"type": "message", "user": user, "text": text, "ts": ts, "team": TEAM_ID}
    if bot_id is None:
        event["client_msg_id"] = f"msg-{channel}-{ts}"
    else:
        event["bot_id"] = bot_id
    subtype = subtype or ("file_share" if files else None)
    if subtype is not None:
        event["subtype"] = subtype
    if files:
        event |= {"files": files, "upload": False, "display_as_bot": False}
    if thread_ts is not None:
        event["thread_ts"] = thread_ts
    event |= {"channel": channel, "event_ts": ts, "channel_type": channel_type}
    return _envelope(event, event_id=event_id or _event_id("M", channel, ts))


def app_mention_event(
    *, channel: str, user: str, text: str, ts: str, thread_ts: str | None = None, event_id: str | None = None
) -> dict[str, Any]:
    """An `app_mention` event in its envelope; `text` is as Slack sends it, mention included
    (`f"<@{BOT_USER_ID}> help"`). Slack also sends a `message` event for the same post, with a
    different event id: the default ids here differ too, so dedupe-by-id cannot merge them."""
    event: dict[str, Any] = {"type": "app_mention", "user": user, "text": text, "ts": ts, "team": TEAM_ID}
    if thread_ts is not None:
        event["thread_ts"] = thread_ts
    event |= {"channel": channel, "event_ts": ts}
    return _envelope(event, event_id=event_id or _event_id("A", channel, ts))


def block_action(
    *,
    action_id: str,
    value: str,
    user: str,
    channel: str,
    message_ts: str,
    thread_ts: str | None = None,
    response_url: str | None = None,
    block_id: str = "actions",
    blocks: list[dict[str, Any]] | None = None,
) -> str:
    """The form body Slack posts when `user` clicks the button `action_id` on the bot's message
    `message_ts` (posted with `blocks`, which Slack sends back). `response_url` defaults to a
    hooks.slack.com URL, which the test network guard refuses: pass a local one if the app under
    test calls `respond()`."""
    message: dict[str, Any] = {
        "type": "message",
        "user": BOT_USER_ID,
        "bot_id": BOT_ID,
        "app_id": APP_ID,
        "ts": message_ts,
    }
    if blocks is not None:
        message["blocks"] = blocks
    container: dict[str, Any] = {
        "type": "message",
        "message_ts": message_ts,
        "channel_id": channel,
        "is_ephemeral": False,
    }
    if thread_ts is not None:
        message["thread_ts"] = thread_ts
        container["thread_ts"] = thread_ts
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": {"id": user, "username": user.lower(), "name": user.lower(), "team_id": TEAM_ID},
        "api_app_id": APP_ID,
        "token": VERIFICATION_TOKEN,
        "container": container,
        "trigger_id": f"trigger-{message_ts}-{action_id}",
        "team": {"id": TEAM_ID, "domain": "supporthub-test"},
        "enterprise": None,
        "is_enterprise_install": False,
        "channel": {"id": channel, "name": "directmessage" if channel.startswith("D") else channel.lower()},
        "message": message,
        "state": {"values": {}},
        "response_url": response_url or f"https://hooks.slack.com/actions/{TEAM_ID}/1/{message_ts}",
        "actions": [
            {
                "type": "button",
                "action_id": action_id,
                "block_id": block_id,
                "text": {"type": "plain_text", "text": value, "emoji": True},
                "value": value,
                "action_ts": f"{time.time():.6f}",
            }
        ],
    }
    return urlencode({"payload": json.dumps(payload)})


def url_verification(challenge: str) -> dict[str, Any]:
    """The handshake Slack sends when the request URL is saved; the app must echo `challenge`."""
    return {"token": VERIFICATION_TOKEN, "challenge": challenge, "type": "url_verification"}


def _envelope(event: dict[str, Any], *, event_id: str) -> dict[str, Any]:
    return {
        "token": VERIFICATION_TOKEN,
        "team_id": TEAM_ID,
        "context_team_id": TEAM_ID,
        "context_enterprise_id": None,
        "api_app_id": APP_ID,
        "event": event,
        "type": "event_callback",
        "event_id": event_id,
        "event_time": int(float(event["ts"])),
        "authorizations": [
            {
                "enterprise_id": None,
                "team_id": TEAM_ID,
                "user_id": BOT_USER_ID,
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
        "is_ext_shared_channel": False,
        "event_context": f"4-{event_id}",
    }


def _event_id(kind: str, channel: str, ts: str) -> str:
    """Deterministic, alphanumeric like Slack's (`Ev0ABC…`), and distinct per event type."""
    return f"Ev{kind}{channel}{ts.replace('.', '')}"
