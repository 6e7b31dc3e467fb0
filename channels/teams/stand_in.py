"""A local fake of Microsoft Teams' side of a bot: the Bot Framework's OpenID metadata and signing
keys, Entra's token endpoint, the Bot Connector API and a OneDrive download link, and the
activities Teams posts to a bot, signed the way the Bot Framework signs them.

`await fake.start()` serves `http://127.0.0.1:PORT`; point the channel at it with
`login_url = fake.url`, `openid_metadata_url = fake.openid_metadata_url` and
`service_url_hosts = file_hosts = ["127.0.0.1"]`, the app `APP_ID` / `APP_PASSWORD` in `TENANT_ID`.

What it answers, as Microsoft documents it:

- `GET /v1/.well-known/openidconfiguration`: the OpenID metadata ("Authenticate requests from the
  Bot Connector service to your bot", step 2), whose `jwks_uri` is `GET /v1/.well-known/keys`: one
  RSA key (`KEY_ID`) with the `endorsements` of the channels it signs for ("msteams" among them).
- `POST /{tenant}/oauth2/v2.0/token` ("Microsoft identity platform and the OAuth 2.0 client
  credentials flow"): a form with `grant_type=client_credentials`, `client_id`, `client_secret`
  and `scope`; answered `{"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599,
  "access_token"}`, or Entra's error JSON (`error`, `error_description` starting with the AADSTS
  code, `error_codes`, `timestamp`, `trace_id`, `correlation_id`): 401 `invalid_client`
  AADSTS7000215 for a wrong secret, 400 `unauthorized_client` AADSTS700016 for an unknown app,
  400 `invalid_request` AADSTS90002 for an unknown tenant. Each request is in `token_requests`.
- The Bot Connector ("API reference": "Send to conversation", "Reply to activity"), at the
  service URL `service_url(region)` = `{url}/{region}/`: `POST /{region}/v3/conversations/{id}/activities`
  and `…/activities/{replyToId}` with `Authorization: Bearer <a token the endpoint issued>`,
  answered 201 `{"id"}`; without it 401 `{"message": "Authorization has been denied for this
  request."}`. A `typing` activity is kept in `typing`, a `message` in `sent`; every call in
  `calls`. `remove_bot(conversation)` makes it 403 `BotNotInConversationRoster` for that
  conversation, as Teams answers once the bot is uninstalled or removed; `fail_next(status, …)`
  fails the next posts (`Retry-After` if asked).
- `add_file(data, name)`: a file at a OneDrive-shaped download link (`/personal/…/download.aspx?
  UniqueId=…&tempauth=…`), served to whoever brings its `tempauth` (no token: a bot should send
  none there); every GET on it is in `downloads`.

Activities: `personal_message`, `group_message`, `channel_message`, `card_submit` and
`file_message` build what Teams posts ("Bot Framework Activity schema"; Teams' "Conversation
basics", "Channel and group chat conversations with a bot", "Send and receive files"),
`signed_headers(activity)` its `Authorization` header (a token from this fake's key, for
`APP_ID`, naming the activity's serviceUrl; `forged=True` signs with another key under the same
key id) and `deliver(url, activity, headers)` posts it to the hub.
"""

from __future__ import annotations

import secrets
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any

import aiohttp
import jwt
from aiohttp import hdrs, web
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from core.sandbox.stand_in import Recorded, StandIn

