"""Messenger and Instagram in the sandbox: the person writes as a customer of the company's Facebook
Page or Instagram account (a webhook signed with the app secret, as Meta posts it) and sees each
message the hub sent through the Graph API stand-in."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from pydantic import SecretStr

from channels.messenger.settings import InstagramSettings, MessengerSettings
from channels.messenger.stand_in import (
    APP_SECRET,
    GRAPH_VERSION,
    IG_ACCESS_TOKEN,
    IG_ACCOUNT_ID,
    PAGE_ACCESS_TOKEN,
    PAGE_ID,
    VERIFY_TOKEN,
    FakeMessaging,
    deliver,
    text_message,
)
from core.sandbox.pane import PaneField
from core.settings import Settings


class _MetaMessagingPane:
    """What both panes do alike; a pane's `platform` names its stand-in's account and the hub's
    webhook path (`/<platform>/webhook`)."""

    platform: ClassVar[str]
    name: str
    title: str
    role: str
    for_staff = False
    fields: tuple[PaneField, ...] = ()

    def __init__(self) -> None:
        self.graph = FakeMessaging(self.platform)
        self._hub_url = ""

    async def start(self) -> None:
        await self.graph.start()

    async def stop(self) -> None:
        await self.graph.stop()

    async def says(self, text: str, fields: Mapping[str, str]) -> None:
        url = f"{self._hub_url}/{self.platform}/webhook"
        status, answer = await deliver(url, text_message(text, platform=self.platform))
        if status >= 400:
            raise OSError(f"the hub answered {status}: {answer}")

    def sent(self) -> list[dict[str, Any]]:
        return [_shown(body) for body in self.graph.sent]


class MessengerPane(_MetaMessagingPane):
    platform = "messenger"
    name = "messenger"
    title = "Messenger"
    role = "you message the company's Facebook Page"

    def section(self, *, hub_url: str, operator: Settings) -> MessengerSettings:
        self._hub_url = hub_url
        return MessengerSettings(
            page_id=PAGE_ID,
            access_token=SecretStr(PAGE_ACCESS_TOKEN),
            app_secret=SecretStr(APP_SECRET),
            verify_token=SecretStr(VERIFY_TOKEN),
            graph_url=self.graph.url,
            graph_version=GRAPH_VERSION,
        )


class InstagramPane(_MetaMessagingPane):
    platform = "instagram"
    name = "instagram"
    title = "Instagram"
    role = "you message the company's Instagram account"

    def section(self, *, hub_url: str, operator: Settings) -> InstagramSettings:
        self._hub_url = hub_url
        return InstagramSettings(
            account_id=IG_ACCOUNT_ID,
            access_token=SecretStr(IG_ACCESS_TOKEN),
            app_secret=SecretStr(APP_SECRET),
            verify_token=SecretStr(VERIFY_TOKEN),
            graph_url=self.graph.url,
            graph_version=GRAPH_VERSION,
        )


def _shown(body: dict[str, Any]) -> dict[str, Any]:
    """A message the hub sent as the customer's app would show it: its text, and above it the tag
    it went with past the 24-hour window and its quick replies."""
    message = body.get("message", {})
    notes = [f"{body['tag']} tag"] if body.get("messaging_type") == "MESSAGE_TAG" else []
    titles = [str(reply.get("title", "")) for reply in message.get("quick_replies", [])]
    if titles:
        notes.append(" · ".join(titles))
    shown: dict[str, Any] = {"text": str(message.get("text", ""))}
    if notes:
        shown["meta"] = " — ".join(notes)
    return shown
