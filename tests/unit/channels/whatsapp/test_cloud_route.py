"""The Cloud API route against a local fake of Meta's Graph API (`channels.whatsapp.stand_in`), its
webhook routes on a real aiohttp server fed webhooks built and signed as Meta sends them, and a
recorder on the seam's other side (`Webhooks`). What crosses the wire each way: the handshake, the
signature checked before anything is parsed, messages and reports as the channel gets them, media
fetched with the token only where Meta serves it, and each Graph error as the outbox's decision."""

from __future__ import annotations

import io
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from pydantic import SecretStr

from channels.whatsapp.cloud import WEBHOOK_PATH, CloudRoute, parse_webhook
from channels.whatsapp.route import Choice, Incoming, Media, Report, Template
from channels.whatsapp.settings import WhatsAppSettings
from channels.whatsapp.stand_in import (
    ACCESS_TOKEN,
    APP_SECRET,
    CUSTOMER,
    CUSTOMER_NAME,
    GRAPH_VERSION,
    PHONE_NUMBER_ID,
    VERIFY_TOKEN,
    FakeGraph,
    button_reply,
    combined,
    customer_message,
    deliver,
    document_message,
    image_message,
    list_reply,
    location_message,
    quick_reply,
    reaction_message,
    signed_headers,
    status_update,
    text_message,
    unsupported_message,
    voice_message,
)
from core.channel import (
    CheckFailed,
    CustomerUnreachable,
    DeliveryError,
    DeliveryHeld,
    DeliveryRefused,
    StorageUnavailable,
)

MESSAGE_ID = "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA="
SENT = 1749416383
CUSTOMER_DIGITS = CUSTOMER.removeprefix("+")


@dataclass
class Recorder:
    """The channel's side of the seam: what the route handed on, or `StorageUnavailable`."""

    messages: list[Incoming] = field(default_factory=list)
    reports: list[Report] = field(default_factory=list)
    unavailable: StorageUnavailable | None = None

    async def message(self, incoming: Incoming) -> None:
        if self.unavailable is not None:
            raise self.unavailable
        self.messages.append(incoming)

    async def report(self, report: Report) -> None:
        if self.unavailable is not None:
            raise self.unavailable
        self.reports.append(report)


@dataclass(frozen=True)
class Mounted:
    recorder: Recorder
    url: str


def settings_for(graph_url: str, *, token: str = ACCESS_TOKEN) -> WhatsAppSettings:
    return WhatsAppSettings(
        phone_number_id=PHONE_NUMBER_ID,
        access_token=SecretStr(token),
        app_secret=SecretStr(APP_SECRET),
        verify_token=SecretStr(VERIFY_TOKEN),
        graph_url=graph_url,
        graph_version=GRAPH_VERSION,
    )


@pytest.fixture
async def route(graph: FakeGraph) -> AsyncIterator[CloudRoute]:
    cloud = CloudRoute(settings_for(graph.api_url))
    await cloud.start()
    yield cloud
    await cloud.stop()


@pytest.fixture
async def hub(route: CloudRoute, aiohttp_server: Callable[..., Any]) -> Mounted:
    recorder = Recorder()
    app = web.Application()
    app.add_routes(route.routes(recorder))
    server = await aiohttp_server(app)
    return Mounted(recorder, str(server.make_url(WEBHOOK_PATH)))


def incoming(text: str = "", **fields: Any) -> Incoming:
    """A message from the fake's customer as the route should hand it on."""
    sent_at = datetime.fromtimestamp(SENT, UTC)
    return Incoming(MESSAGE_ID, CUSTOMER, text, name=CUSTOMER_NAME, sent_at=sent_at, **fields)


def parsed(payload: dict[str, Any]) -> list[Incoming | Report]:
    return parse_webhook(payload, phone_number_id=PHONE_NUMBER_ID)


# -- webhooks in -----------------------------------------------------------------------------


async def test_the_handshake_echoes_the_challenge_only_for_our_verify_token(hub: Mounted) -> None:
    asked = {"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1158201444"}
    async with aiohttp.ClientSession() as session:
        async with session.get(hub.url, params=asked) as answer:
            assert (answer.status, answer.content_type, await answer.text()) == (200, "text/plain", "1158201444")
        for wrong in ({"hub.verify_token": "guessed"}, {"hub.mode": "unsubscribe"}):
            async with session.get(hub.url, params=asked | wrong) as answer:
                assert answer.status == 403 and "1158201444" not in await answer.text()


