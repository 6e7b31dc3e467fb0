"""Proof that a request to `/teams/messages` comes from the Bot Framework for this bot: the JSON
Web Token in its `Authorization: Bearer` header, checked as the Bot Connector's authentication
rules ask ("Authenticate requests from the Bot Connector service to your bot"):

1. the token is signed RS256 by a key the OpenID metadata (`teams.openid_metadata_url`) lists
   under its `jwks_uri`, and that key is endorsed for the activity's channel ("msteams");
2. its issuer is https://api.botframework.com and its audience this bot's app id;
3. it is within its validity (exp, nbf), give or take 5 minutes of clock skew;
4. its `serviceurl` claim is the activity's `serviceUrl`: a token lifted from one request
   cannot send the bot's replies, and its token, elsewhere.

The Agents SDK's own check (`jwt_authorization_middleware`) hard-codes Microsoft's sign-in hosts,
which nothing local can stand in for, so the channel checks the token itself with PyJWT; what it
proves becomes the SDK's `ClaimsIdentity` for the turn. The keys are read once a day, and again
(at most once a minute, so forged key ids cannot make the hub hammer Microsoft) when a token names
a key not seen yet: Microsoft rolls its keys over that way.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from typing import Any

import aiohttp
import jwt

BOT_FRAMEWORK_ISSUER = "https://api.botframework.com"
CLOCK_SKEW_S = 300
KEYS_FOR_S = 24 * 3600
UNKNOWN_KEY_REFETCH_S = 60
FETCH_TIMEOUT_S = 10


class TokenRejected(Exception):
    """The request did not prove it came from the Bot Framework for this bot; why, for the log."""


class KeysUnavailable(Exception):
    """The signing keys could not be read (Microsoft's metadata unreachable): nothing can be
    checked now, so the request is refused for a while (Teams sends it again)."""


class BotFrameworkTokens:
    """Checks the tokens Teams sends the bot with (see the module)."""

    def __init__(self, *, app_id: str, metadata_url: str, clock: Callable[[], float] = time.monotonic) -> None:
        self._app_id = app_id
        self._metadata_url = metadata_url
        self._clock = clock
        self._keys: dict[str, Mapping[str, Any]] = {}
        self._read_at: float | None = None
        self._lock = asyncio.Lock()

    async def validate(self, authorization: str | None, *, channel_id: str, service_url: str) -> dict[str, Any]:
        """The token's claims, once every rule of the module holds; `TokenRejected` saying which
        does not, `KeysUnavailable` when the keys could not be read."""
        scheme, _space, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise TokenRejected("no bearer token")
        token = token.strip()
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise TokenRejected("not a JSON Web Token") from None
        if header.get("alg") != "RS256":
            raise TokenRejected(f"signed with {str(header.get('alg'))[:20]!r}, not RS256")
        key = await self._key(str(header.get("kid", "")))
        endorsements = key.get("endorsements")
        if isinstance(endorsements, list) and channel_id not in endorsements:
            raise TokenRejected(f"the signing key is not endorsed for the channel {channel_id[:40]!r}")
        try:
            claims = jwt.decode(
                token,
                key=jwt.PyJWK(dict(key), algorithm="RS256"),
                algorithms=["RS256"],
                audience=self._app_id,
                issuer=BOT_FRAMEWORK_ISSUER,
                leeway=CLOCK_SKEW_S,
                options={"require": ["exp", "iss", "aud"]},
            )
        except jwt.PyJWTError as failure:
            raise TokenRejected(f"{type(failure).__name__}: {failure}") from None
        claimed = claims.get("serviceurl")
        if not isinstance(claimed, str) or claimed.rstrip("/") != service_url.rstrip("/"):
            raise TokenRejected("its serviceurl claim is not the activity's serviceUrl")
        return claims

    async def _key(self, kid: str) -> Mapping[str, Any]:
        async with self._lock:
            now = self._clock()
            stale = self._read_at is None or now - self._read_at > KEYS_FOR_S
            rolled = kid not in self._keys and (self._read_at is None or now - self._read_at > UNKNOWN_KEY_REFETCH_S)
            if stale or rolled:
                self._keys = await self.read_keys()
                self._read_at = now
        key = self._keys.get(kid)
        if key is None:
            raise TokenRejected("signed by a key the Bot Framework does not publish")
        return key

    async def read_keys(self) -> dict[str, Mapping[str, Any]]:
        """The signing keys the metadata's `jwks_uri` lists, by key id."""
        try:
            async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=FETCH_TIMEOUT_S)) as session:
                metadata = await _json(session, self._metadata_url)
                jwks_uri = metadata.get("jwks_uri")
                if not isinstance(jwks_uri, str) or not jwks_uri.startswith(("https://", "http://")):
                    raise KeysUnavailable(f"{self._metadata_url} names no jwks_uri")
                keys = (await _json(session, jwks_uri)).get("keys")
        except (aiohttp.ClientError, TimeoutError, ValueError) as failure:
            raise KeysUnavailable(f"{self._metadata_url}: {type(failure).__name__}: {failure}"[:300]) from None
        if not isinstance(keys, list):
            raise KeysUnavailable(f"{self._metadata_url}: its keys are not a list")
        return {str(key["kid"]): key for key in keys if isinstance(key, dict) and isinstance(key.get("kid"), str)}


async def _json(session: aiohttp.ClientSession, url: str) -> dict[str, Any]:
    async with session.get(url, allow_redirects=False) as response:
        if response.status != 200:
            raise KeysUnavailable(f"{url} answered HTTP {response.status}")
        found = await response.json(content_type=None)
    if not isinstance(found, dict):
        raise KeysUnavailable(f"{url} did not answer a JSON object")
    return found
