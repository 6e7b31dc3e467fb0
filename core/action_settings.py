"""The operator's actions: calls into the company's own systems the bot may make for a customer.

Declared under `[actions.declared.<name>]` in the settings file, or one TOML file per action in
`actions.directory` (the file's name is the action's). Everything is checked when the settings
load, and an error names the key: the parameters are a JSON Schema, every `{placeholder}` of
the URL and body is a parameter or a verified identity field (`{contact.email}`,
`{contact.phone}`), header values take secrets from the environment only (`{env.NAME}`), and the
URL's host must be one the operator listed. A secret is read when its action is called, not
here: a command that calls no action (`supporthub ask` about the help centre, `outbox`, `forget`)
runs without it, and a call of an action whose secret is unset fails, naming the variable
(`core.answering.actions.catalog.MissingSecret`).

    [actions]
    allowed_hosts = ["shop.example.com"]

    [actions.declared.order_status]
    description = "Look up the status of one of the customer's orders"
    url = "https://shop.example.com/api/orders/{order_number}?email={contact.email}"
    headers = { Authorization = "Bearer {env.SHOP_API_TOKEN}" }
    parameters = { type = "object", properties = { order_number = { type = "string", pattern = "^[0-9]{4,10}$" } }, required = ["order_number"] }
    examples = ["where is my order", "track my parcel"]
    result.template = "Order {order_number} is **{status}**."
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from string import Formatter
from typing import Any, Literal
from urllib.parse import urlsplit

from jsonschema import Draft202012Validator, SchemaError
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from core.languages import N_

IDENTITY_FIELDS = ("email", "phone")
"""The verified identity fields an action may ask the hub for, as `{contact.<field>}`."""
CASE_STATUS = "case_status"
CASE_NOTE = "case_note"
"""The built-in case actions' names (`core.answering.actions.built_in`)."""
BUILT_IN_NAMES = frozenset({"search_knowledge", "remember_fact", "escalate_to_human", CASE_STATUS, CASE_NOTE})
"""Tool names the hub itself uses: no declared action may take one."""
_NAME = re.compile(r"[a-z][a-z0-9_]{0,47}")
ENV_PLACEHOLDER = re.compile(r"env\.([A-Za-z_][A-Za-z0-9_]*)")
"""A header's `{env.NAME}`: the secret is read from the environment variable NAME."""
_HOST_ENTRY = re.compile(r"[a-z0-9.\-]+(:[0-9]{1,5})?|\[[0-9a-f:.]+\](:[0-9]{1,5})?")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)


def placeholders(template: str) -> list[str]:
    """The `{names}` of a template, in order; raises ValueError for a malformed one or one with
    a format spec or conversion (values are filled in as text, nothing else)."""
    names: list[str] = []
    try:
        parsed = list(Formatter().parse(template))
    except ValueError as error:
        raise ValueError(f"malformed template {template!r}: {error}") from None
    for _, name, spec, conversion in parsed:
        if name is None:
            continue
        if not name or spec or conversion:
            raise ValueError(f"placeholder {{{name}}} in {template!r}: write only a name between braces")
        names.append(name)
    return names


class ActionResultView(_Strict):
    template: str = Field(
        "",
        description="how the result reads, with `{field}` of the JSON answer (dotted for nested: `{shipment.eta}`)",
    )
    fields: list[str] = Field(
        default_factory=lambda: [],
        description="else these fields are listed (a list of objects becomes a table); empty: every top-level field",
    )

    @field_validator("template")
    @classmethod
    def _valid_template(cls, value: str) -> str:
        placeholders(value)
        return value


class ActionDeclaration(_Strict):
    description: str = Field(min_length=1, description="what the action does, for the model and for staff")
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE"] = Field("GET", description="the HTTP method")
    url: str = Field(
        min_length=1,
        description="the URL template: `{parameter}` and `{contact.email}`/`{contact.phone}`, each value URL-encoded",
    )
    headers: dict[str, str] = Field(
        default_factory=lambda: {}, description="request headers; secrets as `{env.NAME}`, read from the environment"
    )
    parameters: dict[str, Any] = Field(
        default_factory=lambda: {"type": "object", "properties": {}},
        description="the parameters, a JSON Schema of an object (`properties`, `required`, `pattern`, `enum`…)",
    )
    body: dict[str, str] | None = Field(
        None,
        description="the JSON body of a POST/PUT/PATCH, each value a template; unset: the parameters as given",
    )
    writes: bool = Field(False, description="it changes something: the customer confirms before it runs")
    confirm: str = Field("", description="the question asked before a write, with `{parameter}`s; a default otherwise")
    examples: list[str] = Field(
        default_factory=lambda: [], description="phrasings that trigger it without an LLM (`where is my order`)"
    )
    ask: dict[str, str] = Field(
        default_factory=lambda: {}, description="the question asked for a missing parameter, by parameter"
    )
    timeout_s: float = Field(10.0, gt=0, le=120, description="how long the call may take")
    result: ActionResultView = Field(default_factory=ActionResultView, description="how the answer is shown")

    @field_validator("parameters")
    @classmethod
    def _valid_schema(cls, schema: dict[str, Any]) -> dict[str, Any]:
        try:
            Draft202012Validator.check_schema(schema)
        except SchemaError as error:
            raise ValueError(f"not a valid JSON Schema: {error.message}") from None
        if schema.get("type") != "object" or not isinstance(schema.get("properties", {}), dict):
            raise ValueError('the parameters are an object schema: { type = "object", properties = { … } }')
        return schema

    @field_validator("headers")
    @classmethod
    def _only_secret_placeholders(cls, headers: dict[str, str]) -> dict[str, str]:
        for header, template in headers.items():
            for name in placeholders(template):
                if ENV_PLACEHOLDER.fullmatch(name) is None:
                    raise ValueError(f"{header}: a header takes only {{env.NAME}} placeholders, not {{{name}}}")
        return headers

    @field_validator("examples")
    @classmethod
    def _examples_said(cls, examples: list[str]) -> list[str]:
        if any(not example.strip() for example in examples):
            raise ValueError("an example phrasing is empty")
        return examples

    @model_validator(mode="after")
    def _known_placeholders(self) -> ActionDeclaration:
        if urlsplit(self.url).scheme not in ("http", "https"):
            raise ValueError(f"url: {self.url!r} is not an http(s) URL")
        known = set(self.properties) | {f"contact.{field}" for field in IDENTITY_FIELDS}
        for key, template in [("url", self.url), *((f"body.{k}", v) for k, v in (self.body or {}).items())]:
            for name in placeholders(template):
                if name not in known:
                    raise ValueError(f"{key}: {{{name}}} is neither a parameter nor contact.email/contact.phone")
        for name in placeholders(self.confirm):
            if name not in self.properties:
                raise ValueError(f"confirm: {{{name}}} is not a parameter")
        for name in self.ask:
            if name not in self.properties:
                raise ValueError(f"ask.{name}: not a parameter")
        return self

    @property
    def properties(self) -> dict[str, Any]:
        properties: dict[str, Any] = self.parameters.get("properties", {})
        return properties

    @property
    def required(self) -> list[str]:
        return [name for name in self.parameters.get("required", []) if name in self.properties]

    @property
    def identity(self) -> list[str]:
        """The verified identity fields the call passes, and so needs: the customer must have them."""
        used = {name for template in [self.url, *(self.body or {}).values()] for name in placeholders(template)}
        return [field for field in IDENTITY_FIELDS if f"contact.{field}" in used]