async def test_a_forged_or_missing_signature_is_refused_before_anything_is_read(hub: Mounted) -> None:
    status, _ = await deliver(hub.url, text_message("refund me"), forged=True)
    async with aiohttp.ClientSession() as session, session.post(hub.url, json=text_message("refund me")) as unsigned:
        assert (status, unsigned.status) == (403, 403)
    assert hub.recorder.messages == [] and hub.recorder.reports == []


async def test_a_text_message_arrives_with_the_number_in_e164_the_profile_name_and_its_id(hub: Mounted) -> None:
    status, _ = await deliver(hub.url, text_message("Where is my order?", message_id=MESSAGE_ID, timestamp=SENT))
    assert status == 200
    assert hub.recorder.messages == [incoming("Where is my order?")]


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (
            image_message("4490709327384033", caption="the broken part", message_id=MESSAGE_ID, timestamp=SENT),
            incoming("the broken part", media=(Media("4490709327384033", "image/jpeg"),)),
        ),
        (
            document_message("1209384712", "invoice 42.pdf", message_id=MESSAGE_ID, timestamp=SENT),
            incoming(media=(Media("1209384712", "application/pdf", filename="invoice 42.pdf"),)),
        ),
        (
            voice_message("870912", message_id=MESSAGE_ID, timestamp=SENT),
            incoming(media=(Media("870912", "audio/ogg; codecs=opus", voice=True),)),
        ),
        (
            button_reply("human", "Talk to a person", message_id=MESSAGE_ID, timestamp=SENT),
            incoming("Talk to a person", choice="human"),
        ),
        (
            list_reply("billing", "Billing", description="Invoices, refunds", message_id=MESSAGE_ID, timestamp=SENT),
            incoming("Billing", choice="billing"),
        ),
        (
            quick_reply("RESUME", "Yes, continue", message_id=MESSAGE_ID, timestamp=SENT),
            incoming("Yes, continue", choice="RESUME"),
        ),
        (
            location_message(
                52.52,
                13.405,
                name="Brightdesk Store",
                address="Unter den Linden 1",
                message_id=MESSAGE_ID,
                timestamp=SENT,
            ),
            incoming("Brightdesk Store\nUnter den Linden 1\nhttps://maps.google.com/?q=52.52,13.405"),
        ),
        (
            customer_message(
                "contacts",
                [
                    {
                        "name": {"formatted_name": "Chandler Bing"},
                        "phones": [{"phone": "+1 555-555-5555", "type": "CELL"}],
                    }
                ],
                message_id=MESSAGE_ID,
                timestamp=SENT,
            ),
            incoming("Chandler Bing +1 555-555-5555"),
        ),
    ],
    ids=["image", "document", "voice-note", "reply-button", "list-row", "template-quick-reply", "location", "contact"],
)
def test_each_kind_of_customer_message_is_handed_on_as_the_channel_reads_it(
    payload: dict[str, Any], expected: Incoming
) -> None:
    assert parsed(payload) == [expected]


@pytest.mark.parametrize(
    "payload",
    [
        reaction_message("wamid.ours", "👍"),
        unsupported_message(),
        text_message("for the other number", phone_number_id="998877665544"),
        customer_message("text", {"body": "no number"}, from_="+not-a-number"),
        {"object": "page", "entry": [{"id": "1", "messaging": []}]},
    ],
    ids=["reaction", "unsupported", "another-phone-number", "no-phone-number", "not-whatsapp"],
)
def test_what_no_answer_could_use_is_left_out(payload: dict[str, Any]) -> None:
    assert parsed(payload) == []


async def test_a_signed_body_that_is_not_a_webhook_is_refused_with_the_reason(hub: Mounted) -> None:
    async with aiohttp.ClientSession() as session:
        for body in (b"{not json", json.dumps({"object": "whatsapp_business_account", "entry": "x"}).encode()):
            async with session.post(hub.url, data=body, headers=signed_headers(body)) as answer:
                assert answer.status == 400 and (await answer.json())["error"]
        too_large = b"{" + b" " * 1024 * 1024 + b"}"
        async with session.post(hub.url, data=io.BytesIO(too_large), headers=signed_headers(too_large)) as answer:
            assert answer.status == 413
    assert hub.recorder.messages == []


async def test_storage_unavailable_answers_503_with_retry_after_so_meta_sends_it_again(hub: Mounted) -> None:
    hub.recorder.unavailable = StorageUnavailable("database is locked", retry_after_s=7)
    async with aiohttp.ClientSession() as session:
        body = json.dumps(text_message("hello?")).encode()
        async with session.post(hub.url, data=body, headers=signed_headers(body)) as answer:
            assert (answer.status, answer.headers["Retry-After"]) == (503, "7")
    hub.recorder.unavailable = None
    assert (await deliver(hub.url, json.loads(body)))[0] == 200  # Meta's resend
    assert [m.text for m in hub.recorder.messages] == ["hello?"]


