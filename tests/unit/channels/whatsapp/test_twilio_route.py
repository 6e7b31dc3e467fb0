"""WhatsApp's Twilio route: the real route and twilio SDK against a local fake of Twilio
(`channels.whatsapp.twilio_stand_in`), its webhooks mounted on a test server and signed the way Twilio
signs them, handed to a recorder standing in for the channel. What crosses each wire: the
webhooks as `Incoming` and `Report`, the sends as Twilio's form fields, Twilio's refusals as the
outbox's decisions."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from pydantic import SecretStr

from channels.twilio.stand_in import ACCOUNT_SID, AUTH_TOKEN, HUB_NUMBER, signed_form
from channels.whatsapp.route import Choice, Incoming, Media, Report, Template
from channels.whatsapp.settings import WhatsAppSettings
from channels.whatsapp.twilio_route import TwilioRoute
from channels.whatsapp.twilio_stand_in import (
    CUSTOMER,
    PROFILE_NAME,
    FakeTwilioWhatsApp,
    incoming_whatsapp,
    message_sid,
    post_signed,
    whatsapp_status,
)
from core.channel import (
    CheckFailed,
    CustomerUnreachable,
    DeliveryError,
    DeliveryHeld,
    DeliveryRefused,
    StorageUnavailable,
)
from core.metrics import REGISTRY
from tests.ports import free_port

PUBLIC_URL = "https://support.example.com"
WEBHOOK = f"{PUBLIC_URL}/whatsapp/twilio"
STATUS = f"{PUBLIC_URL}/whatsapp/twilio/status"
SHARED_KEY = "webhooks-shared-key-secret"
CONTENT_SID = "HX" + "0" * 31 + "7"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(200))
VOICE = b"OggS" + bytes(300)


@dataclass
class Recorder:
    """The channel's side of the seam (`channels.whatsapp.route.Webhooks`): what it was handed;
    with `unavailable`, nothing is kept and StorageUnavailable raised, as the hub does."""

    messages: list[Incoming] = field(default_factory=list)
    reports: list[Report] = field(default_factory=list)
    unavailable: bool = False

    async def message(self, incoming: Incoming) -> None:
        self._storable()
        self.messages.append(incoming)

    async def report(self, report: Report) -> None:
        self._storable()
        self.reports.append(report)

    def _storable(self) -> None:
        if self.unavailable:
            raise StorageUnavailable("database is locked", retry_after_s=7)


@pytest.fixture
async def fake() -> AsyncIterator[FakeTwilioWhatsApp]:
    twilio = FakeTwilioWhatsApp()
    await twilio.start()
    yield twilio
    await twilio.stop()


def settings(fake: FakeTwilioWhatsApp, **overrides: Any) -> WhatsAppSettings:
    fields: dict[str, Any] = {
        "route": "twilio",
        "account_sid": ACCOUNT_SID,
        "auth_token": SecretStr(AUTH_TOKEN),
        "webhook_signing_key": SecretStr(SHARED_KEY),
        "from_number": HUB_NUMBER,
        "api_url": fake.api_url,
        "public_url": PUBLIC_URL,
    }
    return WhatsAppSettings(**(fields | overrides))


@pytest.fixture
async def route(fake: FakeTwilioWhatsApp) -> AsyncIterator[TwilioRoute]:
    started = TwilioRoute(settings(fake))
    await started.start()
    yield started
    await started.stop()


@pytest.fixture
def webhooks() -> Recorder:
    return Recorder()


@pytest.fixture
async def hub(aiohttp_server: Callable[..., Any], route: TwilioRoute, webhooks: Recorder) -> str:
    """The route's webhooks on a test server; its base URL."""
    app = web.Application()
    app.add_routes(route.routes(webhooks))
    server = await aiohttp_server(app)
    return str(server.make_url("")).rstrip("/")


def refused(reason: str) -> float:
    return (
        REGISTRY.get_sample_value("supporthub_webhook_rejections_total", {"channel": "whatsapp", "reason": reason})
        or 0.0
    )


