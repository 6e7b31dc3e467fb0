"""The Bot Framework token check refuses each kind of token the Bot Connector's rules refuse, for
the reason it names, and reads Microsoft's keys no more often than it must: the keys come from
the Teams fake's OpenID metadata, as they come from login.botframework.com."""

from __future__ import annotations

import time
from typing import Any

import jwt
import pytest

from channels.teams.jwt_validator import BotFrameworkTokens, KeysUnavailable, TokenRejected
from channels.teams.stand_in import APP_ID, ISSUER, KEY_ID, FakeTeams


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def validator(teams: FakeTeams, clock: Clock | None = None) -> BotFrameworkTokens:
    return BotFrameworkTokens(app_id=APP_ID, metadata_url=teams.openid_metadata_url, clock=clock or Clock())


def signed(teams: FakeTeams, *, algorithm: str = "RS256", key: Any = None, **claims: Any) -> str:
    """A token with the fake's key (or `key`) and `claims` over the usual ones."""
    now = int(time.time())
    values = {"serviceurl": teams.service_url(), "nbf": now - 5, "exp": now + 3600, "iss": ISSUER, "aud": APP_ID}
    values.update(claims)
    return jwt.encode(values, key if key is not None else teams.key, algorithm=algorithm, headers={"kid": KEY_ID})


async def check(
    teams: FakeTeams, token: str | None, *, channel: str = "msteams", tokens: BotFrameworkTokens | None = None
) -> dict[str, Any]:
    checker = tokens or validator(teams)
    authorization = f"Bearer {token}" if token is not None else None
    return await checker.validate(authorization, channel_id=channel, service_url=teams.service_url())


async def test_a_token_the_bot_framework_signed_for_this_bot_is_taken(teams: FakeTeams) -> None:
    claims = await check(teams, teams.mint_token())
    assert (claims["aud"], claims["iss"], claims["serviceurl"]) == (APP_ID, ISSUER, teams.service_url())


async def test_clock_skew_of_up_to_five_minutes_is_allowed(teams: FakeTeams) -> None:
    now = int(time.time())
    assert await check(teams, signed(teams, exp=now - 240))
    assert await check(teams, signed(teams, nbf=now + 240))


@pytest.mark.parametrize(
    ("authorization", "reason"),
    [
        (None, "no bearer token"),
        ("Basic dXNlcjpwYXNz", "no bearer token"),
        ("Bearer ", "no bearer token"),
        ("Bearer not.a.jwt", "not a JSON Web Token"),
    ],
)
async def test_a_request_without_a_bearer_token_is_refused(
    teams: FakeTeams, authorization: str | None, reason: str
) -> None:
    with pytest.raises(TokenRejected, match=reason):
        await validator(teams).validate(authorization, channel_id="msteams", service_url=teams.service_url())


async def test_each_broken_rule_is_refused_for_its_reason(teams: FakeTeams) -> None:
    now = int(time.time())
    cases = {
        "signed with 'HS256', not RS256": signed(teams, algorithm="HS256", key="a-shared-secret-of-thirty-two-bytes!"),
        "InvalidSignatureError": teams.mint_token(forged=True),
        "a key the Bot Framework does not publish": teams.mint_token(key_id="another-key"),
        "InvalidIssuerError": signed(teams, iss="https://sts.windows.net/some-tenant/"),
        "InvalidAudienceError": signed(teams, aud="00000000-0000-0000-0000-000000000000"),
        "ExpiredSignatureError": signed(teams, exp=now - 400),
        "ImmatureSignatureError": signed(teams, nbf=now + 400),
        "its serviceurl claim is not the activity's serviceUrl": signed(
            teams, serviceurl="https://smba.trafficmanager.net/emea/"
        ),
    }
    tokens = validator(teams)
    for reason, token in cases.items():
        with pytest.raises(TokenRejected) as refused:
            await check(teams, token, tokens=tokens)
        assert reason in str(refused.value), (reason, str(refused.value))
    without_claim = jwt.encode(
        {"nbf": now, "exp": now + 60, "iss": ISSUER, "aud": APP_ID},
        teams.key,
        algorithm="RS256",
        headers={"kid": KEY_ID},
    )
    with pytest.raises(TokenRejected, match="serviceurl claim"):
        await check(teams, without_claim, tokens=tokens)
    without_expiry = jwt.encode(
        {"iss": ISSUER, "aud": APP_ID, "serviceurl": teams.service_url()},
        teams.key,
        algorithm="RS256",
        headers={"kid": KEY_ID},
    )
    with pytest.raises(TokenRejected, match="MissingRequiredClaimError"):
        await check(teams, without_expiry, tokens=tokens)


async def test_a_key_not_endorsed_for_the_activitys_channel_is_refused(teams: FakeTeams) -> None:
    with pytest.raises(TokenRejected, match="not endorsed for the channel 'telegram'"):
        await check(teams, teams.mint_token(), channel="telegram")


async def test_the_keys_are_read_once_a_day_and_an_unknown_key_at_most_once_a_minute(teams: FakeTeams) -> None:
    clock = Clock()
    tokens = validator(teams, clock)
    reads = []
    read_keys = tokens.read_keys

    async def counted() -> Any:
        reads.append(clock.now)
        return await read_keys()

    tokens.read_keys = counted  # type: ignore[method-assign]
    for _ in range(3):
        await check(teams, teams.mint_token(), tokens=tokens)
    assert len(reads) == 1
    for _ in range(3):  # a forged key id may come in a flood: Microsoft is asked once
        with pytest.raises(TokenRejected):
            await check(teams, teams.mint_token(key_id="rolled-over"), tokens=tokens)
    assert len(reads) == 1
    clock.now += 61  # a minute on, an unknown key id is looked for again (Microsoft rolls keys over)
    with pytest.raises(TokenRejected):
        await check(teams, teams.mint_token(key_id="rolled-over"), tokens=tokens)
    clock.now += 24 * 3600 + 1
    await check(teams, teams.mint_token(), tokens=tokens)
    assert len(reads) == 3


async def test_keys_that_cannot_be_read_are_not_the_callers_fault(teams: FakeTeams) -> None:
    tokens = BotFrameworkTokens(app_id=APP_ID, metadata_url=f"{teams.url}/v1/.well-known/missing")
    with pytest.raises(KeysUnavailable, match="HTTP 404"):
        await check(teams, teams.mint_token(), tokens=tokens)
