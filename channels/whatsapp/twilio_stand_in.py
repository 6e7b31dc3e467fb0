"""Twilio's WhatsApp sender, faked on `channels.twilio.stand_in.FakeTwilio` (the fake of Twilio's
REST API the SMS tests use): the same Messages API with `whatsapp:+E164` addresses, templates sent
as `ContentSid`/`ContentVariables`, WhatsApp's error codes, and the webhooks Twilio posts for a
WhatsApp sender, signed the way Twilio signs them (or forged).

    fake = FakeTwilioWhatsApp(); await fake.start()
    form = incoming_whatsapp("Hi", profile_name="Dana")
    answered = await post_signed(hub_url, PUBLIC_URL + "/whatsapp/twilio", form)

`post_signed` posts to the hub's real address (`hub_url`, the test server) but signs the public
URL Twilio would have called, as a hub behind a proxy sees it.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

import aiohttp

from channels.twilio.stand_in import (
    ACCOUNT_SID,
    API_VERSION,
    AUTH_TOKEN,
    HUB_NUMBER,
    FakeTwilio,
    RecordedCall,
    signed_form,
)

PREFIX = "whatsapp:"
SENDER = PREFIX + HUB_NUMBER
"""The hub's WhatsApp sender, the `From` the fake accepts besides the SMS number."""
CUSTOMER = "+4915112345678"
PROFILE_NAME = "Dana Fischer"
WHATSAPP_ERRORS = {
    63003: "Channel could not find To address",
    63012: "Channel provider returned an internal service error",
    63014: "Channel message blocked by user action",
    63016: "Failed to send freeform message because you are outside the allowed window. "
    "If you are using WhatsApp, please use a Message Template.",
    63018: "Rate limit exceeded for Channel",
    63024: "Invalid message recipient",
}
"""Twilio's messages for the WhatsApp codes (twilio.com/docs/api/errors/<code>)."""


class FakeTwilioWhatsApp(FakeTwilio):
    """`FakeTwilio` owning the WhatsApp sender `SENDER` too; everything else as it records it
    (`calls`, `sent()`, `wait_for_sent`, `add_media`, `fail_next`)."""

    def __init__(self) -> None:
        super().__init__()
        self.numbers.add(SENDER)

    def whatsapp_sent(self, to: str | None = None) -> list[RecordedCall]:
        """The WhatsApp messages sent (answered 201), to `whatsapp:<to>` when given, in order."""
        sent = self.sent(None if to is None else PREFIX + to)
        return [call for call in sent if str(call.params.get("To", "")).startswith(PREFIX)]

    def fail_next_with(self, code: int, *, times: int = 1) -> None:
        """The next `times` sends are refused with WhatsApp error `code` (HTTP 400 and Twilio's
        message for it), as a refusal the API answers at once: the route must decide by the code."""
        self.fail_next(400, code=code, message=WHATSAPP_ERRORS[code], times=times)

    def inbound_media(self, data: bytes, content_type: str, *, message_sid: str) -> str:
        """Host `data` as the one file of the customer's message `message_sid`: its MediaUrl."""
        return self.add_media(message_sid, "ME" + uuid.uuid4().hex, data, content_type)


def message_sid(media: bool = False) -> str:
    """A fresh sid as Twilio gives an inbound message: "SM…" for text, "MM…" with media."""
    return ("MM" if media else "SM") + uuid.uuid4().hex


def incoming_whatsapp(
    body: str = "",
    *,
    from_: str = CUSTOMER,
    profile_name: str | None = PROFILE_NAME,
    sid: str | None = None,
    media: Sequence[tuple[str, str]] = (),
    button: tuple[str, str] | None = None,
) -> dict[str, str]:
    """The form Twilio POSTs to a WhatsApp sender's webhook: `from_` is the customer's number
    (E.164, prefixed here as Twilio does); `media` lists (MediaUrl, content type) pairs; `button`
    is a quick-reply button pressed, (its text, its payload)."""
    sid = sid or message_sid(bool(media))
    kind = "button" if button else media[0][1].split("/")[0] if media else "text"
    form = {
        "SmsMessageSid": sid,
        "NumMedia": str(len(media)),
        "SmsSid": sid,
        "SmsStatus": "received",
        "Body": button[0] if button else body,
        "To": SENDER,
        "MessageType": kind,
        "NumSegments": "1",
        "ReferralNumMedia": "0",
        "MessageSid": sid,
        "AccountSid": ACCOUNT_SID,
        "From": PREFIX + from_,
        "WaId": from_.removeprefix("+"),
        "ApiVersion": API_VERSION,
    }
    if profile_name is not None:
        form["ProfileName"] = profile_name
    for index, (url, content_type) in enumerate(media):
        form[f"MediaContentType{index}"] = content_type
        form[f"MediaUrl{index}"] = url
    if button:
        form["ButtonText"], form["ButtonPayload"] = button
    return form


def whatsapp_status(sid: str, status: str, *, to: str = CUSTOMER, error_code: int | None = None) -> dict[str, str]:
    """The form Twilio POSTs to a WhatsApp message's StatusCallback (queued, sent, delivered,
    read, failed, undelivered…); ErrorCode comes with failures (63016 outside the window…)."""
    form = {
        "SmsSid": sid,
        "SmsStatus": status,
        "MessageStatus": status,
        "ChannelToAddress": to,
        "To": PREFIX + to,
        "ChannelPrefix": "whatsapp",
        "MessageSid": sid,
        "AccountSid": ACCOUNT_SID,
        "From": SENDER,
        "ApiVersion": API_VERSION,
    }
    if error_code is not None:
        form["ErrorCode"] = str(error_code)
    return form


@dataclass(frozen=True, slots=True)
class Answered:
    """What the hub answered a webhook."""

    status: int
    text: str
    headers: Mapping[str, str]


async def post_signed(
    hub_url: str,
    public_url: str,
    form: Mapping[str, str],
    *,
    token: str = AUTH_TOKEN,
    algorithm: str | None = None,
    forged: bool = False,
) -> Answered:
    """POST `form` to the hub at `hub_url` + the path of `public_url`, signed for `public_url`
    with `token` (the auth token, or a SharedKey's secret with `algorithm="HMAC_SHA256"`);
    `forged` signs it with a token that is not the account's."""
    parts = urlsplit(public_url)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    headers = signed_form(public_url, form, token="forged-" + token if forged else token, algorithm=algorithm)
    async with (
        aiohttp.ClientSession() as session,
        session.post(hub_url + path, data=dict(form), headers=headers) as response,
    ):
        return Answered(response.status, await response.text(), dict(response.headers))