class ActionSettings(_Strict):
    allowed_hosts: list[str] = Field(
        default_factory=lambda: [],
        description="the hosts actions may call (`shop.example.com`, `api.example.com:8443`); a host without a port means 80 and 443",
    )
    private_hosts: list[str] = Field(
        default_factory=lambda: [],
        description="hosts allowed by name to be private or loopback addresses (`orders.internal:8080`); any other is refused",
    )
    max_response_bytes: int = Field(1_000_000, ge=1024, description="the largest answer an action may send back")
    max_calls_per_turn: int = Field(3, ge=1, le=10, description="actions the model may call in one turn")
    unverified_message: str = Field(
        N_(
            "I can only do that for a verified account, and I can't tell it's you here. Please write to us "
            "from the chat on our website while signed in, or from the email address or phone number on your account."
        ),
        description="what a customer who is not verified hears when an action needs their identity",
    )
    directory: Path | None = Field(None, description="a folder of `<name>.toml` files, one action each")
    declared: dict[str, ActionDeclaration] = Field(
        default_factory=lambda: {}, description="the actions, as `[actions.declared.<name>]` tables"
    )

    @field_validator("allowed_hosts", "private_hosts")
    @classmethod
    def _host_entries(cls, hosts: list[str]) -> list[str]:
        for host in hosts:
            if not _HOST_ENTRY.fullmatch(host.lower()):
                raise ValueError(f"{host!r} is not a host name or host:port")
        return [host.lower() for host in hosts]

    @model_validator(mode="after")
    def _every_action(self) -> ActionSettings:
        actions = dict(self.declared)
        if self.directory is not None:
            for name, declaration in _read_directory(self.directory).items():
                if name in actions:
                    raise ValueError(f"{name}: declared both in the settings and in {self.directory}")
                actions[name] = declaration
        for name, declaration in actions.items():
            if not _NAME.fullmatch(name) or name in BUILT_IN_NAMES:
                raise ValueError(f"{name}: an action's name is lower_case_with_underscores and not a built-in tool's")
            host = host_entry(declaration.url)
            if host is not None and not self.allows(host):
                raise ValueError(f"{name}.url: {host} is in neither actions.allowed_hosts nor actions.private_hosts")
        object.__setattr__(self, "declared", actions)
        return self

    def allows(self, host_port: str) -> bool:
        """Whether `host:port` is one the operator listed (a listed host without a port: 80 and 443)."""
        return self.listed_as(host_port) is not None

    def listed_as(self, host_port: str) -> Literal["public", "private"] | None:
        host, _, port = host_port.rpartition(":")

        def listed(entries: list[str]) -> bool:
            return host_port in entries or (port in ("80", "443") and host in entries)

        if listed(self.private_hosts):
            return "private"
        return "public" if listed(self.allowed_hosts) else None


def host_entry(url: str) -> str | None:
    """`host:port` of a URL template, when its host is written out (None when a placeholder makes it)."""
    parts = urlsplit(url)
    if "{" in parts.netloc:
        return None
    return host_and_port((parts.hostname or "").lower(), parts.port or (443 if parts.scheme == "https" else 80))


def host_and_port(host: str, port: int) -> str:
    """`host:port` as `allowed_hosts` lists it: an IPv6 address in brackets (`[::1]:8080`)."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _read_directory(directory: Path) -> dict[str, ActionDeclaration]:
    if not directory.is_dir():
        raise ValueError(f"directory: {directory} is not a folder")
    actions: dict[str, ActionDeclaration] = {}
    for path in sorted(directory.glob("*.toml")):
        try:
            actions[path.stem] = ActionDeclaration(**tomllib.loads(path.read_text(encoding="utf-8")))
        except tomllib.TOMLDecodeError as error:
            raise ValueError(f"{path}: not valid TOML: {error}") from None
        except ValidationError as error:
            first = error.errors()[0]
            key = ".".join(str(part) for part in first["loc"]) or path.stem
            raise ValueError(f"{path}: {key}: {first['msg']}") from None
    return actions
