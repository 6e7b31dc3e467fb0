"""An action's answer as the customer reads it: the operator's template, or the fields listed
(a list of records becomes a table). Markdown, rendered per channel like any reply."""

from __future__ import annotations

from collections.abc import Mapping
from string import Formatter
from typing import Any

from core.action_settings import ActionResultView
from core.languages import _

MAX_ROWS = 20
"""Rows of a table shown; the rest are counted ("and 12 more")."""
MAX_CHARS = 3000


def shown(view: ActionResultView, data: Any, arguments: Mapping[str, Any]) -> str:
    """The answer `data` as text: through `view.template` when every field it names is there,
    else listed."""
    if view.template:
        filled = _template(_(view.template), data, {name: _text(value) for name, value in arguments.items()})
        if filled is not None:
            return filled[:MAX_CHARS]
    return _listed(data, view.fields)[:MAX_CHARS]


def _template(template: str, data: Any, arguments: Mapping[str, str]) -> str | None:
    parts: list[str] = []
    for literal, name, _spec, _conversion in Formatter().parse(template):
        parts.append(literal)
        if name is None:
            continue
        value = _at(data, name)
        if value is None:
            value = arguments.get(name)
        if value is None:
            return None
        parts.append(value if isinstance(value, str) else _inline(value))
    return "".join(parts)


def _listed(data: Any, fields: list[str]) -> str:
    if isinstance(data, list):
        return _table(data, fields) if data else _("Nothing found.")
    if not isinstance(data, Mapping):
        return _text(data)
    names = fields or list(data)
    lines: list[str] = []
    for name in names:
        value = _at(data, name)
        if value is None:
            continue
        if isinstance(value, list) and value and all(isinstance(item, Mapping) for item in value):
            lines += ["", f"**{_label(name)}**", "", _table(value, []), ""]
        else:
            lines.append(f"- **{_label(name)}**: {_inline(value)}")
    return "\n".join(lines).strip() or "Done."


def _table(rows: list[Any], fields: list[str]) -> str:
    records = [row for row in rows if isinstance(row, Mapping)]
    if not records:
        return "\n".join(f"- {_inline(row)}" for row in rows[:MAX_ROWS])
    columns = fields or list(dict.fromkeys(key for record in records for key in record))
    lines = [
        "| " + " | ".join(_label(column) for column in columns) + " |",
        "|" + "---|" * len(columns),
        *("| " + " | ".join(_cell(_at(record, column)) for column in columns) + " |" for record in records[:MAX_ROWS]),
    ]
    if len(records) > MAX_ROWS:
        lines.append(f"\nand {len(records) - MAX_ROWS} more")
    return "\n".join(lines)


def _at(data: Any, dotted: str) -> Any:
    """The value at a dotted path of the answer (`shipment.eta`), or None."""
    value = data
    for part in dotted.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    return value


def _inline(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(_inline(item) for item in value)
    if isinstance(value, Mapping):
        return ", ".join(f"{_label(str(key))}: {_inline(item)}" for key, item in value.items())
    return _text(value)


def _cell(value: Any) -> str:
    return "" if value is None else _inline(value).replace("|", "\\|").replace("\n", " ")


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def _label(name: str) -> str:
    words = name.rsplit(".", 1)[-1].replace("_", " ")
    return words[:1].upper() + words[1:]
