"""`supporthub doctor` as an operator runs it, against the local fakes of every platform: one
line per check, OK or FAIL with the reason, exit status 1 on any FAIL, and never a secret."""

from __future__ import annotations

import asyncio
import json
import os
import socket
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import pytest
from pydantic import SecretStr

from channels.email.stand_in import SmtpRelay
from channels.slack.stand_in import BOT_TOKEN as SLACK_TOKEN
from channels.slack.stand_in import BOT_USER_ID, FakeSlack
from channels.telegram.stand_in import BOT_TOKEN as TELEGRAM_TOKEN
from channels.telegram.stand_in import BOT_USERNAME, FakeBotApi
from channels.twilio.stand_in import ACCOUNT_NAME, ACCOUNT_SID, AUTH_TOKEN, HUB_NUMBER, FakeTwilio
from core.cli.support import in_transaction
from core.ops.runtime import open_database
from core.settings import AdminSettings, Settings
from core.store import staff
from core.store.db import StaffRole
from tests.cli_runner import supporthub
from tests.fakes.company_api import FakeCompanyApi
from tests.fakes.dovecot import Dovecot
from tests.fakes.openai_server import FakeOpenAI
from tests.ports import free_port

SIGNING_SECRET = "slack-signing-secret-for-doctor"
RELAY_USER, RELAY_PASSWORD = "hub", "relay-secret-for-doctor"
LLM_KEY = "sk-doctor-right-key"
WRONG = {
    "SUPPORTHUB_SLACK__BOT_TOKEN": "xoxb-wrong-doctor-token",
    "SUPPORTHUB_TELEGRAM__BOT_TOKEN": "654321:WRONG-doctor-token",
    "SUPPORTHUB_SMS__AUTH_TOKEN": "wrong-twilio-doctor-token",
    "SUPPORTHUB_EMAIL__SMTP_PASSWORD": "wrong-relay-doctor-password",
    "SUPPORTHUB_EMAIL__IMAP_PASSWORD": "wrong-imap-doctor-password",
    "SUPPORTHUB_LLM__API_KEY": "sk-doctor-wrong-key",
}


@dataclass(frozen=True, slots=True)
class Report:
    returncode: int
    lines: dict[str, tuple[str, str]]
    """By check name: (OK | FAIL | SKIP, detail)."""
    summary: str
    output: str
    """stdout and stderr together, for the secrets search."""


async def doctor(env: dict[str, str], *args: str) -> Report:
    """`supporthub doctor ARGS…` in a thread (it runs its own event loop; the fakes run on the
    test's)."""
    result = await asyncio.wait_for(
        asyncio.to_thread(supporthub, "doctor", *args, env={"SUPPORTHUB_LOG__LEVEL": "WARNING", **env}), timeout=240
    )
    out, err = result.stdout, result.stderr
    where, *checks, summary = out.splitlines()
    assert where.startswith(f"checking from {os.getcwd()}: data dir "), out
    lines = {}
    for line in checks:
        status, name, detail = line.split(None, 2)
        lines[name] = (status, detail)
    return Report(result.exit_code, lines, summary, out + err)


@pytest.fixture
async def platforms() -> AsyncIterator[tuple[FakeSlack, FakeBotApi, FakeTwilio, FakeOpenAI]]:
    slack, telegram, twilio, llm = FakeSlack(), FakeBotApi(), FakeTwilio(), FakeOpenAI(api_key=LLM_KEY)
    await asyncio.gather(slack.start(), telegram.start(), twilio.start(), llm.start())
    yield slack, telegram, twilio, llm
    await asyncio.gather(slack.stop(), telegram.stop(), twilio.stop(), llm.stop())


@pytest.fixture
async def relay() -> AsyncIterator[SmtpRelay]:
    async with SmtpRelay(require_starttls=True, auth=(RELAY_USER, RELAY_PASSWORD)) as server:
        yield server


@pytest.fixture
async def migrated(make_settings: Callable[..., Settings]) -> str:
    """A database at the newest migration, as `serve` leaves it; its URL."""
    settings = make_settings()
    async with open_database(settings):
        pass
    return settings.database_url


