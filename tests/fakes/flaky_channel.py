"""A push channel standing in for a platform: records what it was sent, and can be told to
fail the next N sends (optionally with a Retry-After hint) the way a real API would."""

from __future__ import annotations

from aiohttp import web

from core.channel import Capabilities, DeliveryError
from core.languages import spoken
from core.messages import Address, StoredMessage


class FlakyChannel:
    capabilities = Capabilities(max_text_length=4000, push=True)

    def __init__(self, name: str = "flaky") -> None:
        self.name = name
        self.delivered: list[tuple[Address, StoredMessage]] = []
        self.spoken: list[str] = []
        """The language spoken while each delivered message was sent (its own words' language)."""
        self.attempts = 0
        self.failures_left = 0
        self.retry_after: float | None = None
        self.refusal: DeliveryError | None = None
        """Raised by the next send instead of delivering (a platform's permanent refusal)."""

    def routes(self) -> list[web.AbstractRouteDef]:
        return []

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def send(self, address: Address, message: StoredMessage) -> str | None:
        self.attempts += 1
        if self.refusal is not None:
            refusal, self.refusal = self.refusal, None
            raise refusal
        if self.failures_left > 0:
            self.failures_left -= 1
            raise DeliveryError("platform said 429", retry_after=self.retry_after)
        self.delivered.append((address, message))
        self.spoken.append(spoken())
        return f"ext-{message.id}"
