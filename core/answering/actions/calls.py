"""What an action call is made of, and the ways it fails."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class ActionRequest:
    method: str
    url: str
    headers: dict[str, str] = field(default_factory=dict)
    """Secrets included: never logged, never audited."""
    json: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class HttpAnswer:
    status: int
    data: Any
    """The parsed JSON answer, or its text when it is not JSON."""


class ActionRefused(Exception):
    """The call was not made: its host is not listed, it resolves to a private address the
    operator did not allow by name, or a redirect leads elsewhere. The message is for the
    audit log (never holds a secret)."""


class ActionFailed(Exception):
    """The call was made and did not give an answer to use: `kind` is `timeout`,
    `connection`, `too_large`, `http_<status>` or `redirect`."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
