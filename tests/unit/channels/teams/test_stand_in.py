"""The Teams fake itself answers as Microsoft documents it where the channel's tests do not reach:
Entra's refusals for an unknown tenant and app, the Bot Connector's for a token it never issued,
and a download link's for a wrong `tempauth`."""

from __future__ import annotations

import aiohttp

from channels.teams.stand_in import (
    APP_ID,
    APP_PASSWORD,
    BOT_CONNECTOR_SCOPE,
    PERSONAL_CONVERSATION,
    TENANT_ID,
    FakeTeams,
)


async def token(teams: FakeTeams, *, tenant: str = TENANT_ID, client_id: str = APP_ID) -> tuple[int, dict[str, object]]:
    form = {
        "grant_type": "client_credentials",
        "client_id": client_id,
        "client_secret": APP_PASSWORD,
        "scope": BOT_CONNECTOR_SCOPE,
    }
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{teams.url}/{tenant}/oauth2/v2.0/token", data=form) as answer,
    ):
        return answer.status, await answer.json()


async def test_entra_refuses_an_unknown_tenant_and_app_by_their_aadsts_codes(teams: FakeTeams) -> None:
    status, body = await token(teams, tenant="contoso.example")
    assert (status, body["error"], body["error_codes"]) == (400, "invalid_request", [90002])
    status, body = await token(teams, client_id="00000000-0000-0000-0000-000000000000")
    assert (status, body["error"], body["error_codes"]) == (400, "unauthorized_client", [700016])
    status, body = await token(teams)
    assert status == 200 and body["token_type"] == "Bearer" and body["expires_in"] == 3599


async def test_the_bot_connector_takes_only_a_token_the_endpoint_issued(teams: FakeTeams) -> None:
    url = f"{teams.service_url()}v3/conversations/{PERSONAL_CONVERSATION}/activities"
    activity = {"type": "message", "text": "hello"}
    async with aiohttp.ClientSession() as session:
        async with session.post(
            url, json=activity, headers={"Authorization": f"Bearer {teams.mint_token()}"}
        ) as answer:
            assert answer.status == 401  # a Bot Framework token to the bot is not the bot's own
        _status, body = await token(teams)
        async with session.post(
            url, json=activity, headers={"Authorization": f"Bearer {body['access_token']}"}
        ) as answer:
            assert answer.status == 201 and (await answer.json())["id"]
    assert [call.authorized for call in teams.calls] == [False, True] and teams.sent == [activity]


async def test_a_download_link_serves_its_file_only_with_its_own_tempauth(teams: FakeTeams) -> None:
    url = teams.add_file(b"%PDF-1.7", "a.pdf")
    async with aiohttp.ClientSession() as session:
        async with session.get(url) as answer:
            assert answer.status == 200 and await answer.read() == b"%PDF-1.7"
        async with session.get(url.replace("tempauth=", "tempauth=x")) as answer:
            assert answer.status == 401
    assert [(download.status, download.authorized) for download in teams.downloads] == [(200, False), (401, False)]