async def test_reports_carry_ranks_so_a_late_delivered_never_moves_back_a_read(hub: Mounted) -> None:
    batch = combined(*(status_update(MESSAGE_ID, word) for word in ("sent", "read", "delivered")))
    assert (await deliver(hub.url, batch))[0] == 200
    ranks = {report.status: report.rank for report in hub.recorder.reports}
    assert [report.status for report in hub.recorder.reports] == ["sent", "read", "delivered"]
    assert ranks["sent"] < ranks["delivered"] < ranks["read"]
    assert {(report.message_id, report.recipient, report.error) for report in hub.recorder.reports} == {
        (MESSAGE_ID, CUSTOMER, None)
    }


@pytest.mark.parametrize(
    ("code", "window_closed", "unreachable"),
    [(131047, True, False), (131026, False, True), (131000, False, False)],
)
def test_a_failed_report_says_whether_the_window_closed_or_the_number_is_unreachable(
    code: int, window_closed: bool, unreachable: bool
) -> None:
    [report] = parsed(status_update(MESSAGE_ID, "failed", error_code=code))
    assert isinstance(report, Report)
    assert (report.status, report.window_closed, report.unreachable) == ("failed", window_closed, unreachable)
    assert report.error is not None and report.error.startswith(f"{code} ")
    [sent] = parsed(status_update(MESSAGE_ID, "sent"))
    assert isinstance(sent, Report) and report.rank > sent.rank  # a failure after "sent" is kept


# -- media -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("build", "mime_type", "name"),
    [
        (lambda media_id: image_message(media_id), "image/jpeg", "photo-1.jpg"),
        (lambda media_id: document_message(media_id, "invoice.pdf"), "application/pdf", "invoice.pdf"),
        (lambda media_id: voice_message(media_id), "audio/ogg; codecs=opus", "voice-1.ogg"),
    ],
    ids=["image", "document", "voice-note"],
)
async def test_media_in_a_message_is_downloaded_with_the_token_within_the_limit(
    hub: Mounted, route: CloudRoute, graph: FakeGraph, build: Callable[[str], dict[str, Any]], mime_type: str, name: str
) -> None:
    data = bytes(range(256)) * 12
    media_id = graph.add_media(data, mime_type)
    await deliver(hub.url, build(media_id))
    [media] = hub.recorder.messages[0].media
    attachment = await route.download(media, name=name, max_bytes=10_000)
    assert (attachment.filename, attachment.content_type, attachment.data, attachment.problem) == (
        name,
        mime_type,
        data,
        None,
    )
    assert [(d.authorized, d.status) for d in graph.downloads] == [(True, 200)]


async def test_media_over_the_limit_keeps_no_data_and_says_why(route: CloudRoute, graph: FakeGraph) -> None:
    declared = graph.add_media(b"x" * 5000, "application/pdf")
    undeclared = graph.add_media(b"x" * 5000, "application/pdf", file_size=None)
    told = await route.download(Media(declared, "application/pdf"), name="big.pdf", max_bytes=4096)
    read = await route.download(Media(undeclared, "application/pdf"), name="big.pdf", max_bytes=4096)
    assert (told.data, told.declared_size, told.problem) == (b"", 5000, None)  # the hub tells its size
    assert (read.data, read.problem) == (b"", "big.pdf is over the 4 KB limit")
    assert len(graph.downloads) == 1  # the declared one was not fetched at all


async def test_a_media_url_on_a_foreign_origin_gets_no_token_and_no_request(
    route: CloudRoute, graph: FakeGraph
) -> None:
    media_id = graph.add_media(b"secret-stealer", "image/jpeg", host="localhost")
    attachment = await route.download(Media(media_id, "image/jpeg"), name="photo.jpg", max_bytes=10_000)
    assert (attachment.data, attachment.problem) == (b"", "photo.jpg could not be fetched from WhatsApp")
    assert graph.downloads == []


async def test_a_redirect_to_another_host_is_followed_without_the_token(route: CloudRoute, graph: FakeGraph) -> None:
    media_id = graph.add_media(b"%PDF-1.7", "application/pdf", redirect_host="localhost")
    attachment = await route.download(Media(media_id, "application/pdf"), name="a.pdf", max_bytes=10_000)
    assert attachment.data == b"%PDF-1.7"
    assert [(d.host.split(":")[0], d.authorized) for d in graph.downloads] == [
        ("127.0.0.1", True),
        ("localhost", False),
    ]


