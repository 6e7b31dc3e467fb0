"""The inbox's queue at 100,000 cases: its first and last page, "mine", and searches by customer,
by message text and by case reference, on a real `supporthub serve` over HTTP, on SQLite and
PostgreSQL, each p50/p95 next to the 150 ms target and the floor (an HTTP round trip to /healthz).

    python -m tests.bench.bench_inbox_queue

The data: 100,000 cases over a year, one conversation each, of 60,000 contacts; 4,000 are open
(the backlog: 1,500 waiting for a person, the rest with staff, 300 of those the Bearer token's,
so "mine"), the others closed. A conversation is 5 messages (the customer, the bot, staff),
8 for an open case; every contact has a display name, a third a verified email, a fifth a name
told to the bot. The rows are bulk-loaded into a migrated schema with every index in place
(`bench_dashboard`'s loaders: executemany on SQLite, COPY and VACUUM ANALYZE on PostgreSQL).
Every open case was reminded of already, so the SLA job writes nothing while the pages are
timed. Tables no timed page reads stay empty.
"""

from __future__ import annotations

import asyncio
import os
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from tempfile import TemporaryDirectory
from urllib.parse import quote

import aiohttp

from core.handoff.references import reference
from core.store.case_tables import Case
from core.store.contacts import VERIFIED_EMAIL
from core.store.db import Contact, Conversation, Identity, Memory, Message
from core.store.staff import TOKEN_ACTOR
from tests.bench.bench_api import wait_ready
from tests.bench.bench_dashboard import (
    NAMES,
    Seed,
    _shape,
    _table,
    hub_environment,
    load,
    postgres_database,
    postgres_unavailable,
)
from tests.ports import free_port
from tests.schema_templates import migrate

ROOT = Path(__file__).resolve().parents[2]
CASES = 100_000
OPEN = 4_000
WAITING = 1_500
MINE = 300
CONTACTS = 60_000
MESSAGES_PER_CASE = 5
MESSAGES_PER_OPEN_CASE = 8
VERIFIED_EVERY = 3
TOLD_NAME_EVERY = 5
REQUESTS = 40
TARGET_S = 0.150
DATABASE = "bench_inbox_queue"
TOKEN = "bench-dashboard-token"  # hub_environment's
ABSENT_WORD = "xylophonist"
"""In no message: the search reads every message of every open case to say so."""
SAID = (
    "Hi, my parcel never arrived and the tracking has not moved for a week",
    "I was charged twice this month, can I get a refund?",
    "How do I change the email address on my account?",
    "The app crashes when I upload a photo",
    "Can I talk to a person please",
    "Where is my invoice for order {order}?",
    "I want to cancel my subscription",
)
BOT = "I'm passing you to a colleague from support; they'll reply here as soon as they can."
STAFF = "Thanks for waiting, I'm looking into order {order} now."


@dataclass(frozen=True, slots=True)
class Timing:
    p50_s: float
    p95_s: float

    @staticmethod
    def of(seconds: Sequence[float]) -> Timing:
        ranked = sorted(seconds)
        return Timing(statistics.median(ranked), ranked[min(len(ranked) - 1, round(0.95 * (len(ranked) - 1)))])


@dataclass(frozen=True, slots=True)
class Probes:
    """What the timed searches look for, known from the seed: each finds an open case."""

    customer: str
    email: str
    order: str
    reference: str


@dataclass(frozen=True, slots=True)
class DatabaseFigures:
    name: str
    load_s: float
    floor: Timing
    pages: tuple[tuple[str, str, Timing], ...]
    """(what, path, timing)."""


@dataclass(frozen=True, slots=True)
class Result:
    generate_s: float
    total_s: float
    load_average: tuple[float, float]
    databases: tuple[DatabaseFigures, ...]
    skipped: str | None


