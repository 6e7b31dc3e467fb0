"""The inbox's live streams in this process: one watcher for all of them, and a cap per person.

Every open inbox page holds a stream (`core.admin.inbox.views`). One watcher task per process waits
for the hub's `Pulse` (or `recheck_s`, for a beat missed while a listener reconnected), then
reads, for every stream at once, in one database session: which of their staff sessions are
still signed in, the queue's version, and each watched case's version — at most three
statements however many pages are open. Only a stream whose version moved is woken (or one
whose session or case is gone, which ends it). Beats that come while it reads are folded into
one more look, at most one every `LOOK_EVERY_S`; with no page open it does nothing.

One person (or the admin token) keeps at most `per_person` streams: past that, `open` refuses,
so a person cannot tie up the process's event loop with tabs. A page whose browser has gone
(a tab closed) gives its place back at once, even before its stream noticed: `open` counts only
the streams whose connection is still there.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.admin.inbox import queries as inbox_queries
from core.pipeline.pulse import Pulse
from core.store import staff

log = logging.getLogger(__name__)

LOOK_EVERY_S = 0.1
"""The least time between two looks: a burst of beats (a busy hub) costs one look, not one each."""

Version = tuple[int, ...]


@dataclass(eq=False, slots=True)
class LiveStream:
    """One open page: who holds it, what it shows, and the version it last sent."""

    who: str
    """The person's staff id, or the admin token's actor name."""
    session_token: str | None
    """The staff session the page lives by; None for the admin token (nothing to end it but shutdown)."""
    case_id: str | None
    """The case the page shows; None for the queue."""
    version: Version
    connected: Callable[[], bool]
    """Whether the browser is still there."""
    ended: bool = False
    _news: asyncio.Event = field(default_factory=asyncio.Event)

    async def next(self, timeout: float) -> bool:
        """Until the version moves or the stream ends (True), or `timeout` seconds (False)."""
        try:
            async with asyncio.timeout(timeout):
                await self._news.wait()
        except TimeoutError:
            return False
        self._news.clear()
        return True

    def show(self, version: Version) -> None:
        self.version = version
        self._news.set()

    def end(self) -> None:
        self.ended = True
        self._news.set()


class TooManyStreams(Exception):
    """The person has `per_person` live pages open already."""


class LiveStreams:
    def __init__(
        self, sessionmaker: async_sessionmaker[AsyncSession], pulse: Pulse, *, per_person: int, recheck_s: float
    ) -> None:
        self._sessionmaker = sessionmaker
        self._pulse = pulse
        self._per_person = per_person
        self._recheck_s = recheck_s
        self._streams: set[LiveStream] = set()
        self._watcher: asyncio.Task[None] | None = None
        self._stopped = False

    def open(
        self,
        *,
        who: str,
        session_token: str | None,
        case_id: str | None,
        version: Version,
        since: int,
        connected: Callable[[], bool],
    ) -> LiveStream:
        """A stream to wait on (`LiveStream.next`), showing `version`, read when the pulse had
        beaten `since` times; `close` it when done. Raises `TooManyStreams`."""
        for gone in [stream for stream in self._streams if stream.who == who and not stream.connected()]:
            self.close(gone)
            gone.end()
        if sum(stream.who == who for stream in self._streams) >= self._per_person:
            raise TooManyStreams
        stream = LiveStream(who, session_token, case_id, version, connected)
        if self._stopped:
            stream.end()
            return stream
        self._streams.add(stream)
        if self._watcher is None:
            self._watcher = asyncio.create_task(self._watch(), name="inbox-live-streams")
        if self._pulse.beats != since:
            # a change came while the page read its version: the watcher may have looked
            # without this page, so the change is announced once more
            self._pulse.beat()
        return stream

    def close(self, stream: LiveStream) -> None:
        self._streams.discard(stream)

    async def stop(self) -> None:
        """End every stream and the watcher (at shutdown); a stream opened later ends at once."""
        self._stopped = True
        for stream in self._streams:
            stream.end()
        self._streams.clear()
        if self._watcher is not None:
            self._watcher.cancel()
            await asyncio.gather(self._watcher, return_exceptions=True)

    async def _watch(self) -> None:
        seen = self._pulse.beats
        while True:
            await self._pulse.wait(self._recheck_s, seen=seen)
            seen = self._pulse.beats
            if self._streams:
                try:
                    await self._look()
                except asyncio.CancelledError:
                    raise
                except Exception:  # the database away: the next beat or recheck tries again
                    log.exception("inbox: reading what the live pages show failed")
                await asyncio.sleep(LOOK_EVERY_S)

    async def _look(self) -> None:
        streams = list(self._streams)
        tokens = {stream.session_token for stream in streams if stream.session_token is not None}
        case_ids = {stream.case_id for stream in streams if stream.case_id is not None}
        async with self._sessionmaker() as session:
            live = await session.run_sync(partial(staff.still_signed_in, tokens=tokens)) if tokens else set()
            queue = await inbox_queries.queue_version(session) if any(s.case_id is None for s in streams) else None
            cases = await inbox_queries.case_versions(session, case_ids) if case_ids else {}
        for stream in streams:
            version = queue if stream.case_id is None else cases.get(stream.case_id)
            if (stream.session_token is not None and stream.session_token not in live) or version is None:
                self.close(stream)
                stream.end()  # signed out, removed, or the case erased
            elif version != stream.version:
                stream.show(version)
