"""What a failed Slack Web API call said, whatever answered it.

slack-sdk raises `SlackApiError` with its `AsyncSlackResponse` as `exc.response` when Slack
answered JSON, but with aiohttp's raw `ClientResponse` when the body was not JSON and claimed to
be (a proxy's or a gateway's error page sent as `application/json`): that one has no `get` and
no `status_code`, and a handler reading Slack's `error` from it crashed. Read here, once, for
both.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_slack_response import AsyncSlackResponse

NOT_SLACK = "not a Slack answer"


@dataclass(frozen=True, slots=True)
class Refusal:
    status: int | None
    error: str
    """Slack's error code (`invalid_auth`, `ratelimited`…), or NOT_SLACK."""
    retry_after: float | None

    def __str__(self) -> str:
        return f"HTTP {self.status} {self.error}" if self.status is not None else self.error


def refusal(exc: SlackApiError) -> Refusal:
    response: object = exc.response
    if isinstance(response, AsyncSlackResponse):
        error = response.data.get("error") if isinstance(response.data, dict) else None
        return Refusal(response.status_code, str(error) if error else NOT_SLACK, _seconds(response.headers))
    if isinstance(response, aiohttp.ClientResponse):
        return Refusal(response.status, NOT_SLACK, _seconds(response.headers))
    return Refusal(None, NOT_SLACK, None)


def _seconds(headers: Mapping[str, str]) -> float | None:
    """`Retry-After` in seconds, when it is a number (a proxy may send anything)."""
    try:
        seconds = float(headers.get("Retry-After") or headers.get("retry-after") or "")
    except ValueError:
        return None
    return seconds if math.isfinite(seconds) and seconds >= 0 else None
