"""The operator's actions, ready to call: arguments checked against their schema, the request
built from the templates with every value URL-encoded and no value a dot segment (an argument
cannot change the host or the path's shape), the verified identity and the environment's
secrets filled in by the hub. A secret is read when the request is built, so an action whose
secret is unset fails alone, when called (`MissingSecret`), and nothing else waits on it."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from string import Formatter
from typing import Any
from urllib.parse import quote

from jsonschema import Draft202012Validator

from core.action_settings import ENV_PLACEHOLDER, ActionDeclaration
from core.answering.actions.calls import ActionRequest
from core.turn_context import VerifiedIdentity


class MissingIdentity(Exception):
    """The action needs a verified identity field the customer does not have."""

    def __init__(self, fields: list[str]) -> None:
        super().__init__(", ".join(fields))
        self.fields = fields


class MissingSecret(Exception):
    """A header of the action names an environment variable that is unset or empty. The message
    names the variables and their headers, never a value."""

    def __init__(self, unset: dict[str, str]) -> None:
        """`unset`: header by variable."""
        said = ", ".join(f"{name} (for its {header} header)" for name, header in unset.items())
        super().__init__(f"the environment has no {said}")
        self.names = list(unset)


@dataclass(frozen=True, slots=True)
class Action:
    name: str
    declaration: ActionDeclaration

    def problems(self, arguments: Mapping[str, Any]) -> list[str]:
        """What is wrong with `arguments` by the schema, in words ([] when they are valid)."""
        validator = Draft202012Validator(
            self.declaration.parameters, format_checker=Draft202012Validator.FORMAT_CHECKER
        )
        problems = [_said(error.path, error.message) for error in validator.iter_errors(dict(arguments))]
        return problems + [f"{name}: {value!r} is not a value" for name, value in arguments.items() if _dots(value)]

    def request(self, arguments: Mapping[str, Any], identity: VerifiedIdentity) -> ActionRequest:
        """The HTTP request for valid `arguments`; raises `MissingIdentity` when the customer lacks a
        verified field the action passes, `MissingSecret` when a header's secret is unset."""
        declaration = self.declaration
        lacking = [name for name in declaration.identity if not identity.get(name)]
        if lacking:
            raise MissingIdentity(lacking)
        if any(_dots(value) for value in arguments.values()):
            raise ValueError("an argument is a dot segment")
        values = {name: _text(value) for name, value in arguments.items()}
        values |= {f"contact.{name}": identity.get(name) or "" for name in declaration.identity}
        url = _fill(declaration.url, {name: quote(value, safe="") for name, value in values.items()})
        body: dict[str, Any] | None = None
        if declaration.body is not None:
            body = {key: _fill(template, values) for key, template in declaration.body.items()}
        elif declaration.method not in ("GET", "DELETE"):
            body = dict(arguments)
        return ActionRequest(declaration.method, url, self.headers(), body)

    def headers(self) -> dict[str, str]:
        """The action's headers, their secrets read from the environment now; raises
        `MissingSecret` when one is unset."""
        if unset := self.unset_secrets():
            raise MissingSecret(unset)
        return {
            header: _fill(template, _environment(template)) for header, template in self.declaration.headers.items()
        }

    def unset_secrets(self) -> dict[str, str]:
        """The environment variables the headers name that are unset or empty, each with its header."""
        return {
            name: header
            for header, template in self.declaration.headers.items()
            for name in _secret_names(template)
            if not os.environ.get(name)
        }


def _fill(template: str, values: Mapping[str, str]) -> str:
    """`template` with each `{name}` replaced (the declarations were checked: every name is known)."""
    return "".join(
        literal + (values.get(name, "") if name is not None else "")
        for literal, name, _, _ in Formatter().parse(template)
    )


def _environment(template: str) -> dict[str, str]:
    """The secrets a header names, read now."""
    return {f"env.{name}": os.environ.get(name, "") for name in _secret_names(template)}


def _secret_names(template: str) -> list[str]:
    return [found.group(1) for found in ENV_PLACEHOLDER.finditer(template)]


def _dots(value: Any) -> bool:
    """`.` or `..`: URL-encoding leaves dots as they are, and a path segment of dots moves the
    request up the path (`/orders/../refund`), so no argument may be one."""
    return isinstance(value, str) and value.strip() in (".", "..")


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _said(path: Any, message: str) -> str:
    where = ".".join(str(part) for part in path)
    return f"{where}: {message}" if where else message
