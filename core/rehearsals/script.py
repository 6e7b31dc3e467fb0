"""A rehearsal as a support lead writes it: one YAML file, a conversation of customer turns and,
after any turn, what must hold of the hub's reply (docs/rehearsals.md).

    name: Reset a password, then ask for a person
    staff: none
    turns:
      - customer: How do I reset my password?
        expect:
          says: Forgot password
          cites: account-and-login.md
      - customer: Can I talk to a person?
        expect:
          promises_no_person: true

Everything is checked when the file loads; an error names the file and the key.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

SUFFIXES = (".yaml", ".yml")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)


def _texts(value: str | list[str] | None) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else value


class ActionCall(_Strict):
    model_config = ConfigDict(populate_by_name=True)
    action: str
    """The declared action's name."""
    with_: dict[str, str] = Field(default_factory=dict, alias="with")
    """Values the call must carry (in its URL or body), by parameter name."""


class Expect(_Strict):
    """What must hold after one customer turn; every key is optional."""

    says: list[str] = Field(default_factory=list)
    """Texts the reply contains (case and spacing ignored)."""
    does_not_say: list[str] = Field(default_factory=list)
    """Texts the reply must not contain."""
    cites: list[str] = Field(default_factory=list)
    """Sources the reply cites: a file name, or the end of its path or address."""
    declines: bool | None = None
    """true: the bot says it cannot answer from the help centre; false: it answers."""
    hands_over: bool | str | None = None
    """true: a case opens for a person; a text: one opens and its reason contains the text; false: none opens."""
    promises_no_person: bool | None = None
    """true: no case opens and the reply says where to reach the team instead of promising a person."""
    language: str | None = None
    """The language the reply is written in (ISO 639-1: en, de, es, fr, pt)."""
    remembers: dict[str, str] = Field(default_factory=dict)
    """Facts the hub keeps about the customer after the turn (key: a text the value contains)."""
    calls: ActionCall | None = None
    """An action called in this turn, against the rehearsal's stand-in, never the live system."""
    asks_first: bool | None = None
    """true: the bot asks the customer to confirm before it calls an action."""
    judged: list[str] = Field(default_factory=list)
    """Criteria in plain words, judged by the configured LLM; without one they are listed as not judged."""

    @field_validator("says", "does_not_say", "cites", "judged", mode="before")
    @classmethod
    def _one_or_many(cls, value: str | list[str] | None) -> list[str]:
        return _texts(value)

    @field_validator("language")
    @classmethod
    def _iso(cls, value: str | None) -> str | None:
        if value is not None and (len(value) != 2 or not value.isalpha()):
            raise ValueError(f"{value!r} is not a two-letter language code (en, de, fr…)")
        return value.lower() if value else value


class Turn(_Strict):
    customer: str = Field(min_length=1)
    """What the customer writes."""
    channel: str | None = None
    """The channel it arrives on (default: the rehearsal's)."""
    language: str | None = None
    """The language the customer's app or browser is set to (a hint, as the widget gives it)."""
    email: str | None = None
    """A verified email address the channel vouches for (none: an anonymous customer)."""
    phone: str | None = None
    """A verified phone number the channel vouches for."""
    attachments: list[Path] = Field(default_factory=list)
    """Files sent with the message, relative to the rehearsal file."""
    expect: Expect = Expect()


class StandInAnswer(_Strict):
    """What the company's system answers an action, in a rehearsal: never the live system."""

    model_config = ConfigDict(populate_by_name=True)

    status: int = Field(200, ge=100, le=599)
    json_: dict[str, object] = Field(default_factory=dict, alias="json")


class Rehearsal(_Strict):
    name: str = Field(min_length=1)
    channel: str = "api"
    """The channel customer turns arrive on unless a turn says another."""
    staff: Literal["none", "present"] = "none"
    """Whether a person can take the conversation: `none` (no desk, the default) or `present`."""
    stand_in: dict[str, StandInAnswer] = Field(default_factory=dict)
    """Per declared action, what the rehearsal's stand-in of the company's system answers."""
    turns: list[Turn] = Field(min_length=1)
    path: Path = Path()
    """The file it was read from (set by `load`)."""


class RehearsalFileError(Exception):
    """A rehearsal file that cannot be read: the file and the key are named."""


def load(path: Path) -> Rehearsal:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise RehearsalFileError(f"{path}: {exc}") from None
    if not isinstance(data, dict):
        raise RehearsalFileError(f"{path}: a rehearsal is a mapping with name and turns")
    data.setdefault("name", path.stem)
    try:
        rehearsal = Rehearsal.model_validate({**data, "path": path})
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc'])}: {error['msg']}" for error in exc.errors()
        )
        raise RehearsalFileError(f"{path}: {problems}") from None
    for turn in rehearsal.turns:
        for attachment in turn.attachments:
            if not (path.parent / attachment).is_file():
                raise RehearsalFileError(f"{path}: attachments: no file {attachment} beside the rehearsal")
    return rehearsal


def load_all(where: Path) -> list[Rehearsal]:
    """The rehearsal at `where`, or every one in the folder (sorted by file name)."""
    if where.is_dir():
        files = sorted(p for p in where.iterdir() if p.suffix in SUFFIXES)
        if not files:
            raise RehearsalFileError(f"{where}: no rehearsal files (*.yaml) here")
        rehearsals = [load(p) for p in files]
        names = [r.name for r in rehearsals]
        if twice := sorted({name for name in names if names.count(name) > 1}):
            raise RehearsalFileError(f"{where}: two rehearsals are named {', '.join(map(repr, twice))}")
        return rehearsals
    if not where.is_file():
        raise RehearsalFileError(f"{where}: no such file or folder")
    return [load(where)]
