"""A TCP proxy in front of a test server whose connections a test can cut, as a flaky
network would: the browser's websocket drops without the server or the page being touched.
It can also close its port (a server nothing answers for: connections refused) and open it
again, or hang (connections accepted, requests read, never answered: a hung server, or a
network that loses what is sent); a test waits for the requests it dropped (`swallowing`)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from sqlalchemy import make_url


class CuttableProxy:
    def __init__(self, target_host: str, target_port: int) -> None:
        self._target = (target_host, target_port)
        self._writers: set[asyncio.StreamWriter] = set()
        self._pipes: set[asyncio.Task[None]] = set()
        self._server: asyncio.Server | None = None
        self.url = ""
        """Set by `start`: `http://127.0.0.1:PORT`."""
        self.port = 0
        self.hung = False
        """While set, what clients send is read and dropped, and they are never answered."""
        self.swallowed = 0
        """Chunks of client requests dropped while hung."""
        self._dropped = asyncio.Condition()

    async def start(self) -> str:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", self.port)
        host, self.port = self._server.sockets[0].getsockname()[:2]
        self.url = f"http://{host}:{self.port}"
        return self.url

    async def swallowing(self, chunks: int) -> None:
        """Return once `chunks` chunks of client requests in all were dropped while hung: a
        PostgreSQL client sends one per statement and waits for its answer."""
        async with self._dropped:
            await self._dropped.wait_for(lambda: self.swallowed >= chunks)

    def cut(self) -> None:
        """Drop every open connection (new ones still get through)."""
        for writer in list(self._writers):
            writer.transport.abort()

    async def close_port(self) -> None:
        """Stop listening and drop every connection: connecting is refused until `start` opens
        the same port again."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        self.cut()

    async def close(self) -> None:
        self.cut()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        for pipe in list(self._pipes):
            pipe.cancel()
        await asyncio.gather(*self._pipes, return_exceptions=True)

    async def _accept(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        server_reader, server_writer = await asyncio.open_connection(*self._target)
        self._writers |= {client_writer, server_writer}
        pipes = [
            asyncio.create_task(self._pipe(client_reader, server_writer, upstream=True)),
            asyncio.create_task(self._pipe(server_reader, client_writer)),
        ]
        self._pipes.update(pipes)
        try:
            await asyncio.gather(*pipes, return_exceptions=True)
        finally:
            self._pipes.difference_update(pipes)
            for writer in (client_writer, server_writer):
                self._writers.discard(writer)
                writer.transport.abort()

    async def _pipe(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *, upstream: bool = False
    ) -> None:
        with contextlib.suppress(ConnectionError, OSError):
            while data := await reader.read(64 * 1024):
                if upstream and self.hung:
                    self.swallowed += 1
                    async with self._dropped:
                        self._dropped.notify_all()
                    continue
                writer.write(data)
                await writer.drain()
        writer.transport.abort()  # one side gone: the other goes too, as with a dropped line


@contextlib.asynccontextmanager
async def line_to(database_url: str) -> AsyncIterator[tuple[CuttableProxy, str]]:
    """A line to the database at `database_url` that can stall: (the proxy, the URL through it)."""
    server = make_url(database_url)
    proxy = CuttableProxy(server.host or "127.0.0.1", server.port or 5432)
    await proxy.start()
    try:
        yield proxy, server.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    finally:
        await proxy.close()
