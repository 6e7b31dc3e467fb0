"""A local SMTP relay for the hub's outgoing mail: aiosmtpd's SMTP protocol served on the test's
own event loop, recording every message it accepts.

    async with SmtpRelay(require_starttls=True, auth=("hub", "relay-secret")) as relay:
        await aiosmtplib.send(msg, hostname=relay.host, port=relay.port, start_tls=True,
                              tls_context=relay.client_tls_context(), username="hub",
                              password="relay-secret", timeout=5)
        [sent] = await relay.wait_for(1)
        assert sent.rcpt_tos == ("ann@example.com",) and sent.tls and sent.login == "hub"

It runs as `loop.create_server(lambda: SMTP(handler, …), "127.0.0.1", port)`, not aiosmtpd's
`Controller`, which starts a second thread with a second loop (and cannot take port 0): here the
relay and the code under test share one loop, so a test can stop the relay between two awaits.

- `require_starttls`: STARTTLS is offered and required before MAIL ("530 Must issue a STARTTLS
  command first"), with a certificate for 127.0.0.1 and localhost from a throwaway trustme CA;
  clients trust it through `client_tls_context()` (or `ca_pem`). Without it no TLS is offered.
- `auth=(user, password)`: AUTH PLAIN and LOGIN are offered (after STARTTLS when TLS is
  required) and MAIL without them is refused "530 5.7.0 Authentication required"; a wrong
  password gets "535 5.7.8 Authentication credentials invalid".
- `refuse_next(code, text, times=1, at="DATA")` answers the next DATA (each RCPT, with
  `at="RCPT"`) with that reply instead of accepting; `refusals` records each.
- `stop()` is the relay going down (it stops listening and drops open connections: clients get
  "connection refused"); `start()` brings it back on the same port with the same records.

aiosmtpd 1.4 facts this relies on: an authenticator must return `AuthResult(success=False,
handled=False)` on failure, or smtp_AUTH sends no reply and the client waits for one; a
`handle_RCPT` hook must append the address to `envelope.rcpt_tos` itself when it accepts;
`envelope.original_content` is the message after dot-unstuffing, line endings as sent; without
`hostname=` every connection calls `socket.getfqdn()`; the server TLS context must not verify
clients (`Purpose.CLIENT_AUTH` defaults) or aiosmtpd warns.
"""

from __future__ import annotations

import asyncio
import ssl
import warnings
import weakref
from collections import deque
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from typing import Any, Literal

from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

HOST = "127.0.0.1"
HOSTNAME = "relay.test"
"""What the relay calls itself in its greeting and EHLO answer."""

Stage = Literal["RCPT", "DATA"]


@dataclass(frozen=True, slots=True)
class RelayedMessage:
    """One message the relay accepted, as it crossed the wire."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    raw: bytes
    message: EmailMessage
    """`raw` parsed with `email.policy.default`."""
    tls: bool
    """Whether it came over STARTTLS."""
    login: str | None
    """The AUTH user, or None without AUTH."""


@dataclass(frozen=True, slots=True)
class Refusal:
    """One RCPT or DATA the relay refused because a test told it to."""

    at: Stage
    code: int
    text: str
    mail_from: str
    rcpt_tos: tuple[str, ...]
    """At RCPT the refused address; at DATA the envelope's recipients."""


def _test_ca() -> Any:
    """A throwaway CA for STARTTLS (trustme: a test dependency, imported only when asked for)."""
    import trustme

    return trustme.CA()


