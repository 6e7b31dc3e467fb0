"""The log of a real `supporthub serve` process, as an operator's collector reads it: JSON lines
with the request, conversation, message and channel ids, or text for people — and never a
secret, whatever fails."""

from __future__ import annotations

import asyncio
import json
import os
import re
import sys
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import aiohttp
import aiosmtplib
import pytest
from sqlalchemy.engine import make_url

from channels.email.stand_in import SmtpRelay
from channels.slack.stand_in import FakeSlack
from channels.slack.stand_in_events import message_event, signed_headers
from channels.telegram.stand_in import FakeBotApi
from channels.twilio.stand_in import (
    ACCOUNT_SID,
    HUB_NUMBER,
    FakeTwilio,
    incoming_sms,
    signed_form,
)
from tests.fakes.openai_server import FakeOpenAI, HttpError
from tests.ports import free_port
from tests.postgres import POSTGRES_ENV, own_postgres_database

pytestmark = pytest.mark.slow("real `supporthub serve` processes, their stderr read")

SUPPORTHUB = str(Path(sys.executable).parent / "supporthub")
PUBLIC_URL = "https://support.example.com"
LAWYER = "I will ask my lawyer about this invoice"
"""Escalates by keyword: one line logged while the message is answered, at INFO."""


@dataclass(frozen=True, slots=True)
class Served:
    base: str
    stdout: Path
    stderr: Path

    def log(self) -> str:
        return self.stderr.read_text(encoding="utf-8", errors="replace")

    async def wait_for_log(self, pattern: str, timeout: float = 60.0) -> None:
        """Until a line matching `pattern` is in the log: proof something was processed."""
        async with asyncio.timeout(timeout):
            while not re.search(pattern, self.log()):
                await asyncio.sleep(0.2)


@asynccontextmanager
async def serving(tmp_path: Path, env: Mapping[str, str]) -> AsyncIterator[Served]:
    """`supporthub serve` on a free port until the block ends (then stopped, its output flushed)."""
    port = free_port()
    served = Served(f"http://127.0.0.1:{port}", tmp_path / "stdout.log", tmp_path / "stderr.log")
    full_env = {**os.environ, "SUPPORTHUB_DATA_DIR": str(tmp_path / "data"), "SUPPORTHUB_SCHEDULE": "[]", **env}
    with served.stdout.open("wb") as stdout, served.stderr.open("wb") as stderr:
        # a process of its own: the log is its stderr as a collector reads it, from a real start-up
        process = await asyncio.create_subprocess_exec(
            SUPPORTHUB, "serve", "--port", str(port), env=full_env, stdout=stdout, stderr=stderr
        )
        try:
            await _until_serving(served.base, process)
            yield served
        finally:
            if process.returncode is None:
                process.terminate()
                try:
                    await asyncio.wait_for(process.wait(), 30)
                except TimeoutError:
                    process.kill()
                    await process.wait()


async def _until_serving(base: str, process: asyncio.subprocess.Process) -> None:
    async with aiohttp.ClientSession() as http, asyncio.timeout(180):
        while True:
            if process.returncode is not None:
                raise RuntimeError(f"supporthub serve exited with {process.returncode}")
            try:
                async with http.get(f"{base}/healthz") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.3)


async def ask(base: str, text: str, *, headers: Mapping[str, str] | None = None) -> tuple[dict[str, Any], str]:
    """POST /api/messages; the JSON answer and the response's X-Request-Id."""
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{base}/api/messages", json={"contact": "ana", "text": text}, headers=headers) as response,
    ):
        assert response.status == 200, await response.text()
        return await response.json(), response.headers["X-Request-Id"]


async def test_json_lines_carry_the_request_conversation_message_and_channel_ids(tmp_path: Path) -> None:
    async with serving(tmp_path, {"SUPPORTHUB_LOG__FORMAT": "json"}) as hub:
        answer, request_id = await ask(hub.base, LAWYER)
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{hub.base}/healthz", headers={"X-Request-Id": "lb-7f3a.1"}) as kept:
                assert kept.headers["X-Request-Id"] == "lb-7f3a.1"  # a proxy's own id is kept
            async with http.get(f"{hub.base}/healthz", headers={"X-Request-Id": "x\u2028y" + "z" * 100}) as replaced:
                assert re.fullmatch(r"[0-9a-f]{32}", replaced.headers["X-Request-Id"])  # an unsafe one is not

    lines = [json.loads(line) for line in hub.log().splitlines()]  # every line is one JSON object
    assert all({"timestamp", "level", "logger", "event"} <= line.keys() for line in lines)
    access = [line for line in lines if line["logger"] == "aiohttp.access" and line["path"] == "/api/messages"]
    assert access == [access[0]] and access[0]["request_id"] == request_id
    assert access[0]["method"] == "POST" and access[0]["status"] == 200 and access[0]["duration_ms"] > 0
    assert [line["request_id"] for line in lines if line.get("path") == "/healthz"][-2] == "lb-7f3a.1"
    escalated = next(line for line in lines if "escalated" in line["event"])
    assert escalated["conversation_id"] == answer["conversation_id"]
    assert escalated["message_id"] == answer["message_id"] and escalated["channel"] == "api"
    # The answer is worked on outside the request: a conversation's worker serves later requests too.
    assert "request_id" not in escalated


