"""Several `supporthub serve` processes on one PostgreSQL database, each figure next to its floor.

Real processes (tests/integration/hub_processes.py) on a database of their own, a Chroma server
and the fake Slack; the sample help centre indexed, its evaluation questions asked. Measured in
one run:
- answered/s with one process (the other idle), and with two, under 32 API clients (each a
  conversation waiting for its answers, its messages spread over the processes as a load
  balancer would), rounds alternated. The processes, PostgreSQL, Chroma and the load
  generator share the machine's cores, so the ceiling of the ratio is what the one-process
  rounds left idle: (the stack's cores + idle cores) ÷ the stack's cores. The stack's CPU is
  counted per process (the hubs, Chroma, this process, PostgreSQL's backends of the database),
  apart from other work on a shared machine;
- webhook acknowledgement, the time until a message is stored and answered 200, on Slack's
  events webhook: `/api/messages` waits for the answer, Slack's webhook acknowledges once the
  message is stored (Slack sends an event again when it hears nothing within 3 s). Paced DMs
  to idle processes (the floor), 50 concurrent senders, and paced DMs while 50 API clients
  keep both processes answering;
- one of two processes killed with SIGKILL midway through a burst: the time from the kill until
  every message of the burst is answered, next to its floor, the answer lease a dead process's
  messages wait out before another claims them.

Rate limits are off (`limits.per_contact = ""`): the clients are a load, not a flood.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

import aiohttp
import psutil
from sqlalchemy.engine import make_url

from channels.api.channel import external_id
from channels.slack.stand_in_events import message_event, signed_headers
from core.pipeline.conversation_workers import ANSWER_LEASE
from tests.bench.bench_retrieval import percentile
from tests.fakes.chroma_server import chroma_executable, chroma_server
from tests.integration.hub_processes import (
    AUTH,
    HubProcess,
    ThreadedSlack,
    hub_environment,
    post_until_accepted,
    reindex,
)
from tests.integration.staff_desk_steps import SLACK_SECRET
from tests.postgres import POSTGRES_ENV, own_postgres_database, query

QUESTIONS = Path(__file__).resolve().parents[2] / "config" / "eval" / "sample-questions.jsonl"
ROUNDS = 3
API_CLIENTS = 32
API_TURNS = 8
ACK_CLIENTS = 50
ACK_TURNS = 6
ACK_TARGET_MS = 300.0
LOAD_CLIENTS = 50
LOAD_TURNS = 8
IDLE_EVERY_S = 0.05
IDLE_ACKS_S = 3.0
BUSY_EVERY_S = 0.2
"""A probe, not a load: 20 DMs/s on top of 50 API clients is more than 2 cores answer."""
PACED_MAX = 400
BURST_CONVERSATIONS = 32
BURST_TURNS = 8
BURST_SPACING_S = 0.2
ANSWERED_TIMEOUT_S = 120.0
BENCH_SETTINGS = {
    "SUPPORTHUB_LOG__LEVEL": "WARNING",
    # Each client asks unrelated questions: keep every conversation with the bot.
    "SUPPORTHUB_HANDOFF__KEYWORDS": "[]",
}

PROGRESS = """
    SELECT count(*) AS stored, count(*) FILTER (WHERE replies > 0) AS answered,
           coalesce(sum(replies), 0) AS replies
    FROM (SELECT (SELECT count(*) FROM messages r
                  WHERE r.conversation_id = m.conversation_id AND r.reply_to = m.id) AS replies
          FROM messages m JOIN conversations c ON c.id = m.conversation_id
          WHERE c.chat_id = ANY($1::text[]) AND m.author = 'customer') q"""
UNANSWERED = """
    SELECT m.external_id FROM messages m JOIN conversations c ON c.id = m.conversation_id
    WHERE c.chat_id = ANY($1::text[]) AND m.author = 'customer'
      AND NOT EXISTS (SELECT 1 FROM messages r WHERE r.conversation_id = m.conversation_id AND r.reply_to = m.id)"""


def unavailable() -> str | None:
    """Why this benchmark cannot run here, or None."""
    if not os.environ.get(POSTGRES_ENV):
        return f"skipped: set {POSTGRES_ENV} (e.g. postgresql+asyncpg://postgres@127.0.0.1:5432/test) to run it"
    if chroma_executable() is None:
        return "skipped: the `chroma` executable (chromadb) is not installed"
    return None


@dataclass
class Deployment:
    a: HubProcess
    b: HubProcess
    database_url: str
    sweep_s: float

    def start(self, *processes: HubProcess) -> None:
        for process in processes:
            process.start()
        for process in processes:
            process.wait_ready()


@contextmanager
def deployment(root: Path) -> Iterator[Deployment]:
    with (
        own_postgres_database() as database_url,
        chroma_server(root / "chroma") as chroma_url,
        ThreadedSlack() as slack,
    ):
        env = (
            hub_environment(
                database_url=database_url,
                chroma_url=chroma_url,
                slack_api_url=slack.fake.base_url,
                redis_url="",
                per_contact="",
            )
            | BENCH_SETTINGS
        )
        reindex(env, root / "indexer")
        a, b = HubProcess("a", root, env), HubProcess("b", root, env)
        try:
            yield Deployment(a, b, database_url, float(env["SUPPORTHUB_OUTBOX__POLL_INTERVAL_S"]))
        finally:
            a.stop()
            b.stop()


# -- CPU -----------------------------------------------------------------------------------


class CpuMeter:
    """CPU used since it was made: by this stack (the hub processes, the Chroma server, this
    load generator with the fake Slack, the PostgreSQL backends serving its database) and by
    the whole machine, which on a shared machine also runs other work."""

    def __init__(self, database: str) -> None:
        children = psutil.Process().children(recursive=True)
        self._hubs = {p.pid for p in children if "serve" in _cmdline(p)}
        self._stack = [psutil.Process(), *children, *_backends(database)]
        self._started = time.perf_counter()
        self._machine = psutil.cpu_times()
        self._cpu = _cpu_by_pid(self._stack)

    def per_message(self, messages: int) -> dict[str, float]:
        wall = time.perf_counter() - self._started
        now = psutil.cpu_times()
        total = _all_cores(now) - _all_cores(self._machine)
        idle = (now.idle + now.iowait) - (self._machine.idle + self._machine.iowait)
        cpu = _cpu_by_pid(self._stack)
        used = {pid: cpu[pid] - self._cpu[pid] for pid in cpu.keys() & self._cpu.keys()}  # a gone process: left out
        stack = sum(used.values())
        return {
            "machine_busy": (total - idle) / total,
            "stack_cores": stack / wall,
            "stack_ms": stack / messages * 1000,
            "hubs_ms": sum(seconds for pid, seconds in used.items() if pid in self._hubs) / messages * 1000,
        }


def _backends(database: str) -> list[psutil.Process]:
    """PostgreSQL's processes serving `database` (their title names it)."""
    return [p for p in psutil.process_iter() if f" {database} " in " ".join(_cmdline(p))]