class SmtpRelay:
    """An SMTP relay on 127.0.0.1 on the running loop. Create, `await start()` (or `async with`)."""

    def __init__(self, *, require_starttls: bool = False, auth: tuple[str, str] | None = None) -> None:
        self.host = HOST
        self.port = 0
        """Set by the first `start`; kept across restarts."""
        self.messages: list[RelayedMessage] = []
        self.refusals: list[Refusal] = []
        self.require_starttls = require_starttls
        self.auth = auth
        self._scripted: dict[Stage, deque[tuple[int, str]]] = {"RCPT": deque(), "DATA": deque()}
        self._arrived = asyncio.Condition()
        self._server: asyncio.Server | None = None
        self._sessions: weakref.WeakSet[SMTP] = weakref.WeakSet()
        self._ca = _test_ca() if require_starttls else None
        self._server_tls: ssl.SSLContext | None = None
        if self._ca is not None:
            self._server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            self._ca.issue_cert(HOST, "localhost").configure_cert(self._server_tls)

    @property
    def ca_pem(self) -> bytes:
        """The test CA's certificate (PEM), for clients configured with a CA file."""
        if self._ca is None:
            raise RuntimeError("this relay has no TLS (require_starttls=False)")
        pem: bytes = self._ca.cert_pem.bytes()
        return pem

    def client_tls_context(self) -> ssl.SSLContext:
        """A client context that trusts the relay's certificate (and verifies host names)."""
        if self._ca is None:
            raise RuntimeError("this relay has no TLS (require_starttls=False)")
        context = ssl.create_default_context()
        self._ca.configure_trust(context)
        return context

    def refuse_next(self, code: int, text: str, *, times: int = 1, at: Stage = "DATA") -> None:
        """Answer the next `times` DATA commands (or RCPT commands) with "`code` `text`"."""
        if not 400 <= code <= 599:
            raise ValueError(f"a refusal is a 4xx or 5xx reply, not {code}")
        self._scripted[at].extend([(code, text)] * times)

    async def wait_for(self, count: int, timeout: float = 5.0) -> list[RelayedMessage]:
        """All messages accepted so far, once there are at least `count`."""
        try:
            async with asyncio.timeout(timeout):
                async with self._arrived:
                    await self._arrived.wait_for(lambda: len(self.messages) >= count)
        except TimeoutError:
            raise TimeoutError(
                f"the relay accepted {len(self.messages)} of {count} messages within {timeout} s "
                f"(refused {len(self.refusals)})"
            ) from None
        return list(self.messages)

    async def start(self) -> None:
        """Listen (again, on the same port after a `stop`)."""
        if self._server is not None:
            raise RuntimeError("the relay is already listening")
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(self._session, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """Go down: stop listening and drop every open connection."""
        server, self._server = self._server, None
        if server is None:
            return
        server.close()
        for session in list(self._sessions):
            transport = session.transport
            if isinstance(transport, asyncio.Transport):
                transport.abort()
            elif transport is not None:
                transport.close()
        await server.wait_closed()

    async def __aenter__(self) -> SmtpRelay:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    def _session(self) -> SMTP:
        with warnings.catch_warnings():
            # AUTH without TLS is what a test of smtp_security="none" with credentials needs
            warnings.filterwarnings("ignore", "Requiring AUTH while not requiring TLS")
            session = SMTP(
                _Handler(self),
                hostname=HOSTNAME,
                enable_SMTPUTF8=True,
                tls_context=self._server_tls,
                require_starttls=self.require_starttls,
                auth_required=self.auth is not None,
                auth_require_tls=self.require_starttls,
                authenticator=self._authenticate if self.auth is not None else None,
                loop=asyncio.get_running_loop(),
            )
        self._sessions.add(session)
        return session

    def _authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
    ) -> AuthResult:
        assert self.auth is not None
        user, password = self.auth
        if isinstance(auth_data, LoginPassword) and auth_data == (user.encode(), password.encode()):
            return AuthResult(success=True, auth_data=user)
        return AuthResult(success=False, handled=False)  # handled=True would leave the client unanswered

    def _scripted_reply(self, at: Stage, mail_from: str, rcpt_tos: tuple[str, ...]) -> str | None:
        if not self._scripted[at]:
            return None
        code, text = self._scripted[at].popleft()
        self.refusals.append(Refusal(at=at, code=code, text=text, mail_from=mail_from, rcpt_tos=rcpt_tos))
        return f"{code} {text}"

    async def _accept(self, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        self.messages.append(
            RelayedMessage(
                mail_from=envelope.mail_from or "",
                rcpt_tos=tuple(envelope.rcpt_tos),
                raw=raw,
                message=BytesParser(_class=EmailMessage, policy=policy.default).parsebytes(raw),
                tls=session.ssl is not None,
                login=session.auth_data if session.authenticated else None,
            )
        )
        async with self._arrived:
            self._arrived.notify_all()
        return "250 2.0.0 OK: queued"


class _Handler:
    """aiosmtpd's hooks (its own class: aiosmtpd treats a handler's `auth_*` methods as
    mechanisms and its `handle_*` methods as hooks, so SmtpRelay's API stays out of it)."""

    def __init__(self, relay: SmtpRelay) -> None:
        self._relay = relay

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        refused = self._relay._scripted_reply("RCPT", envelope.mail_from or "", (address,))
        if refused is not None:
            return refused
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        refused = self._relay._scripted_reply("DATA", envelope.mail_from or "", tuple(envelope.rcpt_tos))
        if refused is not None:
            return refused
        return await self._relay._accept(session, envelope)