async def test_an_unknown_media_id_is_a_problem_not_an_exception(route: CloudRoute, graph: FakeGraph) -> None:
    attachment = await route.download(Media("404404", "image/png"), name="x.png", max_bytes=10_000)
    assert attachment.problem == "x.png could not be fetched from WhatsApp" and graph.downloads == []


# -- sending ---------------------------------------------------------------------------------


async def test_send_text_posts_what_meta_expects_and_returns_the_wamid(route: CloudRoute, graph: FakeGraph) -> None:
    message_id = await route.send_text(CUSTOMER, "Your parcel left the warehouse: https://track.example.com/42")
    [call] = graph.calls
    assert call.authorized and call.path == f"/{GRAPH_VERSION}/{PHONE_NUMBER_ID}/messages"
    assert call.body == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": CUSTOMER_DIGITS,
        "type": "text",
        "text": {"body": "Your parcel left the warehouse: https://track.example.com/42", "preview_url": True},
    }
    assert message_id == call.response["messages"][0]["id"] and message_id.startswith("wamid.")


async def test_send_template_names_it_and_its_language_with_the_one_body_parameter(
    route: CloudRoute, graph: FakeGraph
) -> None:
    await route.send_template(CUSTOMER, Template("support_reply", "en_US", "Your refund\nis on its way"))
    await route.send_template(CUSTOMER, Template("support_followup", "de"))
    with_parameter, without = await graph.wait_for_sent(2)
    assert with_parameter["type"] == "template" and with_parameter["to"] == CUSTOMER_DIGITS
    assert with_parameter["template"] == {
        "name": "support_reply",
        "language": {"code": "en_US"},
        "components": [{"type": "body", "parameters": [{"type": "text", "text": "Your refund is on its way"}]}],
    }
    assert without["template"] == {"name": "support_followup", "language": {"code": "de"}}


async def test_up_to_three_choices_are_reply_buttons_with_titles_of_twenty(route: CloudRoute, graph: FakeGraph) -> None:
    choices = [Choice("yes", "Yes, that helped"), Choice("human", "Talk to a person from the team")]
    await route.send_choices(CUSTOMER, "Did this answer your question?", choices, button="Options")
    [sent] = await graph.wait_for_sent(1)
    assert sent["interactive"] == {
        "type": "button",
        "body": {"text": "Did this answer your question?"},
        "action": {
            "buttons": [
                {"type": "reply", "reply": {"id": "yes", "title": "Yes, that helped"}},
                {"type": "reply", "reply": {"id": "human", "title": "Talk to a person fr…"}},
            ]
        },
    }


async def test_four_to_ten_choices_are_a_list_opened_by_the_button(route: CloudRoute, graph: FakeGraph) -> None:
    topics = ["Billing", "Shipping", "Returns", "Account", "Something else entirely, really"]
    choices = [Choice(f"topic-{n}", topic) for n, topic in enumerate(topics)]
    await route.send_choices(CUSTOMER, "What is it about?", choices, button="Choose a topic please")
    [sent] = await graph.wait_for_sent(1)
    action = sent["interactive"]["action"]
    assert (sent["interactive"]["type"], sent["interactive"]["body"]) == ("list", {"text": "What is it about?"})
    assert action["button"] == "Choose a topic plea…"
    titles = ["Billing", "Shipping", "Returns", "Account", "Something else entirely…"]
    assert action["sections"] == [{"rows": [{"id": f"topic-{n}", "title": t} for n, t in enumerate(titles)]}]


async def test_a_text_too_long_for_buttons_goes_first_and_the_buttons_come_under_its_end(
    route: CloudRoute, graph: FakeGraph
) -> None:
    paragraphs = [f"Paragraph {n}: " + "The steps are explained here. " * 11 + "Done." for n in range(6)]
    text = "\n\n".join(paragraphs)
    first_id = await route.send_choices(CUSTOMER, text, [Choice("yes", "Yes")], button="Options")
    head, buttons = await graph.wait_for_sent(2)
    body = buttons["interactive"]["body"]["text"]
    assert len(body) <= 1024 and body.startswith("Paragraph ") and text.endswith(body)
    assert head["text"]["body"] + "\n\n" + body == text  # every word once, split between paragraphs
    assert first_id == graph.calls[0].response["messages"][0]["id"]


async def test_mark_read_shows_blue_ticks_and_typing_and_never_raises(route: CloudRoute, graph: FakeGraph) -> None:
    await route.mark_read(MESSAGE_ID, typing=True)
    await route.mark_read(MESSAGE_ID, typing=False)
    graph.fail_next(131000, status=500)
    await route.mark_read(MESSAGE_ID, typing=False)
    assert graph.reads == [
        {
            "messaging_product": "whatsapp",
            "status": "read",
            "message_id": MESSAGE_ID,
            "typing_indicator": {"type": "text"},
        },
        {"messaging_product": "whatsapp", "status": "read", "message_id": MESSAGE_ID},
    ]


