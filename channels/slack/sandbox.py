"""Slack's staff desk in the sandbox: the person is staff in the case channel, sees the case cards
and thread posts the hub made through the Web API stand-in, and answers under a card (an event
signed with the signing secret, as Slack posts it)."""

from __future__ import annotations

import html
import json
import re
import time
from collections.abc import Mapping
from typing import Any

import aiohttp
from pydantic import SecretStr

from channels.slack.settings import SlackSettings
from channels.slack.stand_in import BOT_TOKEN, FakeSlack
from channels.slack.stand_in_events import message_event, signed_headers
from core.sandbox.pane import PaneField, PaneInputError
from core.settings import Settings

SIGNING_SECRET = "sandbox-slack-signing-secret"
STAFF_CHANNEL = "C0SANDBOXSTAFF"
STAFF_USER = "U0SANDBOXSTAFF"
STAFF_NAME = "Sam from Support"
"""What a canned reply's {agent} says."""


class StaffDeskPane:
    name = "staff"
    title = "Slack staff desk"
    role = "you are staff in the case channel"
    for_staff = True
    fields = (PaneField("thread_ts", "(no case yet)", kind="choice"),)

    def __init__(self) -> None:
        self.slack = FakeSlack()
        self._hub_url = ""

    async def start(self) -> None:
        self.slack.users[STAFF_USER] = {"real_name": STAFF_NAME}
        await self.slack.start()

    async def stop(self) -> None:
        await self.slack.stop()

    def section(self, *, hub_url: str, operator: Settings) -> SlackSettings:
        self._hub_url = hub_url
        return SlackSettings(
            bot_token=SecretStr(BOT_TOKEN),
            signing_secret=SecretStr(SIGNING_SECRET),
            api_url=self.slack.base_url,
            staff_channel=STAFF_CHANNEL,
        )

    async def says(self, text: str, fields: Mapping[str, str]) -> None:
        """A person answers in the thread of the case card posted at `thread_ts`."""
        thread_ts = fields.get("thread_ts")
        if not thread_ts:
            raise PaneInputError("thread_ts names the case card to answer under")
        event = message_event(
            channel=STAFF_CHANNEL,
            user=STAFF_USER,
            text=text,
            ts=f"{time.time():.6f}",
            thread_ts=thread_ts,
            channel_type="channel",
        )
        body = json.dumps(event)
        async with (
            aiohttp.ClientSession() as session,
            session.post(
                f"{self._hub_url}/slack/events", data=body, headers=signed_headers(SIGNING_SECRET, body)
            ) as response,
        ):
            response.raise_for_status()

    def sent(self) -> list[dict[str, Any]]:
        """The case cards, their updates and the thread posts in the staff channel; each new card
        is a choice to answer under."""
        shown: list[dict[str, Any]] = []
        cards = 0
        for call in self.slack.requests:
            if not (
                call.response.get("ok")
                and call.method in ("chat.postMessage", "chat.update")
                and call.body.get("channel") == STAFF_CHANNEL
            ):
                continue
            ts, thread_ts, text = (
                call.response.get("ts") or call.body.get("ts"),
                call.body.get("thread_ts"),
                _text(call.body),
            )
            entry: dict[str, Any] = {"method": call.method, "ts": ts, "thread_ts": thread_ts, "text": text}
            if thread_ts:
                entry |= {"kind": "reply", "meta": "in the case thread"}
            elif call.method == "chat.update":
                entry |= {"kind": "card", "meta": "case card, updated"}
            else:
                cards += 1
                who = " on ".join(
                    part for part in (_field(call.body, "Customer"), _field(call.body, "Channel")) if part
                )
                label = f"Case {cards}: {who or text.splitlines()[0][:60]}"
                entry |= {"kind": "card", "meta": "case card", "choice": {"value": ts, "label": label}}
            shown.append(entry)
        return shown


def _blocks(body: dict[str, Any]) -> list[dict[str, Any]]:
    blocks = body.get("blocks")
    return list(json.loads(blocks) if isinstance(blocks, str) else blocks or [])


def _text(body: dict[str, Any]) -> str:
    """A Slack message as a person reads it in Slack, in plain lines: its blocks' text (a case
    card is blocks), else `text`, with Slack's markup shown as Slack shows it, not typed out."""
    lines: list[str] = []
    for block in _blocks(body):
        if isinstance(block.get("text"), dict):
            lines.append(str(block["text"].get("text", "")))
        for item in block.get("fields") or block.get("elements") or []:
            if isinstance(item, dict) and isinstance(item.get("text"), (str, dict)):
                text = item["text"] if isinstance(item["text"], str) else item["text"].get("text", "")
                lines.append(str(text))
    return readable("\n".join(line for line in lines if line) or str(body.get("text", "")))


def _field(body: dict[str, Any], name: str) -> str | None:
    """A case card's field ("*Customer:*\nAda"), as read."""
    for block in _blocks(body):
        for item in block.get("fields") or []:
            head, _, value = str(item.get("text", "")).partition("\n")
            if head == f"*{name}:*" and value:
                return readable(value)
    return None


_CODE_FENCE = re.compile(r"^```\n?|\n?```$", re.MULTILINE)
_EMPHASIS = re.compile(r"(?<![\w*_~`])([*_~])(?=\S)(.+?)(?<=\S)\1(?![\w*_~])")
_LINK = re.compile(r"<([^<>|]+)\|([^<>]+)>|<([^<>|]+)>")
_INLINE_CODE = re.compile(r"`([^`\n]+)`")


def readable(mrkdwn: str) -> str:
    """Slack's mrkdwn as Slack renders it, in plain text: no `*`, `_`, `~` around emphasis, no
    code fences or backticks, a link's label, entities decoded (docs.slack.dev, "Formatting
    text for app surfaces")."""
    text = _CODE_FENCE.sub("", mrkdwn)
    text = _INLINE_CODE.sub(r"\1", text)
    text = _EMPHASIS.sub(r"\2", text)
    text = _LINK.sub(lambda found: found.group(2) or found.group(3), text)
    return html.unescape(text)
