"""The parts of `supporthub doctor` the command's own test cannot reach cheaply: where a schema
stands against the migrations, a check that hangs, and secrets kept out of every line."""

from __future__ import annotations

import threading
import time

import pytest
from alembic.script import ScriptDirectory
from pydantic import SecretStr

from channels.slack.settings import SlackSettings
from core.channel import CheckFailed
from core.cli.doctor import Check, Outcome, in_daemon_thread, run_checks, schema_state
from core.ops.logs import settings_secrets
from core.settings import LlmSettings, Settings
from core.store.db import MIGRATIONS_DIR


def test_schema_state_against_the_migrations() -> None:
    head, _, older, *_ = [script.revision for script in ScriptDirectory(str(MIGRATIONS_DIR)).walk_revisions()]
    assert schema_state(None) == f"no schema yet (serve creates it at revision {head})"
    assert schema_state(head) == f"schema at revision {head} (up to date)"
    assert schema_state(older) == f"schema at revision {older}, 2 migration(s) to {head} pending (serve applies them)"
    with pytest.raises(CheckFailed, match="revision 0999, which this supporthub does not know"):
        schema_state("0999")


async def outcomes(*checks: Check, secrets: tuple[str, ...] = ()) -> list[Outcome]:
    return [outcome async for outcome in run_checks(checks, secrets)]


async def test_a_hung_check_fails_on_its_timeout_while_the_others_finish() -> None:
    release = threading.Event()

    def hang() -> str:  # a Chroma server that never answers
        release.wait()
        return "too late"

    async def fine() -> str:
        return "answers"

    started = time.monotonic()
    try:
        hung, ok = await outcomes(Check("index", lambda: in_daemon_thread(hang), 0.3), Check("llm", fine, 0.3))
    finally:
        release.set()
    assert time.monotonic() - started < 2
    assert hung == Outcome("index", "FAIL", "no answer within 0.3 s")
    assert ok == Outcome("llm", "OK", "answers")


async def test_no_line_carries_a_configured_secret() -> None:
    settings = Settings(
        database_url="postgresql+asyncpg://hub:db-pass-123@db.internal/hub",
        llm=LlmSettings(api_key=SecretStr("sk-live-abc")),
        slack=SlackSettings(bot_token=SecretStr("xoxb-live-1"), signing_secret=SecretStr("signing-live")),
    )

    async def leaky() -> str:
        raise RuntimeError("GET https://x.test/bot?token=xoxb-live-1 with sk-live-abc failed\nsecond line")

    async def reported() -> str:
        raise CheckFailed("connect to postgresql://hub:db-pass-123@db.internal refused")

    async def fine() -> str:
        return "logged in with sk-live-abc"

    async def telegram() -> str:  # a token that is not (or no longer) in the settings
        raise RuntimeError("GET https://api.telegram.org/bot654321:an-old-token/getMe failed")

    found = await outcomes(
        Check("a", leaky, 1),
        Check("b", reported, 1),
        Check("c", fine, 1),
        Check("d", telegram, 1),
        secrets=tuple(settings_secrets(settings)),
    )

    assert [outcome.detail for outcome in found] == [
        "RuntimeError: GET https://x.test/bot?token=*** with *** failed",
        "connect to postgresql://hub:***@db.internal refused",
        "logged in with ***",
        "RuntimeError: GET https://api.telegram.org/bot***/getMe failed",
    ]
    assert [outcome.status for outcome in found] == ["FAIL", "FAIL", "OK", "FAIL"]
