"""How fast one sender may write: `[limits] per_contact` and `per_ip`, with the `limits`
library (a moving window), in Redis when `redis_url` is set — every process then shares the
counts — and in this process's memory otherwise (`core.memory_windows`: the library's own
in-memory store costs more with every sender it holds).

Channels ask through the hub port (`HubPort.admit`) before they store a message. Who is
counted is the channel's call, because only it knows who is speaking: a contact on every
channel; an IP address only where the IP is the customer's own (the widget, an API without a
token) — never for a platform's servers (Slack, Telegram, Twilio) or a company's backend
calling with the API token, which speak for many customers from one address.

A limiter that cannot reach Redis lets messages through (and says so in the log, once): losing
the limit for a while is better than refusing every customer. Nor may Redis hold a message up:
each call gives up after `REDIS_TIMEOUT_S`, and after a failure Redis is left alone for
`REDIS_PAUSE_S` (messages pass unlimited meanwhile), then one message tries it again — a
circuit breaker, so a Redis that accepts connections and never answers costs one message half
a second every 30 s instead of every message redis-py's 5 s. (Written here in a few lines:
`circuitbreaker` 2.1 lets every caller through once the pause is over, each then waiting out
a hung Redis, and keeps every breaker in a process-wide registry.) `CounterStore` is that
store with its breaker; the dashboard's sign-in throttle (`core.ops.access`) counts its
failures in one too.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Awaitable, Callable
from functools import partial
from time import monotonic
from typing import TypeVar

from limits import RateLimitItem, WindowStats, parse_many
from limits.aio.storage import RedisStorage
from limits.aio.strategies import MovingWindowRateLimiter

from core.channel import Admission
from core.memory_windows import MemoryWindows
from core.metrics import Rejection, rejected
from core.settings import Settings

log = logging.getLogger(__name__)

T = TypeVar("T")

ADMITTED = Admission(True)
REDIS_TIMEOUT_S = 0.5
"""Connecting to Redis, and each answer, may take this long before Redis counts as failing.
Measured here: a hit takes 0.08 ms alone (p99 1.8 ms), and 92 ms at most for 100 messages at
once on a busy 2-core machine (the client's own queue); five times that still keeps a hung
Redis well inside Slack's 3-second wait for an event's acknowledgement."""
REDIS_PAUSE_S = 30.0
"""After a failure, how long messages pass unlimited before Redis is tried again. A restarted
Redis is back within seconds; the limits are per minute, so half a minute unlimited lets at
most half a minute's flood through."""


class CounterStore:
    """Moving-window counts in Redis when `redis_url` is set (every process shares them), in
    this process's memory otherwise, behind the circuit breaker the module describes: each
    call answers None instead when the store failed or is being left alone, and its owner
    decides what an unknown count means. `on_failing` hears the failure that opens the
    breaker, `on_answering` the first answer after it; neither hears anything in between."""

    def __init__(
        self, redis_url: str, *, on_failing: Callable[[Exception], None], on_answering: Callable[[], None]
    ) -> None:
        self._limiter: MovingWindowRateLimiter | MemoryWindows = (
            MovingWindowRateLimiter(
                RedisStorage(
                    f"async+{redis_url}",
                    implementation="redispy",
                    socket_timeout=REDIS_TIMEOUT_S,
                    socket_connect_timeout=REDIS_TIMEOUT_S,
                )
            )
            if redis_url
            else MemoryWindows()
        )
        self._on_failing = on_failing
        self._on_answering = on_answering
        self._failing = False
        self._paused_until = 0.0
        self._probing = False

    async def hit(self, item: RateLimitItem, *key: str) -> bool | None:
        """Count one against `item` for `key`: whether it was still within the limit."""
        return await self._counted(partial(self._limiter.hit, item, *key))

    async def test(self, item: RateLimitItem, *key: str) -> bool | None:
        """Whether one more for `key` would be within `item`, counting nothing."""
        return await self._counted(partial(self._limiter.test, item, *key))

    async def clear(self, item: RateLimitItem, *key: str) -> None:
        """Forget what was counted against `item` for `key`."""
        await self._counted(partial(self._limiter.clear, item, *key))

    async def window_stats(self, item: RateLimitItem, *key: str) -> WindowStats | None:
        return await self._counted(partial(self._limiter.get_window_stats, item, *key))

    async def _counted(self, call: Callable[[], Awaitable[T]]) -> T | None:
        """`call()` on the store; None when it failed, or was not made because the store
        failed within `REDIS_PAUSE_S` (or another caller is trying it again just now)."""
        if self._probing or monotonic() < self._paused_until:
            return None
        probe = self._failing  # after a pause, one caller at a time tries the store again
        self._probing = probe
        try:
            result = await call()
        except Exception as exc:  # noqa: BLE001 — Redis down, hung or unreachable: fail open
            self._paused_until = monotonic() + REDIS_PAUSE_S
            if not self._failing:
                self._on_failing(exc)
            self._failing = True
            return None
        finally:
            if probe:
                self._probing = False
        if self._failing:
            self._on_answering()
            self._failing = False
        return result


class RateLimits:
    def __init__(self, *, per_contact: str, per_ip: str, sessions_per_ip: str = "", redis_url: str = "") -> None:
        """`per_contact`/`per_ip`/`sessions_per_ip` in the `limits` notation ("30/minute",
        several joined by ";"); "" turns one off."""
        self._per_contact = parse_many(per_contact) if per_contact else []
        self._per_ip = parse_many(per_ip) if per_ip else []
        self._sessions_per_ip = parse_many(sessions_per_ip) if sessions_per_ip else []
        self._counts = CounterStore(redis_url, on_failing=_counts_fail, on_answering=_counts_answer)
        self._refusing: set[tuple[str, ...]] = set()

    async def admit(self, *, channel: str, sender: str | None = None, ip: str | None = None) -> Admission:
        """Count one message from `sender` on `channel` (and from `ip` when given); refused when
        either is over its limit."""
        checks: list[tuple[RateLimitItem, tuple[str, ...]]] = (
            [(item, ("ip", ip)) for item in self._per_ip] if ip else []
        ) + ([(item, ("contact", channel, sender)) for item in self._per_contact] if sender else [])
        return await self._admitted(channel, checks)

    async def admit_session(self, *, channel: str, ip: str | None) -> Admission:
        """Count one new session (a new sender) from `ip`: sessions cost a visitor nothing, so
        without this a new one per message would step around `per_contact`."""
        return await self._admitted(channel, [(item, ("session", ip)) for item in self._sessions_per_ip] if ip else [])

    async def _admitted(self, channel: str, checks: list[tuple[RateLimitItem, tuple[str, ...]]]) -> Admission:
        for item, key in checks:
            if not await self._hit(item, key):
                rejected(channel, Rejection.RATE_LIMITED)
                if key not in self._refusing:  # once per flood, not once per message
                    self._refusing.add(key)
                    log.warning("rate limits: %s over %s on %s; refusing until it slows down", key[0], item, channel)
                return Admission(False, await self._retry_after(item, key))
            self._refusing.discard(key)
        return ADMITTED

    async def _hit(self, item: RateLimitItem, key: tuple[str, ...]) -> bool:
        allowed = await self._counts.hit(item, *key)
        return True if allowed is None else allowed

    async def _retry_after(self, item: RateLimitItem, key: tuple[str, ...]) -> int:
        stats = await self._counts.window_stats(item, *key)
        if stats is None:
            return item.get_expiry()
        return max(1, math.ceil(stats.reset_time - time.time()))


def _counts_fail(exc: Exception) -> None:
    log.warning(
        "rate limits: the counter store fails (%s: %s); letting messages through unlimited, "
        "trying it again every %.0f s",
        type(exc).__name__,
        exc,
        REDIS_PAUSE_S,
    )


def _counts_answer() -> None:
    log.info("rate limits: the counter store answers again")


def sessions_per_ip(settings: Settings) -> str:
    """`limits.sessions_per_ip`, unless the addresses it would count are not the visitors' own:
    `per_ip` turned off and no `server.trusted_proxies` is how a hub behind a reverse proxy was
    set up before it could read X-Forwarded-For, and there every visitor has the proxy's
    address — the whole site would share one allowance of new sessions. Said once at start."""
    limit = settings.limits.sessions_per_ip
    if limit and not settings.limits.per_ip and not settings.server.trusted_proxies:
        log.warning(
            "rate limits: limits.per_ip is off, so widget sessions are not limited per address "
            "either; behind a reverse proxy, list it in server.trusted_proxies and turn both on"
        )
        return ""
    return limit