APP_ID = "6f1c2a9e-3b4d-4e5f-8a7b-9c0d1e2f3a4b"
APP_PASSWORD = "Xq8~teams-test-client-secret.value_0123456789"
TENANT_ID = "0b7e4c2d-5a6f-4e8d-9c1b-3a2f4e6d8c0a"
"""The bot's own Entra tenant (a single-tenant bot)."""
CUSTOMERS_TENANT = "c3d2e1f0-a9b8-4c7d-8e6f-5a4b3c2d1e0f"
"""The customer's organisation."""
BOT_ID = f"28:{APP_ID}"
BOT_NAME = "Brightdesk Support"
CUSTOMER_AAD = "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d"
CUSTOMER_ID = (
    "29:1GcS4EyB_oSI8A88XmWBN7NJFyMqe3QGnJdgLfFGkJnVelzRGos0bPbpsfJjcbAD22bmKc4GMbrY2g4JDrrA8vM06X1-cHHle4zOE6U4ttcc"
)
CUSTOMER_NAME = "Ada Lovelace"
COLLEAGUE_AAD = "f0e1d2c3-b4a5-4968-8776-655443322110"
COLLEAGUE_NAME = "Grace Hopper"
PERSONAL_CONVERSATION = "a:1dzL6Io3VjZ5Y8lQdD-qG7bQ3Ux0Fhx4mQmWcYbT0cYz9oCkqP2nN5rLsHt7yJ1xR8vE4aB6gK3fW0uS2iM9pD"
GROUP_CHAT = "19:8b1f0e7a6d5c4b3a29180716f5e4d3c2@thread.v2"
TEAM_CHANNEL = "19:4d2c8e6f1a3b5c7d9e0f2a4b6c8d0e1f@thread.tacv2"
REGION = "amer"
ISSUER = "https://api.botframework.com"
KEY_ID = "fake-teams-signing-key"
ENDORSEMENTS = ("msteams", "skype", "webchat", "directline")
BOT_CONNECTOR_SCOPE = "https://api.botframework.com/.default"
TOKEN_LIFETIME_S = 3599


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordedCall(Recorded):
    """One Bot Connector request as it crossed the wire and what the fake answered."""

    method: str
    path: str
    conversation_id: str
    reply_to_id: str | None
    body: dict[str, Any] | None
    authorized: bool
    """Whether it carried a token the fake's token endpoint issued."""


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordedTokenRequest(Recorded):
    """One request to the token endpoint: its tenant and form, the secret left out."""

    tenant: str
    grant_type: str
    client_id: str
    scope: str


@dataclass(frozen=True, slots=True)
class RecordedDownload:
    """One GET on a file's download link: `authorized` whether it carried an Authorization header."""

    path: str
    authorized: bool
    status: int


@dataclass(frozen=True, slots=True)
class _Failure:
    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class _File:
    data: bytes
    tempauth: str


