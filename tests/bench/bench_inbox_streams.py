"""`/api/messages` with 1,000 inbox pages open: the API's p50 for one client with no inbox
stream open, then with 1,000 open `/admin/inbox/events` streams, then with none again; the
target is within 2x of none.

A real `supporthub serve` over bench_api's StackFAQ help centre (~2,000 chunks), with the
dashboard on. The 1,000 streams are held by 100 people, 10 each: the default
`admin.live_streams_per_person`, so the cap is what an operator would run with. The people and
their sessions are written into the hub's database before it starts (as `supporthub staff
invite` and a sign-in would, without argon2's fifth of a second for each). This process holds
the streams and reads every event as it arrives, then one client asks the questions one after
another, as in bench_api's "one client" row. Each phase asks the same questions as a contact of
its own, so no phase inherits a longer conversation from the one before. Beside each phase's
p50 and p95, the server's CPU time per message: on a shared machine latency wanders with the
neighbours' load, while what the server itself spent does not. On SQLite, and on PostgreSQL (a
database of its own) when SUPPORTHUB_TEST_POSTGRES_URL is set.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import Any

import aiohttp
import psutil
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine
from sqlalchemy.orm import Session

from core.ops.access import STAFF_COOKIE
from core.settings import Settings
from core.store import staff
from core.store.db import StaffRole
from tests.bench.bench_api import server_environment, wait_ready, write_corpus
from tests.bench.bench_retrieval import percentile
from tests.ports import free_port
from tests.postgres import POSTGRES_ENV

STREAMS = 1000
PER_PERSON = 10
QUESTIONS = 300
WARM_UP = 50
OPENING_AT_ONCE = 50
TARGET = 2.0
"""The p50 with the streams open, at most this many times the p50 with none."""


async def sign_in_people(database_url: str, count: int) -> list[str]:
    """`count` people on the staff, each signed in once: their sessions' cookie tokens."""

    def people(session: Session) -> list[str]:
        tokens = []
        for n in range(count):
            email = f"agent{n}@example.com"
            invited = staff.invite(session, email=email, name=f"Agent {n}", role=StaffRole.AGENT, actor="bench")
            person = staff.accept(session, token=invited, name=f"Agent {n}", password_hash="not checked here")
            tokens.append(staff.open_session(session, person=person, ttl=timedelta(hours=12))[0])
        return tokens

    engine = create_async_engine(database_url)
    try:
        async with AsyncSession(engine) as session, session.begin():
            return await session.run_sync(people)
    finally:
        await engine.dispose()


class Streams:
    """Open inbox streams, each read to its end by a task of its own."""

    def __init__(self, http: aiohttp.ClientSession, url: str) -> None:
        self._http = http
        self._url = url
        self._readers: list[asyncio.Task[None]] = []
        self.events = 0
        self.refused = 0

    async def open(self, tokens: Sequence[str], per_person: int) -> None:
        gate = asyncio.Semaphore(OPENING_AT_ONCE)

        async def one(token: str) -> None:
            done = asyncio.get_running_loop().create_future()
            async with gate:  # until its first event (or its refusal)
                self._readers.append(asyncio.create_task(self._hold(token, done)))
                await done

        await asyncio.gather(*(one(token) for token in tokens for _ in range(per_person)))

    async def _hold(self, token: str, opened: asyncio.Future[None]) -> None:
        try:
            async with self._http.get(self._url, headers={"Cookie": f"{STAFF_COOKIE}={token}"}) as response:
                if response.status != 200:
                    self.refused += 1
                    return
                async for line in response.content:
                    if line.startswith(b"data: "):
                        self.events += 1
                        if not opened.done():
                            opened.set_result(None)
        finally:
            if not opened.done():
                opened.set_result(None)

    @property
    def open_count(self) -> int:
        return sum(not reader.done() for reader in self._readers)

    async def close(self) -> None:
        for reader in self._readers:
            reader.cancel()
        await asyncio.gather(*self._readers, return_exceptions=True)


@dataclass(frozen=True, slots=True)
class Phase:
    p50_ms: float
    p95_ms: float
    server_cpu_ms: float
    """The server process's CPU time per question asked (every thread's)."""


async def one_client(url: str, questions: Sequence[str], *, contact: str, server: psutil.Process) -> Phase:
    """`questions` asked one after another by `contact`."""
    latencies = []
    cpu = server.cpu_times()
    async with aiohttp.ClientSession() as http:
        for text in questions:
            started = time.perf_counter()
            async with http.post(url, json={"contact": contact, "text": text}) as response:
                await response.read()
                if response.status != 200:
                    raise RuntimeError(f"/api/messages answered {response.status}")
            latencies.append(time.perf_counter() - started)
    spent = server.cpu_times()
    return Phase(
        p50_ms=percentile(latencies, 50) * 1000,
        p95_ms=percentile(latencies, 95) * 1000,
        server_cpu_ms=(spent.user + spent.system - cpu.user - cpu.system) * 1000 / len(questions),
    )