async def test_text_lines_are_for_people(tmp_path: Path) -> None:
    async with serving(tmp_path, {"SUPPORTHUB_LOG__FORMAT": "text"}) as hub:
        answer, request_id = await ask(hub.base, LAWYER)

    lines = hub.log().splitlines()
    assert lines and not any(line.startswith("{") for line in lines)
    access = next(line for line in lines if "POST /api/messages 200" in line)
    assert f"request_id={request_id}" in access and "[info" in access
    escalated = next(line for line in lines if "escalated" in line)
    assert f"conversation_id={answer['conversation_id']}" in escalated
    assert f"message_id={answer['message_id']}" in escalated and "channel=api" in escalated


SECRETS = {
    "SUPPORTHUB_API__TOKEN": "api-token-5ecret-A1",
    "SUPPORTHUB_WEB__SESSION_SECRET": "web-session-5ecret-B2",
    "SUPPORTHUB_WEB__IDENTITY_SECRET": "web-identity-5ecret-C3",
    "SUPPORTHUB_LLM__API_KEY": "sk-llm-5ecret-D4",
    "SUPPORTHUB_SLACK__BOT_TOKEN": "xoxb-slack-5ecret-E5",
    "SUPPORTHUB_SLACK__SIGNING_SECRET": "slack-signing-5ecret-F6",
    "SUPPORTHUB_SLACK__APP_TOKEN": "xapp-slack-5ecret-G7",
    "SUPPORTHUB_TELEGRAM__BOT_TOKEN": "987654:telegram-5ecret-H8",
    "SUPPORTHUB_TELEGRAM__WEBHOOK_SECRET": "telegram-hook-5ecret-I9",
    "SUPPORTHUB_SMS__AUTH_TOKEN": "twilio-auth-5ecret-J10",
    "SUPPORTHUB_SMS__WEBHOOK_SIGNING_KEY": "twilio-key-5ecret-K11",
    "SUPPORTHUB_EMAIL__SMTP_PASSWORD": "smtp-pass-5ecret-L12",
    "SUPPORTHUB_EMAIL__IMAP_PASSWORD": "imap-pass-5ecret-M13",
    "SUPPORTHUB_ADMIN__TOKEN": "admin-token-5ecret-N14",
}
DATABASE_PASSWORD = "db-pass-5ecret-O15"
REDIS_PASSWORD = "redis-pass-5ecret-P16"


@pytest.fixture
def database_url_with_password(tmp_path: Path) -> Iterator[str]:
    """A PostgreSQL database of its own (trust authentication ignores the password, so the URL
    may carry one) when the tests have PostgreSQL, else SQLite, whose URL has no password."""
    if not os.environ.get(POSTGRES_ENV):
        yield f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}"
        return
    with own_postgres_database() as url:
        yield make_url(url).set(password=DATABASE_PASSWORD).render_as_string(hide_password=False)


@pytest.fixture
async def failing() -> AsyncIterator[dict[str, Any]]:
    """Every platform the hub talks to, refusing it: fakes that know other credentials, an
    LLM answering 500, closed ports for IMAP and Redis."""
    model, slack, telegram, twilio = FakeOpenAI(), FakeSlack(), FakeBotApi(), FakeTwilio()
    relay = SmtpRelay(auth=("hub", "the-relay-wants-another-password"))
    await model.start()
    model.script(*[HttpError(500)] * 20)
    await slack.start()
    await telegram.start()
    await twilio.start()
    await relay.start()
    try:
        yield {"model": model, "slack": slack, "telegram": telegram, "twilio": twilio, "relay": relay}
    finally:
        await relay.stop()
        await twilio.stop()
        await telegram.stop()
        await slack.stop()
        await model.stop()


