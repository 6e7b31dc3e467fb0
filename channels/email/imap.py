"""Polls one IMAP folder and hands each new mail's raw bytes to a callback, once.

**Which mail is new: UIDVALIDITY + UID, not \\Seen.** A person reading the mailbox in a mail
client sets \\Seen, and a crash between "stored" and "flagged" would lose or repeat a mail if
the flag were the record. The record is the cursor the caller keeps (its database): the
folder's UIDVALIDITY and the last UID handed over. UIDs only grow within one UIDVALIDITY, so
`UID SEARCH UID <last+1>:*` finds exactly the mails not yet handed over (minus the one quirk of
`n:*`: it always matches the highest UID, even one ≤ last, so results are filtered). When the
server's UIDVALIDITY differs from the saved one (a rebuilt folder, a migrated account) the old
UIDs mean nothing: every message is offered again from UID 0 and the caller's idempotence on
Message-ID keeps that from answering anything twice.

**Marked seen only after commit.** Each mail is fetched with `BODY.PEEK[]` (which leaves
\\Seen alone), handed to `deliver` (which commits it, or raises), and only then flagged \\Seen
and written to the cursor. If `deliver` raises, the pass stops there: nothing saved, the same
mail comes first next pass. A crash or a lost connection between `deliver` and `save` offers
that one mail again — at least once, made exactly once by the caller's Message-ID key.

**IDLE vs poll.** Where the server's CAPABILITY lists IDLE the loop waits in IDLE (RFC 2177)
for up to `idle_timeout_s` and wakes as soon as the server pushes EXISTS: Dovecot pushes within
about half a second of delivery. Otherwise it sleeps `poll_interval_s` between passes. After a
pass that handed mail over, it searches again at once before waiting, which narrows the one
blind spot: aioimaplib drops an untagged EXISTS that arrives with a SEARCH/FETCH/STORE
response, so mail arriving in that instant waits for the next wake (at most `idle_timeout_s`).

**What aioimaplib 2.0 does and does not do** (learned against Dovecot 2.3, see
tests/unit/channels/test_mail_servers.py):
- A server BYE or a dropped line is reported only through `conn_lost_cb`; commands pending
  then never complete (only some carry a timeout). Every command here therefore races a
  "connection lost" event and a timeout, and a BYE pushed during IDLE counts as a loss.
- `IMAP4_SSL` does not pass `conn_lost_cb` on, so "tls" builds `IMAP4` with the same default
  `ssl.create_default_context()` that `IMAP4_SSL` would use.
- It has no STARTTLS (the command is in its state table, nothing sends it or upgrades the
  transport), so "starttls" is refused at construction: use "tls" (port 993), which every
  major provider offers.
- Folder names are sent as given; this module quotes them and accepts ASCII names only
  (non-ASCII folders need modified UTF-7, which aioimaplib does not do).

Reconnects back off exponentially (1 s doubling, at most 60 s), with one warning per failure;
the password is never logged (aioimaplib itself scrubs it from its debug log).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import ssl
from collections.abc import Awaitable, Callable
from typing import Any, Protocol, TypeVar

import aioimaplib

from core.channel import StorageUnavailable

log = logging.getLogger(__name__)

SECURITY_MODES = ("tls", "starttls", "none")
COMMAND_TIMEOUT_S = 30.0
FETCH_TIMEOUT_S = 300.0
"""A whole message, however large; aioimaplib also times out a FETCH that stops receiving."""
LOGOUT_TIMEOUT_S = 2.0
BACKOFF_BASE_S = 1.0
BACKOFF_MAX_S = 60.0

_UIDVALIDITY = re.compile(rb"UIDVALIDITY (\d+)")
_FETCH_BODY = re.compile(rb"\d+ FETCH \(.*\bUID (\d+)\b.*BODY\[\] \{(\d+)\}$")
_EXISTS = re.compile(rb"^\d+ EXISTS$")
_T = TypeVar("_T")


class MailboxCursor(Protocol):
    """Where the poller remembers what it handed over; kept by the caller (its database)."""

    async def load(self) -> tuple[int, int] | None:
        """(UIDVALIDITY, last UID handed over), or None when nothing was ever saved."""
        ...

    async def save(self, uidvalidity: int, uid: int) -> None:
        """Remember that every mail up to `uid` under `uidvalidity` was handed over."""
        ...


Deliver = Callable[[bytes], Awaitable[None]]
"""Stores one mail (commits) before returning; raises to mean "not stored, try again later"."""


class ImapError(Exception):
    """The IMAP server could not be used: unreachable, refused us, or dropped the line."""


class ImapConnectionError(ImapError):
    """The connection failed, timed out, or was closed (a server BYE included)."""


class ImapAuthenticationError(ImapError):
    """The server refused the username and password."""


# --- pure helpers ---


def backoff_s(failures: int) -> float:
    """Seconds to wait after the `failures`-th failure in a row: 1, 2, 4, … at most 60."""
    return float(min(BACKOFF_MAX_S, BACKOFF_BASE_S * 2 ** max(failures - 1, 0)))


def quote_folder(folder: str) -> str:
    """The folder as an IMAP quoted string (RFC 3501 section 9); ASCII names only."""
    if not folder or not folder.isascii() or any(c in folder for c in "\r\n\0"):
        raise ValueError(f"imap folder {folder!r}: a non-empty ASCII name without line breaks")
    return str(aioimaplib.quoted(folder))


def parse_uidvalidity(lines: list[Any]) -> int | None:
    """UIDVALIDITY from a SELECT ("OK [UIDVALIDITY n] …") or STATUS ("(… UIDVALIDITY n)") reply."""
    for line in lines:
        if isinstance(line, bytes) and (found := _UIDVALIDITY.search(line)):
            return int(found.group(1))
    return None


def parse_search(lines: list[Any], *, after: int) -> list[int]:
    """The UIDs above `after`, ascending, from a UID SEARCH reply (the last line is its status)."""
    uids = {int(word) for line in lines[:-1] if isinstance(line, bytes) for word in line.split() if word.isdigit()}
    return sorted(uid for uid in uids if uid > after)


def parse_fetch_body(lines: list[Any], uid: int) -> bytes | None:
    """The BODY[] literal of message `uid` in a UID FETCH reply, or None when it is gone.
    Unsolicited FETCH lines (flag changes by other clients) may be mixed in; they are skipped."""
    for index, line in enumerate(lines[:-1]):
        if not isinstance(line, bytes):
            continue
        found = _FETCH_BODY.match(line)
        if found and int(found.group(1)) == uid:
            body = bytes(lines[index + 1])
            if len(body) != int(found.group(2)):
                raise ImapError(f"UID FETCH {uid}: {len(body)} bytes read, {found.group(2).decode()} announced")
            return body
    return None


def has_new_mail(pushed: list[Any]) -> bool:
    return any(isinstance(line, bytes) and _EXISTS.match(line) for line in pushed)


def said_goodbye(pushed: list[Any]) -> bool:
    return any(isinstance(line, bytes) and line.startswith(b"BYE") for line in pushed)


# --- one connection ---


class _Session:
    """One logged-in connection with the folder selected. Every command races the connection
    being lost, because aioimaplib leaves pending commands waiting forever then."""

    def __init__(self, client: aioimaplib.IMAP4, lost: asyncio.Event, where: str) -> None:
        self.client = client
        self.lost = lost
        self.where = where
        self.uidvalidity = 0
        self._idle: asyncio.Future[Any] | None = None

    @property
    def can_idle(self) -> bool:
        return bool(self.client.has_capability("IDLE"))

    async def run(self, command: Awaitable[_T], what: str, timeout: float | None = COMMAND_TIMEOUT_S) -> _T:
        task = asyncio.ensure_future(command)
        lost = asyncio.ensure_future(self.lost.wait())
        try:
            done, _ = await asyncio.wait({task, lost}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        finally:
            lost.cancel()
            if not task.done():
                task.cancel()
        if task in done:
            try:
                return task.result()
            except (TimeoutError, aioimaplib.AioImapException) as error:  # aioimaplib's own timeouts
                raise ImapConnectionError(f"{self.where}: {what} failed: {error!r}") from error
        if lost in done:
            raise ImapConnectionError(f"{self.where}: connection lost during {what}")
        raise ImapConnectionError(f"{self.where}: no answer to {what} within {timeout:.0f} s")

    async def select(self, folder: str) -> None:
        quoted = quote_folder(folder)
        response = await self.run(self.client.select(quoted), "SELECT")
        if response.result != "OK":
            raise ImapError(f"{self.where}: SELECT {quoted} refused: {_text(response)}")
        validity = parse_uidvalidity(response.lines)
        if validity is None:  # every IMAP4rev1 server sends it with SELECT; STATUS as a fallback
            status = await self.run(self.client.status(quoted, "(UIDVALIDITY)"), "STATUS")
            validity = parse_uidvalidity(status.lines)
        if validity is None:
            raise ImapError(f"{self.where}: the server reported no UIDVALIDITY for {quoted}")
        self.uidvalidity = validity

    async def search_after(self, uid: int) -> list[int]:
        response = await self.run(self.client.uid_search("UID", f"{uid + 1}:*", charset=None), "UID SEARCH")
        _expect_ok(response, f"{self.where}: UID SEARCH")
        return parse_search(response.lines, after=uid)

    async def fetch(self, uid: int) -> bytes | None:
        response = await self.run(self.client.uid("fetch", str(uid), "(UID BODY.PEEK[])"), "UID FETCH", FETCH_TIMEOUT_S)
        _expect_ok(response, f"{self.where}: UID FETCH {uid}")
        return parse_fetch_body(response.lines, uid)

    async def mark_seen(self, uid: int) -> None:
        response = await self.run(self.client.uid("store", str(uid), "+FLAGS.SILENT (\\Seen)"), "UID STORE")
        if response.result != "OK":  # cosmetic for people reading the mailbox: the cursor is the record
            log.warning("%s: could not flag UID %d \\Seen: %s", self.where, uid, _text(response))

    async def wait_for_news(self, timeout_s: float) -> None:
        """IDLE until the server pushes EXISTS or `timeout_s` passes; a BYE is a lost connection."""
        self._idle = await self.run(self.client.idle_start(timeout=timeout_s), "IDLE")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while (remaining := deadline - loop.time()) > 0:
            pushed = await self.run(self._next_push(remaining), "IDLE", timeout=None)
            if pushed is None:
                break
            if said_goodbye(pushed):  # the line closes next; do not wait for that
                self.lost.set()
                raise ImapConnectionError(f"{self.where}: the server said goodbye: {_text_lines(pushed)}")
            if pushed == aioimaplib.STOP_WAIT_SERVER_PUSH or has_new_mail(pushed):
                break
        await self._end_idle()

    async def _next_push(self, timeout_s: float) -> list[Any] | None:
        try:
            pushed: list[Any] = await self.client.wait_server_push(timeout=timeout_s)
        except TimeoutError:
            return None
        return pushed

    async def _end_idle(self) -> None:
        idle, self._idle = self._idle, None
        if idle is None:
            return
        if self.client.has_pending_idle():
            self.client.idle_done()
        await self.run(idle, "IDLE DONE")

    async def close(self) -> None:
        """Log out when the line is still up (ending an IDLE first); always drop the socket."""
        if not self.lost.is_set():
            with contextlib.suppress(ImapError, aioimaplib.AioImapException, OSError):
                await self._end_idle()
                await self.run(self.client.logout(), "LOGOUT", LOGOUT_TIMEOUT_S)
        self.abandon()

    def abandon(self) -> None:
        """Drop the connection without a word, and the library's tasks still waiting on it."""
        for task in [*self.client.tasks, *self.client.protocol.tasks]:
            task.cancel()
        if self._idle is not None:
            self._idle.cancel()
        transport = self.client.protocol.transport
        if transport is not None:
            transport.close()