async def measure(base: str, questions: Sequence[str], tokens: Sequence[str], server: psutil.Process) -> dict[str, Any]:
    api = f"{base}/api/messages"
    ask = partial(one_client, api, server=server)
    await ask(questions[:WARM_UP], contact="warm-up")
    none = await ask(questions, contact="with-no-stream")
    connector = aiohttp.TCPConnector(limit=0)
    timeout = aiohttp.ClientTimeout(total=None, sock_read=None)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:
        streams = Streams(http, f"{base}/admin/inbox/events")
        await streams.open(tokens, PER_PERSON)
        held = streams.open_count
        first_events = streams.events
        with_streams = await ask(questions, contact="with-streams")
        still_open = streams.open_count
        events = streams.events - first_events
        await streams.close()
    after = await ask(questions, contact="after-streams")
    return {
        "none": none,
        "streams": with_streams,
        "after": after,
        "held": held,
        "still_open": still_open,
        "refused": streams.refused,
        "events": events,
    }


def run(threads: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """On SQLite, and on PostgreSQL (a database of its own) when SUPPORTHUB_TEST_POSTGRES_URL is set."""
    questions = [q for t in threads for q in t["queries"]][:QUESTIONS]
    databases: list[tuple[str, Callable[[], AbstractContextManager[str]]]] = [("SQLite", lambda: nullcontext(""))]
    if os.environ.get(POSTGRES_ENV):
        from tests.postgres import own_postgres_database

        databases.append(("PostgreSQL", partial(own_postgres_database, "the inbox streams benchmark")))
    out: dict[str, Any] = {}
    for name, database in databases:
        with tempfile.TemporaryDirectory() as tmp, database() as database_url:
            out[name] = measure_on(Path(tmp), database_url, threads, questions)
    return out


def measure_on(
    root: Path, database_url: str, threads: Sequence[dict[str, Any]], questions: Sequence[str]
) -> dict[str, Any]:
    write_corpus(threads, root / "corpus")
    env = {
        **server_environment(root),
        "SUPPORTHUB_DATABASE_URL": database_url,
        "SUPPORTHUB_ADMIN__TOKEN": "bench-inbox-streams-token",
    }
    cli = [sys.executable, "-m", "core.cli.main"]
    subprocess.run([*cli, "reindex"], env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    settings = Settings(data_dir=root / "data", database_url=database_url)
    tokens = asyncio.run(sign_in_people(settings.resolved_database_url, STREAMS // PER_PERSON))
    port = free_port()
    server = subprocess.Popen([*cli, "serve", "--port", str(port)], env=env, stderr=subprocess.DEVNULL)
    try:
        base = f"http://127.0.0.1:{port}"
        asyncio.run(wait_ready(f"{base}/readyz", server))
        return asyncio.run(measure(base, questions, tokens, psutil.Process(server.pid)))
    finally:
        server.terminate()
        server.wait(timeout=60)


def report(figures: dict[str, Any]) -> str:
    rows = [("one client, /api/messages", "p50 / p95  server CPU per message", "")]
    for database in ("SQLite", "PostgreSQL"):
        if database not in figures:
            rows.append((database, "skipped", f"set {POSTGRES_ENV} to run it"))
            continue
        rows += _rows(database, figures[database])
    width = max(len(r[0]) for r in rows)
    return "\n".join(f"{name:<{width}}  {value:>34}  {note}".rstrip() for name, value, note in rows)


def _rows(database: str, figures: dict[str, Any]) -> list[tuple[str, str, str]]:
    none, streams, after = figures["none"], figures["streams"], figures["after"]

    def phase(row: str, found: Phase, note: str = "") -> tuple[str, str, str]:
        return f"{database}: {row}", f"{found.p50_ms:.1f} / {found.p95_ms:.1f} ms  {found.server_cpu_ms:.1f} ms", note

    return [
        phase("no stream open", none),
        phase(
            f"{STREAMS:,} inbox streams open",
            streams,
            f"p50 {streams.p50_ms / none.p50_ms:.2f}x of none; target within {TARGET:.0f}x",
        ),
        phase("the streams closed again", after),
        (
            f"{database}: streams held / refused",
            f"{figures['held']} / {figures['refused']}",
            f"{STREAMS // PER_PERSON} people, {PER_PERSON} each; {figures['still_open']} still open at the end",
        ),
        (
            f"{database}: events the streams got meanwhile",
            f"{figures['events']}",
            "a bot's conversation is no news to the queue",
        ),
    ]


if __name__ == "__main__":
    from tests.bench.__main__ import DEFAULT_STACKFAQ
    from tests.bench.bench_retrieval import load_threads

    print(report(run(load_threads(Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_STACKFAQ))))