@pytest.mark.parametrize("log_format", ["json", "text"])
async def test_no_secret_reaches_the_log_whatever_fails(
    tmp_path: Path, failing: dict[str, Any], database_url_with_password: str, log_format: str
) -> None:
    listen_port = free_port()
    env = {
        **SECRETS,
        "SUPPORTHUB_LOG__FORMAT": log_format,
        "SUPPORTHUB_LOG__LEVEL": "DEBUG",
        "SUPPORTHUB_DATABASE_URL": database_url_with_password,
        "SUPPORTHUB_REDIS_URL": f"redis://:{REDIS_PASSWORD}@127.0.0.1:{free_port()}/0",
        "SUPPORTHUB_LLM__BASE_URL": failing["model"].base_url,
        "SUPPORTHUB_LLM__MAX_RETRIES": "0",
        "SUPPORTHUB_SLACK__API_URL": failing["slack"].base_url,
        "SUPPORTHUB_SLACK__STAFF_CHANNEL": "C0STAFF",
        "SUPPORTHUB_SLACK__CUSTOMER_CHANNELS": '["C0CUSTOMER"]',
        "SUPPORTHUB_TELEGRAM__API_URL": failing["telegram"].api_url,
        "SUPPORTHUB_TELEGRAM__PUBLIC_URL": PUBLIC_URL,
        "SUPPORTHUB_SMS__ACCOUNT_SID": ACCOUNT_SID,
        "SUPPORTHUB_SMS__FROM_NUMBER": HUB_NUMBER,
        "SUPPORTHUB_SMS__API_URL": failing["twilio"].api_url,
        "SUPPORTHUB_SMS__PUBLIC_URL": PUBLIC_URL,
        "SUPPORTHUB_EMAIL__ADDRESS": "support@example.com",
        "SUPPORTHUB_EMAIL__SMTP_HOST": failing["relay"].host,
        "SUPPORTHUB_EMAIL__SMTP_PORT": str(failing["relay"].port),
        "SUPPORTHUB_EMAIL__SMTP_SECURITY": "none",
        "SUPPORTHUB_EMAIL__SMTP_USERNAME": "hub",
        "SUPPORTHUB_EMAIL__LISTEN_PORT": str(listen_port),
        "SUPPORTHUB_EMAIL__IMAP_HOST": "127.0.0.1",
        "SUPPORTHUB_EMAIL__IMAP_PORT": str(free_port()),
        "SUPPORTHUB_EMAIL__IMAP_SECURITY": "none",
        "SUPPORTHUB_EMAIL__IMAP_USERNAME": "hub",
        "SUPPORTHUB_EMAIL__IMAP_POLL_INTERVAL_S": "0.5",
        "SUPPORTHUB_OUTBOX__MAX_ATTEMPTS": "2",
        "SUPPORTHUB_OUTBOX__BACKOFF_BASE_S": "0.2",
        "SUPPORTHUB_OUTBOX__POLL_INTERVAL_S": "0.2",
    }
    async with serving(tmp_path, env) as hub, aiohttp.ClientSession(base_url=hub.base) as http:

        async def post(path: str, expected: int, **kwargs: Any) -> None:
            async with http.post(path, **kwargs) as response:
                assert response.status == expected, (path, await response.text())

        await post(
            "/api/messages",
            401,
            json={"contact": "ana", "text": "hi"},
            headers={"Authorization": "Bearer not-the-token"},
        )
        async with http.get("/metrics", headers={"Authorization": "Bearer not-the-token"}) as metrics:
            assert metrics.status == 401
        # The model answers 500: the offline responder, with nothing to cite, offers a person.
        answer, _ = await ask(
            hub.base,
            "How do I export my invoices?",
            headers={"Authorization": f"Bearer {SECRETS['SUPPORTHUB_API__TOKEN']}"},
        )
        assert answer["reply"]["handoff"] is True

        event = json.dumps(
            message_event(
                channel="C0CUSTOMER", user="U0ANA", text="hello", ts="1700000000.000100", channel_type="channel"
            )
        )
        await post("/slack/events", 401, data=event, headers=signed_headers("not-the-signing-secret", event))
        await post(
            "/slack/events", 200, data=event, headers=signed_headers(SECRETS["SUPPORTHUB_SLACK__SIGNING_SECRET"], event)
        )
        await post(
            "/telegram/webhook",
            403,
            json={"update_id": 1},
            headers={"X-Telegram-Bot-Api-Secret-Token": "not-the-webhook-secret"},
        )
        form = incoming_sms("Where is my parcel?")
        await post("/sms/twilio", 403, data=form, headers=signed_form(f"{PUBLIC_URL}/sms/twilio", form))
        await post(
            "/sms/twilio",
            200,
            data=form,
            headers=signed_form(f"{PUBLIC_URL}/sms/twilio", form, token=SECRETS["SUPPORTHUB_SMS__AUTH_TOKEN"]),
        )
        mail = EmailMessage()
        mail["From"], mail["To"], mail["Subject"] = "ana@customer.example", "support@example.com", "Invoices"
        mail.set_content("How do I export my invoices?")
        await aiosmtplib.send(mail, hostname="127.0.0.1", port=listen_port)

        # Proof every failure happened before looking for what must not be there.
        await hub.wait_for_log(r"outbox: giving up on message \d+ to sms")
        await hub.wait_for_log(r"outbox: email refused message \d+ for good: .*535")
        await hub.wait_for_log(r"telegram: the Bot API refused the bot token")
        assert any(call.status == 401 for call in failing["twilio"].calls)
        assert failing["slack"].requests and len(failing["model"].requests) >= 3

    output = hub.stdout.read_text(errors="replace") + hub.log()
    leaked = [
        name
        for name, secret in {**SECRETS, "database": DATABASE_PASSWORD, "redis": REDIS_PASSWORD}.items()
        if secret in output or secret.split(":")[-1] in output
    ]
    assert leaked == []
