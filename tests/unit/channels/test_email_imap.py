"""channels/email/imap.py against a real Dovecot (tests/fakes/dovecot.py): each mail handed over
once and flagged \\Seen only after, nothing again after a restart, a failing deliver retried,
IDLE waking the loop, a new UIDVALIDITY, a server restart and a wrong password."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable
from email.utils import make_msgid
from typing import Any, Protocol

import pytest

from channels.email.imap import (
    ImapAuthenticationError,
    ImapError,
    ImapPoller,
    backoff_s,
    has_new_mail,
    parse_fetch_body,
    parse_search,
    parse_uidvalidity,
    said_goodbye,
)
from tests.fakes.dovecot import Dovecot

WAIT_S = 30.0
"""How long a wait may take before the test fails: long enough for a busy 2-core machine, where
Dovecot alone holds a refused login ~4 s."""


class MemoryCursor:
    def __init__(self) -> None:
        self.saved: tuple[int, int] | None = None

    async def load(self) -> tuple[int, int] | None:
        return self.saved

    async def save(self, uidvalidity: int, uid: int) -> None:
        self.saved = (uidvalidity, uid)


class Inbox:
    """A list-collecting deliver that can be told to fail the next `fail` calls."""

    def __init__(self) -> None:
        self.mails: list[bytes] = []
        self.fail = 0

    async def __call__(self, raw: bytes) -> None:
        if self.fail:
            self.fail -= 1
            raise RuntimeError("database unavailable")
        self.mails.append(raw)


class MakePoller(Protocol):
    def __call__(
        self, *, cursor: MemoryCursor, inbox: Inbox, password: str | None = None, poll_interval_s: float = 60.0
    ) -> ImapPoller: ...


def _mail(subject: str) -> bytes:
    return (
        f"From: ann@example.com\r\nTo: support@example.test\r\nSubject: {subject}\r\n"
        f"Message-ID: {make_msgid(domain='example.com')}\r\n\r\nHello, {subject}.\r\n"
    ).encode()


async def _until(condition: Callable[[], bool], timeout: float = WAIT_S) -> float:
    """Seconds until `condition` held; fails the test after `timeout`."""
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout:
            pytest.fail(f"not within {timeout} s")
        await asyncio.sleep(0.02)
    return time.monotonic() - started


@pytest.fixture
async def make_poller(dovecot: Dovecot) -> AsyncIterator[MakePoller]:
    pollers: list[ImapPoller] = []

    def make(
        *, cursor: MemoryCursor, inbox: Inbox, password: str | None = None, poll_interval_s: float = 60.0
    ) -> ImapPoller:
        poller = ImapPoller(
            host=dovecot.host,
            port=dovecot.port,
            security="none",
            username=dovecot.username,
            password=dovecot.password if password is None else password,
            folder="INBOX",
            poll_interval_s=poll_interval_s,
            cursor=cursor,
            deliver=inbox,
        )
        pollers.append(poller)
        return poller

    yield make
    for poller in pollers:
        await poller.stop()


async def test_a_mail_is_handed_over_once_and_flagged_seen_after(dovecot: Dovecot, make_poller: MakePoller) -> None:
    raw = _mail("Where is my order?")
    uid = await dovecot.append(raw)
    cursor, inbox = MemoryCursor(), Inbox()
    poller = make_poller(cursor=cursor, inbox=inbox)

    assert await poller.poll_once() == 1
    assert inbox.mails == [raw]
    assert "\\Seen" in await dovecot.flags(uid)
    assert cursor.saved == (await dovecot.uidvalidity(), uid)

    assert await poller.poll_once() == 0  # "UID 2:*" still matches UID 1: filtered
    assert inbox.mails == [raw]


async def test_a_restart_hands_over_nothing_old_and_the_next_mail_once(
    dovecot: Dovecot, make_poller: MakePoller
) -> None:
    cursor, first_inbox = MemoryCursor(), Inbox()
    await dovecot.append(_mail("old one"))
    await dovecot.append(_mail("old two"))
    first = make_poller(cursor=cursor, inbox=first_inbox)
    assert await first.poll_once() == 2
    await first.stop()

    inbox = Inbox()
    restarted = make_poller(cursor=cursor, inbox=inbox)
    assert await restarted.poll_once() == 0
    new = _mail("new")
    uid = await dovecot.append(new)
    assert await restarted.poll_once() == 1
    assert await restarted.poll_once() == 0

    assert inbox.mails == [new]
    assert cursor.saved == (await dovecot.uidvalidity(), uid)


async def test_a_failing_deliver_leaves_the_mail_unseen_and_unsaved_until_the_next_pass(
    dovecot: Dovecot, make_poller: MakePoller, caplog: pytest.LogCaptureFixture
) -> None:
    validity = await dovecot.uidvalidity()
    first, second = _mail("first"), _mail("second")
    uid_first, uid_second = await dovecot.append(first), await dovecot.append(second)
    cursor, inbox = MemoryCursor(), Inbox()
    inbox.fail = 1
    poller = make_poller(cursor=cursor, inbox=inbox)

    assert await poller.poll_once() == 0
    assert inbox.mails == []
    assert cursor.saved == (validity, 0)  # the folder's UIDVALIDITY, no UID handed over
    assert "\\Seen" not in await dovecot.flags(uid_first) | await dovecot.flags(uid_second)
    assert "delivering UID 1 failed" in caplog.text

    assert await poller.poll_once() == 2
    assert inbox.mails == [first, second]
    assert cursor.saved == (validity, uid_second)
    assert "\\Seen" in await dovecot.flags(uid_first) & await dovecot.flags(uid_second)


async def test_the_loop_wakes_up_through_idle(
    dovecot: Dovecot, make_poller: MakePoller, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="aioimaplib")
    inbox = Inbox()
    poller = make_poller(cursor=MemoryCursor(), inbox=inbox, poll_interval_s=60)  # only IDLE explains a wake
    await poller.start()
    await asyncio.sleep(0.3)  # in IDLE by now
    raw = _mail("pushed")

    await dovecot.append(raw)
    took = await _until(lambda: len(inbox.mails) == 1, timeout=3.0)

    assert inbox.mails == [raw]
    assert took < 3.0
    await asyncio.sleep(0.3)  # back in IDLE
    await poller.stop()
    assert not poller.running
    sent = [r.getMessage().split("Sending : ", 1)[1] for r in caplog.records if "Sending : " in r.getMessage()]
    assert [line.split(" ", 1)[-1] for line in sent[-3:]] == ["IDLE\\r\\n'", "b'DONE\\r\\n'", "LOGOUT\\r\\n'"]
    assert "Logout completed" in caplog.text


async def test_a_new_uidvalidity_offers_every_message_again(
    dovecot: Dovecot, make_poller: MakePoller, caplog: pytest.LogCaptureFixture
) -> None:
    mails = [_mail("one"), _mail("two")]
    for raw in mails:
        await dovecot.append(raw)
    cursor, inbox = MemoryCursor(), Inbox()
    poller = make_poller(cursor=cursor, inbox=inbox)
    assert await poller.poll_once() == 2
    old = await dovecot.uidvalidity()

    new = await dovecot.reset_uidvalidity()  # the server restarts: the poller's connection is gone
    assert await poller.poll_once() == 2

    assert inbox.mails == mails + mails
    assert cursor.saved == (new, 2)
    assert f"UIDVALIDITY changed from {old} to {new}" in caplog.text


@pytest.mark.parametrize(
    ("kill", "warning"),
    [(False, "the server said goodbye: BYE Server shutting down."), (True, "connection lost during IDLE")],
    ids=["bye", "crash"],
)
async def test_the_loop_reconnects_after_the_server_restarts(
    dovecot: Dovecot, make_poller: MakePoller, kill: bool, warning: str, caplog: pytest.LogCaptureFixture
) -> None:
    before, after = _mail("before"), _mail("after")
    await dovecot.append(before)
    inbox = Inbox()
    poller = make_poller(cursor=MemoryCursor(), inbox=inbox)
    await poller.start()
    await _until(lambda: len(inbox.mails) == 1)
    await asyncio.sleep(0.2)  # in IDLE by now

    await dovecot.stop(kill=kill)  # SIGTERM: "* BYE Server shutting down." then the line closes
    await dovecot.start()
    await dovecot.append(after)
    await _until(lambda: len(inbox.mails) == 2, timeout=10.0)

    assert inbox.mails == [before, after]
    assert poller.running
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == [f"IMAP {dovecot.username}@{dovecot.host}:{dovecot.port}/INBOX: {warning}; retrying in 1 s"]


async def test_a_wrong_password_is_a_clear_error(dovecot: Dovecot, make_poller: MakePoller) -> None:
    poller = make_poller(cursor=MemoryCursor(), inbox=Inbox(), password="not-the-password")

    with pytest.raises(ImapAuthenticationError, match=r"login refused: .*AUTHENTICATIONFAILED") as caught:
        await poller.poll_once()

    assert dovecot.username in str(caught.value)
    assert "not-the-password" not in str(caught.value)


@pytest.mark.slow("Dovecot holds its answer to a refused login for seconds")
async def test_the_loop_logs_a_wrong_password_and_keeps_trying(
    dovecot: Dovecot, make_poller: MakePoller, caplog: pytest.LogCaptureFixture
) -> None:
    poller = make_poller(cursor=MemoryCursor(), inbox=Inbox(), password="not-the-password")
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="aioimaplib")  # the hub's logging holds it at WARNING once configured

    def warnings() -> list[str]:
        return [
            r.getMessage() for r in caplog.records if r.levelno == logging.WARNING and r.name == "channels.email.imap"
        ]

    def logins() -> int:
        return sum(f"LOGIN {dovecot.username}" in r.getMessage() for r in caplog.records)

    await poller.start()
    await _until(lambda: len(warnings()) == 1)
    await _until(lambda: logins() == 2)  # the next try, 1 s later (Dovecot holds its answer ~4 s:
    #                                      its anvil penalises repeated failures from one address)

    assert warnings() == [
        f"IMAP {dovecot.username}@{dovecot.host}:{dovecot.port}/INBOX: login refused: "
        "[AUTHENTICATIONFAILED] Authentication failed.; retrying in 1 s"
    ]
    assert poller.running
    assert "not-the-password" not in caplog.text


async def test_an_unreachable_server_is_a_connection_error(dovecot: Dovecot, make_poller: MakePoller) -> None:
    poller = make_poller(cursor=MemoryCursor(), inbox=Inbox())
    await dovecot.stop()

    with pytest.raises(ImapError, match="cannot connect: ConnectionRefusedError"):
        await poller.poll_once()


async def test_tls_against_a_plain_text_port_fails_the_handshake(dovecot: Dovecot) -> None:
    poller = ImapPoller(
        host=dovecot.host,
        port=dovecot.port,
        security="tls",
        username=dovecot.username,
        password=dovecot.password,
        folder="INBOX",
        poll_interval_s=60,
        cursor=MemoryCursor(),
        deliver=Inbox(),
    )
    try:
        with pytest.raises(ImapError, match="cannot connect: SSLError"):
            await poller.poll_once()
    finally:
        await poller.stop()


# --- construction and the pure parts ---


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"security": "starttls"}, "'starttls' is not supported: aioimaplib 2.0"),
        ({"security": "ssl"}, "one of tls, starttls, none"),
        ({"folder": "Entwürfe"}, "ASCII"),
        ({"poll_interval_s": 0}, "must be positive"),
    ],
)
def test_bad_settings_fail_at_construction(changes: dict[str, Any], message: str) -> None:
    settings: dict[str, Any] = {
        "host": "127.0.0.1",
        "port": 143,
        "security": "none",
        "username": "u",
        "password": "p",
        "folder": "INBOX",
        "poll_interval_s": 60.0,
        "cursor": MemoryCursor(),
        "deliver": Inbox(),
    }

    with pytest.raises(ValueError, match=message):
        ImapPoller(**(settings | changes))


def test_backoff_doubles_up_to_a_minute() -> None:
    assert [backoff_s(n) for n in range(1, 9)] == [1, 2, 4, 8, 16, 32, 60, 60]


def test_responses_recorded_from_dovecot_are_parsed() -> None:
    select = [b"2 EXISTS", b"OK [UIDVALIDITY 1795391466] UIDs valid", b"OK [UIDNEXT 3] Predicted next UID"]
    status = [b"INBOX (UIDNEXT 3 UIDVALIDITY 1795391466)", b"Status completed (0.001 + 0.000 secs)."]
    fetch = [
        b"7 FETCH (FLAGS (\\Seen))",
        b"2 FETCH (UID 2 BODY[] {20}",
        bytearray(b"Subject: b\r\n\r\nhi b\r\n"),
        b")",
        b"Fetch completed (0.001 + 0.000 secs).",
    ]

    assert parse_uidvalidity(select) == parse_uidvalidity(status) == 1795391466
    assert parse_search([b"2", b"Search completed (0.001 + 0.000 secs)."], after=2) == []
    assert parse_search([b"3 4 5", b"Search completed (0.001 + 0.000 secs)."], after=3) == [4, 5]
    assert parse_search([b"Search completed (0.001 + 0.000 secs)."], after=0) == []
    assert parse_fetch_body(fetch, 2) == b"Subject: b\r\n\r\nhi b\r\n"
    assert parse_fetch_body([b"Fetch completed (0.001 + 0.000 secs)."], 9) is None
    assert has_new_mail([b"3 EXISTS", b"1 RECENT"]) and not has_new_mail([b"OK Still here"])
    assert said_goodbye([b"BYE Server shutting down."]) and not said_goodbye([b"3 EXISTS"])