def _all_cores(times: Any) -> float:
    """Every core's seconds; Linux counts guest time inside user time already."""
    return float(sum(times) - getattr(times, "guest", 0.0) - getattr(times, "guest_nice", 0.0))


def _cmdline(process: psutil.Process) -> list[str]:
    try:
        return list(process.cmdline())
    except psutil.Error:
        return []


def _cpu_by_pid(processes: Sequence[psutil.Process]) -> dict[int, float]:
    seconds = {}
    for process in processes:
        try:
            times = process.cpu_times()
        except psutil.Error:
            continue
        seconds[process.pid] = times.user + times.system
    return seconds


# -- clients -------------------------------------------------------------------------------


def new_session() -> aiohttp.ClientSession:
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=0), timeout=aiohttp.ClientTimeout(total=ANSWERED_TIMEOUT_S)
    )


async def api_round(
    urls: Sequence[str], contacts: Sequence[str], questions: Sequence[str], *, turns: int
) -> dict[str, float]:
    """Each contact a conversation asking `turns` questions one after another, message i of
    contact n to `urls[(n + i) % len(urls)]`."""
    latencies: list[float] = []
    errors = 0

    async def conversation(http: aiohttp.ClientSession, n: int, contact: str) -> None:
        nonlocal errors
        for turn in range(turns):
            payload = {"contact": contact, "text": questions[(n * turns + turn) % len(questions)]}
            started = time.perf_counter()
            try:
                async with http.post(
                    f"{urls[(n + turn) % len(urls)]}/api/messages", json=payload, headers=AUTH
                ) as response:
                    await response.read()
                    errors += response.status != 200
            except (aiohttp.ClientError, TimeoutError):
                errors += 1
            latencies.append(time.perf_counter() - started)

    async with new_session() as http:
        started = time.perf_counter()
        await asyncio.gather(*(conversation(http, n, c) for n, c in enumerate(contacts)))
        elapsed = time.perf_counter() - started
    return {
        "rate": len(latencies) / elapsed,
        "p50_ms": percentile(latencies, 50) * 1000,
        "p95_ms": percentile(latencies, 95) * 1000,
        "errors": float(errors),
    }