# -- webhooks in --------------------------------------------------------------------------------


async def test_a_text_is_handed_on_with_its_number_in_e164_the_profile_name_and_the_sid(
    hub: str, webhooks: Recorder
) -> None:
    form = incoming_whatsapp("Where is my order?")
    answered = await post_signed(hub, WEBHOOK, form)
    assert answered.status == 200 and "<Message" not in answered.text  # an empty TwiML <Response/>
    assert answered.headers["Content-Type"].startswith("application/xml")
    assert webhooks.messages == [
        Incoming(message_id=form["MessageSid"], number=CUSTOMER, text="Where is my order?", name=PROFILE_NAME)
    ]


async def test_a_button_pressed_is_a_choice_with_its_title_as_text(hub: str, webhooks: Recorder) -> None:
    await post_signed(hub, WEBHOOK, incoming_whatsapp(button=("Talk to a person", "handoff")))
    (pressed,) = webhooks.messages
    assert (pressed.choice, pressed.text) == ("handoff", "Talk to a person")


@pytest.mark.parametrize("url", [WEBHOOK, STATUS])
async def test_a_forged_signature_is_refused_with_403_and_nothing_is_handed_on(
    hub: str, webhooks: Recorder, url: str
) -> None:
    before = refused("bad_signature")
    form = incoming_whatsapp("hi") if url == WEBHOOK else whatsapp_status(message_sid(), "delivered")
    assert (await post_signed(hub, url, form, forged=True)).status == 403
    assert webhooks.messages == [] and webhooks.reports == []
    assert refused("bad_signature") == before + 1


@pytest.mark.parametrize(
    ("token", "algorithm", "taken"),
    [
        (AUTH_TOKEN, None, True),
        (SHARED_KEY, "HMAC_SHA256", True),  # a Webhooks SharedKey
        (AUTH_TOKEN, "HMAC_SHA256", False),  # the auth token is not the SharedKey's secret
        (SHARED_KEY, None, False),
    ],
)
async def test_signatures_by_the_auth_token_or_the_shared_key(
    hub: str, webhooks: Recorder, token: str, algorithm: str | None, taken: bool
) -> None:
    answered = await post_signed(hub, WEBHOOK, incoming_whatsapp("hi"), token=token, algorithm=algorithm)
    assert (answered.status, len(webhooks.messages)) == ((200, 1) if taken else (403, 0))


async def test_a_signature_for_another_url_is_refused(hub: str, webhooks: Recorder) -> None:
    # signed for /whatsapp/twilio/status: a webhook replayed to another of the hub's URLs
    form = incoming_whatsapp("hi")
    headers = signed_form(STATUS, form)
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{hub}/whatsapp/twilio", data=form, headers=headers) as got,
    ):
        assert got.status == 403
    assert webhooks.messages == []


@pytest.mark.parametrize("sender", [CUSTOMER, "whatsapp:4915112345678", "whatsapp:+0123456789", "whatsapp:"])
async def test_a_sender_that_is_not_a_whatsapp_number_in_e164_is_refused_with_400(
    hub: str, webhooks: Recorder, sender: str
) -> None:
    form = incoming_whatsapp("hi") | {"From": sender}
    answered = await post_signed(hub, WEBHOOK, form)
    assert answered.status == 400 and "From" in json.loads(answered.text)["error"] and webhooks.messages == []


async def test_a_form_that_is_not_one_is_refused_before_the_signature(hub: str, webhooks: Recorder) -> None:
    async with aiohttp.ClientSession() as session, session.post(f"{hub}/whatsapp/twilio", json={"Body": "hi"}) as got:
        assert got.status == 415
    assert webhooks.messages == []


