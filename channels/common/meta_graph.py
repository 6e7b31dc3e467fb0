"""What WhatsApp's Cloud API, Messenger and Instagram share on Meta's side: the webhook's
handshake and signature, one Graph API call and its error, and fetching a customer's file.

Webhooks. Meta checks a callback URL once with a GET (`hub.mode=subscribe`, `hub.verify_token`,
`hub.challenge`: the challenge is echoed when the token is ours), then POSTs every change as JSON
signed `X-Hub-Signature-256: sha256=<HMAC-SHA256 of the raw body with the app secret>`.
`MetaWebhook.signed_body` checks that on the raw bytes before anything is parsed (403, nothing
read further) and refuses a body larger than Meta sends (413).

Graph API calls (`GraphClient.call`) carry the access token as a Bearer header, never in the
URL, so no log line or error quotes it; an error answer (`{"error": {"message", "code",
"error_subcode", "error_data": {"details"}}}`) becomes a `GraphError` with its code and subcode,
which each channel reads by its own platform's error table.

Files (`GraphClient.fetch`): a URL Meta handed over is read within `attachments.max_bytes`,
following at most `MAX_REDIRECTS` redirects; the token goes only to an origin the caller trusts
with it, and a redirect off the hosts the caller allows is not followed.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urljoin

import aiohttp
from aiohttp import web

from channels.common.downloads import capped_file
from core.messages import Attachment
from core.metrics import Rejection, rejected
from core.ops.request_guards import bounded_int
from core.request_bodies import read_at_most

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Hub-Signature-256"
MAX_WEBHOOK_BYTES = 1024 * 1024
"""Meta batches changes, a few hundred bytes each, into one webhook; none comes near this."""
REQUEST_TIMEOUT_S = 20.0
MAX_REDIRECTS = 3
_REDIRECTS = (301, 302, 303, 307, 308)


class BadWebhook(ValueError):
    """A signed webhook whose shape is not Meta's: the reason says where."""