def _text(response: Any) -> str:
    return _text_lines(response.lines[-1:])


def _text_lines(lines: list[Any]) -> str:
    return " ".join(bytes(line).decode(errors="replace") for line in lines)


def _expect_ok(response: Any, what: str) -> None:
    if response.result != "OK":
        raise ImapError(f"{what} refused: {_text(response)}")


# --- the poller ---


class ImapPoller:
    """Hands every new mail of one folder to `deliver`, once; see the module docstring."""

    def __init__(
        self,
        *,
        host: str,
        port: int,
        security: str,
        username: str,
        password: str,
        folder: str,
        poll_interval_s: float,
        cursor: MailboxCursor,
        deliver: Deliver,
        idle_timeout_s: float = 300.0,
    ) -> None:
        if security not in SECURITY_MODES:
            raise ValueError(f"imap_security {security!r}: one of {', '.join(SECURITY_MODES)}")
        if security == "starttls":
            raise ValueError(
                "imap_security 'starttls' is not supported: aioimaplib 2.0 cannot upgrade a "
                "connection to TLS; use 'tls' (implicit TLS, usually port 993)"
            )
        if poll_interval_s <= 0 or idle_timeout_s <= 0:
            raise ValueError("imap poll_interval_s and idle_timeout_s must be positive")
        quote_folder(folder)  # fails now, not at the first pass
        self._host, self._port, self._security = host, port, security
        self._username, self._password, self._folder = username, password, folder
        self._poll_interval_s, self._idle_timeout_s = poll_interval_s, idle_timeout_s
        self._cursor, self._deliver = cursor, deliver
        self._where = f"IMAP {username}@{host}:{port}/{folder}"
        self._session: _Session | None = None
        self._task: asyncio.Task[None] | None = None
        self._delivery_failed = False

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def start(self) -> None:
        """Start the background loop and return at once."""
        if self.running:
            raise RuntimeError(f"{self._where}: already started")
        self._task = asyncio.create_task(self._run(), name=f"imap-poller {self._username}/{self._folder}")

    async def stop(self) -> None:
        """Stop the loop and log out (safe to call when never started, or twice)."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self._close_session()

    async def poll_once(self) -> int:
        """One pass: connect if needed, select, hand over the new mails in UID order.
        Returns how many were handed over; a failing `deliver` ends the pass early (logged).
        Raises ImapError (ImapAuthenticationError, ImapConnectionError) when the server fails.
        Not to be called while the loop runs: they would share one connection."""
        if self.running and asyncio.current_task() is not self._task:
            raise RuntimeError(f"{self._where}: poll_once while the background loop runs")
        session = await self._connected()
        try:
            return await self._pass(session)
        except Exception:
            await self._close_session()  # whatever went wrong, the next pass starts afresh
            raise

    # --- a pass ---

    async def _pass(self, session: _Session) -> int:
        await session.select(self._folder)
        last = await self._start_uid(session.uidvalidity)
        self._delivery_failed = False
        handed = 0
        for uid in await session.search_after(last):
            raw = await session.fetch(uid)
            if raw is not None:  # None: expunged since the search, nothing to hand over
                if not await self._delivered(raw, uid):
                    self._delivery_failed = True
                    break  # nothing saved: this mail comes first next pass
                await session.mark_seen(uid)
                handed += 1
            await self._cursor.save(session.uidvalidity, uid)
        return handed

    async def _start_uid(self, uidvalidity: int) -> int:
        saved = await self._cursor.load()
        if saved is None:
            log.info("%s: no cursor yet, offering every message (UIDVALIDITY %d)", self._where, uidvalidity)
        elif saved[0] != uidvalidity:
            log.warning(
                "%s: UIDVALIDITY changed from %d to %d, offering every message again",
                self._where,
                saved[0],
                uidvalidity,
            )
        else:
            return saved[1]
        await self._cursor.save(uidvalidity, 0)
        return 0

    async def _delivered(self, raw: bytes, uid: int) -> bool:
        try:
            await self._deliver(raw)
        except StorageUnavailable as exc:  # no bug of ours: a line, not a traceback
            log.warning("%s: UID %d could not be stored (%s); it is offered again next pass", self._where, uid, exc)
            return False
        except Exception:
            log.exception("%s: delivering UID %d failed; it is offered again next pass", self._where, uid)
            return False
        return True

    # --- the connection ---

    async def _connected(self) -> _Session:
        if self._session is not None and not self._session.lost.is_set():
            return self._session
        await self._close_session()
        self._session = await self._connect()
        return self._session

    async def _connect(self) -> _Session:
        lost = asyncio.Event()
        context = ssl.create_default_context() if self._security == "tls" else None
        client = aioimaplib.IMAP4(
            host=self._host,
            port=self._port,
            timeout=COMMAND_TIMEOUT_S,
            conn_lost_cb=lambda _exc: lost.set(),
            ssl_context=context,
        )
        session = _Session(client, lost, self._where)
        try:
            await session.run(client.wait_hello_from_server(), "greeting")
            response = await session.run(client.login(self._username, self._password), "LOGIN")
        except OSError as error:  # refused, unreachable, a failed TLS handshake
            session.abandon()
            raise ImapConnectionError(f"{self._where}: cannot connect: {error!r}") from error
        except BaseException:
            session.abandon()
            raise
        if response.result != "OK":
            await session.close()
            raise ImapAuthenticationError(f"{self._where}: login refused: {_text(response)}")
        return session

    async def _close_session(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            await session.close()

    # --- the loop ---

    async def _run(self) -> None:
        failures = 0
        while True:
            try:
                handed = await self.poll_once()
                failures = 0
                if handed and not self._delivery_failed:
                    continue  # search again at once: mail may have come in meanwhile
                await self._wait()
            except Exception as error:
                failures += 1
                delay = backoff_s(failures)
                if isinstance(error, ImapError):
                    log.warning("%s; retrying in %.0f s", error, delay)
                else:
                    log.warning("%s: pass failed; retrying in %.0f s", self._where, delay, exc_info=True)
                await self._close_session()
                await asyncio.sleep(delay)

    async def _wait(self) -> None:
        session = self._session
        if session is not None and session.can_idle and not self._delivery_failed:
            await session.wait_for_news(self._idle_timeout_s)
        else:
            await asyncio.sleep(self._poll_interval_s)
