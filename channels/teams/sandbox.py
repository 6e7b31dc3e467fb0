"""Teams in the sandbox: the person writes as a customer in their one-to-one chat with the
company's bot (an activity signed as the Bot Framework signs it, posted to the hub's messaging
endpoint) and sees each message the hub sent through the Bot Connector stand-in, the survey's
buttons above its question."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import SecretStr

from channels.teams.settings import TeamsSettings
from channels.teams.stand_in import APP_ID, APP_PASSWORD, TENANT_ID, FakeTeams, deliver
from core.sandbox.pane import PaneField
from core.settings import Settings


class TeamsPane:
    name = "teams"
    title = "Teams"
    role = "you chat with the company's bot in Microsoft Teams"
    for_staff = False
    fields: tuple[PaneField, ...] = ()

    def __init__(self) -> None:
        self.teams = FakeTeams()
        self._hub_url = ""

    async def start(self) -> None:
        await self.teams.start()

    async def stop(self) -> None:
        await self.teams.stop()

    def section(self, *, hub_url: str, operator: Settings) -> TeamsSettings:
        self._hub_url = hub_url
        return TeamsSettings(
            app_id=APP_ID,
            app_password=SecretStr(APP_PASSWORD),
            tenant_id=TENANT_ID,
            login_url=self.teams.url,
            openid_metadata_url=self.teams.openid_metadata_url,
            service_url_hosts=["127.0.0.1"],
            file_hosts=["127.0.0.1"],
        )

    async def says(self, text: str, fields: Mapping[str, str]) -> None:
        activity = self.teams.personal_message(text)
        status, answer = await deliver(f"{self._hub_url}/teams/messages", activity, self.teams.signed_headers(activity))
        if status >= 400:
            raise OSError(f"the hub answered {status}: {answer}")

    def sent(self) -> list[dict[str, Any]]:
        return [_shown(activity) for activity in self.teams.sent]


def _shown(activity: dict[str, Any]) -> dict[str, Any]:
    """A message as the customer's Teams shows it: its markdown text, or an Adaptive Card's text
    with its buttons' titles above it."""
    for attachment in activity.get("attachments") or []:
        card = attachment.get("content") or {}
        text = " ".join(str(block.get("text", "")) for block in card.get("body", []))
        titles = " · ".join(str(action.get("title", "")) for action in card.get("actions", []))
        return {"text": text, "meta": titles} if titles else {"text": text}
    return {"text": str(activity.get("text", ""))}
