"""PostgreSQL stalls for 5 s under Telegram traffic, measured from outside a running hub (issue 56).

    python -m tests.bench.bench_postgres_stall

One `supporthub serve` (the sample help centre, Telegram by webhook against the fake Bot API) on
a PostgreSQL database of its own, reached through a TCP proxy (tests/fakes/tcp_proxy.py) that
can swallow everything sent to the database without closing a connection: a frozen server, or
a network that loses what is sent. 60 customers write once each: 35 before the stall, their
updates at once (so the pool opens its connections), then 25 in a burst while the proxy
swallows for `STALL_S`. As Telegram does, an update not answered 200 is delivered again a
second later. Measured from the moment the database answers again: the first `/readyz` 200, the
first new update taken (a new customer writes every half second until one is answered 200),
every stalled update taken; then whether each of the 60 was stored once and answered once.

Before issue 56 every pooled connection caught in the stall waited forever, and the hub
answered 503 until a restart: the issue saw /readyz unavailable for 17 minutes. Each wait here
is cut at `GIVE_UP_S`.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

import aiohttp
from sqlalchemy.engine import make_url

from channels.telegram.stand_in import BOT_TOKEN, FakeBotApi
from channels.telegram.stand_in_updates import private_message
from tests.conftest import SAMPLE_KNOWLEDGE
from tests.fakes.tcp_proxy import CuttableProxy
from tests.integration.hub_processes import SUPPORTHUB
from tests.ports import free_port
from tests.postgres import POSTGRES_ENV, own_postgres_database, query

BEFORE = 35
BURST = 25
STALL_S = 5.0
REDELIVERY_S = 1.0
"""How long Telegram waits before delivering an update again (its real back-off is longer)."""
PROBE_EVERY_S = 0.5
GIVE_UP_S = 120.0
SECRET = "bench-webhook-secret"
HEADERS = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
REQUEST_TIMEOUT = aiohttp.ClientTimeout(total=60)
ANSWERED = """
    SELECT m.external_id, count(*) OVER (PARTITION BY m.external_id) AS copies,
           (SELECT count(*) FROM messages r WHERE r.reply_to = m.id) AS replies
    FROM messages m WHERE m.author = 'customer'"""
OPEN = "SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()"


def unavailable() -> str | None:
    """Why this benchmark cannot run here, or None."""
    if not os.environ.get(POSTGRES_ENV):
        return f"skipped: set {POSTGRES_ENV} (e.g. postgresql+asyncpg://postgres@127.0.0.1:5432/test) to run it"
    return None


@dataclass(frozen=True, slots=True)
class Result:
    ready_s: float | None
    """From the database answering again to the first /readyz 200; None: not within GIVE_UP_S."""
    new_update_s: float | None
    """To the first new customer's update answered 200."""
    all_taken_s: float | None
    """To the last of the stalled burst's updates answered 200."""
    refused: int
    """Deliveries answered other than 200 (each one delivered again)."""
    connections: int
    """The hub's connections to the database when the stall began (20 pooled, the listener's, the leader's)."""
    swallowed: int
    """Chunks the stall swallowed (a statement each, or a connection's start-up, or a cancel request)."""
    stored_once: int
    duplicates: int
    answered: int
    customers: int


def update(n: int) -> dict[str, Any]:
    return {"update_id": 100_000 + n, **private_message(f"How do I reset my password? ({n})", user_id=50_000 + n)}


class Telegram:
    """Telegram's side of the webhook: delivers an update until the hub answers 200."""

    def __init__(self, http: aiohttp.ClientSession, url: str) -> None:
        self._http, self._url = http, f"{url}/telegram/webhook"
        self.refused = 0

    async def deliver_once(self, body: dict[str, Any]) -> bool:
        try:
            async with self._http.post(self._url, json=body, headers=HEADERS, timeout=REQUEST_TIMEOUT) as response:
                taken = response.status == 200
        except (aiohttp.ClientError, TimeoutError):
            taken = False
        self.refused += not taken
        return taken

    async def deliver(self, body: dict[str, Any], *, until: float) -> float | None:
        """Deliver `body` until taken; when it was taken (monotonic), or None past `until`."""
        while time.monotonic() < until:
            if await self.deliver_once(body):
                return time.monotonic()
            await asyncio.sleep(REDELIVERY_S)
        return None


async def first(check: Callable[[], Awaitable[bool]], *, every: float, until: float) -> float | None:
    """When `check` first came true (monotonic), asked every `every` seconds; None past `until`."""
    while time.monotonic() < until:
        if await check():
            return time.monotonic()
        await asyncio.sleep(every)
    return None


