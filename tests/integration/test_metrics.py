"""`GET /metrics` on the real app: what customers, the model, the outbox and refused callers do
shows in Prometheus's format, the database-backed gauges agree with the database on both
backends, and the admin token guards it.

The counters live in one registry for the whole test process, so tests compare a scrape taken
before with one taken after; the database-backed gauges are absolute (each test has its own
database)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr
from sqlalchemy import insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncEngine

from channels.telegram.stand_in import FakeBotApi
from channels.telegram.stand_in_updates import private_message
from core.cli.server import RUNTIME, create_app
from core.settings import AdminSettings, LimitsSettings, LlmSettings, OutboxSettings, Settings
from core.store.case_tables import Case
from core.store.db import Conversation, utcnow
from knowledge.tables import IndexRun
from tests.app_client import AppClient
from tests.fakes.openai_server import FakeOpenAI, HttpError, Text, usage
from tests.integration.staff_steps import on_staff
from tests.integration.test_telegram import deliver, ready, telegram_settings
from tests.integration.test_telegram import update as telegram_update
from tests.integration.trusted import TRUSTED, trusted_api
from tests.settle import settled

ADMIN_TOKEN = "metrics-admin-token"
BEARER = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
PASSWORD_QUESTION = "How do I reset my password?"


class Scrape:
    """One answer of /metrics, parsed with prometheus_client's own parser."""

    def __init__(self, exposition: str) -> None:
        self.samples = {
            (s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(exposition)
            for s in family.samples
        }

    def value(self, name: str, **labels: str) -> float:
        """The sample's value; 0 for a series not exported (yet)."""
        return self.samples.get((name, frozenset(labels.items())), 0.0)

    def label_values(self) -> set[str]:
        return {value for _, labels in self.samples for _, value in labels}


async def scrape(client: AppClient, headers: dict[str, str] | None = None) -> Scrape:
    response = await client.get("/metrics", headers=headers or {})
    assert response.status == 200, await response.text()
    assert response.content_type == "text/plain"
    return Scrape(await response.text())


def grew(before: Scrape, after: Scrape, name: str, **labels: str) -> float:
    return after.value(name, **labels) - before.value(name, **labels)


async def staffed(aiohttp_client: Callable[..., Any], settings: Settings) -> AppClient:
    """The app with a desk that takes cases (the inbox, someone on the staff): escalations open
    cases. The admin token this needs also guards /metrics (`BEARER`)."""
    client: AppClient = await aiohttp_client(
        create_app(settings.model_copy(update={"admin": AdminSettings(token=SecretStr(ADMIN_TOKEN))}))
    )
    await on_staff(client.app)
    return client


async def ask(client: AppClient, text: str, *, contact: str) -> dict[str, Any]:
    response = await client.post("/api/messages", json={"contact": contact, "text": text})
    assert response.status == 200, await response.text()
    return await response.json()  # type: ignore[no-any-return]


async def test_messages_replies_and_turns_are_counted_by_channel_outcome_and_responder(
    aiohttp_client: Callable[..., Any], make_settings: Callable[..., Settings]
) -> None:
    client = await staffed(aiohttp_client, make_settings())
    before = await scrape(client, BEARER)
    answered = await ask(client, PASSWORD_QUESTION, contact="metrics-contact-1")
    declined = await ask(client, "Which wine goes best with grilled salmon?", contact="metrics-contact-2")
    escalated = await ask(client, "I want to talk to a human please", contact="metrics-contact-3")
    assert answered["reply"]["citations"] and declined["reply"]["citations"] == []
    assert escalated["reply"]["handoff"] is True
    after = await scrape(client, BEARER)

    assert grew(before, after, "supporthub_messages_received_total", channel="api") == 3
    for outcome in ("answered", "declined", "escalated"):
        assert grew(before, after, "supporthub_replies_total", channel="api", outcome=outcome) == 1, outcome
    # The first two were answered offline; the third was handed over before anyone answered.
    assert grew(before, after, "supporthub_turn_seconds_count", responder="offline") == 2
    assert grew(before, after, "supporthub_turn_seconds_count", responder="none") == 1
    assert grew(before, after, "supporthub_turn_seconds_sum", responder="offline") > 0
    assert after.value("supporthub_open_cases", state="waiting") == 1
    assert after.value("supporthub_knowledge_chunks") == (await (await client.get("/readyz")).json())["chunks"] > 0
    assert after.value("supporthub_metrics_snapshot_ok") == 1

    ids = {"metrics-contact-1", "metrics-contact-2", "metrics-contact-3"}
    ids |= {body["conversation_id"] for body in (answered, declined, escalated)}
    assert after.label_values() & ids == set()


async def test_refused_api_requests_are_counted_by_reason(
    aiohttp_client: Callable[..., Any], make_settings: Callable[..., Settings]
) -> None:
    settings = make_settings(api=trusted_api(), limits=LimitsSettings(per_contact="1/minute"))
    client: AppClient = await aiohttp_client(create_app(settings), headers=TRUSTED)
    before = await scrape(client)
    unsigned = await client.post(
        "/api/messages", json={"contact": "x", "text": "hi"}, headers={"Authorization": "Bearer no"}
    )
    malformed = await client.post("/api/messages", data=b"{not json", headers={"Content-Type": "application/json"})
    first = await client.post("/api/messages", json={"contact": "flooder", "text": PASSWORD_QUESTION})
    second = await client.post("/api/messages", json={"contact": "flooder", "text": PASSWORD_QUESTION, "id": "2"})
    assert (unsigned.status, malformed.status, first.status, second.status) == (401, 400, 200, 429)
    after = await scrape(client)
    for reason in ("bad_signature", "bad_input", "rate_limited"):
        assert grew(before, after, "supporthub_webhook_rejections_total", channel="api", reason=reason) == 1, reason


@pytest.fixture
def llm_client(
    aiohttp_client: Callable[..., Any], make_settings: Callable[..., Settings], model: FakeOpenAI
) -> Callable[[], Any]:
    async def make() -> AppClient:
        llm = LlmSettings(base_url=model.base_url, api_key=SecretStr("sk-test-123"), max_retries=0, timeout_s=10)
        return await aiohttp_client(create_app(make_settings(llm=llm)))  # type: ignore[no-any-return]

    return make


async def test_the_models_requests_tokens_and_errors_are_counted(
    llm_client: Callable[[], Any], model: FakeOpenAI
) -> None:
    client: AppClient = await llm_client()
    before = await scrape(client)
    model.script(Text("Use **Forgot password?** on the sign-in page [1]."))
    assert (await ask(client, PASSWORD_QUESTION, contact="llm-contact"))["reply"]["citations"]
    after_answer = await scrape(client)
    (request,) = model.requests
    assert request.body["stream_options"] == {"include_usage": True}
    used = usage(request.body, "Use **Forgot password?** on the sign-in page [1].", 0)
    assert grew(before, after_answer, "supporthub_llm_tokens_total", kind="prompt") == used["prompt_tokens"] > 100
    completion = grew(before, after_answer, "supporthub_llm_tokens_total", kind="completion")
    assert completion == used["completion_tokens"] == 8
    assert grew(before, after_answer, "supporthub_llm_request_seconds_count") == 1
    assert grew(before, after_answer, "supporthub_turn_seconds_count", responder="llm") == 1
    assert grew(before, after_answer, "supporthub_replies_total", channel="api", outcome="answered") == 1

    model.script(HttpError(503), HttpError(429))
    await ask(client, PASSWORD_QUESTION, contact="llm-contact")  # answered offline instead
    await ask(client, "How do I invite a teammate?", contact="llm-contact")
    after_errors = await scrape(client)
    assert grew(after_answer, after_errors, "supporthub_llm_errors_total", kind="http_5xx") == 1
    assert grew(after_answer, after_errors, "supporthub_llm_errors_total", kind="rate_limited") == 1
    assert grew(after_answer, after_errors, "supporthub_llm_request_seconds_count") == 2
    assert grew(after_answer, after_errors, "supporthub_turn_seconds_count", responder="offline") == 2
    assert grew(after_answer, after_errors, "supporthub_llm_tokens_total", kind="prompt") == 0


async def test_the_outbox_and_telegrams_refusals_show_per_channel_on_both_databases(
    database_url: str,
    engine: AsyncEngine,
    aiohttp_client: Callable[..., Any],
    make_settings: Callable[..., Settings],
    telegram: FakeBotApi,
) -> None:
    settings = make_settings(
        database_url=database_url,
        telegram=telegram_settings(telegram.api_url),
        outbox=OutboxSettings(poll_interval_s=0.2, backoff_base_s=0.2),
    )
    client: AppClient = await aiohttp_client(create_app(settings))
    await telegram.wait_for_calls("getWebhookInfo", 1)
    await ready(client)
    before = await scrape(client)

    telegram.fail_next("sendMessage", 429, retry_after=1)  # retried, then sent
    assert await deliver(client, telegram_update(private_message(PASSWORD_QUESTION, user_id=90101))) == 200
    await telegram.wait_for_calls("sendMessage", 1, timeout=15)
    telegram.fail_next("sendMessage", 403)  # the user blocked the bot: dead-lettered at once
    assert await deliver(client, telegram_update(private_message(PASSWORD_QUESTION, user_id=90202))) == 200
    await settled(client.app[RUNTIME].sessionmaker)
    assert await deliver(client, telegram_update(private_message("hi", user_id=90303)), token="not-the-secret") == 403
    after = await scrape(client)

    assert grew(before, after, "supporthub_messages_received_total", channel="telegram") == 2
    assert grew(before, after, "supporthub_outbox_sent_total", channel="telegram") == 1
    assert grew(before, after, "supporthub_outbox_retries_total", channel="telegram") == 1
    assert grew(before, after, "supporthub_outbox_dead_lettered_total", channel="telegram") == 1
    assert after.value("supporthub_outbox_dead_letters", channel="telegram") == 1
    assert after.value("supporthub_outbox_depth", channel="telegram") == 0
    assert ("supporthub_outbox_depth", frozenset({("channel", "web")})) in after.samples  # enabled, empty
    assert grew(before, after, "supporthub_webhook_rejections_total", channel="telegram", reason="bad_signature") == 1

    async with engine.connect() as connection:
        conversations = (await connection.execute(select(Conversation.id, Conversation.contact_id))).all()
    ids = {value for row in conversations for value in row} | {"90101", "90202", "90303"}
    assert len(conversations) == 2 and after.label_values() & ids == set()


async def test_cases_sla_breaches_and_ingest_runs_are_read_from_the_database(
    database_url: str,
    engine: AsyncEngine,
    aiohttp_client: Callable[..., Any],
    make_settings: Callable[..., Settings],
) -> None:
    client = await staffed(aiohttp_client, make_settings(database_url=database_url))
    await ask(client, "I want to talk to a human please", contact="waiting-long")
    await ask(client, "Can I speak to a person?", contact="waiting-briefly")
    finished = utcnow() - timedelta(hours=1)
    async with engine.begin() as connection:
        oldest = (await connection.execute(select(Case.id).order_by(Case.opened_at).limit(1))).scalar_one()
        await connection.execute(update(Case).where(Case.id == oldest).values(opened_at=utcnow() - timedelta(hours=2)))
        await connection.execute(
            insert(IndexRun),
            [
                {
                    "trigger": "cli",
                    "started_at": finished - timedelta(seconds=5),
                    "finished_at": finished,
                    "error": None,
                },
                {"trigger": "schedule", "started_at": finished, "finished_at": finished, "error": "disk full"},
                {"trigger": "schedule", "started_at": utcnow(), "finished_at": None, "error": None},
            ],
        )
    metrics = await scrape(client, BEARER)
    assert metrics.value("supporthub_open_cases", state="waiting") == 2
    assert metrics.value("supporthub_open_cases", state="human") == 0
    assert metrics.value("supporthub_sla_breaches") == 1  # handoff.sla_minutes is 30
    assert [metrics.value("supporthub_ingest_runs", status=s) for s in ("succeeded", "failed", "running")] == [1, 1, 1]
    last_success = metrics.value("supporthub_ingest_last_success_timestamp_seconds")
    assert last_success == pytest.approx(finished.timestamp(), abs=1)


@pytest.mark.slow("waits on a PostgreSQL table lock")
async def test_a_database_that_does_not_answer_still_gets_the_in_process_metrics_served(
    database_url: str,
    engine: AsyncEngine,
    aiohttp_client: Callable[..., Any],
    make_settings: Callable[..., Settings],
) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite in WAL mode never blocks a reader; PostgreSQL's table lock does")
    client: AppClient = await aiohttp_client(create_app(make_settings(database_url=database_url)))
    await ask(client, PASSWORD_QUESTION, contact="before-the-lock")
    async with engine.connect() as other_process:
        await other_process.execute(text("BEGIN"))
        await other_process.execute(text("LOCK TABLE outbox IN ACCESS EXCLUSIVE MODE"))
        locked = await asyncio.wait_for(scrape(client), timeout=8)
        await other_process.execute(text("ROLLBACK"))
    assert locked.value("supporthub_metrics_snapshot_ok") == 0
    assert locked.value("supporthub_messages_received_total", channel="api") >= 1
    assert (await scrape(client)).value("supporthub_metrics_snapshot_ok") == 1


async def test_the_admin_token_guards_the_metrics(
    aiohttp_client: Callable[..., Any], make_settings: Callable[..., Settings]
) -> None:
    settings = make_settings(admin=AdminSettings(token=SecretStr(ADMIN_TOKEN)))
    client: AppClient = await aiohttp_client(create_app(settings))
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": ADMIN_TOKEN}):
        refused = await client.get("/metrics", headers=headers)
        assert refused.status == 401 and refused.headers["WWW-Authenticate"] == "Bearer"
        assert "supporthub_" not in await refused.text()
    metrics = await scrape(client, {"Authorization": f"Bearer {ADMIN_TOKEN}"})
    assert metrics.value("supporthub_metrics_snapshot_ok") == 1


async def test_the_event_loops_lag_is_sampled(client: AppClient) -> None:
    before = (await scrape(client)).value("supporthub_event_loop_lag_seconds_count")
    await asyncio.sleep(1.2)
    assert (await scrape(client)).value("supporthub_event_loop_lag_seconds_count") - before >= 2
