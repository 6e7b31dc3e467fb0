"""The settings reference in the docs, written from the settings models themselves: every key of
core's sections and of each installed channel's, with its environment variable, its default and
its description. Generated at every docs build (`docs/hooks/settings_reference.py`), so it
cannot drift from the code; `tests/unit/core/cli/test_settings_reference.py` holds every field
to having a description."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any, get_args, get_origin

from pydantic import BaseModel, SecretStr
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from core.settings import settings_class


@dataclass(frozen=True, slots=True)
class Key:
    """One setting as the reference shows it."""

    section: str | None
    """None for a top-level key; dotted for a section inside a section (`handoff.hours`)."""
    name: str
    default: str
    description: str
    secret: bool
    repeated: bool = False
    """A key of a `[[section]]` table that may appear many times (`[[schedule]]`)."""

    @property
    def dotted(self) -> str:
        return self.name if self.section is None else f"{self.section}.{self.name}"

    @property
    def environment(self) -> str:
        if self.repeated:
            return ""
        parts = [self.name] if self.section is None else [*self.section.split("."), self.name]
        return "SUPPORTHUB_" + "__".join(part.upper() for part in parts)


def keys() -> Iterator[Key]:
    """Every setting: the top-level keys, then each section's keys in declaration order, a
    section inside a section (`[handoff.hours]`) after its parent's own keys."""
    fields = settings_class().model_fields
    for name, field in fields.items():
        if _model(field.annotation) is None:
            yield _key(None, name, field)
    for name, model, repeated in _sections():
        for inner_name, inner in model.model_fields.items():
            if _model(inner.annotation) is None:
                yield _key(name, inner_name, inner, repeated=repeated)


def sections() -> dict[str, str]:
    """Each section's name and its model's docstring (its first paragraph), for the headings."""
    out = {}
    for name, model, _ in _sections():
        doc = (model.__doc__ or "").strip().split("\n\n")[0]
        out[name] = " ".join(doc.split())
    return out


def _sections() -> Iterator[tuple[str, type[BaseModel], bool]]:
    """Each section's dotted name, its model, and whether it is a `[[list]]`; parents first."""

    def within(name: str, model: type[BaseModel], repeated: bool) -> Iterator[tuple[str, type[BaseModel], bool]]:
        yield name, model, repeated
        for inner_name, inner in model.model_fields.items():
            inner_model = _model(inner.annotation)
            if inner_model is not None:
                yield from within(f"{name}.{inner_name}", inner_model, repeated)

    for name, field in settings_class().model_fields.items():
        model = _model(field.annotation)
        if model is not None:
            yield from within(name, model, get_origin(field.annotation) is list)


def markdown() -> str:
    """The reference page's body: one table per section."""
    grouped: dict[str | None, list[Key]] = {}
    for key in keys():
        grouped.setdefault(key.section, []).append(key)
    about = sections()
    out: list[str] = []
    for section, found in grouped.items():
        if section is None:
            out.append("## Top-level keys\n")
        else:
            repeated = found[0].repeated
            out.append(f"## `[[{section}]]`\n" if repeated else f"## `[{section}]`\n")
            if about.get(section):
                out.append(f"{_cell(about[section])}\n")
        out.append("| key | environment variable | default | what it does |")
        out.append("|---|---|---|---|")
        for key in found:
            environment = f"`{key.environment}`" if key.environment else "(file only)"
            if key.secret:
                environment += " only (a secret: never read from the file)"
            out.append(f"| `{key.dotted}` | {environment} | {key.default} | {_cell(key.description)} |")
        out.append("")
    return "\n".join(out)


def _key(section: str | None, name: str, field: FieldInfo, *, repeated: bool = False) -> Key:
    return Key(
        section=section,
        name=name,
        default=_default(field),
        description=field.description or "",
        secret=_is_secret(field.annotation),
        repeated=repeated,
    )


def _model(annotation: Any) -> type[BaseModel] | None:
    """The section model a field holds (or a list of: `[[schedule]]`); None for a plain value."""
    if get_origin(annotation) is list:
        (annotation,) = get_args(annotation)
    return annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None


def _is_secret(annotation: Any) -> bool:
    return annotation is SecretStr or SecretStr in get_args(annotation)


def _default(field: FieldInfo) -> str:
    if field.default_factory is not None:
        value = field.default_factory()  # type: ignore[call-arg]
    elif field.default is PydanticUndefined:
        return "required"
    else:
        value = field.default
    if value is None or value == "":
        return "unset"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, Enum):
        value = value.value
    if isinstance(value, Path):
        value = str(value)
    if isinstance(value, (list, tuple, dict)):
        value = json.dumps(
            [str(v) if isinstance(v, Path) else v for v in value] if not isinstance(value, dict) else value
        )
    return f"`{value}`"


def _cell(text: str) -> str:
    """Text safe inside a markdown table cell."""
    return " ".join(text.split()).replace("|", "\\|")
