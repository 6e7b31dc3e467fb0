"""The Twilio fake itself, driven by the real twilio 9.13 async client, so channel tests can trust
that it speaks the wire format the SDK sends and parses, and that its webhooks validate."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import datetime

import aiohttp
import pytest
from multidict import MultiDict
from twilio.base.exceptions import TwilioRestException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.request_validator import RequestValidator, get_signature_algorithm
from twilio.rest import Client

from channels.twilio.stand_in import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    HUB_NUMBER,
    FakeTwilio,
    incoming_sms,
    segment_count,
    signed_form,
    status_callback,
)

CUSTOMER = "+14155550123"
CALLBACK = "https://hub.example.com/twilio/status"
WEBHOOK = "https://hub.example.com/twilio/sms"
ACCOUNT_AUTH = {"Authorization": aiohttp.encode_basic_auth(ACCOUNT_SID, AUTH_TOKEN)}


@pytest.fixture
async def fake() -> AsyncIterator[FakeTwilio]:
    api = FakeTwilio()
    await api.start()
    yield api
    await api.stop()


def _client(fake: FakeTwilio, http: AsyncTwilioHttpClient, token: str = AUTH_TOKEN) -> Client:
    client = Client(ACCOUNT_SID, token, http_client=http)
    client.api.base_url = fake.api_url
    return client


@pytest.fixture
async def client(fake: FakeTwilio) -> AsyncIterator[Client]:
    http = AsyncTwilioHttpClient(timeout=10)
    try:
        yield _client(fake, http)
    finally:
        await http.close()


async def _send(client: Client, to: str = CUSTOMER, body: str = "Your ticket #42 is answered") -> str | None:
    message = await client.messages.create_async(to=to, from_=HUB_NUMBER, body=body, status_callback=CALLBACK)
    return str(message.sid) if message.sid is not None else None


async def test_create_posts_the_form_with_basic_auth_and_returns_a_queued_message(
    fake: FakeTwilio, client: Client
) -> None:
    message = await client.messages.create_async(
        to=CUSTOMER, from_=HUB_NUMBER, body="Your ticket #42 is answered", status_callback=CALLBACK
    )

    [call] = fake.sent()
    assert (call.method, call.path, call.status, call.authorized) == (
        "POST",
        f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json",
        201,
        True,
    )
    assert call.params == {
        "To": CUSTOMER,
        "From": HUB_NUMBER,
        "Body": "Your ticket #42 is answered",
        "StatusCallback": CALLBACK,
    }
    assert message.sid == call.sid and message.sid is not None
    assert len(message.sid) == 34 and message.sid.startswith("SM")
    assert (message.status, message.to, message.from_, message.account_sid) == (
        "queued",
        CUSTOMER,
        HUB_NUMBER,
        ACCOUNT_SID,
    )
    assert (message.num_segments, message.num_media, message.error_code, message.price) == ("1", "0", None, None)
    assert isinstance(message.date_created, datetime) and message.date_created.tzinfo is not None
    assert message.uri == f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/{message.sid}.json"


async def test_media_urls_travel_as_a_repeated_key(fake: FakeTwilio, client: Client) -> None:
    urls = ["https://hub.example.com/a.png", "https://hub.example.com/b.png"]

    message = await client.messages.create_async(to=CUSTOMER, from_=HUB_NUMBER, media_url=urls)

    [call] = fake.sent()
    assert call.params == {"To": CUSTOMER, "From": HUB_NUMBER, "MediaUrl": urls}
    assert (message.num_media, message.body) == ("2", "")


async def test_messaging_service_without_from_is_accepted_not_queued(fake: FakeTwilio, client: Client) -> None:
    service = "MG" + "1" * 32

    message = await client.messages.create_async(to=CUSTOMER, messaging_service_sid=service, body="hi")

    assert (message.status, message.from_, message.messaging_service_sid) == ("accepted", None, service)
    assert fake.sent()[0].params == {"To": CUSTOMER, "MessagingServiceSid": service, "Body": "hi"}


async def test_a_sent_message_can_be_fetched_and_an_unknown_one_is_404(fake: FakeTwilio, client: Client) -> None:
    sid = await _send(client)
    assert sid is not None

    fetched = await client.messages(sid).fetch_async()
    with pytest.raises(TwilioRestException) as raised:
        await client.messages("SM" + "f" * 32).fetch_async()

    assert (fetched.sid, fetched.status) == (sid, "queued")
    assert (raised.value.status, raised.value.code) == (404, 20404)
    assert [(call.method, call.status) for call in fake.calls] == [("POST", 201), ("GET", 200), ("GET", 404)]


async def test_wrong_token_is_401_authenticate_and_still_recorded(fake: FakeTwilio) -> None:
    http = AsyncTwilioHttpClient(timeout=10)
    try:
        with pytest.raises(TwilioRestException) as raised:
            await _send(_client(fake, http, token="not-the-token"))
    finally:
        await http.close()

    assert (raised.value.status, raised.value.code) == (401, 20003)
    assert raised.value.msg == "Unable to create record: Authenticate"
    assert fake.sent() == []
    [call] = fake.send_attempts()
    assert (call.authorized, call.status, call.params["Body"]) == (False, 401, "Your ticket #42 is answered")


async def test_unknown_paths_are_404_and_need_auth_first(fake: FakeTwilio) -> None:
    url = f"{fake.api_url}/2010-04-01/Accounts/{ACCOUNT_SID}/Calls.json"
    async with aiohttp.ClientSession() as session:
        async with session.get(url, headers=ACCOUNT_AUTH) as found:
            body = await found.json()
        async with session.get(url) as anonymous:
            challenge = anonymous.headers.get("WWW-Authenticate")

    assert (found.status, body["code"], body["status"]) == (404, 20404, 404)
    assert body["more_info"] == "https://www.twilio.com/docs/errors/20404"
    assert (anonymous.status, challenge) == (401, 'Basic realm="Twilio API"')


async def test_429_is_a_rest_exception_with_twilio_code_and_is_not_retried(fake: FakeTwilio, client: Client) -> None:
    fake.fail_next(429, code=20429)

    with pytest.raises(TwilioRestException) as raised:
        await _send(client)
    await _send(client)

    assert (raised.value.status, raised.value.code) == (429, 20429)
    assert raised.value.msg == "Unable to create record: Too Many Requests"
    assert raised.value.uri == f"/Accounts/{ACCOUNT_SID}/Messages.json"
    assert [call.status for call in fake.send_attempts()] == [429, 201]


@pytest.mark.parametrize(
    ("code", "expected_code", "expected_msg"),
    [
        (None, 500, "Unable to create record"),  # HTML page: code falls back to the HTTP status
        (20500, 20500, "Unable to create record: Internal Server Error"),
    ],
)
async def test_500_is_a_rest_exception_after_exactly_one_request(
    fake: FakeTwilio, client: Client, code: int | None, expected_code: int, expected_msg: str
) -> None:
    fake.fail_next(500, code=code)

    with pytest.raises(TwilioRestException) as raised:
        await _send(client)

    assert (raised.value.status, raised.value.code, raised.value.msg) == (500, expected_code, expected_msg)
    [call] = fake.send_attempts()
    assert (call.status, call.code, call.sid) == (500, code, None)


async def test_max_retries_would_resend_the_same_sms_on_a_5xx(fake: FakeTwilio) -> None:
    """Why the hub never passes max_retries: aiohttp_retry resends POSTs."""
    fake.fail_next(503, times=2)
    http = AsyncTwilioHttpClient(timeout=10, max_retries=3)
    try:
        await _send(_client(fake, http))
    finally:
        await http.close()

    assert [call.status for call in fake.send_attempts()] == [503, 503, 201]


async def test_the_client_timeout_is_not_applied(fake: FakeTwilio) -> None:
    """AsyncTwilioHttpClient(timeout=…) is ignored; callers must bound sends themselves."""
    fake.slow_next(0.6)
    http = AsyncTwilioHttpClient(timeout=0.1)
    started = time.monotonic()
    try:
        sid = await _send(_client(fake, http))
    finally:
        await http.close()

    assert sid is not None and time.monotonic() - started >= 0.6


async def test_a_send_the_caller_gave_up_on_is_still_recorded_as_sent(fake: FakeTwilio, client: Client) -> None:
    fake.slow_next(0.5)

    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.1):
            await _send(client)

    [call] = await fake.wait_for_sent(1, timeout=5)
    assert call.status == 201


async def test_a_stopped_api_gives_a_raw_aiohttp_error(fake: FakeTwilio, client: Client) -> None:
    await fake.stop()

    with pytest.raises(aiohttp.ClientConnectionError):
        await _send(client)


@pytest.mark.parametrize(
    ("to", "body", "sender", "code"),
    [
        ("", "hi", HUB_NUMBER, 21604),
        (CUSTOMER, None, HUB_NUMBER, 21602),
        (CUSTOMER, "hi", None, 21603),
        ("12345", "hi", HUB_NUMBER, 21211),
        (CUSTOMER, "hi", "+15005550001", 21606),
        (CUSTOMER, "x" * 1601, HUB_NUMBER, 21617),
    ],
)
async def test_invalid_messages_are_400_with_twilio_codes(
    fake: FakeTwilio, client: Client, to: str, body: str | None, sender: str | None, code: int
) -> None:
    kwargs = {key: value for key, value in (("body", body), ("from_", sender)) if value is not None}

    with pytest.raises(TwilioRestException) as raised:
        await client.messages.create_async(to=to, **kwargs)

    assert (raised.value.status, raised.value.code) == (400, code)
    assert fake.sent() == [] and fake.send_attempts()[0].code == code


async def test_an_opted_out_number_is_21610(fake: FakeTwilio, client: Client) -> None:
    fake.opted_out.add(CUSTOMER)

    with pytest.raises(TwilioRestException) as raised:
        await _send(client)
    await _send(client, to="+14155550199")

    assert (raised.value.status, raised.value.code) == (400, 21610)
    assert raised.value.msg == "Unable to create record: Attempt to send to unsubscribed recipient"
    assert [call.params["To"] for call in fake.sent()] == ["+14155550199"]
    assert fake.sent(to=CUSTOMER) == [] and len(fake.send_attempts(to=CUSTOMER)) == 1


async def test_wait_for_sent_counts_only_201s_unless_told_and_names_calls_on_timeout(
    fake: FakeTwilio, client: Client
) -> None:
    fake.fail_next(429)
    waiter = asyncio.create_task(fake.wait_for_sent(1, timeout=5))
    with pytest.raises(TwilioRestException):
        await _send(client)
    assert not waiter.done()
    await _send(client)

    assert len(await waiter) == 1
    assert len(await fake.wait_for_sent(2, ok_only=False)) == 2
    with pytest.raises(AssertionError, match="expected 2 message"):
        await fake.wait_for_sent(2, timeout=0.1)


async def test_media_redirects_to_the_cdn_which_gets_no_credentials(fake: FakeTwilio) -> None:
    url = fake.add_media("MM" + "1" * 32, "ME" + "2" * 32, b"\x89PNG-bytes", "image/png")
    assert url == f"{fake.api_url}/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/{'MM' + '1' * 32}/Media/{'ME' + '2' * 32}"

    async with aiohttp.ClientSession() as session:
        async with session.get(url, headers=ACCOUNT_AUTH) as followed:
            data, content_type = await followed.read(), followed.content_type
        async with session.get(url, headers=ACCOUNT_AUTH, allow_redirects=False) as hop:
            location, hop_status = hop.headers["Location"], hop.status
        async with session.get(url) as anonymous:
            refusal = await anonymous.json()
        async with session.get(
            url, headers={"Authorization": aiohttp.encode_basic_auth(ACCOUNT_SID, "wrong")}
        ) as wrong:
            wrong_status = wrong.status

    assert (followed.status, data, content_type) == (200, b"\x89PNG-bytes", "image/png")
    assert hop_status == 307 and location.startswith(f"http://localhost:{fake.api_url.rsplit(':', 1)[1]}/cdn/")
    assert (anonymous.status, refusal["code"], wrong_status) == (401, 20003, 401)
    media_hop, cdn_hop = fake.downloads[:2]
    assert (media_hop.authorized, media_hop.host, media_hop.status) == (True, fake.api_url.removeprefix("http://"), 307)
    assert (cdn_hop.authorized, cdn_hop.host, cdn_hop.status) == (False, location.split("/")[2], 200)
    assert [download.status for download in fake.downloads[2:]] == [307, 401, 401]


async def test_media_without_required_auth_and_unknown_media(fake: FakeTwilio) -> None:
    url = fake.add_media("MM1", "ME1", b"%PDF", "application/pdf", require_auth=False)

    async with aiohttp.ClientSession() as session:
        async with session.get(url) as open_media:
            data = await open_media.read()
        async with session.get(url.replace("ME1", "ME2"), headers=ACCOUNT_AUTH) as missing:
            missing_status = missing.status

    assert (open_media.status, data, missing_status) == (200, b"%PDF", 404)


@pytest.mark.parametrize("algorithm", [None, "HMAC_SHA256"])
async def test_signed_form_validates_with_the_sdk_validator(algorithm: str | None) -> None:
    params = incoming_sms("Where is my order?")
    headers = signed_form(WEBHOOK, params, algorithm=algorithm)
    validator = RequestValidator(AUTH_TOKEN)
    signature = headers["X-Twilio-Signature"]
    chosen = get_signature_algorithm(headers.get("X-Twilio-Webhooks-Signature-Settings"))

    assert chosen == (algorithm or "HMAC_SHA1")
    assert validator.validate(WEBHOOK, params, signature, algorithm=chosen)
    assert validator.validate(WEBHOOK, MultiDict(params), signature, algorithm=chosen)  # aiohttp's form type
    assert not validator.validate(WEBHOOK, params | {"Body": "tampered"}, signature, algorithm=chosen)
    assert not validator.validate(WEBHOOK.replace("https", "http"), params, signature, algorithm=chosen)
    assert not RequestValidator("other-token").validate(WEBHOOK, params, signature, algorithm=chosen)


def test_sha256_settings_header_names_the_shared_key() -> None:
    headers = signed_form(WEBHOOK, {"Body": "hi"}, algorithm="HMAC_SHA256")

    assert headers["X-Twilio-Webhooks-Signature-Settings"] == "key=webhooks_sharedkey_test,algorithm=HMAC_SHA256"
    assert "X-Twilio-Webhooks-Signature-Settings" not in signed_form(WEBHOOK, {"Body": "hi"})


def test_incoming_sms_carries_twilios_fields() -> None:
    sms = incoming_sms("hello", message_sid="SM" + "a" * 32)
    mms = incoming_sms("", media=[("https://api.example/m0", "image/jpeg"), ("https://api.example/m1", "text/vcard")])

    assert sms["MessageSid"] == sms["SmsSid"] == sms["SmsMessageSid"] == "SM" + "a" * 32
    assert (sms["From"], sms["To"], sms["Body"], sms["AccountSid"]) == (
        "+14155550100",
        HUB_NUMBER,
        "hello",
        ACCOUNT_SID,
    )
    assert (sms["NumMedia"], sms["NumSegments"], sms["SmsStatus"], sms["FromCountry"]) == ("0", "1", "received", "US")
    assert not any(key.startswith("MediaUrl") for key in sms)
    assert mms["MessageSid"].startswith("MM") and mms["NumMedia"] == "2"
    assert (mms["MediaUrl1"], mms["MediaContentType1"]) == ("https://api.example/m1", "text/vcard")


def test_status_callback_carries_the_status_twice_and_error_code_only_when_given() -> None:
    failed = status_callback("SM1", "undelivered", error_code="30007")
    delivered = status_callback("SM1", "delivered", to=CUSTOMER)

    assert (failed["MessageStatus"], failed["SmsStatus"], failed["ErrorCode"]) == (
        "undelivered",
        "undelivered",
        "30007",
    )
    assert (delivered["MessageSid"], delivered["To"], delivered["From"]) == ("SM1", CUSTOMER, HUB_NUMBER)
    assert "ErrorCode" not in delivered


@pytest.mark.parametrize(
    ("body", "segments"),
    [
        ("", 1),
        ("a" * 160, 1),
        ("a" * 161, 2),
        ("a" * 306, 2),
        ("€" * 80, 1),
        ("€" * 81, 2),
        ("😀" * 35, 1),
        ("😀" * 36, 2),
    ],
)
def test_segment_count(body: str, segments: int) -> None:
    assert segment_count(body) == segments