class FakeTeams(StandIn):
    """Teams' side of the bot `APP_ID` (see the module).

    State tests may read: `calls`, `sent` (the message activities accepted, in order), `typing`
    (the typing activities accepted), `token_requests`, `downloads`."""

    def __init__(self) -> None:
        super().__init__()
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self._forger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.calls: list[RecordedCall] = []
        self.sent: list[dict[str, Any]] = []
        self.typing: list[dict[str, Any]] = []
        self.token_requests: list[RecordedTokenRequest] = []
        self.downloads: list[RecordedDownload] = []
        self._issued: set[str] = set()
        self._removed: set[str] = set()
        self._failures: deque[_Failure] = deque()
        self._files: dict[str, _File] = {}

    @property
    def openid_metadata_url(self) -> str:
        return f"{self.url}/v1/.well-known/openidconfiguration"

    def service_url(self, region: str = REGION) -> str:
        """The Bot Connector's service URL as an activity names it (with its trailing slash)."""
        return f"{self.url}/{region}/"

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/v1/.well-known/openidconfiguration", self._openid)
        app.router.add_get("/v1/.well-known/keys", self._keys)
        app.router.add_post("/{tenant}/oauth2/v2.0/token", self._token)
        app.router.add_post("/{region}/v3/conversations/{conversation}/activities", self._activity)
        app.router.add_post("/{region}/v3/conversations/{conversation}/activities/{reply_to}", self._activity)
        app.router.add_get("/personal/{drive}/_layouts/15/download.aspx", self._download)
        return app

    async def wait_for_sent(self, count: int, *, timeout: float = 30.0) -> list[dict[str, Any]]:
        """Wait until at least `count` messages were accepted; all of them so far."""

        def expected() -> str:
            seen = [(call.path, call.status) for call in self.calls]
            return f"expected {count} message(s) sent, got {len(self.sent)}: {seen}"

        await self.wait_until(lambda: len(self.sent) >= count, timeout=timeout, expected=expected)
        return list(self.sent)

    def remove_bot(self, conversation_id: str) -> None:
        """The bot was removed from the conversation (uninstalled, or the team or chat removed it)."""
        self._removed.add(conversation_id)

    def fail_next(
        self, status: int, *, code: str = "ServiceError", retry_after: int | None = None, times: int = 1
    ) -> None:
        """The next `times` authorized messages posted to the Bot Connector ("typing…" goes through)
        are answered `status` with its error JSON for `code`, and send nothing."""
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
        body = {"error": {"code": code, "message": HTTPStatus(status).phrase}}
        self._failures.extend([_Failure(status, body, headers)] * times)

    def add_file(self, data: bytes, name: str) -> str:
        """Host `data` as a file a customer sent; its download URL, as the activity carries it
        (the fake must be started)."""
        if not self.port:
            raise RuntimeError("start the fake before adding files: their URLs name its port")
        unique = str(uuid.uuid4())
        self._files[unique] = _File(data, secrets.token_urlsafe(24))
        return (
            f"{self.url}/personal/ada_contoso_onmicrosoft_com/_layouts/15/download.aspx"
            f"?UniqueId={unique}&Translate=false&tempauth={self._files[unique].tempauth}&ApiVersion=2.0"
        )

    # -- tokens --------------------------------------------------------------------------------

    def mint_token(
        self,
        *,
        service_url: str | None = None,
        audience: str = APP_ID,
        issuer: str = ISSUER,
        expires_in: int = 3600,
        forged: bool = False,
        key_id: str = KEY_ID,
    ) -> str:
        """A token as the Bot Framework signs one for a request to the bot (its claims: iss, aud,
        serviceurl, nbf, exp); `forged` signs it with another key under the same key id."""
        now = int(time.time())
        claims = {
            "serviceurl": service_url or self.service_url(),
            "nbf": now - 5,
            "exp": now + expires_in,
            "iss": issuer,
            "aud": audience,
        }
        key = self._forger if forged else self.key
        return jwt.encode(claims, key, algorithm="RS256", headers={"kid": key_id, "x5t": key_id})

    def signed_headers(self, activity: dict[str, Any], *, forged: bool = False, **token: Any) -> dict[str, str]:
        """The headers the Bot Framework posts `activity` with: its token names the activity's
        serviceUrl (unless `token` says another, with what else `mint_token` takes)."""
        token.setdefault("service_url", str(activity.get("serviceUrl", "")))
        bearer = self.mint_token(forged=forged, **token)
        return {"Authorization": f"Bearer {bearer}", "Content-Type": "application/json; charset=utf-8"}

    async def _openid(self, request: web.Request) -> web.Response:
        return web.json_response(
            {
                "issuer": ISSUER,
                "authorization_endpoint": "https://invalid.botframework.com",
                "jwks_uri": f"{self.url}/v1/.well-known/keys",
                "id_token_signing_alg_values_supported": ["RS256"],
                "token_endpoint_auth_methods_supported": ["private_key_jwt"],
            }
        )

    async def _keys(self, request: web.Request) -> web.Response:
        jwk = RSAAlgorithm.to_jwk(self.key.public_key(), as_dict=True)
        jwk |= {"kid": KEY_ID, "x5t": KEY_ID, "use": "sig", "endorsements": list(ENDORSEMENTS)}
        return web.json_response({"keys": [jwk]})

    async def _token(self, request: web.Request) -> web.Response:
        form = await request.post()
        tenant = request.match_info["tenant"]
        client_id, secret = str(form.get("client_id", "")), str(form.get("client_secret", ""))
        if form.get("grant_type") != "client_credentials":
            status, body = _entra_error(
                400, "unsupported_grant_type", 70003, "The app requested an unsupported grant type."
            )
        elif tenant not in (TENANT_ID, "botframework.com"):
            status, body = _entra_error(400, "invalid_request", 90002, f"Tenant '{tenant}' not found.")
        elif client_id != APP_ID:
            message = f"Application with identifier '{client_id}' was not found in the directory '{tenant}'."
            status, body = _entra_error(400, "unauthorized_client", 700016, message)
        elif not secrets.compare_digest(secret, APP_PASSWORD):
            message = (
                "Invalid client secret provided. Ensure the secret being sent in the request is the client "
                f"secret value, not the client secret ID, for a secret added to app '{APP_ID}'."
            )
            status, body = _entra_error(401, "invalid_client", 7000215, message)
        else:
            token = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.fake-teams." + secrets.token_urlsafe(32)
            self._issued.add(token)
            status = 200
            body = {
                "token_type": "Bearer",
                "expires_in": TOKEN_LIFETIME_S,
                "ext_expires_in": TOKEN_LIFETIME_S,
                "access_token": token,
            }
        self.token_requests.append(
            RecordedTokenRequest(
                status=status,
                response={key: value for key, value in body.items() if key != "access_token"},
                tenant=tenant,
                grant_type=str(form.get("grant_type", "")),
                client_id=client_id,
                scope=str(form.get("scope", "")),
            )
        )
        await self.recorded()
        return web.json_response(body, status=status)

    # -- the Bot Connector ---------------------------------------------------------------------

    async def _activity(self, request: web.Request) -> web.Response:
        conversation = request.match_info["conversation"]
        scheme, _space, token = request.headers.get(hdrs.AUTHORIZATION, "").partition(" ")
        authorized = scheme.lower() == "bearer" and token.strip() in self._issued
        try:
            body: Any = await request.json()
        except ValueError:
            body = None
        body = body if isinstance(body, dict) else None
        headers: dict[str, str] = {}
        answer: dict[str, Any]
        if not authorized:
            status, answer = 401, {"message": "Authorization has been denied for this request."}
        elif body is None or body.get("type") not in ("message", "typing"):
            status, answer = 400, {"error": {"code": "BadArgument", "message": "Unknown activity type"}}
        elif conversation in self._removed:
            status = 403
            answer = {
                "error": {
                    "code": "BotNotInConversationRoster",
                    "message": "The bot is not part of the conversation roster.",
                }
            }
        elif self._failures and body["type"] == "message":
            failure = self._failures.popleft()
            status, answer, headers = failure.status, failure.body, failure.headers
        elif body["type"] == "message" and not (body.get("text") or body.get("attachments")):
            status, answer = (
                400,
                {"error": {"code": "BadArgument", "message": "Activity must have text or attachments"}},
            )
        else:
            status, answer = 201, {"id": str(int(time.time() * 1000) + len(self.calls))}
            (self.sent if body["type"] == "message" else self.typing).append(body)
        self.calls.append(
            RecordedCall(
                status=status,
                response=answer,
                method=request.method,
                path=request.path,
                conversation_id=conversation,
                reply_to_id=request.match_info.get("reply_to"),
                body=body,
                authorized=authorized,
            )
        )
        await self.recorded()
        return web.json_response(answer, status=status, headers=headers)

    async def _download(self, request: web.Request) -> web.Response:
        file = self._files.get(request.query.get("UniqueId", ""))
        if file is None:
            response = web.Response(status=404, text="File Not Found.")
        elif not secrets.compare_digest(request.query.get("tempauth", ""), file.tempauth):
            response = web.Response(status=401, text="Unauthorized")
        else:
            response = web.Response(body=file.data, content_type="application/octet-stream")
        self.downloads.append(RecordedDownload(request.path, hdrs.AUTHORIZATION in request.headers, response.status))
        return response

    # -- activities as Teams posts them ----------------------------------------------------------

    def personal_message(self, text: str, **more: Any) -> dict[str, Any]:
        """The customer writing in their one-to-one chat with the bot."""
        return self._message(text, conversation={"conversationType": "personal", "id": PERSONAL_CONVERSATION}, **more)

    def group_message(self, text: str, *, mention: bool = True, **more: Any) -> dict[str, Any]:
        """A message in a group chat the bot is part of; `mention`: it @mentions the bot."""
        conversation = {"conversationType": "groupChat", "id": GROUP_CHAT}
        return self._message(text, conversation=conversation, mention=mention, **more)

    def channel_message(
        self, text: str, *, mention: bool = True, post_id: str = "1700000000100", **more: Any
    ) -> dict[str, Any]:
        """A post (or a reply under the post `post_id`) in a team's channel."""
        conversation = {"conversationType": "channel", "id": f"{TEAM_CHANNEL};messageid={post_id}", "isGroup": True}
        channel_data = {"teamsChannelId": TEAM_CHANNEL, "teamsTeamId": TEAM_CHANNEL, "channel": {"id": TEAM_CHANNEL}}
        return self._message(text, conversation=conversation, mention=mention, channel_data=channel_data, **more)

    def card_submit(self, data: dict[str, Any], *, reply_to: str = "", **more: Any) -> dict[str, Any]:
        """An Adaptive Card's `Action.Submit` pressed in the personal chat: a message with no
        text whose `value` is the button's data."""
        activity = self.personal_message("", **more)
        activity.pop("text")
        activity["value"] = data
        if reply_to:
            activity["replyToId"] = reply_to
        return activity

    def file_message(self, url: str, name: str, *, text: str = "", **more: Any) -> dict[str, Any]:
        """A file sent in the personal chat, as its download info attachment."""
        activity = self.personal_message(text, **more)
        extension = name.rsplit(".", 1)[-1] if "." in name else ""
        activity["attachments"] = [
            {
                "contentType": "application/vnd.microsoft.teams.file.download.info",
                "contentUrl": f"{self.url}/personal/ada_contoso_onmicrosoft_com/Documents/Microsoft Teams Chat Files/{name}",
                "name": name,
                "content": {"downloadUrl": url, "uniqueId": str(uuid.uuid4()), "fileType": extension},
            }
        ]
        return activity

    def _message(
        self,
        text: str,
        *,
        conversation: dict[str, Any],
        mention: bool = False,
        activity_id: str | None = None,
        sender: tuple[str, str] = (CUSTOMER_AAD, CUSTOMER_NAME),
        service_url: str | None = None,
        locale: str = "en-US",
        channel_data: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        aad, name = sender
        at = datetime.now(UTC)
        activity: dict[str, Any] = {
            "type": "message",
            "id": activity_id or str(int(at.timestamp() * 1000) + secrets.randbelow(1000)),
            "timestamp": at.isoformat().replace("+00:00", "Z"),
            "localTimestamp": at.isoformat(),
            "serviceUrl": service_url or self.service_url(),
            "channelId": "msteams",
            "from": {"id": CUSTOMER_ID if aad == CUSTOMER_AAD else f"29:1{aad}", "name": name, "aadObjectId": aad},
            "conversation": {**conversation, "tenantId": CUSTOMERS_TENANT},
            "recipient": {"id": BOT_ID, "name": BOT_NAME},
            "textFormat": "plain",
            "locale": locale,
            "text": f"<at>{BOT_NAME}</at> {text}" if mention else text,
            "entities": [{"type": "clientInfo", "locale": locale, "country": "US", "platform": "Web"}],
            "channelData": {**(channel_data or {}), "tenant": {"id": CUSTOMERS_TENANT}},
        }
        if mention:
            activity["entities"].append(
                {"type": "mention", "text": f"<at>{BOT_NAME}</at>", "mentioned": {"id": BOT_ID, "name": BOT_NAME}}
            )
        return activity


def _entra_error(status: int, error: str, code: int, message: str) -> tuple[int, dict[str, Any]]:
    trace, correlation = str(uuid.uuid4()), str(uuid.uuid4())
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%SZ")
    return status, {
        "error": error,
        "error_description": f"AADSTS{code}: {message}\r\nTrace ID: {trace}\r\nCorrelation ID: {correlation}\r\nTimestamp: {stamp}",
        "error_codes": [code],
        "timestamp": stamp,
        "trace_id": trace,
        "correlation_id": correlation,
    }


async def deliver(url: str, activity: dict[str, Any], headers: dict[str, str]) -> tuple[int, str]:
    """POST `activity` to the hub's messaging endpoint `url` with `headers` (`signed_headers`);
    the status and body it was answered."""
    async with aiohttp.ClientSession() as session, session.post(url, json=activity, headers=headers) as response:
        return response.status, await response.text()