@pytest.fixture
def silent_server() -> Iterator[str]:
    """A host that accepts connections and never answers; its URL."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    listener.close()


def channel_env(slack: FakeSlack, telegram: FakeBotApi, twilio: FakeTwilio) -> dict[str, str]:
    return {
        "SUPPORTHUB_SLACK__BOT_TOKEN": SLACK_TOKEN,
        "SUPPORTHUB_SLACK__SIGNING_SECRET": SIGNING_SECRET,
        "SUPPORTHUB_SLACK__API_URL": slack.base_url,
        "SUPPORTHUB_TELEGRAM__BOT_TOKEN": TELEGRAM_TOKEN,
        "SUPPORTHUB_TELEGRAM__API_URL": telegram.api_url,
        "SUPPORTHUB_SMS__ACCOUNT_SID": ACCOUNT_SID,
        "SUPPORTHUB_SMS__AUTH_TOKEN": AUTH_TOKEN,
        "SUPPORTHUB_SMS__FROM_NUMBER": HUB_NUMBER,
        "SUPPORTHUB_SMS__PUBLIC_URL": "https://hub.example.com",
        "SUPPORTHUB_SMS__API_URL": twilio.api_url,
        "SUPPORTHUB_SLACK__STAFF_CHANNEL": "C0STAFF",
    }


def email_env(relay: SmtpRelay, ca_file: Path, dovecot: Dovecot | None) -> dict[str, str]:
    env = {
        "SUPPORTHUB_EMAIL__ADDRESS": "support@example.com",
        "SUPPORTHUB_EMAIL__SMTP_HOST": relay.host,
        "SUPPORTHUB_EMAIL__SMTP_PORT": str(relay.port),
        "SUPPORTHUB_EMAIL__SMTP_SECURITY": "starttls",
        "SUPPORTHUB_EMAIL__SMTP_CA_FILE": str(ca_file),
        "SUPPORTHUB_EMAIL__SMTP_USERNAME": RELAY_USER,
        "SUPPORTHUB_EMAIL__SMTP_PASSWORD": RELAY_PASSWORD,
        "SUPPORTHUB_EMAIL__LISTEN_PORT": str(free_port()),
    }
    if dovecot is not None:
        env |= {
            "SUPPORTHUB_EMAIL__IMAP_HOST": dovecot.host,
            "SUPPORTHUB_EMAIL__IMAP_PORT": str(dovecot.port),
            "SUPPORTHUB_EMAIL__IMAP_SECURITY": "none",
            "SUPPORTHUB_EMAIL__IMAP_USERNAME": dovecot.username,
            "SUPPORTHUB_EMAIL__IMAP_PASSWORD": dovecot.password,
        }
    return env


def assert_no_secret(report: Report, env: dict[str, str]) -> None:
    secrets = [value for key, value in env.items() if key.endswith(("TOKEN", "SECRET", "PASSWORD", "API_KEY"))]
    assert secrets
    for secret in secrets:
        assert secret not in report.output, secret
    assert "Traceback" not in report.output


async def test_all_good_then_every_wrong_credential_named(
    platforms: tuple[FakeSlack, FakeBotApi, FakeTwilio, FakeOpenAI],
    relay: SmtpRelay,
    dovecot: Dovecot,
    migrated: str,
    indexed_data_dir: Path,
    tmp_path: Path,
) -> None:
    slack, telegram, twilio, llm = platforms
    ca_file = tmp_path / "relay-ca.pem"
    ca_file.write_bytes(relay.ca_pem)
    env = {
        "SUPPORTHUB_DATA_DIR": str(indexed_data_dir),
        "SUPPORTHUB_DATABASE_URL": migrated,
        "SUPPORTHUB_LLM__BASE_URL": llm.base_url,
        "SUPPORTHUB_LLM__API_KEY": LLM_KEY,
        **channel_env(slack, telegram, twilio),
        **email_env(relay, ca_file, dovecot),
    }

    good = await doctor(env)

    assert good.returncode == 0, good.output
    names = list(good.lines)
    assert names[:3] == ["database", "index", "model"] and names[-2:] == ["desk", "llm"], good.output
    assert sorted(names[3:-2]) == ["api", "email", "slack", "sms", "telegram", "web"], good.output
    assert {status for status, _ in good.lines.values()} == {"OK"}, good.output
    assert good.summary == "all 11 checks passed"
    detail = {name: text for name, (_, text) in good.lines.items()}
    assert detail["database"].startswith("sqlite ") and detail["database"].endswith("(up to date)")
    assert "chunks in collection 'knowledge'" in detail["index"]
    assert "384 dimensions on ONNX Runtime" in detail["model"]
    assert detail["slack"] == f"auth.test: bot supporthub ({BOT_USER_ID}) in team T"
    assert detail["telegram"] == f"getMe: @{BOT_USERNAME} (id 123456), updates by long polling"
    assert detail["sms"] == f"account {ACCOUNT_SID} ({ACCOUNT_NAME}): active"
    assert detail["email"] == (
        f"SMTP {relay.host}:{relay.port} (STARTTLS, logged in as {RELAY_USER}); "
        f"IMAP {dovecot.username}@{dovecot.host}:{dovecot.port} (INBOX selected)"
    )
    assert detail["llm"] == f"{llm.base_url}: model 'gpt-4o-mini' is available (1 models listed)"
    assert detail["desk"] == "the slack staff desk takes the conversations handed over"
    assert slack.received_request_count("auth.test") == 1 and len(telegram.calls_to("getMe")) == 1
    assert [call.path for call in twilio.calls] == [f"/2010-04-01/Accounts/{ACCOUNT_SID}.json"]
    assert relay.messages == [] and twilio.sent() == [] and telegram.calls_to("sendMessage") == []
    assert_no_secret(good, env)

    wrong = await doctor({**env, **WRONG})

    assert wrong.returncode == 1
    assert wrong.summary.startswith("5 of 11 checks failed: "), wrong.output
    failed = {name: text for name, (status, text) in wrong.lines.items() if status == "FAIL"}
    assert failed == {
        "slack": "auth.test: invalid_auth",
        "telegram": "getMe: the Bot API refused the bot token (Unauthorized)",
        "sms": "account fetch: HTTP 401, error 20003: Unable to fetch record: Authenticate",
        "email": (
            f"SMTP {relay.host}:{relay.port}: login refused (535 5.7.8 Authentication credentials invalid); "
            f"IMAP {dovecot.username}@{dovecot.host}:{dovecot.port}: login refused "
            f"([AUTHENTICATIONFAILED] Authentication failed.)"
        ),
        "llm": f"{llm.base_url}: GET /models: HTTP 401 invalid_api_key",
    }
    assert_no_secret(wrong, {**env, **WRONG})


@pytest.mark.slow("waits out each check's time limit on a silent server")
async def test_platforms_down_silent_or_missing_the_model_named(
    platforms: tuple[FakeSlack, FakeBotApi, FakeTwilio, FakeOpenAI],
    relay: SmtpRelay,
    silent_server: str,
    tmp_path: Path,
) -> None:
    slack, telegram, twilio, llm = platforms
    ca_file = tmp_path / "relay-ca.pem"
    ca_file.write_bytes(relay.ca_pem)
    closed = free_port()
    env = {
        "SUPPORTHUB_DATA_DIR": str(tmp_path / "empty"),
        "SUPPORTHUB_DATABASE_URL": f"postgresql+asyncpg://hub:db-doctor-password@127.0.0.1:{closed}/hub",
        "SUPPORTHUB_LLM__BASE_URL": llm.base_url,
        "SUPPORTHUB_LLM__API_KEY": LLM_KEY,
        "SUPPORTHUB_LLM__MODEL": "gpt-5-support",
        "SUPPORTHUB_CHANNELS": json.dumps(["api", "slack", "telegram", "sms", "email"]),
        **channel_env(slack, telegram, twilio),
        **email_env(relay, ca_file, None),
        "SUPPORTHUB_SLACK__API_URL": f"{silent_server}/api/",
        "SUPPORTHUB_TELEGRAM__API_URL": f"http://127.0.0.1:{closed}",
    }
    await twilio.stop()
    await relay.stop()

    report = await doctor(env, "--timeout", "4")

    assert report.returncode == 1
    assert sorted(report.lines) == [
        "api",
        "database",
        "desk",
        "email",
        "index",
        "llm",
        "model",
        "slack",
        "sms",
        "telegram",
    ]
    status = {name: state for name, (state, _) in report.lines.items()}
    assert status == {
        "database": "FAIL",
        "index": "FAIL",
        "model": "OK",
        "api": "OK",
        "slack": "FAIL",
        "telegram": "FAIL",
        "sms": "FAIL",
        "email": "FAIL",
        "desk": "OK",  # configured: Slack's own line says it does not answer
        "llm": "FAIL",
    }
    detail = {name: text for name, (_, text) in report.lines.items()}
    assert "Connect call failed" in detail["database"] or "refused" in detail["database"], detail["database"]
    assert detail["index"].startswith(
        f"no index in {(tmp_path / 'empty' / 'chroma').resolve()}: run supporthub reindex"
    )
    assert "SUPPORTHUB_DATA_DIR" in detail["index"]
    assert detail["slack"] == "no answer within 4 s"
    assert detail["telegram"].startswith("getMe: NetworkError:"), detail["telegram"]
    assert detail["sms"].startswith("ClientConnectorError:"), detail["sms"]
    assert detail["email"].startswith(f"SMTP {relay.host}:{relay.port}: SMTPConnectError:"), detail["email"]
    assert detail["llm"] == (f"{llm.base_url}: model 'gpt-5-support' is not among the 1 it lists (gpt-4o-mini)")
    assert report.summary.startswith("7 of 10 checks failed: database, index, "), report.output
    assert_no_secret(report, {**env, "DATABASE_PASSWORD": "db-doctor-password"})
    assert not (tmp_path / "empty" / "chroma").exists()  # doctor created no index


async def test_without_a_staff_desk_doctor_warns_what_customers_are_told(
    indexed_data_dir: Path, tmp_path: Path
) -> None:
    report = await doctor(
        {
            "SUPPORTHUB_DATA_DIR": str(indexed_data_dir),
            "SUPPORTHUB_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}",
            "SUPPORTHUB_HANDOFF__CONTACT__EMAIL": "help@example.com",
            "SUPPORTHUB_HANDOFF__CONTACT__PHONE": "",
        }
    )
    assert report.lines["desk"] == (
        "WARN",
        "no staff desk (set slack.staff_channel, or admin.token and supporthub staff invite); "
        "customers needing a person read 'You can reach our support team at help@example.com.'",
    )
    assert "warning" in report.summary, report.output


async def test_the_inbox_is_the_desk_once_someone_on_the_staff_joined(indexed_data_dir: Path, tmp_path: Path) -> None:
    env = {
        "SUPPORTHUB_DATA_DIR": str(indexed_data_dir),
        "SUPPORTHUB_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}",
        "SUPPORTHUB_ADMIN__TOKEN": "doctor-admin-token",
    }
    settings = Settings(
        data_dir=indexed_data_dir,
        database_url=env["SUPPORTHUB_DATABASE_URL"],
        admin=AdminSettings(token=SecretStr("doctor-admin-token")),
    )
    token = await asyncio.to_thread(
        in_transaction,
        settings,
        partial(staff.invite, email="ana@example.com", name="Ana", role=StaffRole.AGENT, actor="test"),
    )
    nobody = await doctor(env)
    assert nobody.lines["desk"][0] == "WARN" and "the inbox has nobody to answer" in nobody.lines["desk"][1]
    await asyncio.to_thread(
        in_transaction, settings, partial(staff.accept, token=token, name="Ana", password_hash="$argon2id$stand-in")
    )
    joined = await doctor(env)
    assert joined.lines["desk"] == (
        "OK",
        "the inbox at /admin/inbox takes the conversations handed over (1 on the staff)",
    )


async def test_an_actions_endpoint_is_tried_with_its_credentials(
    indexed_data_dir: Path, tmp_path: Path, company_api: FakeCompanyApi
) -> None:
    config = company_api.order_status_config(tmp_path / "shop.toml")
    env = {
        "SUPPORTHUB_DATA_DIR": str(indexed_data_dir),
        "SUPPORTHUB_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}",
    }
    right = await doctor({**env, "SHOP_API_TOKEN": company_api.token}, "--config", str(config))
    assert right.lines["action:order_status"] == ("OK", f"GET {company_api.url}/api/orders/ answered HTTP 404")
    wrong = await doctor({**env, "SHOP_API_TOKEN": "wrong-shop-token"}, "--config", str(config))
    assert wrong.lines["action:order_status"] == (
        "FAIL",
        f"GET {company_api.url}/api/orders/ answered HTTP 401: check the credentials in its headers",
    )
    assert "wrong-shop-token" not in wrong.output and wrong.returncode != 0
    unset = await doctor(env, "--config", str(config))
    assert unset.lines["action:order_status"] == (
        "FAIL",
        "the environment has no SHOP_API_TOKEN (for its Authorization header): "
        "every call of this action fails until it is set",
    )