# -- what the Graph API refuses ----------------------------------------------------------------


async def test_a_closed_24_hour_window_holds_the_reply(route: CloudRoute, graph: FakeGraph) -> None:
    graph.fail_next(131047)
    with pytest.raises(DeliveryError) as failed:
        await route.send_text(CUSTOMER, "Here is the answer you asked for yesterday")
    assert (
        isinstance(failed.value, DeliveryHeld)
        and not isinstance(failed.value, DeliveryRefused)
        and "131047" in str(failed.value)
    )


@pytest.mark.parametrize(
    ("code", "status"),
    [(4, 400), (80007, 400), (130429, 400), (131056, 400), (131000, 500), (1, 503), (100, 429)],
)
async def test_rate_limits_and_meta_s_own_trouble_are_retried(
    route: CloudRoute, graph: FakeGraph, code: int, status: int
) -> None:
    graph.fail_next(code, status=status)
    with pytest.raises(DeliveryError) as failed:
        await route.send_text(CUSTOMER, "Hello")
    assert not isinstance(failed.value, DeliveryRefused) and not isinstance(failed.value, DeliveryHeld)


async def test_a_retry_after_header_is_honoured(route: CloudRoute, graph: FakeGraph) -> None:
    graph.fail_next(130429, status=429, retry_after=30)
    with pytest.raises(DeliveryError) as failed:
        await route.send_text(CUSTOMER, "Hello")
    assert failed.value.retry_after == 30


async def test_an_unreachable_number_is_dead_lettered_without_its_digits_in_the_reason(
    route: CloudRoute, graph: FakeGraph
) -> None:
    graph.fail_next(131026, details=f"Message to {CUSTOMER_DIGITS} failed: the recipient cannot receive messages.")
    with pytest.raises(DeliveryError) as failed:
        await route.send_text(CUSTOMER, "Hello")
    assert isinstance(failed.value, CustomerUnreachable) and isinstance(failed.value, DeliveryRefused)
    assert CUSTOMER_DIGITS not in str(failed.value) and "131026" in str(failed.value)


async def test_another_refusal_is_permanent(route: CloudRoute, graph: FakeGraph) -> None:
    with pytest.raises(DeliveryError) as failed:
        await route.send_text(CUSTOMER, "x" * 4097)  # the fake refuses it as Meta does (131009/100)
    assert isinstance(failed.value, DeliveryRefused) and not isinstance(failed.value, CustomerUnreachable)


async def test_a_rejected_token_is_retried_and_never_quoted(graph: FakeGraph) -> None:
    wrong = "EAAGwrongtokenthatmustnotleak"
    route = CloudRoute(settings_for(graph.api_url, token=wrong))
    await route.start()
    try:
        with pytest.raises(DeliveryError) as failed:
            await route.send_text(CUSTOMER, "Hello")
    finally:
        await route.stop()
    assert [(call.authorized, call.code) for call in graph.calls] == [(False, 190)]
    assert not isinstance(failed.value, DeliveryRefused) and wrong not in str(failed.value)


async def test_an_unreachable_graph_api_is_retried() -> None:
    route = CloudRoute(settings_for("http://127.0.0.1:9"))  # discard port: nothing listens
    await route.start()
    try:
        with pytest.raises(DeliveryError) as failed:
            await route.send_text(CUSTOMER, "Hello")
    finally:
        await route.stop()
    assert not isinstance(failed.value, DeliveryRefused) and "ClientConnectorError" in str(failed.value)


# -- doctor ------------------------------------------------------------------------------------


async def test_check_names_the_business_number_without_being_started(graph: FakeGraph) -> None:
    line = await CloudRoute(settings_for(graph.api_url)).check()
    assert line == f"phone number {PHONE_NUMBER_ID}: +1 555-078-3881 (Brightdesk Support), quality GREEN"
    assert graph.calls[0].query == {"fields": "display_phone_number,verified_name,quality_rating"}


async def test_check_fails_with_graph_s_reason_and_no_token(graph: FakeGraph) -> None:
    wrong = "EAAGanothertokenthatmustnotleak"
    with pytest.raises(CheckFailed) as failed:
        await CloudRoute(settings_for(graph.api_url, token=wrong)).check()
    assert "190" in str(failed.value) and "access token" in str(failed.value) and wrong not in str(failed.value)
