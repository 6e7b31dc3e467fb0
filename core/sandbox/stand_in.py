"""What every stand-in of a platform does alike: serve on 127.0.0.1 at a free port, say where,
let a test (or the sandbox page) wait until it has recorded something, and stop.

A stand-in (`channels/<name>/stand_in.py`, and the tests' fakes of other services) builds its
own `web.Application` and keeps its own records, typed as its platform's requests are; after
recording one it calls `recorded()`, which wakes whoever waits in `wait_until`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from aiohttp import web


@dataclass(frozen=True, slots=True)
class Answer:
    """What a stand-in answers one request: `body` as JSON with `status`, or `page`, a non-JSON
    body (a proxy's or a load balancer's error page) sent instead, `body` then being `{}`."""

    status: int
    body: dict[str, Any]
    page: str | None = None

    def response(self, headers: Mapping[str, str] | None = None) -> web.Response:
        if self.page is not None:
            return web.Response(status=self.status, text=self.page, content_type="text/html", headers=headers)
        return web.json_response(self.body, status=self.status, headers=headers)


@dataclass(frozen=True, slots=True, kw_only=True)
class Recorded:
    """What a stand-in answered one request it recorded; a platform's record adds how the
    request looked on its wire (`channels/<name>/stand_in.py`'s `RecordedCall`)."""

    status: int
    response: dict[str, Any]
    """The JSON answered (`{}` for a non-JSON page)."""
    at: float = field(default_factory=time.monotonic)
    """`time.monotonic()` when answered, so tests can measure the waits between requests."""

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


class StandIn:
    """An aiohttp server on 127.0.0.1 standing in for a platform: `start` serves `app()` at a free
    port and returns its root URL (also `url`), `stop` shuts it down (a second `stop` does
    nothing)."""

    cancels_handlers: ClassVar[bool] = False
    """Whether a request whose client hung up is cancelled (a long poll that must end with it)."""

    def __init__(self) -> None:
        self.url = ""
        """`http://127.0.0.1:PORT` once started."""
        self.port = 0
        self._recorded = asyncio.Condition()
        self._runner: web.AppRunner | None = None

    def app(self) -> web.Application:
        """The platform's routes; called once, by `start`."""
        raise NotImplementedError

    async def start(self) -> str:
        # access_log=None: the hub logs its own calls, and a stand-in's lines would only repeat them
        self._runner = web.AppRunner(
            self.app(), shutdown_timeout=1.0, handler_cancellation=self.cancels_handlers, access_log=None
        )
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        host, self.port = self._runner.addresses[0][:2]
        self.url = f"http://{host}:{self.port}"
        return self.url

    async def stop(self) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    async def recorded(self) -> None:
        """Wake whoever waits in `wait_until`: a record was added."""
        async with self._recorded:
            self._recorded.notify_all()

    async def wait_until(self, condition: Callable[[], bool], *, timeout: float, expected: Callable[[], str]) -> None:
        """Return once `condition()` holds, checked after each record; on timeout, an
        AssertionError says `expected()` (what was awaited and what was recorded instead)."""
        try:
            async with asyncio.timeout(timeout), self._recorded:
                await self._recorded.wait_for(condition)
        except TimeoutError:
            raise AssertionError(f"{expected()} (waited {timeout}s)") from None