def signed_event(channel: str, text: str) -> tuple[str, dict[str, str]]:
    """A customer's direct message to the app (a `D…` channel), signed as Slack signs it."""
    event = message_event(channel=channel, user=f"U{channel[1:]}", text=text, ts=f"{time.time():.6f}")
    body = json.dumps(event)
    return body, signed_headers(SLACK_SECRET, body)


async def post_event(http: aiohttp.ClientSession, url: str, channel: str, text: str) -> float | None:
    """The seconds until the webhook answered 200, or None when it did not."""
    body, headers = signed_event(channel, text)
    started = time.perf_counter()
    try:
        async with http.post(f"{url}/slack/events", data=body, headers=headers) as response:
            await response.read()
            ok = response.status == 200
    except (aiohttp.ClientError, TimeoutError):
        ok = False
    return time.perf_counter() - started if ok else None


async def ack_round(
    urls: Sequence[str], channels: Sequence[str], questions: Sequence[str], *, turns: int
) -> dict[str, Any]:
    """Every channel a sender posting `turns` messages one after another."""
    acks: list[float | None] = []

    async def sender(http: aiohttp.ClientSession, n: int, channel: str) -> None:
        for turn in range(turns):
            text = questions[(n * turns + turn) % len(questions)]
            acks.append(await post_event(http, urls[(n + turn) % len(urls)], channel, text))

    async with new_session() as http:
        started = time.perf_counter()
        await asyncio.gather(*(sender(http, n, c) for n, c in enumerate(channels)))
        ended = time.perf_counter()
    return {"acks": acks, "rate": len(acks) / (ended - started), "ended": ended}


async def paced_acks(
    urls: Sequence[str], channel_prefix: str, questions: Sequence[str], until: asyncio.Task[Any], *, every_s: float
) -> list[float | None]:
    """A new customer DM every `every_s` until `until` is done (PACED_MAX at most), each sent on
    time whether or not the earlier ones were acknowledged: a slow ack must not slow the
    arrivals down."""
    sent: list[asyncio.Task[float | None]] = []
    async with new_session() as http:
        while not until.done() and len(sent) < PACED_MAX:
            n = len(sent)
            sent.append(
                asyncio.create_task(
                    post_event(http, urls[n % len(urls)], f"{channel_prefix}{n:04d}", questions[n % len(questions)])
                )
            )
            await asyncio.sleep(every_s)
        return list(await asyncio.gather(*sent))


# -- the database --------------------------------------------------------------------------


async def progress(database_url: str, chats: Sequence[str]) -> dict[str, int]:
    [row] = await query(database_url, PROGRESS, list(chats))
    return {"stored": row["stored"], "answered": row["answered"], "replies": int(row["replies"])}


async def all_answered(database_url: str, chats: Sequence[str], expected: int) -> float:
    """When (perf_counter) all `expected` customer messages of `chats` were stored and answered."""
    deadline = time.perf_counter() + ANSWERED_TIMEOUT_S
    while time.perf_counter() < deadline:
        if (await progress(database_url, chats))["answered"] >= expected:
            return time.perf_counter()
        await asyncio.sleep(0.05)
    raise RuntimeError(f"{expected} messages were not all answered within {ANSWERED_TIMEOUT_S:g} s")


# -- the measurements ----------------------------------------------------------------------