async def stall(root: Path, database_url: str) -> Result:
    server = make_url(database_url)
    proxy = CuttableProxy(server.host or "127.0.0.1", server.port or 5432)
    await proxy.start()
    telegram = FakeBotApi()
    await telegram.start()
    port = free_port()
    env = {
        **os.environ,
        "SUPPORTHUB_DATABASE_URL": server.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False),
        "SUPPORTHUB_DATA_DIR": str(root / "data"),
        "SUPPORTHUB_KNOWLEDGE__PATHS": json.dumps([str(SAMPLE_KNOWLEDGE)]),
        "SUPPORTHUB_CHANNELS": json.dumps(["telegram"]),
        "SUPPORTHUB_TELEGRAM__BOT_TOKEN": BOT_TOKEN,
        "SUPPORTHUB_TELEGRAM__API_URL": telegram.api_url,
        "SUPPORTHUB_TELEGRAM__PUBLIC_URL": "https://hub.example.com",
        "SUPPORTHUB_TELEGRAM__WEBHOOK_SECRET": SECRET,
        "SUPPORTHUB_LIMITS__PER_CONTACT": "",
        "SUPPORTHUB_LIMITS__PER_IP": "",
        "SUPPORTHUB_SCHEDULE": "[]",
        "SUPPORTHUB_LOG__FORMAT": "text",
    }
    await asyncio.to_thread(
        subprocess.run, [SUPPORTHUB, "reindex"], env=env, check=True, capture_output=True, timeout=600
    )
    url = f"http://127.0.0.1:{port}"
    with (root / "serve.log").open("wb") as log:
        hub = subprocess.Popen([SUPPORTHUB, "serve", "--port", str(port)], env=env, stdout=log, stderr=log)
    try:
        async with aiohttp.ClientSession() as http:
            platform = Telegram(http, url)

            async def ready() -> bool:
                try:
                    async with http.get(f"{url}/readyz", timeout=aiohttp.ClientTimeout(total=5)) as response:
                        return response.status == 200
                except (aiohttp.ClientError, TimeoutError):
                    return False

            started = time.monotonic()
            assert await first(ready, every=0.5, until=started + 180), "the hub did not start"
            await platform.deliver({"update_id": 1}, until=started + 180)  # the channel connected
            taken = await asyncio.gather(*(platform.deliver(update(n), until=started + 300) for n in range(BEFORE)))
            assert all(taken), "the updates before the stall were not all taken"
            platform.refused = 0
            connections = len(await query(database_url, OPEN, server.database))

            proxy.hung = True
            burst = [asyncio.create_task(platform.deliver(update(BEFORE + n), until=1e18)) for n in range(BURST)]
            await asyncio.sleep(STALL_S)
            proxy.hung = False
            back = time.monotonic()
            swallowed = proxy.swallowed
            give_up = back + GIVE_UP_S
            customers = BEFORE + BURST

            async def new_customer_taken() -> bool:
                nonlocal customers
                customers += 1
                return await platform.deliver_once(update(customers - 1))

            ready_at, new_at = await asyncio.gather(
                first(ready, every=0.2, until=give_up),
                first(new_customer_taken, every=PROBE_EVERY_S, until=give_up),
            )
            done, pending = await asyncio.wait(burst, timeout=max(0.0, give_up - time.monotonic()))
            for task in pending:
                task.cancel()
            taken_at = [task.result() for task in done]
            all_taken = None if pending or None in taken_at else max(t for t in taken_at if t is not None)

            async def everyone_answered() -> bool:
                return len({call.params.get("chat_id") for call in telegram.calls_to("sendMessage")}) >= customers

            await first(everyone_answered, every=0.5, until=time.monotonic() + GIVE_UP_S)
    finally:
        hub.terminate()  # its shutdown talks to the proxy and the fake, served by this loop
        try:
            await asyncio.to_thread(hub.wait, 30)
        except subprocess.TimeoutExpired:
            hub.kill()  # a hub whose connections wait forever does not stop either
            await asyncio.to_thread(hub.wait)
        await telegram.stop()
        await proxy.close()
    rows = await query(database_url, ANSWERED)
    copies = Counter(row["external_id"] for row in rows)
    return Result(
        ready_s=None if ready_at is None else ready_at - back,
        new_update_s=None if new_at is None else new_at - back,
        all_taken_s=None if all_taken is None else all_taken - back,
        refused=platform.refused,
        connections=connections,
        swallowed=swallowed,
        stored_once=sum(1 for n in copies.values() if n == 1),
        duplicates=sum(n - 1 for n in copies.values()),
        answered=sum(1 for row in rows if row["replies"] == 1),
        customers=customers,
    )


def run() -> Result:
    with TemporaryDirectory() as root, own_postgres_database("the stall benchmark") as database_url:
        return asyncio.run(stall(Path(root), database_url))


def _seconds(value: float | None) -> str:
    return f"{value:.1f} s" if value is not None else f"not within {GIVE_UP_S:g} s"


def report(result: Result) -> str:
    return "\n".join(
        [
            f"a {STALL_S:g} s stall, {BURST} updates arriving in it ({BEFORE} before), the hub holding"
            f" {result.connections} connections, {result.swallowed} statements swallowed;"
            " from the database answering again:",
            f"  /readyz 200 after                     {_seconds(result.ready_s)}",
            f"  a new customer's update taken after    {_seconds(result.new_update_s)}",
            f"  every stalled update taken after       {_seconds(result.all_taken_s)}",
            f"  deliveries refused (503), sent again   {result.refused}",
            f"  customers' updates stored once         {result.stored_once} of {result.customers}"
            f" ({result.duplicates} stored twice)",
            f"  answered once                          {result.answered} of {result.customers}",
        ]
    )


if __name__ == "__main__":
    reason = unavailable()
    if reason:
        print(reason)
        sys.exit(0)
    print(report(run()))
