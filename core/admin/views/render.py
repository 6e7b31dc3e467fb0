"""How the dashboard turns query results into answers: Jinja2 pages (autoescaped, one
stylesheet inlined and allowed by its hash) and the same data as JSON.

The Content-Security-Policy allows nothing but that stylesheet, images and forms to this
origin: the pages run no script at all, and an injected one could not run either.
"""

from __future__ import annotations

import base64
import dataclasses
import enum
import hashlib
import json
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from importlib.resources import files
from typing import Any, NoReturn
from urllib.parse import urlencode

from aiohttp import web
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from core.bidi import isolated, visible
from core.languages import language_name
from core.markdown_html import markdown_html
from core.ops.request_guards import bounded_int
from knowledge.ingest import origins

STYLESHEET = files("core.admin").joinpath("admin.css").read_text(encoding="utf-8")
_STYLE_HASH = base64.b64encode(hashlib.sha256(STYLESHEET.encode()).digest()).decode()
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        f"default-src 'none'; style-src 'sha256-{_STYLE_HASH}'; img-src 'self' data:; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def when(value: datetime | None) -> str:
    """A stored time as operators read it: UTC, to the minute."""
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if value is not None else "—"


def duration(seconds: float | timedelta | None) -> str:
    """0.42 s, 12 s, 4 min 5 s, 3 h 20 min, 2 d 4 h."""
    if seconds is None:
        return "—"
    exact = seconds.total_seconds() if isinstance(seconds, timedelta) else seconds
    if exact < 10:
        return f"{exact:.2f} s"
    total = round(exact)
    days, rest = divmod(total, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min {secs} s" if minutes else f"{secs} s"


def percent(part: int, whole: int) -> str:
    return f"{part / whole:.0%}" if whole else "—"


def markdown(text: str) -> Markup:
    """A reply as its customer saw it: markdown rendered with raw HTML off and links only for
    http, https and mailto (`core.markdown_html`)."""
    return Markup(markdown_html(text))


def origin(value: str) -> str:
    """Which run manages a document, as an operator reads it (`knowledge.ingest.origins`)."""
    site = origins.site_name(value)
    if site is not None:
        return f"website {site}"
    return {
        origins.FILES: "knowledge.paths",
        origins.INGESTED: "ingested by hand",
        origins.API: "knowledge API",
        origins.WRITTEN: "written here",
    }.get(value, value)


def language(code: str | None) -> str:
    """A customer's language as operators read it: "German" for "de", "—" when not known."""
    return language_name(code) if code else "—"


def given(text: str) -> Markup:
    """A name a customer gave (a profile's, a file's) as given: its direction controls shown, the
    name isolated in `<bdi>` from the text around it (`core.bidi`)."""
    return Markup("<bdi>{}</bdi>").format(visible(text))


def pageless(query: Mapping[str, str]) -> str:
    """A search's query string without its page number, for the next and previous links."""
    return urlencode([(key, value) for key, value in query.items() if key != "page"])


def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("core.admin", "templates"),
        autoescape=select_autoescape(default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        when=when,
        duration=duration,
        pageless=pageless,
        markdown=markdown,
        origin=origin,
        language=language,
        given=given,
        isolated=isolated,
    )
    env.globals.update(percent=percent, stylesheet=STYLESHEET)
    return env


def page(env: Environment, template: str, *, status: int = 200, **context: Any) -> web.Response:
    html = env.get_template(template).render(**context)
    return web.Response(text=html, content_type="text/html", status=status, headers=SECURITY_HEADERS)


def as_json(data: object) -> web.Response:
    return web.Response(
        text=json.dumps(data, default=_plain, ensure_ascii=False),
        content_type="application/json",
        headers=SECURITY_HEADERS,
    )


def _plain(value: object) -> object:
    """Dataclasses as objects, times as ISO 8601, durations in seconds."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {field.name: getattr(value, field.name) for field in dataclasses.fields(value)}
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, enum.Enum):
        return value.value
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def wants_json(request: web.Request) -> bool:
    """A script calling with the Bearer token: actions answer JSON rather than redirect."""
    return "Authorization" in request.headers


def back(location: str) -> NoReturn:
    """Post/redirect/get: a reload of the page the action lands on does not repeat it."""
    raise web.HTTPSeeOther(location=location)


def row_number(value: str | None) -> int | None:
    """A positive id or page number as the database can hold it; None for anything else."""
    number = bounded_int(value, max_digits=10) if value is not None else None
    return number if number is not None and 0 < number < 2**31 else None
