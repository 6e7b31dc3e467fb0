"""The bot's token for the Bot Connector: asked of the Teams fake's token endpoint once, kept
until five minutes before it expires, shared by callers that ask together, and a refusal named
by Entra's error without the secret."""

from __future__ import annotations

import asyncio

import pytest
from microsoft_agents.hosting.core import AgentAuthConfiguration

from channels.teams.stand_in import APP_ID, APP_PASSWORD, BOT_CONNECTOR_SCOPE, TENANT_ID, TOKEN_LIFETIME_S, FakeTeams
from channels.teams.token_provider import ClientCredentialsTokens, TokenRefused
from tests.ports import free_port

SCOPES = [BOT_CONNECTOR_SCOPE]


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def provider(teams: FakeTeams, *, secret: str = APP_PASSWORD, clock: Clock | None = None) -> ClientCredentialsTokens:
    configuration = AgentAuthConfiguration(client_id=APP_ID, tenant_id=TENANT_ID, client_secret=secret)
    url = f"{teams.url}/{TENANT_ID}/oauth2/v2.0/token"
    return ClientCredentialsTokens(configuration, token_url=url, clock=clock or Clock())  # type: ignore[abstract]


async def test_a_token_is_kept_until_five_minutes_before_it_expires(teams: FakeTeams) -> None:
    clock = Clock()
    tokens = provider(teams, clock=clock)
    first = await tokens.get_access_token("https://api.botframework.com", SCOPES)
    clock.now += TOKEN_LIFETIME_S - 301
    assert await tokens.get_access_token("https://api.botframework.com", SCOPES) == first
    assert len(teams.token_requests) == 1
    clock.now += 2  # now within five minutes of its expiry
    assert await tokens.get_access_token("https://api.botframework.com", SCOPES) != first
    assert len(teams.token_requests) == 2
    request = teams.token_requests[0]
    assert (request.tenant, request.grant_type, request.client_id, request.scope) == (
        TENANT_ID,
        "client_credentials",
        APP_ID,
        BOT_CONNECTOR_SCOPE,
    )


async def test_callers_that_ask_together_share_one_request_and_force_refresh_asks_again(teams: FakeTeams) -> None:
    tokens = provider(teams)
    got = await asyncio.gather(*(tokens.get_access_token("", SCOPES) for _ in range(5)))
    assert len(set(got)) == 1 and len(teams.token_requests) == 1
    assert await tokens.get_access_token("", SCOPES, force_refresh=True) != got[0]
    assert len(teams.token_requests) == 2


async def test_a_wrong_secret_is_refused_with_entras_reason_and_without_the_secret(teams: FakeTeams) -> None:
    wrong = "Zz9~a-wrong-client-secret-value"
    with pytest.raises(TokenRefused) as refused:
        await provider(teams, secret=wrong).get_access_token("", SCOPES)
    said = str(refused.value)
    assert "401 invalid_client: AADSTS7000215: Invalid client secret provided." in said
    assert wrong not in said and "Trace ID" not in said


async def test_an_unreachable_token_endpoint_is_a_refusal_too() -> None:
    configuration = AgentAuthConfiguration(client_id=APP_ID, tenant_id=TENANT_ID, client_secret=APP_PASSWORD)
    tokens = ClientCredentialsTokens(configuration, token_url=f"http://127.0.0.1:{free_port()}/t/oauth2/v2.0/token")  # type: ignore[abstract]
    with pytest.raises(TokenRefused, match="ClientConnectorError"):
        await tokens.get_access_token("", SCOPES)