def seed_rows(anchor: datetime, *, seed: int = 60) -> tuple[Seed, Probes]:
    rng = random.Random(seed)
    contact, identity, memory = _shape(_table(Contact)), _shape(_table(Identity)), _shape(_table(Memory))
    conversation, message, case = _shape(_table(Conversation)), _shape(_table(Message)), _shape(_table(Case))
    created = anchor - timedelta(days=400)
    names = [f"{NAMES[n % len(NAMES)]} Surname{n}" for n in range(CONTACTS)]
    contacts = [contact(id=f"{n:032x}", display_name=names[n], created_at=created) for n in range(CONTACTS)]
    identities = [
        identity(id=n + 1, channel=VERIFIED_EMAIL, external_user_id=f"person{n}@example.com", contact_id=f"{n:032x}")
        for n in range(0, CONTACTS, VERIFIED_EVERY)
    ]
    memories = [
        memory(id=n + 1, contact_id=f"{n:032x}", key="name", value=f"Told{n}", created_at=created, updated_at=created)
        for n in range(0, CONTACTS, TOLD_NAME_EVERY)
    ]
    conversations, messages, cases = [], [], []
    message_id = 0
    for n in range(CASES):
        is_open = n >= CASES - OPEN  # the newest are the backlog
        opened = anchor - timedelta(days=365) * (1 - n / CASES) - timedelta(minutes=5)
        contact_id = f"{rng.randrange(CONTACTS):032x}"
        conversation_id = f"{n:032x}"
        conversations.append(
            conversation(
                id=conversation_id,
                contact_id=contact_id,
                channel="web",
                chat_id=f"chat-{n}",
                thread_id="",
                state="human" if is_open else "bot",
                created_at=opened - timedelta(minutes=2),
                updated_at=opened,
            )
        )
        for turn in range(MESSAGES_PER_OPEN_CASE if is_open else MESSAGES_PER_CASE):
            message_id += 1
            author = ("customer", "bot", "staff")[turn % 3] if turn else "customer"
            said = {"customer": rng.choice(SAID), "bot": BOT, "staff": STAFF}[author]
            at = opened + timedelta(seconds=turn * 30 - 60)
            messages.append(
                message(
                    id=message_id,
                    conversation_id=conversation_id,
                    contact_id=contact_id if author == "customer" else None,
                    channel="web",
                    author=author,
                    text=said.format(order=f"{4711_0000 + n}"),
                    citations=[],
                    status="answered" if author == "customer" else None,
                    sender="Ana" if author == "staff" else None,
                    created_at=at,
                )
            )
        open_n = n - (CASES - OPEN)
        state = "closed" if not is_open else "waiting" if open_n < WAITING else "human"
        cases.append(
            case(
                id=f"{rng.getrandbits(128):032x}",
                conversation_id=conversation_id,
                state=state,
                rule="asked",
                reason="the customer asked for a person",
                owner=None if state != "human" else TOKEN_ACTOR if open_n >= OPEN - MINE else "Ana",
                reminded_at=opened + timedelta(minutes=30) if is_open else None,
                opened_at=opened,
                updated_at=opened,
                closed_at=None if is_open else opened + timedelta(hours=2),
            )
        )
    probe = cases[CASES - OPEN // 2]
    probe_contact = int(conversations[CASES - OPEN // 2][1], 16)
    verified = next(int(row[1], 16) for row in conversations[CASES - OPEN :] if int(row[1], 16) % VERIFIED_EVERY == 0)
    probes = Probes(
        customer=names[probe_contact].split()[1],
        email=f"person{verified}@",
        order=f"{4711_0000 + CASES - OPEN // 3}",
        reference=reference(probe[0]),
    )
    seeded = Seed(
        (
            (_table(Contact), contacts),
            (_table(Identity), identities),
            (_table(Memory), memories),
            (_table(Conversation), conversations),
            (_table(Message), messages),
            (_table(Case), cases),
        )
    )
    return seeded, probes


def pages(probes: Probes) -> list[tuple[str, str]]:
    last = -(-OPEN // 200)
    return [
        ("queue, first page", "/admin/inbox"),
        (f"queue, page {last} (the last)", f"/admin/inbox?page={last}"),
        ("mine", "/admin/inbox?mine=1"),
        ("customer's name", f"/admin/inbox?q={quote(probes.customer)}"),
        ("customer's email", f"/admin/inbox?q={quote(probes.email)}"),
        ("text, in many cases (refund)", "/admin/inbox?q=refund"),
        ("text, an order number", f"/admin/inbox?q={probes.order}"),
        ("text, in none", f"/admin/inbox?q={ABSENT_WORD}"),
        ("reference", f"/admin/inbox?q={quote(probes.reference)}"),
        ("JSON, first page", "/admin/api/inbox"),
    ]


@contextmanager
def serving(data_dir: Path, url: str, log: Path) -> Iterator[str]:
    """`supporthub serve` on a free port, ready: its base URL."""
    port = free_port()
    data_dir.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as output:
        server = subprocess.Popen(
            [sys.executable, "-m", "core.cli.main", "serve", "--port", str(port)],
            env={**hub_environment(data_dir, url), "SUPPORTHUB_LOG__LEVEL": "WARNING"},
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=output,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        try:
            asyncio.run(wait_ready(f"{base}/readyz", server))
        except RuntimeError as exc:
            raise RuntimeError(f"{exc}:\n{log.read_text(errors='replace')[-2000:]}") from exc
        yield base
    finally:
        server.terminate()
        server.wait(timeout=30)


async def _timed(session: aiohttp.ClientSession, path: str) -> Timing:
    seconds = []
    for _ in range(REQUESTS):
        started = time.perf_counter()
        async with session.get(path) as response:
            body = await response.read()
        seconds.append(time.perf_counter() - started)
        if response.status != 200:
            raise RuntimeError(f"GET {path} answered {response.status}: {body[:300]!r}")
    return Timing.of(seconds)


async def over_http(base: str, probes: Probes) -> tuple[Timing, list[tuple[str, str, Timing]]]:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with aiohttp.ClientSession(base, headers=headers) as session:
        for _, path in pages(probes):  # once each first: nothing timed is a first visit
            async with session.get(path) as response:
                if response.status != 200:
                    raise RuntimeError(f"GET {path} answered {response.status}: {(await response.read())[:300]!r}")
        floor = await _timed(session, "/healthz")
        timed = [(what, path, await _timed(session, path)) for what, path in pages(probes)]
    return floor, timed


def run() -> Result:
    load_before = os.getloadavg()[0]
    started = time.perf_counter()
    skipped = postgres_unavailable()
    seed, probes = seed_rows(datetime.now(UTC))
    generate_s = time.perf_counter() - started
    figures = []
    with TemporaryDirectory(prefix="bench-inbox-queue-") as tmp, ExitStack() as stack:
        root = Path(tmp)
        (root / "sqlite").mkdir()
        targets = [("SQLite", f"sqlite+aiosqlite:///{root / 'sqlite' / 'supporthub.db'}")]
        if skipped is None:
            url, name = stack.enter_context(postgres_database(DATABASE))
            targets.append((name, url))
        for name, url in targets:
            asyncio.run(migrate(url))
            load_s = load(url, seed)
            with serving(root / f"{name.split()[0]}-data", url, root / f"{name.split()[0]}.log") as base:
                floor, timed = asyncio.run(over_http(base, probes))
            figures.append(DatabaseFigures(name, load_s, floor, tuple(timed)))
    return Result(generate_s, time.perf_counter() - started, (load_before, os.getloadavg()[0]), tuple(figures), skipped)


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms" if seconds >= 0.01 else f"{seconds * 1000:.1f} ms"


def report(result: Result) -> str:
    dbs = result.databases
    lines = [
        f"{CASES:,} cases ({OPEN:,} open: {WAITING:,} waiting, {MINE} the token's), {CONTACTS:,} contacts, "
        f"~{CASES * MESSAGES_PER_CASE + OPEN * (MESSAGES_PER_OPEN_CASE - MESSAGES_PER_CASE):,} messages; "
        f"{REQUESTS} requests each, one at a time; p50 / p95, target p95 ≤ {_ms(TARGET_S)}",
        "load: "
        + ", ".join(f"{db.name} {db.load_s:.0f} s" for db in dbs)
        + f"; rows made in {result.generate_s:.0f} s",
        "",
        f"{'page':<34}" + "".join(f"{db.name:>28}" for db in dbs),
    ]
    for index, (what, _, _) in enumerate(dbs[0].pages if dbs else ()):
        cells = []
        for db in dbs:
            timing = db.pages[index][2]
            mark = "✓" if timing.p95_s <= TARGET_S else "✗"
            cells.append(f"{_ms(timing.p50_s)} / {_ms(timing.p95_s)} {mark}")
        lines.append(f"{what:<34}" + "".join(f"{cell:>28}" for cell in cells))
    lines.append(
        f"{'floor: GET /healthz':<34}" + "".join(f"{_ms(db.floor.p50_s)} / {_ms(db.floor.p95_s):>10}  " for db in dbs)
    )
    if result.skipped:
        lines.append(result.skipped)
    lines.append(
        f"load average {result.load_average[0]:.1f} before, {result.load_average[1]:.1f} after; "
        f"{result.total_s:.0f} s in all"
    )
    return "\n".join(lines)


def main() -> None:
    print(report(run()))


if __name__ == "__main__":
    main()
