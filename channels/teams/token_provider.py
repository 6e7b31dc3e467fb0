"""The bot's own access token, which every call to the Bot Connector (a reply, "typing…") carries:
OAuth 2.0 client credentials (the app id and its client secret) posted to Entra's token endpoint,
`{login_url}/{tenant}/oauth2/v2.0/token`, for the scope https://api.botframework.com/.default.

The Agents SDK asks its connections for tokens; this provider is plugged into its public
`ConnectionManager(provider_factory=...)` instead of the SDK's MSAL one, which takes only an
https authority, first asks login.microsoftonline.com to discover its instance, and calls MSAL's
blocking client on the event loop. A token is kept until 5 minutes before it expires, one per
scope set; callers that ask together share one request.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NoReturn

import aiohttp
from microsoft_agents.hosting.core import AccessTokenProviderBase, AgentAuthConfiguration

REFRESH_BEFORE_S = 300
TIMEOUT_S = 15


class TokenRefused(Exception):
    """Entra gave the app no token; the message says why (its AADSTS error), never the secret."""


@dataclass(frozen=True, slots=True)
class _Kept:
    token: str
    expires_at: float


class ClientCredentialsTokens(AccessTokenProviderBase):
    """Access tokens for the app (see the module)."""

    def __init__(
        self,
        configuration: AgentAuthConfiguration,
        *,
        token_url: str,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._configuration = configuration
        self._token_url = token_url
        self._clock = clock
        self._kept: dict[tuple[str, ...], _Kept] = {}
        self._lock = asyncio.Lock()

    @property
    def configuration(self) -> AgentAuthConfiguration:
        return self._configuration

    async def get_access_token(self, resource_url: str, scopes: list[str], force_refresh: bool = False) -> str:
        """A token for `scopes`, from the cache unless it expires within 5 minutes (or
        `force_refresh`); `TokenRefused` when Entra refuses the credentials."""
        key = tuple(sorted(scopes))
        async with self._lock:
            kept = self._kept.get(key)
            if kept is not None and not force_refresh and kept.expires_at - REFRESH_BEFORE_S > self._clock():
                return kept.token
            kept = await self._request(scopes)
            self._kept[key] = kept
            return kept.token

    async def _request(self, scopes: list[str]) -> _Kept:
        form = {
            "grant_type": "client_credentials",
            "client_id": str(self._configuration.CLIENT_ID),
            "client_secret": str(self._configuration.CLIENT_SECRET),
            "scope": " ".join(scopes),
        }
        asked_at = self._clock()
        try:
            async with (
                aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=TIMEOUT_S)) as session,
                session.post(self._token_url, data=form, allow_redirects=False) as response,
            ):
                answer: Any = await response.json(content_type=None)
                status = response.status
        except (aiohttp.ClientError, TimeoutError, ValueError) as failure:
            raise TokenRefused(f"{self._token_url}: {type(failure).__name__}: {failure}"[:300]) from None
        if not isinstance(answer, dict):
            _refused(self._token_url, status, {})
        token, lifetime = answer.get("access_token"), answer.get("expires_in")
        if status != 200 or not isinstance(token, str) or not token:
            _refused(self._token_url, status, answer)
        seconds = int(lifetime) if isinstance(lifetime, int | str) and str(lifetime).isdigit() else 3599
        return _Kept(token, asked_at + seconds)

    def get_token_credential(self) -> NoReturn:
        """Not used for the Bot Connector: the SDK asks for it only for Azure SDK clients."""
        raise NotImplementedError("the Teams channel calls no Azure SDK client")


def _refused(url: str, status: int, answer: dict[str, Any]) -> NoReturn:
    """The token endpoint's error, as Entra words it: `error` and the first line of
    `error_description` ("AADSTS7000215: Invalid client secret provided. …"), which names the
    app but never the secret."""
    error = str(answer.get("error") or f"HTTP {status}")[:80]
    description = str(answer.get("error_description") or "").splitlines()[:1]
    raise TokenRefused(f"{url} answered {status} {error}" + (f": {description[0][:300]}" if description else ""))
