"""`supporthub doctor` proves the WhatsApp number's credentials against the Graph API (the fake),
sending nothing, and names a wrong token without printing it."""

from __future__ import annotations

from pathlib import Path

from channels.whatsapp.stand_in import (
    ACCESS_TOKEN,
    APP_SECRET,
    DISPLAY_PHONE_NUMBER,
    GRAPH_VERSION,
    PHONE_NUMBER_ID,
    VERIFIED_NAME,
    VERIFY_TOKEN,
    FakeGraph,
)
from tests.integration.test_doctor import assert_no_secret, doctor, migrated  # noqa: F401 — the fixture


async def test_doctor_checks_the_whatsapp_number_and_names_a_wrong_token(
    graph: FakeGraph, migrated: str, indexed_data_dir: Path
) -> None:
    env = {
        "SUPPORTHUB_DATA_DIR": str(indexed_data_dir),
        "SUPPORTHUB_DATABASE_URL": migrated,
        "SUPPORTHUB_WHATSAPP__PHONE_NUMBER_ID": PHONE_NUMBER_ID,
        "SUPPORTHUB_WHATSAPP__ACCESS_TOKEN": ACCESS_TOKEN,
        "SUPPORTHUB_WHATSAPP__APP_SECRET": APP_SECRET,
        "SUPPORTHUB_WHATSAPP__VERIFY_TOKEN": VERIFY_TOKEN,
        "SUPPORTHUB_WHATSAPP__GRAPH_URL": graph.api_url,
        "SUPPORTHUB_WHATSAPP__GRAPH_VERSION": GRAPH_VERSION,
    }
    good = await doctor(env)
    status, detail = good.lines["whatsapp"]
    assert status == "OK", good.output
    assert detail == f"phone number {PHONE_NUMBER_ID}: {DISPLAY_PHONE_NUMBER} ({VERIFIED_NAME}), quality GREEN"
    assert graph.sent == [] and graph.reads == []
    assert_no_secret(good, env)

    wrong = {**env, "SUPPORTHUB_WHATSAPP__ACCESS_TOKEN": "EAAGwrong-doctor-token"}
    refused = await doctor(wrong)
    status, detail = refused.lines["whatsapp"]
    assert status == "FAIL" and refused.returncode == 1
    assert detail.startswith(f"phone number {PHONE_NUMBER_ID}: ") and "190" in detail, detail
    assert_no_secret(refused, wrong)
