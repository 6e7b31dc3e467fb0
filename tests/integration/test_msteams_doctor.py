"""`supporthub doctor` proves the Teams bot's app id and password against Entra's token endpoint and
reads the keys Teams signs with (a fake of each), sending nothing, and names a wrong password by
Entra's error without printing it: the lines docs/channels/teams.md shows."""

from __future__ import annotations

from pathlib import Path

from channels.teams.stand_in import APP_ID, APP_PASSWORD, TENANT_ID, FakeTeams
from tests.integration.test_doctor import assert_no_secret, doctor, migrated  # noqa: F401 — the fixture

TEAMS_OK = f"app {APP_ID} (tenant {TENANT_ID}): a Bot Connector token issued, Teams' signing keys read"
"""The OK line's detail as docs/channels/teams.md shows it (the fake's app and tenant)."""


def teams_env(teams: FakeTeams, *, password: str = APP_PASSWORD) -> dict[str, str]:
    return {
        "SUPPORTHUB_TEAMS__APP_ID": APP_ID,
        "SUPPORTHUB_TEAMS__APP_PASSWORD": password,
        "SUPPORTHUB_TEAMS__TENANT_ID": TENANT_ID,
        "SUPPORTHUB_TEAMS__LOGIN_URL": teams.url,
        "SUPPORTHUB_TEAMS__OPENID_METADATA_URL": teams.openid_metadata_url,
    }


async def test_doctor_proves_the_app_password_and_names_a_wrong_one_by_entras_error(
    teams: FakeTeams, migrated: str, indexed_data_dir: Path
) -> None:
    env = {"SUPPORTHUB_DATA_DIR": str(indexed_data_dir), "SUPPORTHUB_DATABASE_URL": migrated, **teams_env(teams)}
    good = await doctor(env)
    assert good.lines["teams"] == ("OK", TEAMS_OK), good.output
    assert [(request.tenant, request.status) for request in teams.token_requests] == [(TENANT_ID, 200)]
    assert teams.calls == [] and teams.sent == []  # nothing sent to anyone
    assert_no_secret(good, env)

    wrong = {**env, **teams_env(teams, password="Wq7~a-wrong-doctor-client-secret")}
    refused = await doctor(wrong)
    assert refused.returncode == 1, refused.output
    status, detail = refused.lines["teams"]
    assert status == "FAIL" and detail.startswith(f"app {APP_ID}: {teams.url}/{TENANT_ID}/oauth2/v2.0/token"), detail
    assert "401 invalid_client: AADSTS7000215: Invalid client secret provided." in detail
    assert teams.calls == []
    assert_no_secret(refused, wrong)