def median_round(rounds: Sequence[dict[str, float]], key: str) -> dict[str, float]:
    return sorted(rounds, key=lambda r: r[key])[len(rounds) // 2]


def throughput(deployment: Deployment, questions: Sequence[str]) -> dict[str, dict[str, float]]:
    """ROUNDS API rounds to process a alone (b idle) and ROUNDS to both, alternated so a drift
    of the machine's speed touches both; each round with fresh conversations. The median
    round of each."""
    setups = {"one": [deployment.a.url], "two": [deployment.a.url, deployment.b.url]}

    def contacts(tag: str) -> list[str]:
        return [f"{tag}-{n}" for n in range(API_CLIENTS)]

    for name, urls in setups.items():
        asyncio.run(api_round(urls, contacts(f"{name}-warm"), questions, turns=3))
    rounds: dict[str, list[dict[str, float]]] = {name: [] for name in setups}
    for r in range(ROUNDS):
        for name in sorted(setups, reverse=r % 2 == 1):
            meter = CpuMeter(make_url(deployment.database_url).database or "")
            figures = asyncio.run(api_round(setups[name], contacts(f"{name}-{r}"), questions, turns=API_TURNS))
            rounds[name].append(figures | meter.per_message(API_CLIENTS * API_TURNS))
    return {name: median_round(measured, "rate") for name, measured in rounds.items()}


def acknowledgements(deployment: Deployment, questions: Sequence[str]) -> dict[str, float]:
    """Webhook acks under ACK_CLIENTS concurrent senders; each round's answers awaited before the next."""
    urls = [deployment.a.url, deployment.b.url]

    async def one_round(tag: str, turns: int) -> dict[str, float]:
        channels = [f"D{tag}{n:03d}" for n in range(ACK_CLIENTS)]
        measured = await ack_round(urls, channels, questions, turns=turns)
        answered = await all_answered(deployment.database_url, channels, ACK_CLIENTS * turns)
        acks = [a for a in measured["acks"] if a is not None]
        return {
            "p50_ms": percentile(acks, 50) * 1000,
            "p99_ms": percentile(acks, 99) * 1000,
            "max_ms": max(acks) * 1000,
            "rate": measured["rate"],
            "errors": float(len(measured["acks"]) - len(acks)),
            "drain_s": answered - measured["ended"],
        }

    asyncio.run(one_round("WARM", turns=1))
    return median_round([asyncio.run(one_round(f"R{r}", turns=ACK_TURNS)) for r in range(ROUNDS)], "p99_ms")


def paced_acknowledgements(deployment: Deployment, questions: Sequence[str], *, busy: bool) -> dict[str, float]:
    """Paced Slack DMs over both processes: while LOAD_CLIENTS API clients keep them answering
    (`busy`), or for IDLE_ACKS_S with nothing else to do (the floor of an ack)."""
    urls = [deployment.a.url, deployment.b.url]

    async def one_round(r: int) -> dict[str, float]:
        prefix = f"D{'B' if busy else 'I'}{r}"
        load: asyncio.Task[Any]
        if busy:
            load = asyncio.create_task(
                api_round(urls, [f"load-{r}-{n}" for n in range(LOAD_CLIENTS)], questions, turns=LOAD_TURNS)
            )
        else:
            load = asyncio.create_task(asyncio.sleep(IDLE_ACKS_S))
        sent = await paced_acks(urls, prefix, questions, load, every_s=BUSY_EVERY_S if busy else IDLE_EVERY_S)
        await load
        acks = [a for a in sent if a is not None]
        await all_answered(deployment.database_url, [f"{prefix}{n:04d}" for n in range(len(sent))], len(sent))
        return {
            "p50_ms": percentile(acks, 50) * 1000,
            "p99_ms": percentile(acks, 99) * 1000,
            "acks": float(len(acks)),
            "errors": float(len(sent) - len(acks)),
            "api_rate": load.result()["rate"] if busy else 0.0,
        }

    return median_round([asyncio.run(one_round(r)) for r in range(ROUNDS if busy else 1)], "p99_ms")


async def burst_with_kill(
    deployment: Deployment, victim: HubProcess, questions: Sequence[str], tag: str
) -> dict[str, float]:
    """BURST_CONVERSATIONS conversations post over both processes without waiting for answers;
    `victim` is killed once half the burst is sent."""
    processes = [deployment.a, deployment.b]
    contacts = [f"burst-{tag}-{n}" for n in range(BURST_CONVERSATIONS)]
    expected = BURST_CONVERSATIONS * BURST_TURNS
    posts: list[asyncio.Task[None]] = []
    sent_to_victim: set[str] = set()

    async def conversation(http: aiohttp.ClientSession, n: int, contact: str) -> None:
        for turn in range(BURST_TURNS):
            payload = {
                "contact": contact,
                "text": questions[(n * BURST_TURNS + turn) % len(questions)],
                "id": str(turn),
            }
            if processes[(n + turn) % 2] is victim and victim.running:
                sent_to_victim.add(external_id(contact, payload["id"]))
            posts.append(asyncio.create_task(post_until_accepted(http, processes, n + turn, payload)))
            await asyncio.sleep(BURST_SPACING_S)

    async with new_session() as http:
        senders = [asyncio.create_task(conversation(http, n, c)) for n, c in enumerate(contacts)]
        while len(posts) < expected // 2:
            await asyncio.sleep(0.01)
        victim.kill()
        killed = time.perf_counter()
        orphans = {row["external_id"] for row in await query(deployment.database_url, UNANSWERED, contacts)}
        await asyncio.gather(*senders)
        answered = await all_answered(deployment.database_url, contacts, expected)
        await asyncio.gather(*posts)
    final = await progress(deployment.database_url, contacts)
    return {
        "seconds": answered - killed,
        "orphans": float(len(orphans & sent_to_victim)),
        "unanswered_at_kill": float(len(orphans)),
        "twice": float(final["replies"] - final["answered"]),
        "stored": float(final["stored"]),
        "expected": float(expected),
    }


def kills(deployment: Deployment, questions: Sequence[str]) -> dict[str, float]:
    """ROUNDS bursts, killing a, b, a…; the killed process is started again between rounds."""
    rounds = []
    for r in range(ROUNDS):
        victim = (deployment.a, deployment.b)[r % 2]
        rounds.append(asyncio.run(burst_with_kill(deployment, victim, questions, str(r))))
        if r < ROUNDS - 1:
            deployment.start(victim)
    median = median_round(rounds, "seconds")
    return median | {
        "min_s": min(r["seconds"] for r in rounds),
        "max_s": max(r["seconds"] for r in rounds),
        "twice": sum(r["twice"] for r in rounds),
        "lost": sum(r["expected"] - r["stored"] for r in rounds),
    }


def run() -> dict[str, float]:
    questions = [
        json.loads(line)["question"] for line in QUESTIONS.read_text(encoding="utf-8").splitlines() if line.strip()
    ]
    with TemporaryDirectory() as tmp, deployment(Path(tmp)) as hub:
        started = time.perf_counter()
        hub.start(hub.a, hub.b)
        chunks = float((hub.a.readiness() or {}).get("chunks", 0))
        rates = throughput(hub, questions)
        idle = paced_acknowledgements(hub, questions, busy=False)
        acks = acknowledgements(hub, questions)
        loaded = paced_acknowledgements(hub, questions, busy=True)
        killed = kills(hub, questions)
        seconds = time.perf_counter() - started
    figures = {
        "chunks": chunks,
        "seconds": seconds,
        "cores": float(psutil.cpu_count() or 1),
        "lease_s": ANSWER_LEASE.total_seconds(),
        "sweep_s": hub.sweep_s,
    }
    parts = {"one_": rates["one"], "two_": rates["two"], "idle_": idle, "ack_": acks, "load_": loaded, "kill_": killed}
    for prefix, part in parts.items():
        figures |= {prefix + key: value for key, value in part.items()}
    return figures


def report(f: dict[str, float]) -> str:
    ratio = f["two_rate"] / f["one_rate"]
    idle_cores = f["cores"] * (1 - f["one_machine_busy"])
    ceiling = (f["one_stack_cores"] + idle_cores) / f["one_stack_cores"]
    floor = f["lease_s"] + f["sweep_s"]
    rows = [
        ("index: the sample help centre (chunks)", f"{f['chunks']:.0f}", "questions: config/eval, 101"),
        (
            f"one process, {API_CLIENTS} API clients: answered/s",
            f"{f['one_rate']:.0f}",
            f"the other idle; median of {ROUNDS} rounds, alternated with two's; p50/p95 {f['one_p50_ms']:.0f}/{f['one_p95_ms']:.0f} ms; errors {f['one_errors']:.0f}",
        ),
        (
            f"two processes, {API_CLIENTS} API clients: answered/s",
            f"{f['two_rate']:.0f}",
            f"p50/p95 {f['two_p50_ms']:.0f}/{f['two_p95_ms']:.0f} ms; errors {f['two_errors']:.0f}",
        ),
        (
            "two ÷ one",
            f"{ratio:.2f}×",
            f"ceiling {ceiling:.2f}×: one process's stack used {f['one_stack_cores']:.2f} cores and left "
            f"{idle_cores:.2f} idle (alone on the machine: {f['cores']:.0f} ÷ {f['one_stack_cores']:.2f} = "
            f"{f['cores'] / f['one_stack_cores']:.2f}×)",
        ),
        (
            "CPU per answer, the stack: one / two",
            f"{f['one_stack_ms']:.1f} / {f['two_stack_ms']:.1f} ms",
            f"of which the hubs {f['one_hubs_ms']:.1f} / {f['two_hubs_ms']:.1f} ms; the stack used "
            f"{f['one_stack_cores']:.2f} / {f['two_stack_cores']:.2f} cores, the machine was "
            f"{f['one_machine_busy']:.0%} / {f['two_machine_busy']:.0%} busy",
        ),
        (
            "Slack webhook ack, idle processes: p50 / p99",
            f"{f['idle_p50_ms']:.0f} / {f['idle_p99_ms']:.0f} ms",
            f"the floor: {f['idle_acks']:.0f} DMs, one every {IDLE_EVERY_S * 1000:.0f} ms; errors {f['idle_errors']:.0f}",
        ),
        (
            f"Slack webhook ack, {ACK_CLIENTS} senders: p50 / p99",
            f"{f['ack_p50_ms']:.0f} / {f['ack_p99_ms']:.0f} ms",
            f"target p99 <= {ACK_TARGET_MS:.0f} ms; median of {ROUNDS}; max {f['ack_max_ms']:.0f} ms; "
            f"{f['ack_rate']:.0f} acks/s; "
            f"errors {f['ack_errors']:.0f}; all answered {f['ack_drain_s']:.1f} s after the last ack",
        ),
        (
            f"Slack ack during {LOAD_CLIENTS} API clients: p50 / p99",
            f"{f['load_p50_ms']:.0f} / {f['load_p99_ms']:.0f} ms",
            f"a DM every {BUSY_EVERY_S * 1000:.0f} ms ({f['load_acks']:.0f} in the median of {ROUNDS}); target p99 <= {ACK_TARGET_MS:.0f} ms; API meanwhile "
            f"{f['load_api_rate']:.0f} answered/s; errors {f['load_errors']:.0f}",
        ),
        (
            "SIGKILL midway: kill → every message answered",
            f"{f['kill_seconds']:.1f} s",
            f"median of {ROUNDS} ({f['kill_min_s']:.1f}–{f['kill_max_s']:.1f} s); floor {floor:g} s: the "
            f"{f['lease_s']:g} s answer lease + the {f['sweep_s']:g} s sweep",
        ),
        (
            "the killed process's unanswered messages",
            f"{f['kill_orphans']:.0f}",
            f"of {f['kill_unanswered_at_kill']:.0f} unanswered at the kill, {f['kill_expected']:.0f} in the burst; "
            f"answered twice {f['kill_twice']:.0f}, lost {f['kill_lost']:.0f} (all rounds)",
        ),
    ]
    width = max(len(r[0]) for r in rows)
    body = "\n".join(f"{name:<{width}}  {value:>16}  {note}" for name, value, note in rows)
    return f"{body}\n(measured in {f['seconds']:.0f} s, 2 processes + PostgreSQL + Chroma + the load on one machine)"