@pytest.mark.parametrize(
    ("data", "kind", "voice"),
    [(PNG, "image/png", False), (VOICE, "audio/ogg", True), (b"ID3" + bytes(50), "audio/mpeg", False)],
)
async def test_a_file_is_parsed_and_fetched_with_the_credentials_only_on_twilios_host(
    hub: str, webhooks: Recorder, route: TwilioRoute, fake: FakeTwilioWhatsApp, data: bytes, kind: str, voice: bool
) -> None:
    sid = message_sid(media=True)
    url = fake.inbound_media(data, kind, message_sid=sid)
    await post_signed(hub, WEBHOOK, incoming_whatsapp(sid=sid, media=[(url, kind)]))
    (message,) = webhooks.messages
    assert message.media == (Media(ref=url, kind=kind, voice=voice),) and message.text == ""

    fetched = await route.download(message.media[0], name="file-1", max_bytes=len(data))
    assert (fetched.data, fetched.problem) == (data, None)
    api, cdn = fake.downloads
    assert api.authorized and api.status == 307
    assert not cdn.authorized and cdn.host.startswith("localhost") and cdn.status == 200


async def test_a_file_over_the_limit_keeps_no_data_and_says_its_size(
    route: TwilioRoute, fake: FakeTwilioWhatsApp
) -> None:
    url = fake.inbound_media(PNG, "image/png", message_sid=message_sid(media=True))
    fetched = await route.download(Media(url, "image/png"), name="photo.png", max_bytes=len(PNG) - 1)
    assert fetched.data == b"" and fetched.size == len(PNG)


async def test_a_media_url_elsewhere_gets_no_credentials_and_is_not_fetched(
    route: TwilioRoute, fake: FakeTwilioWhatsApp
) -> None:
    url = fake.inbound_media(PNG, "image/png", message_sid=message_sid(media=True))
    elsewhere = url.replace("127.0.0.1", "localhost")  # another origin, the same fake behind it
    fetched = await route.download(Media(elsewhere, "image/png"), name="photo.png", max_bytes=10_000)
    assert fetched.data == b"" and fetched.problem == "photo.png could not be fetched from Twilio"
    assert fake.downloads == []


async def test_a_media_url_twilio_no_longer_serves_is_a_problem_not_an_error(
    route: TwilioRoute, fake: FakeTwilioWhatsApp
) -> None:
    url = fake.inbound_media(PNG, "image/png", message_sid=message_sid(media=True)).replace(
        "/Media/ME", "/Media/MEgone"
    )
    fetched = await route.download(Media(url, "image/png"), name="photo.png", max_bytes=10_000)
    assert fetched.data == b"" and fetched.problem == "photo.png could not be fetched from Twilio"


async def test_status_callbacks_carry_twilios_ranks_and_the_recipient(hub: str, webhooks: Recorder) -> None:
    sid = message_sid()
    for status in ("sent", "read", "delivered"):  # Twilio may post "delivered" after "read"
        assert (await post_signed(hub, STATUS, whatsapp_status(sid, status))).status == 204
    assert [(r.message_id, r.status, r.rank, r.recipient, r.error) for r in webhooks.reports] == [
        (sid, "sent", 3, CUSTOMER, None),
        (sid, "read", 5, CUSTOMER, None),
        (sid, "delivered", 4, CUSTOMER, None),  # ranked below "read": the channel keeps it out
    ]


@pytest.mark.parametrize(
    ("code", "window_closed", "unreachable", "error"),
    [
        (63016, True, False, "Twilio error 63016: outside the allowed window"),
        (63024, False, True, "Twilio error 63024: invalid message recipient"),
        (63003, False, True, "Twilio error 63003: channel could not find To address"),
        (63014, False, True, "Twilio error 63014: message blocked by user action"),
        (30008, False, False, "Twilio error 30008"),
    ],
)
async def test_a_failure_says_whether_the_window_closed_or_the_number_is_unreachable(
    hub: str, webhooks: Recorder, code: int, window_closed: bool, unreachable: bool, error: str
) -> None:
    await post_signed(hub, STATUS, whatsapp_status(message_sid(), "failed", error_code=code))
    (report,) = webhooks.reports
    assert (report.status, report.rank, report.window_closed, report.unreachable) == (
        "failed",
        4,
        window_closed,
        unreachable,
    )
    assert report.error == error


