"""The sandbox page and its small JSON API, added to the hub's application by `supporthub
sandbox` only (never by `serve`): GET /sandbox, GET /sandbox/api/panes (each installed channel's
pane), GET /sandbox/api/transcript, and POST /sandbox/api/<pane> for what the person writes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiohttp
import aiosmtplib
from aiohttp import web

from core.sandbox.pane import PaneInputError
from core.sandbox.session import Sandbox

PAGE = Path(__file__).parent / "static" / "sandbox.html"
MAX_TEXT = 4000
MAX_FIELD = 400
SANDBOX = web.AppKey("sandbox", Sandbox)


def install_sandbox(app: web.Application, sandbox: Sandbox) -> None:
    app[SANDBOX] = sandbox
    app.add_routes(
        [
            web.get("/sandbox", _page),
            web.get("/sandbox/api/panes", _panes),
            web.get("/sandbox/api/transcript", _transcript),
            web.post("/sandbox/api/{pane}", _says),
        ]
    )


async def _page(request: web.Request) -> web.Response:
    return web.Response(body=PAGE.read_bytes(), content_type="text/html", charset="utf-8")


async def _panes(request: web.Request) -> web.Response:
    return web.json_response(request.app[SANDBOX].layout())


async def _transcript(request: web.Request) -> web.Response:
    return web.json_response(request.app[SANDBOX].transcript())


LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]")


async def _says(request: web.Request) -> web.Response:
    """What the person wrote in one pane, sent to the hub the way its platform would. Only a
    JSON POST to a loopback host name: a web page elsewhere in the same browser can neither
    post a form here (no preflight for text/plain) nor reach it by rebinding a name."""
    sandbox = request.app[SANDBOX]
    name = request.match_info["pane"]
    pane = sandbox.pane(name)
    if pane is None:
        raise web.HTTPNotFound(text=f"no pane {name!r}: {', '.join(sandbox.pane_names)}")
    if request.host.rsplit(":", 1)[0] not in LOOPBACK_HOSTS:
        raise web.HTTPForbidden(text="the sandbox answers only at 127.0.0.1, localhost or [::1]")
    if request.content_type != "application/json":
        raise web.HTTPUnsupportedMediaType(text="send JSON (Content-Type: application/json)")
    try:
        body: Any = await request.json()
    except ValueError:
        raise web.HTTPBadRequest(text="send a JSON object") from None
    text = body.get("text") if isinstance(body, dict) else None
    if not isinstance(text, str) or not text.strip() or len(text) > MAX_TEXT:
        raise web.HTTPBadRequest(text=f"text must be 1 to {MAX_TEXT} characters")
    fields: dict[str, str] = {}
    for field in pane.fields:
        value = body.get(field.name, field.default)
        if not isinstance(value, str) or len(value) > MAX_FIELD:
            raise web.HTTPBadRequest(text=f"{field.name} must be text of at most {MAX_FIELD} characters")
        fields[field.name] = value
    try:
        await sandbox.says(pane, text, fields)
    except PaneInputError as exc:
        raise web.HTTPBadRequest(text=str(exc)) from None
    except (aiohttp.ClientError, aiosmtplib.SMTPException, OSError) as exc:
        raise web.HTTPBadGateway(text=f"the hub did not take it: {type(exc).__name__}: {exc}") from None
    return web.json_response({"ok": True})
