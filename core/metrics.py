"""The hub's Prometheus metrics: one registry, and the metric objects the code updates.

Counters and histograms count what happens in this process (sum them across processes); the
gauges read from the database at scrape time (`core.ops.metrics_snapshot`) are the same on every
process (take the max). Label values are channel names, outcomes, responders, reasons and
states only — never a contact, chat or conversation id, which would make a series per customer.

This module imports only prometheus_client and the standard library, so a channel adapter can
count its refusals without loading the database layer.
"""

from __future__ import annotations

from enum import StrEnum

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
)

REGISTRY = CollectorRegistry(auto_describe=True)
"""Ours, not prometheus_client's global default: nothing a library registers there leaks in."""
ProcessCollector(registry=REGISTRY)
PlatformCollector(registry=REGISTRY)
GCCollector(registry=REGISTRY)


class Outcome(StrEnum):
    """What became of a customer's question, or a staff reply relayed to a customer."""

    ANSWERED = "answered"
    DECLINED = "declined"
    """The knowledge base held no answer, and no case was opened (yet)."""
    ESCALATED = "escalated"
    """The reply handed the conversation to a person: a case was opened."""
    STAFF = "staff"


class Rejection(StrEnum):
    BAD_SIGNATURE = "bad_signature"
    """The caller did not prove who it is: a webhook signature or secret, an API token."""
    RATE_LIMITED = "rate_limited"
    BAD_INPUT = "bad_input"
    """A body or frame the channel cannot use: malformed, too large, of the wrong type."""


MESSAGES_RECEIVED = Counter(
    "supporthub_messages_received_total",
    "Customer messages stored (duplicates not counted)",
    ["channel"],
    registry=REGISTRY,
)
REPLIES = Counter(
    "supporthub_replies_total",
    "Replies to customers by outcome: the bot's, and staff replies relayed",
    ["channel", "outcome"],
    registry=REGISTRY,
)
TURN_SECONDS = Histogram(
    "supporthub_turn_seconds",
    "Time from a worker taking a message to its turn committed (retries included), by who answered: "
    "llm, offline, or none (a person has the conversation, or it was handed over before any answer)",
    ["responder"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120),
    registry=REGISTRY,
)

LLM_REQUEST_SECONDS = Histogram(
    "supporthub_llm_request_seconds",
    "One chat-completion request, until its stream ended or failed",
    buckets=(0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120),
    registry=REGISTRY,
)
LLM_ERRORS = Counter(
    "supporthub_llm_errors_total",
    "Failed chat-completion requests by kind: timeout, connection, rate_limited, http_4xx, http_5xx, stream, malformed",
    ["kind"],
    registry=REGISTRY,
)
LLM_TOKENS = Counter(
    "supporthub_llm_tokens_total",
    "Tokens the model's API reported using, by kind: prompt or completion",
    ["kind"],
    registry=REGISTRY,
)

OUTBOX_SENT = Counter("supporthub_outbox_sent_total", "Replies the outbox delivered", ["channel"], registry=REGISTRY)
OUTBOX_RETRIES = Counter(
    "supporthub_outbox_retries_total", "Failed sends scheduled for another attempt", ["channel"], registry=REGISTRY
)
OUTBOX_HELD = Counter(
    "supporthub_outbox_held_total",
    "Replies held until the customer writes again (the platform's rule: WhatsApp's 24 hours)",
    ["channel"],
    registry=REGISTRY,
)
OUTBOX_DEAD_LETTERED = Counter(
    "supporthub_outbox_dead_lettered_total",
    "Replies given up on (refused for good, unreachable customer, or out of attempts)",
    ["channel"],
    registry=REGISTRY,
)

WEBHOOK_REJECTIONS = Counter(
    "supporthub_webhook_rejections_total",
    "Inbound requests, frames or messages refused, by reason: bad_signature, rate_limited, bad_input",
    ["channel", "reason"],
    registry=REGISTRY,
)

EVENT_LOOP_LAG_SECONDS = Histogram(
    "supporthub_event_loop_lag_seconds",
    "How late a 0.5 s sleep on the event loop woke up",
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
    registry=REGISTRY,
)

LEADER = Gauge(
    "supporthub_leader",
    "1 while this process leads (runs the scheduled jobs), else 0",
    registry=REGISTRY,
)

# Read from the database at scrape time (core.ops.metrics_snapshot).
OUTBOX_DEPTH = Gauge(
    "supporthub_outbox_depth", "Replies waiting in the outbox to be sent", ["channel"], registry=REGISTRY
)
OUTBOX_DEAD_LETTERS = Gauge(
    "supporthub_outbox_dead_letters",
    "Dead letters in the outbox (see `supporthub outbox --dead`)",
    ["channel"],
    registry=REGISTRY,
)
OPEN_CASES = Gauge("supporthub_open_cases", "Cases waiting for a person or held by one", ["state"], registry=REGISTRY)
SLA_BREACHES = Gauge(
    "supporthub_sla_breaches", "Open cases no person has answered within handoff.sla_minutes", registry=REGISTRY
)
INGEST_RUNS = Gauge(
    "supporthub_ingest_runs",
    "Knowledge ingest runs recorded, by status: succeeded, failed, running",
    ["status"],
    registry=REGISTRY,
)
INGEST_LAST_SUCCESS = Gauge(
    "supporthub_ingest_last_success_timestamp_seconds",
    "When the last ingest run that succeeded finished",
    registry=REGISTRY,
)
KNOWLEDGE_CHUNKS = Gauge("supporthub_knowledge_chunks", "Chunks in the knowledge index", registry=REGISTRY)
SNAPSHOT_OK = Gauge(
    "supporthub_metrics_snapshot_ok",
    "1 when this scrape read the database-backed gauges, 0 when the database did not answer in time "
    "(those gauges then keep their last values)",
    registry=REGISTRY,
)


def rejected(channel: str, reason: Rejection) -> None:
    """Count one refused request, frame or message."""
    WEBHOOK_REJECTIONS.labels(channel=channel, reason=reason).inc()
