"""What an action call is made of, and the ways it fails."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from core.answering.personal_data import find


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
    operator did not allow by name, or a redirect leads elsewhere (`status`: the redirect's).
    The message is for the audit log (never holds a secret)."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class ActionFailed(Exception):
    """The call was made and did not give an answer to use: `kind` is `timeout`,
    `connection`, `too_large`, `http_<status>` or `redirect`. `status` is the HTTP status of
    the last response, when one came (the audit shows it)."""

    def __init__(self, kind: str, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.status = status


@dataclass(frozen=True, slots=True)
class CallRecord:
    """One call (or one stopped before it was made) as the audit trail keeps it."""

    action: str
    contact_id: str | None
    conversation_id: str | None
    arguments: dict[str, Any]
    """Masked (`masked`)."""
    identity: tuple[str, ...]
    """The verified identity fields passed, never their values."""
    outcome: str
    """ok, unverified, invalid, refused, declined, missing_secret, or an `ActionFailed.kind`."""
    http_status: int | None = None
    duration_ms: int = 0
    detail: str = ""


_PERSONAL_NAMES = re.compile(r"email|phone|name|number|address|_id$|^id$|account|iban|card", re.IGNORECASE)


def masked(arguments: Mapping[str, Any], properties: Mapping[str, Any]) -> dict[str, Any]:
    """`arguments` for the audit trail: a value that is personal data by its parameter's name
    (email, phone, name, …number, address, …id) or by its shape (`core.answering.personal_data`),
    and any free text (a string its schema, in `properties`, bounds by no `enum` or `pattern`: a
    note may hold anything), shown as its first and last two characters (`12•••89`); the rest
    (a reason from a list, a quantity) as given."""

    def personal(name: str, value: Any) -> bool:
        schema = properties.get(name, {})
        free = isinstance(value, str) and not ({"enum", "pattern", "const", "format"} & set(schema))
        return free or bool(_PERSONAL_NAMES.search(name)) or bool(find(_text(value)))

    return {name: _mask(value) if personal(name, value) else value for name, value in arguments.items()}


def _mask(value: Any) -> str:
    text = _text(value)
    return "•••" if len(text) <= 4 else f"{text[:2]}•••{text[-2:]}"


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)
