"""The settings reference the docs show is the settings models': every key, its variable, its
default and a description."""

from __future__ import annotations

from pydantic import BaseModel

from core.cli.settings_reference import keys, markdown
from core.settings import settings_class


def every_key() -> set[str]:
    def within(prefix: str, model: type[BaseModel]) -> set[str]:
        found = set()
        for name, field in model.model_fields.items():
            annotation = field.annotation
            inner = (
                getattr(annotation, "__args__", (None,))[0] if getattr(annotation, "__origin__", None) is list else None
            )
            section = inner if isinstance(inner, type) and issubclass(inner, BaseModel) else annotation
            if isinstance(section, type) and issubclass(section, BaseModel):
                found |= within(f"{prefix}{name}.", section)
            else:
                found.add(f"{prefix}{name}")
        return found

    return within("", settings_class())


def test_every_setting_appears_in_the_reference_with_its_variable() -> None:
    page = markdown()
    assert every_key() == {key.dotted for key in keys()}
    for key in keys():
        assert f"| `{key.dotted}` |" in page, key.dotted
        if not key.repeated:
            assert f"`{key.environment}`" in page, key.dotted
    assert "`SUPPORTHUB_SERVER__PORT`" in page and "| `8080` |" in page
    assert "## `[[schedule]]`" in page and "`schedule.cron`" in page
    assert "## `[handoff.hours]`" in page and "`SUPPORTHUB_HANDOFF__HOURS__MONDAY`" in page


def test_every_setting_says_what_it_does() -> None:
    assert [key.dotted for key in keys() if not key.description.strip()] == []


def test_secrets_are_marked_as_read_only_from_the_environment() -> None:
    line = next(line for line in markdown().splitlines() if line.startswith("| `api.token` |"))
    assert "only (a secret: never read from the file)" in line and "| unset |" in line
