"""How fast one sender may write: `[limits] per_contact` and `per_ip`, with the `limits`
library (a moving window), in Redis when `redis_url` is set — every process then shares the
counts — and in this process's memory otherwise.

Channels ask through the hub port (`HubPort.admit`) before they store a message. Who is
counted is the channel's call, because only it knows who is speaking: a contact on every
channel; an IP address only where the IP is the customer's own (the widget, an API without a
token) — never for a platform's servers (Slack, Telegram, Twilio) or a company's backend
calling with the API token, which speak for many customers from one address.

A limiter that cannot reach Redis lets messages through (and says so in the log): losing the
limit for a while is better than refusing every customer.
"""

from __future__ import annotations

import logging
import math
import time

from limits import RateLimitItem, parse_many
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter

from core.channel import Admission
from core.metrics import Rejection, rejected

log = logging.getLogger(__name__)


ADMITTED = Admission(True)


class RateLimits:
    def __init__(self, *, per_contact: str, per_ip: str, sessions_per_ip: str = "", redis_url: str = "") -> None:
        """`per_contact`/`per_ip`/`sessions_per_ip` in the `limits` notation ("30/minute",
        several joined by ";"); "" turns one off."""
        self._per_contact = parse_many(per_contact) if per_contact else []
        self._per_ip = parse_many(per_ip) if per_ip else []
        self._sessions_per_ip = parse_many(sessions_per_ip) if sessions_per_ip else []
        self._storage: Storage = (RedisStorage(f"async+{redis_url}", implementation="redispy") if redis_url
                                  else MemoryStorage())
        self._limiter = MovingWindowRateLimiter(self._storage)
        self._storage_failing = False
        self._refusing: set[tuple[str, ...]] = set()

    async def admit(self, *, channel: str, sender: str | None = None, ip: str | None = None) -> Admission:
        """Count one message from `sender` on `channel` (and from `ip` when given); refused when
        either is over its limit."""
        checks = ([(item, ("ip", ip)) for item in self._per_ip] if ip else []) + (
            [(item, ("contact", channel, sender)) for item in self._per_contact] if sender else [])
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
        try:
            allowed = await self._limiter.hit(item, *key)
        except Exception as exc:  # noqa: BLE001 — Redis down or unreachable: fail open
            if not self._storage_failing:
                log.warning("rate limits: the counter store fails (%s: %s); letting messages through",
                            type(exc).__name__, exc)
            self._storage_failing = True
            return True
        if self._storage_failing:
            log.info("rate limits: the counter store answers again")
            self._storage_failing = False
        return allowed

    async def _retry_after(self, item: RateLimitItem, key: tuple[str, ...]) -> int:
        try:
            stats = await self._limiter.get_window_stats(item, *key)
        except Exception:  # noqa: BLE001 — the hit just worked; a failing read here is rare
            return item.get_expiry()
        return max(1, math.ceil(stats.reset_time - time.time()))
