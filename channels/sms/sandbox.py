"""SMS in the sandbox: the person texts the support number through the Twilio stand-in, and sees
each text the hub sent with its number of segments."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import aiohttp
from pydantic import SecretStr

from channels.sms.settings import SmsSettings
from channels.twilio.stand_in import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    HUB_NUMBER,
    FakeTwilio,
    incoming_sms,
    segment_count,
    signed_form,
)
from core.sandbox.pane import PaneField
from core.settings import Settings


class SmsPane:
    name = "sms"
    title = "SMS"
    role = "you text the support number"
    for_staff = False
    fields: tuple[PaneField, ...] = ()

    def __init__(self) -> None:
        self.twilio = FakeTwilio()
        self._hub_url = ""
        self._shown: list[dict[str, Any]] = []

    async def start(self) -> None:
        await self.twilio.start()

    async def stop(self) -> None:
        await self.twilio.stop()

    def section(self, *, hub_url: str, operator: Settings) -> SmsSettings:
        self._hub_url = hub_url
        return SmsSettings(
            account_sid=ACCOUNT_SID,
            auth_token=SecretStr(AUTH_TOKEN),
            from_number=HUB_NUMBER,
            api_url=self.twilio.url,
            public_url=hub_url,
            status_callbacks=False,
        )

    async def says(self, text: str, fields: Mapping[str, str]) -> None:
        """Twilio's webhook for an incoming text, signed with the account's token."""
        url = f"{self._hub_url}/sms/twilio"
        form = incoming_sms(text)
        async with (
            aiohttp.ClientSession() as session,
            session.post(url, data=form, headers=signed_form(url, form)) as response,
        ):
            response.raise_for_status()

    def sent(self) -> list[dict[str, Any]]:
        """Each text counted once, when it first shows (the page asks every 0.7 s)."""
        for call in self.twilio.sent()[len(self._shown) :]:
            body = str(call.params.get("Body", ""))
            segments = segment_count(body)
            self._shown.append(
                {"text": body, "segments": segments, "meta": f"{segments} segment{'s' * (segments != 1)}"}
            )
        return list(self._shown)
