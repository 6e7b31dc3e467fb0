"""The mail servers the email channel's tests talk to, driven by the real clients the channel
uses: aiosmtplib 5.1 through the local relay (STARTTLS, AUTH, scripted refusals, the relay
going down), aioimaplib 2.0 against a real Dovecot (login, APPEND, IDLE, flags, UIDVALIDITY)."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from email.message import EmailMessage
from email.utils import make_msgid

import aioimaplib
import aiosmtplib
import pytest

from channels.email.stand_in import HOSTNAME, SmtpRelay
from tests.fakes import dovecot as dovecot_module
from tests.fakes.dovecot import REQUIRE_ENV, Dovecot, live_processes, require_dovecot, running_dovecot

HUB = "support@hub.example.com"
CUSTOMER = "ann@example.com"
RELAY_USER = ("hub", "relay-secret")
TIMEOUT = 5.0


def _reply(subject: str = "Re: Where is my order?", body: str = "Grüße — your order left today.") -> EmailMessage:
    message = EmailMessage()
    message["From"] = f"Support <{HUB}>"
    message["To"] = CUSTOMER
    message["Subject"] = subject
    message["Message-ID"] = make_msgid(domain="hub.example.com")
    message.set_content(body)
    return message


def _raw_mail(subject: str, sender: str = CUSTOMER) -> bytes:
    return (
        f"From: {sender}\r\nTo: {HUB}\r\nSubject: {subject}\r\n"
        f"Message-ID: {make_msgid(domain='example.com')}\r\n\r\nHello, {subject}.\r\n"
    ).encode()


async def _send(
    relay: SmtpRelay,
    message: EmailMessage | None = None,
    *,
    auth: tuple[str, str] | None = RELAY_USER,
    start_tls: bool | None = None,
) -> None:
    tls = relay.require_starttls if start_tls is None else start_tls
    await aiosmtplib.send(
        message or _reply(),
        hostname=relay.host,
        port=relay.port,
        start_tls=tls,
        tls_context=relay.client_tls_context() if relay.require_starttls else None,
        username=auth[0] if auth else None,
        password=auth[1] if auth else None,
        timeout=TIMEOUT,
    )


@pytest.fixture
async def relay() -> AsyncIterator[SmtpRelay]:
    async with SmtpRelay(require_starttls=True, auth=RELAY_USER) as server:
        yield server


# --- the SMTP relay ---


@pytest.mark.parametrize(
    ("require_starttls", "auth"),
    [(True, RELAY_USER), (True, None), (False, RELAY_USER), (False, None)],
    ids=["starttls+auth", "starttls", "auth-in-clear", "open"],
)
async def test_the_relay_records_what_crossed_the_wire(require_starttls: bool, auth: tuple[str, str] | None) -> None:
    sent = _reply()
    async with SmtpRelay(require_starttls=require_starttls, auth=auth) as relay:
        await _send(relay, sent, auth=auth)
        [got] = await relay.wait_for(1)

    assert (got.mail_from, got.rcpt_tos) == (HUB, (CUSTOMER,))
    assert (got.tls, got.login) == (require_starttls, auth[0] if auth else None)
    assert got.message["Message-ID"] == sent["Message-ID"]
    assert got.message["Subject"] == "Re: Where is my order?"
    assert got.message.get_content().splitlines() == ["Grüße — your order left today."]  # ends "\r\n"
    assert got.raw.startswith(b"From: Support <support@hub.example.com>\r\n")
    assert relay.refusals == []


@pytest.mark.parametrize(
    ("auth", "start_tls", "refused", "code"),
    [
        (None, True, aiosmtplib.SMTPSenderRefused, 530),  # 530 5.7.0 Authentication required
        (("hub", "wrong"), True, aiosmtplib.SMTPAuthenticationError, 535),
        (None, False, aiosmtplib.SMTPSenderRefused, 530),  # 530 Must issue a STARTTLS command first
    ],
    ids=["no-auth", "wrong-password", "no-starttls"],
)
async def test_the_relay_refuses_a_client_that_skips_tls_or_auth(
    relay: SmtpRelay,
    auth: tuple[str, str] | None,
    start_tls: bool,
    refused: type[aiosmtplib.SMTPResponseException],
    code: int,
) -> None:
    with pytest.raises(refused) as caught:
        await _send(relay, auth=auth, start_tls=start_tls)

    assert caught.value.code == code
    assert relay.messages == []


async def test_auth_is_offered_only_after_starttls(relay: SmtpRelay) -> None:
    async with aiosmtplib.SMTP(hostname=relay.host, port=relay.port, start_tls=False, timeout=TIMEOUT) as client:
        assert not client.supports_extension("auth")
        await client.starttls(tls_context=relay.client_tls_context())
        await client.ehlo()
        assert client.server_auth_methods == ["login", "plain"]
        assert client.last_ehlo_response is not None
        assert client.last_ehlo_response.message.startswith(HOSTNAME)


@pytest.mark.parametrize(
    ("code", "text", "times"),
    [
        (550, "5.7.1 Message rejected as spam", 1),
        (451, "4.3.0 Try again later", 2),
    ],
)
async def test_a_scripted_data_refusal_reaches_the_client_with_its_code(
    relay: SmtpRelay, code: int, text: str, times: int
) -> None:
    relay.refuse_next(code, text, times=times)

    for _ in range(times):
        with pytest.raises(aiosmtplib.SMTPResponseException) as caught:
            await _send(relay)
        assert isinstance(caught.value, aiosmtplib.SMTPDataError)
        assert (caught.value.code, caught.value.message) == (code, text)
    await _send(relay)  # the script is used up: the next one goes through

    assert [(r.at, r.code, r.rcpt_tos) for r in relay.refusals] == [("DATA", code, (CUSTOMER,))] * times
    assert len(await relay.wait_for(1)) == 1


async def test_a_scripted_rcpt_refusal_refuses_that_recipient(relay: SmtpRelay) -> None:
    relay.refuse_next(550, "5.1.1 No such user", at="RCPT")

    with pytest.raises(aiosmtplib.SMTPRecipientsRefused) as caught:
        await _send(relay)

    [recipient] = caught.value.recipients
    assert (recipient.code, recipient.message, recipient.recipient) == (550, "5.1.1 No such user", CUSTOMER)
    assert relay.messages == []
    assert [(r.at, r.mail_from, r.rcpt_tos) for r in relay.refusals] == [("RCPT", HUB, (CUSTOMER,))]


async def test_a_relay_that_is_down_refuses_connections_then_comes_back_on_its_port(relay: SmtpRelay) -> None:
    port = relay.port
    client = aiosmtplib.SMTP(
        hostname=relay.host, port=port, start_tls=True, tls_context=relay.client_tls_context(), timeout=TIMEOUT
    )
    await client.connect()
    await client.login(*RELAY_USER)

    await relay.stop()
    with pytest.raises(aiosmtplib.SMTPServerDisconnected):  # an open connection is dropped
        await client.send_message(_reply())
    with pytest.raises(aiosmtplib.SMTPConnectError):
        await _send(relay)

    await relay.start()
    assert relay.port == port
    await _send(relay)
    assert len(await relay.wait_for(1)) == 1


async def test_wait_for_says_how_many_arrived(relay: SmtpRelay) -> None:
    await _send(relay)

    with pytest.raises(TimeoutError, match="accepted 1 of 2 messages"):
        await relay.wait_for(2, timeout=0.1)


# --- Dovecot ---


@asynccontextmanager
async def _imap(server: Dovecot, lost: list[Exception | None] | None = None) -> AsyncIterator[aioimaplib.IMAP4]:
    """A logged-in aioimaplib client; `lost` collects what its conn_lost_cb reports."""
    lost = [] if lost is None else lost
    client = aioimaplib.IMAP4(host=server.host, port=server.port, timeout=TIMEOUT, conn_lost_cb=lost.append)
    await client.wait_hello_from_server()
    response = await client.login(server.username, server.password)
    assert response.result == "OK", response
    try:
        yield client
    finally:
        if not lost:  # after a lost connection every command waits for its timeout
            await client.logout()


def _response_code(lines: list[bytes], name: str) -> int:
    found = re.search(rb"\[" + name.encode() + rb" (\d+)\]", b"\n".join(lines))
    assert found is not None, lines
    return int(found.group(1))


async def test_a_client_reads_the_message_appended_to_the_mailbox(dovecot: Dovecot) -> None:
    raw = _raw_mail("Where is my order?")
    uid = await dovecot.append(raw)

    async with _imap(dovecot) as client:
        selected = await client.select("INBOX")
        fetched = await client.uid("fetch", str(uid), "(UID BODY.PEEK[])")

    assert selected.result == "OK"
    assert _response_code(selected.lines, "UIDVALIDITY") == await dovecot.uidvalidity()
    assert fetched.result == "OK"
    assert fetched.lines[0].startswith(b"1 FETCH (UID 1 BODY[] {")  # then the literal, then b")"
    assert bytes(fetched.lines[1]) == raw
    assert "\\Seen" not in await dovecot.flags(uid)  # BODY.PEEK leaves it unseen


async def test_a_wrong_password_is_refused(dovecot: Dovecot) -> None:
    client = aioimaplib.IMAP4(host=dovecot.host, port=dovecot.port, timeout=TIMEOUT)
    await client.wait_hello_from_server()

    response = await client.login(dovecot.username, "not-the-password")

    assert response.result == "NO"
    assert b"AUTHENTICATIONFAILED" in response.lines[-1]
    await client.logout()


@pytest.mark.slow("waits for Dovecot's IDLE push")
async def test_idle_wakes_up_when_mail_arrives_from_another_connection(dovecot: Dovecot) -> None:
    async with _imap(dovecot) as client:
        await client.select("INBOX")
        idle = await client.idle_start(timeout=60)

        await dovecot.append(_raw_mail("New ticket"))
        pushed = await client.wait_server_push(timeout=TIMEOUT)
        client.idle_done()
        done = await asyncio.wait_for(idle, TIMEOUT)

    assert b"1 EXISTS" in pushed
    assert done.result == "OK"


async def test_flags_set_by_the_client_are_seen_by_the_server(dovecot: Dovecot) -> None:
    uid = await dovecot.append(_raw_mail("Refund"), flags=["\\Flagged"])
    assert "\\Flagged" in await dovecot.flags(uid)

    async with _imap(dovecot) as client:
        await client.select("INBOX")
        stored = await client.uid("store", str(uid), "+FLAGS.SILENT (\\Seen)")

    assert stored.result == "OK"
    assert await dovecot.flags(uid) - {"\\Recent"} == {"\\Flagged", "\\Seen"}


@pytest.mark.parametrize("folder", ["INBOX", "Support"])
async def test_a_rebuilt_folder_has_a_new_uidvalidity_and_uids_from_one(dovecot: Dovecot, folder: str) -> None:
    if folder != "INBOX":
        await dovecot.create_folder(folder)
    for subject in ("first", "second", "third"):
        await dovecot.append(_raw_mail(subject), folder)
    async with _imap(dovecot) as client:  # leave only UID 3, so the rebuild renumbers it
        await client.select(folder)
        await client.uid("store", "1:2", "+FLAGS.SILENT (\\Deleted)")
        await client.expunge()
    assert await dovecot.uids(folder) == [3]
    old = await dovecot.uidvalidity(folder)
    lost: list[Exception | None] = []

    async with _imap(dovecot, lost) as client:
        await client.select(folder)
        idle = await client.idle_start(timeout=60)
        new = await dovecot.reset_uidvalidity(folder)
        pushed = await client.wait_server_push(timeout=TIMEOUT)
        await asyncio.sleep(0.1)
        # the server said goodbye and closed the line; aioimaplib only reports it through
        # conn_lost_cb: the IDLE command never completes and the state stays SELECTED
        assert (pushed, lost, idle.done(), client.get_state()) == (
            [b"BYE Server shutting down."],
            [None],
            False,
            "SELECTED",
        )
        idle.cancel()

    assert new != old
    assert await dovecot.uids(folder) == [1]
    assert await dovecot.append(_raw_mail("fourth"), folder) == 2  # a UID handed out before, for new mail
    async with _imap(dovecot) as client:
        selected = await client.select(folder)
    assert _response_code(selected.lines, "UIDVALIDITY") == new


async def test_a_restart_keeps_port_and_mail(dovecot: Dovecot) -> None:
    uid = await dovecot.append(_raw_mail("Still there?"))
    port, validity = dovecot.port, await dovecot.uidvalidity()

    await dovecot.stop()
    with pytest.raises(ConnectionRefusedError):
        await asyncio.open_connection(dovecot.host, port)
    await dovecot.start()

    assert dovecot.port == port
    assert (await dovecot.uids(), await dovecot.uidvalidity()) == ([uid], validity)


async def test_close_leaves_nothing_running() -> None:
    require_dovecot()
    server = Dovecot(users={"a@example.test": "pw-a", "b@example.test": "pw-b"})
    try:
        await server.start()
        await server.append(_raw_mail("for b"), user="b@example.test")
        assert await server.uids(user="a@example.test") == []
        assert await server.uids(user="b@example.test") == [1]
        process = server._process
        assert process is not None and live_processes(process.pid)
    except Exception:
        await server.close()
        raise

    await server.close()

    assert not live_processes(process.pid)
    assert server.root is not None and not server.root.exists()


@pytest.mark.parametrize(("required", "outcome"), [("", pytest.skip.Exception), ("1", pytest.fail.Exception)])
async def test_without_dovecot_the_fixture_skips_unless_ci_requires_it(
    monkeypatch: pytest.MonkeyPatch, required: str, outcome: type[BaseException]
) -> None:
    monkeypatch.setattr(dovecot_module, "find_dovecot", lambda: None)
    monkeypatch.setenv(REQUIRE_ENV, required)

    with pytest.raises(outcome, match="apt-get install -y dovecot-imapd"):
        async with running_dovecot():
            pass