async def test_a_status_twilio_added_later_is_answered_and_not_handed_on(hub: str, webhooks: Recorder) -> None:
    answered = await post_signed(hub, STATUS, whatsapp_status(message_sid(), "partially_delivered"))
    assert answered.status == 204 and webhooks.reports == []


@pytest.mark.parametrize("url", [WEBHOOK, STATUS])
async def test_when_the_hub_can_keep_nothing_twilio_hears_503_and_retries(
    hub: str, webhooks: Recorder, url: str
) -> None:
    webhooks.unavailable = True
    form = incoming_whatsapp("hi") if url == WEBHOOK else whatsapp_status(message_sid(), "delivered")
    answered = await post_signed(hub, url, form)
    assert (answered.status, answered.headers.get("Retry-After")) == (503, "7")
    assert webhooks.messages == [] and webhooks.reports == []


# -- sends out ----------------------------------------------------------------------------------


async def test_a_text_goes_from_the_whatsapp_sender_with_a_status_callback(
    route: TwilioRoute, fake: FakeTwilioWhatsApp
) -> None:
    sid = await route.send_text(CUSTOMER, "Your order ships today.")
    (sent,) = fake.whatsapp_sent(CUSTOMER)
    assert sent.sid == sid and sent.authorized
    assert sent.params == {
        "To": f"whatsapp:{CUSTOMER}",
        "From": f"whatsapp:{HUB_NUMBER}",
        "Body": "Your order ships today.",
        "StatusCallback": STATUS,
    }


@pytest.mark.parametrize(("parameter", "variables"), [("Dana", {"1": "Dana"}), (None, None)])
async def test_a_template_goes_as_its_content_sid_with_its_one_variable(
    route: TwilioRoute, fake: FakeTwilioWhatsApp, parameter: str | None, variables: dict[str, str] | None
) -> None:
    await route.send_template(CUSTOMER, Template(CONTENT_SID, "en", parameter))
    (sent,) = fake.whatsapp_sent(CUSTOMER)
    assert sent.params["ContentSid"] == CONTENT_SID and "Body" not in sent.params
    got = sent.params.get("ContentVariables")
    assert (json.loads(str(got)) if got is not None else None) == variables


async def test_choices_go_as_numbered_lines_under_the_text(route: TwilioRoute, fake: FakeTwilioWhatsApp) -> None:
    choices = [Choice("good", "Great"), Choice("meh", "Could be better")]
    await route.send_choices(CUSTOMER, "How did we do?", choices, button="Rate us")
    (sent,) = fake.whatsapp_sent(CUSTOMER)
    assert sent.params["Body"] == "How did we do?\n\n1. Great\n2. Could be better"


async def test_a_long_text_with_choices_still_fits_twilios_limit(route: TwilioRoute, fake: FakeTwilioWhatsApp) -> None:
    await route.send_choices(CUSTOMER, "x" * route.max_text, [Choice("yes", "Yes")], button="Answer")
    (sent,) = fake.whatsapp_sent(CUSTOMER)
    body = str(sent.params["Body"])
    assert len(body) == route.max_text and body.endswith("…\n\n1. Yes")


async def test_a_messaging_service_sends_without_from_and_callbacks_can_be_off(fake: FakeTwilioWhatsApp) -> None:
    service = "MG" + "0" * 31 + "5"
    route = TwilioRoute(settings(fake, from_number="", messaging_service_sid=service, status_callbacks=False))
    await route.start()
    try:
        await route.send_text(CUSTOMER, "Hello")
    finally:
        await route.stop()
    (sent,) = fake.send_attempts()
    assert sent.params == {"To": f"whatsapp:{CUSTOMER}", "MessagingServiceSid": service, "Body": "Hello"}


async def test_outside_the_24_hour_window_a_reply_is_held(route: TwilioRoute, fake: FakeTwilioWhatsApp) -> None:
    fake.fail_next_with(63016)
    with pytest.raises(DeliveryError) as failed:
        await route.send_text(CUSTOMER, "Sorry for the wait!")
    assert (
        isinstance(failed.value, DeliveryHeld)
        and not isinstance(failed.value, DeliveryRefused)
        and "63016" in str(failed.value)
    )


