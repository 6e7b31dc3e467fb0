"""`supporthub doctor` proves the Facebook Page's and the Instagram account's credentials against the
Graph API (a fake of each), sending nothing, and names a wrong token without printing it: the lines
docs/channels/messenger.md shows."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from channels.messenger.stand_in import (
    APP_SECRET,
    GRAPH_VERSION,
    IG_ACCESS_TOKEN,
    IG_ACCOUNT_ID,
    IG_USERNAME,
    PAGE_ACCESS_TOKEN,
    PAGE_ID,
    PAGE_NAME,
    VERIFY_TOKEN,
    FakeMessaging,
)
from tests.integration.test_doctor import assert_no_secret, doctor, migrated  # noqa: F401 — the fixture

MESSENGER_OK = f"Messenger account {PAGE_ID}: {PAGE_NAME}"
INSTAGRAM_OK = f"Instagram account {IG_ACCOUNT_ID}: @{IG_USERNAME} {PAGE_NAME}"
"""The OK lines' details as docs/channels/messenger.md shows them (the fakes' Page and account)."""


@pytest.fixture
async def metas() -> AsyncIterator[tuple[FakeMessaging, FakeMessaging]]:
    """Meta's Graph API for the Facebook Page and for the Instagram account, one fake each."""
    page, instagram = FakeMessaging("messenger"), FakeMessaging("instagram")
    await asyncio.gather(page.start(), instagram.start())
    yield page, instagram
    await asyncio.gather(page.stop(), instagram.stop())


def meta_env(page: FakeMessaging, instagram: FakeMessaging) -> dict[str, str]:
    return {
        "SUPPORTHUB_MESSENGER__PAGE_ID": PAGE_ID,
        "SUPPORTHUB_MESSENGER__ACCESS_TOKEN": PAGE_ACCESS_TOKEN,
        "SUPPORTHUB_MESSENGER__APP_SECRET": APP_SECRET,
        "SUPPORTHUB_MESSENGER__VERIFY_TOKEN": VERIFY_TOKEN,
        "SUPPORTHUB_MESSENGER__GRAPH_URL": page.api_url,
        "SUPPORTHUB_MESSENGER__GRAPH_VERSION": GRAPH_VERSION,
        "SUPPORTHUB_INSTAGRAM__ACCOUNT_ID": IG_ACCOUNT_ID,
        "SUPPORTHUB_INSTAGRAM__ACCESS_TOKEN": IG_ACCESS_TOKEN,
        "SUPPORTHUB_INSTAGRAM__APP_SECRET": APP_SECRET,
        "SUPPORTHUB_INSTAGRAM__VERIFY_TOKEN": VERIFY_TOKEN,
        "SUPPORTHUB_INSTAGRAM__GRAPH_URL": instagram.api_url,
        "SUPPORTHUB_INSTAGRAM__GRAPH_VERSION": GRAPH_VERSION,
    }


async def test_doctor_reads_the_page_and_the_instagram_account_and_names_a_wrong_token(
    metas: tuple[FakeMessaging, FakeMessaging], migrated: str, indexed_data_dir: Path
) -> None:
    page, instagram = metas
    env = {
        "SUPPORTHUB_DATA_DIR": str(indexed_data_dir),
        "SUPPORTHUB_DATABASE_URL": migrated,
        **meta_env(page, instagram),
    }
    good = await doctor(env)
    assert good.lines["messenger"] == ("OK", MESSENGER_OK), good.output
    assert good.lines["instagram"] == ("OK", INSTAGRAM_OK), good.output
    for fake in (page, instagram):
        assert fake.sent == [] and fake.actions == []  # read, nothing sent
        assert [(call.method, call.authorized) for call in fake.calls] == [("GET", True)]
    assert_no_secret(good, env)

    wrong = {
        **env,
        "SUPPORTHUB_MESSENGER__ACCESS_TOKEN": "EAAGwrong-doctor-page-token",
        "SUPPORTHUB_INSTAGRAM__ACCESS_TOKEN": "IGAAwrong-doctor-instagram-token",
    }
    refused = await doctor(wrong)
    assert refused.returncode == 1, refused.output
    for name, account in (
        ("messenger", f"Messenger account {PAGE_ID}: "),
        ("instagram", f"Instagram account {IG_ACCOUNT_ID}: "),
    ):
        status, detail = refused.lines[name]
        assert status == "FAIL" and detail.startswith(account) and "190" in detail, detail
    for fake in (page, instagram):
        assert fake.sent == [] and fake.actions == []
    assert_no_secret(refused, wrong)