class GraphError(Exception):
    """A Graph API call that failed: `status` 0 when no answer came."""

    def __init__(
        self,
        reason: str,
        *,
        status: int = 0,
        code: int | None = None,
        subcode: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(reason)
        self.status = status
        self.code = code
        self.subcode = subcode
        self.retry_after = retry_after


class MetaWebhook:
    """The handshake and the signature check of one channel's webhook."""

    def __init__(self, *, channel: str, app_secret: str, verify_token: str) -> None:
        self._channel = channel
        self._secret = app_secret.encode()
        self._verify_token = verify_token.encode()

    async def handshake(self, request: web.Request) -> web.Response:
        """Meta's verification of the callback URL: the challenge back when the token is ours."""
        token = request.query.get("hub.verify_token", "").encode()
        if request.query.get("hub.mode") == "subscribe" and hmac.compare_digest(token, self._verify_token):
            return web.Response(text=request.query.get("hub.challenge", ""), content_type="text/plain")
        log.info("%s: refused a webhook verification without our verify token (HTTP 403)", self._channel)
        rejected(self._channel, Rejection.BAD_SIGNATURE)
        return web.json_response({"error": "the verify token is not this hub's"}, status=403)

    async def signed_body(self, request: web.Request) -> bytes | web.Response:
        """The raw body when Meta signed it with the app secret; else the refusal to answer."""
        body = await read_at_most(request, MAX_WEBHOOK_BYTES)
        if body is None:
            rejected(self._channel, Rejection.BAD_INPUT)
            return web.json_response({"error": "the body is larger than Meta sends"}, status=413)
        if not self._signed(request.headers.get(SIGNATURE_HEADER, ""), body):
            log.info("%s: refused a webhook without a valid %s (HTTP 403)", self._channel, SIGNATURE_HEADER)
            rejected(self._channel, Rejection.BAD_SIGNATURE)
            return web.json_response({"error": "the body is not signed with this app's secret"}, status=403)
        return body

    def _signed(self, header: str, body: bytes) -> bool:
        scheme, _sep, given = header.partition("=")
        if not given.isascii():  # a digest is hex; bytes that are not UTF-8 arrive as surrogates, which do not encode
            return False
        expected = hmac.new(self._secret, body, hashlib.sha256).hexdigest()
        return scheme.strip().lower() == "sha256" and hmac.compare_digest(
            given.strip().lower().encode(), expected.encode()
        )


class GraphClient:
    """Calls to one Graph API version with one access token, on a session opened by `start`."""

    def __init__(self, *, channel: str, graph_url: str, version: str, token: str) -> None:
        self._channel = channel
        self._api = f"{graph_url}/{version}"
        self._token = token
        self.auth = {"Authorization": f"Bearer {token}"}
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        self._session = aiohttp.ClientSession()

    async def stop(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def started(self) -> aiohttp.ClientSession:
        if self._session is None:
            raise GraphError(f"the {self._channel} channel is not started")
        return self._session

    async def call(
        self,
        method: str,
        path: str,
        *,
        body: dict[str, Any] | None = None,
        params: Mapping[str, str] | None = None,
        session: aiohttp.ClientSession | None = None,
    ) -> dict[str, Any]:
        """One call within `REQUEST_TIMEOUT_S`: its JSON object, or `GraphError`."""
        session = session or self.started()
        try:
            async with asyncio.timeout(REQUEST_TIMEOUT_S):
                async with session.request(
                    method, self._api + path, json=body, params=params, headers=self.auth, allow_redirects=False
                ) as response:
                    raw = await response.read()
                    status, retry_after = response.status, seconds(response.headers.get("Retry-After", ""))
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise GraphError(f"{type(exc).__name__}: {exc}".rstrip(": ")) from None
        try:
            data = json.loads(raw)
        except ValueError:
            data = None
        if not isinstance(data, dict):  # a proxy's page: after a 2xx, nobody knows whether it was sent
            reason = f"HTTP {status}, not a Graph API answer"
            raise GraphError(reason, status=status if status >= 400 else 0, retry_after=retry_after)
        if status >= 300 or "error" in data:
            raise graph_error(status, data.get("error"), retry_after)
        return data

    def safe(self, text: str) -> str:
        """A reason fit for a log or a dead letter: no token, one short line."""
        if self._token:
            text = text.replace(self._token, "…")
        return text.replace("\n", " ")[:400]

    async def fetch(
        self,
        url: str,
        *,
        name: str,
        kind: str,
        max_bytes: int,
        size: int | None = None,
        allowed: Callable[[str], bool],
        token_for: Callable[[str], bool],
    ) -> Attachment | None:
        """The file at `url`, read within `max_bytes`; None when it failed (logged). A URL (or a
        redirect's) that `allowed` refuses is not read; the token goes where `token_for` says."""
        session = self.started()
        for _hop in range(MAX_REDIRECTS + 1):
            if not allowed(url):
                log.warning("%s: file %s not fetched: not a host Meta serves files from", self._channel, name)
                return None
            headers = self.auth if token_for(url) else None
            async with session.get(url, headers=headers, allow_redirects=False) as response:
                if response.status in _REDIRECTS and "Location" in response.headers:
                    url = urljoin(url, response.headers["Location"])
                    continue
                if response.status != 200:
                    log.warning("%s: fetching file %s failed: HTTP %s", self._channel, name, response.status)
                    return None
                return await capped_file(response, name=name, kind=kind, max_bytes=max_bytes, declared_size=size)
        log.warning("%s: fetching file %s failed: more than %d redirects", self._channel, name, MAX_REDIRECTS)
        return None


def graph_error(status: int, error: Any, retry_after: float | None) -> GraphError:
    """A Graph API error answer as a `GraphError`: "HTTP 400, error 10/2018278: message (details)"."""
    error = error if isinstance(error, dict) else {}
    code, subcode = number(error.get("code")), number(error.get("error_subcode"))
    message = error.get("message") if isinstance(error.get("message"), str) else ""
    data = error.get("error_data")
    details = data.get("details") if isinstance(data, dict) and isinstance(data.get("details"), str) else ""
    if details and details not in message:
        message = f"{message} ({details})"
    shown = f"{code}/{subcode}" if subcode is not None else f"{code}"
    return GraphError(
        f"HTTP {status}, error {shown}: {message}", status=status, code=code, subcode=subcode, retry_after=retry_after
    )


def number(value: Any) -> int | None:
    """A code as Meta writes it (a number, sometimes a string of digits); None otherwise."""
    if isinstance(value, bool):
        return None
    return value if isinstance(value, int) else bounded_int(value if isinstance(value, str) else "", max_digits=9)


def seconds(value: str) -> float | None:
    found = bounded_int(value.strip(), max_digits=6)
    return float(found) if found is not None else None


def json_text(value: Any) -> str:
    """A JSON string, "" for anything else."""
    return value if isinstance(value, str) else ""


def json_object(value: Any) -> dict[str, Any]:
    """A JSON object, {} for anything else."""
    return value if isinstance(value, dict) else {}


def json_objects(value: Any, where: str) -> list[dict[str, Any]]:
    """A list of JSON objects, [] when absent; `BadWebhook` naming `where` for anything else."""
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise BadWebhook(f"{where} is not a list of objects")
    return value