@pytest.mark.parametrize(
    "refuse",
    [
        lambda fake: fake.fail_next_with(63018),  # rate limit for the channel
        lambda fake: fake.fail_next_with(63012),  # WhatsApp's internal error
        lambda fake: fake.fail_next(401, code=20003),  # credentials being rotated
        lambda fake: fake.fail_next(429),
        lambda fake: fake.fail_next(503),  # the load balancer's HTML page
    ],
)
async def test_a_passing_refusal_is_retried(
    route: TwilioRoute, fake: FakeTwilioWhatsApp, refuse: Callable[[FakeTwilioWhatsApp], None]
) -> None:
    refuse(fake)
    with pytest.raises(DeliveryError) as failed:
        await route.send_text(CUSTOMER, "Hello")
    assert not isinstance(failed.value, DeliveryRefused) and not isinstance(failed.value, DeliveryHeld)
    assert len(fake.send_attempts()) == 1  # the SDK itself never retries


@pytest.mark.parametrize("code", [63024, 63003, 63014])
async def test_a_number_that_cannot_get_whatsapp_is_unreachable(
    route: TwilioRoute, fake: FakeTwilioWhatsApp, code: int
) -> None:
    fake.fail_next_with(code)
    with pytest.raises(DeliveryError) as failed:
        await route.send_text(CUSTOMER, "Hello")
    assert (
        isinstance(failed.value, DeliveryRefused)
        and isinstance(failed.value, CustomerUnreachable)
        and str(code) in str(failed.value)
    )


async def test_a_refusals_reason_masks_the_number_and_never_holds_the_token(
    route: TwilioRoute, fake: FakeTwilioWhatsApp
) -> None:
    fake.fail_next(400, code=21211, message=f"Invalid 'To' Phone Number: whatsapp:{CUSTOMER} ({AUTH_TOKEN})")
    with pytest.raises(DeliveryError) as failed:
        await route.send_text(CUSTOMER, "Hello")
    reason = str(failed.value)
    assert isinstance(failed.value, CustomerUnreachable) and "21211" in reason
    assert CUSTOMER not in reason and AUTH_TOKEN not in reason and "whatsapp:+491…78" in reason


async def test_another_refusal_of_the_message_is_permanent(route: TwilioRoute, fake: FakeTwilioWhatsApp) -> None:
    fake.fail_next(400, code=21617)
    with pytest.raises(DeliveryError) as failed:
        await route.send_text(CUSTOMER, "Hello")
    assert (
        isinstance(failed.value, DeliveryRefused)
        and not isinstance(failed.value, CustomerUnreachable)
        and not isinstance(failed.value, DeliveryHeld)
    )


async def test_a_send_that_cannot_reach_twilio_is_retried(fake: FakeTwilioWhatsApp) -> None:
    route = TwilioRoute(settings(fake, api_url=f"http://127.0.0.1:{free_port()}"))
    await route.start()
    try:
        with pytest.raises(DeliveryError) as failed:
            await route.send_text(CUSTOMER, "Hello")
    finally:
        await route.stop()
    assert not isinstance(failed.value, DeliveryRefused)


# -- the rest of the route ----------------------------------------------------------------------


async def test_check_fetches_the_account_and_names_a_refusal(fake: FakeTwilioWhatsApp) -> None:
    assert await TwilioRoute(settings(fake)).check() == f"account {ACCOUNT_SID} (Brightdesk Support): active"
    with pytest.raises(CheckFailed) as failed:
        await TwilioRoute(settings(fake, auth_token=SecretStr("rotated-token"))).check()
    assert "20003" in str(failed.value) and "rotated-token" not in str(failed.value)


async def test_marking_read_asks_nothing_of_twilio(route: TwilioRoute, fake: FakeTwilioWhatsApp) -> None:
    await route.mark_read(message_sid(), typing=True)
    assert fake.calls == []
