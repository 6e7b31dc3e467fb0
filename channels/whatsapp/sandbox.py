"""WhatsApp in the sandbox: the person writes as a WhatsApp customer (a webhook signed with the
app secret, as Meta posts it) and sees each message the hub sent through the Graph API stand-in."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import SecretStr

from channels.whatsapp.cloud import WEBHOOK_PATH
from channels.whatsapp.settings import WhatsAppSettings
from channels.whatsapp.stand_in import (
    ACCESS_TOKEN,
    APP_SECRET,
    GRAPH_VERSION,
    PHONE_NUMBER_ID,
    VERIFY_TOKEN,
    FakeGraph,
    deliver,
    text_message,
)
from core.sandbox.pane import PaneField
from core.settings import Settings


class WhatsAppPane:
    name = "whatsapp"
    title = "WhatsApp"
    role = "you message the business number"
    for_staff = False
    fields: tuple[PaneField, ...] = ()

    def __init__(self) -> None:
        self.graph = FakeGraph()
        self._hub_url = ""

    async def start(self) -> None:
        await self.graph.start()

    async def stop(self) -> None:
        await self.graph.stop()

    def section(self, *, hub_url: str, operator: Settings) -> WhatsAppSettings:
        self._hub_url = hub_url
        return WhatsAppSettings(
            phone_number_id=PHONE_NUMBER_ID,
            access_token=SecretStr(ACCESS_TOKEN),
            app_secret=SecretStr(APP_SECRET),
            verify_token=SecretStr(VERIFY_TOKEN),
            graph_url=self.graph.url,
            graph_version=GRAPH_VERSION,
        )

    async def says(self, text: str, fields: Mapping[str, str]) -> None:
        status, answer = await deliver(self._hub_url + WEBHOOK_PATH, text_message(text))
        if status >= 400:
            raise OSError(f"the hub answered {status}: {answer}")

    def sent(self) -> list[dict[str, Any]]:
        return [_shown(body) for body in self.graph.sent]


def _shown(body: dict[str, Any]) -> dict[str, Any]:
    """A message the hub sent as the customer's phone would show it: a text, an interactive
    message's body with its buttons or list, or the template it used past the 24-hour window."""
    kind = body.get("type")
    if kind == "text":
        return {"text": str(body.get("text", {}).get("body", ""))}
    if kind == "interactive":
        interactive = body.get("interactive", {})
        action = interactive.get("action", {})
        options = [button.get("reply", {}).get("title", "") for button in action.get("buttons", [])]
        options += [row.get("title", "") for section in action.get("sections", []) for row in section.get("rows", [])]
        return {"text": str(interactive.get("body", {}).get("text", "")), "meta": " · ".join(options)}
    template = body.get("template", {})
    return {"text": "", "meta": f"template {template.get('name', '?')}"}
