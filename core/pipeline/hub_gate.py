"""The hub as a channel gets it when it is built.

Channels are built, and their routes mounted, before the runtime opens the database and builds
the hub (aiohttp freezes its routes before start-up). So each channel is handed this gate at
build time, typed as the ports it uses: a call passes to the hub once `open` has handed it
over; before that, and after `close`, it raises `StorageUnavailable`, so every channel refuses
alike (a webhook answers 503 with Retry-After and the platform sends again; a poller waits).
"""

from __future__ import annotations

from typing import Any, cast

from core.channel import HubPort, StorageUnavailable

NOT_RUNNING = "the hub is not running (starting up or shutting down)"


class HubGate:
    def __init__(self) -> None:
        self._hub: HubPort | None = None

    @property
    def port(self) -> HubPort:
        """This gate as the hub's ports (each method passes to the hub while it is open)."""
        return cast(HubPort, self)

    def open(self, hub: HubPort) -> None:
        self._hub = hub

    def close(self) -> None:
        self._hub = None

    def __getattr__(self, name: str) -> Any:
        hub = self._hub
        if hub is None:
            raise StorageUnavailable(NOT_RUNNING)
        return getattr(hub, name)
