"""The sandbox page and its small JSON API, added to the hub's application by `supporthub
sandbox` only (never by `serve`): GET /sandbox, GET /sandbox/api/transcript, and POST
/sandbox/api/{telegram,sms,email,staff} for what the person writes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiohttp
import aiosmtplib
from aiohttp import web

from core.sandbox.session import Sandbox

PAGE = Path(__file__).parent / "static" / "sandbox.html"
MAX_TEXT = 4000
SANDBOX = web.AppKey("sandbox", Sandbox)


def install_sandbox(app: web.Application, sandbox: Sandbox) -> None:
    app[SANDBOX] = sandbox
    app.add_routes(
        [
            web.get("/sandbox", _page),
            web.get("/sandbox/api/transcript", _transcript),
            web.post("/sandbox/api/{pane}", _says),
        ]
    )


async def _page(request: web.Request) -> web.Response:
    return web.Response(body=PAGE.read_bytes(), content_type="text/html", charset="utf-8")


async def _transcript(request: web.Request) -> web.Response:
    return web.json_response(request.app[SANDBOX].transcript())


PANES = ("telegram", "sms", "email", "staff")
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]")


async def _says(request: web.Request) -> web.Response:
    """What the person wrote in one pane, sent to the hub the way its platform would. Only a
    JSON POST to a loopback host name: a web page elsewhere in the same browser can neither
    post a form here (no preflight for text/plain) nor reach it by rebinding a name."""
    sandbox = request.app[SANDBOX]
    pane = request.match_info["pane"]
    if pane not in PANES:
        raise web.HTTPNotFound(text=f"no pane {pane!r}: {', '.join(PANES)}")
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
    try:
        if pane == "telegram":
            await sandbox.telegram_says(text)
        elif pane == "sms":
            await sandbox.sms_says(text)
        elif pane == "email":
            subject = body.get("subject") or "A question"
            if not isinstance(subject, str) or len(subject) > 200 or "\n" in subject or "\r" in subject:
                raise web.HTTPBadRequest(text="subject must be one line of at most 200 characters")
            await sandbox.email_says(subject, text)
        else:
            thread = body.get("thread_ts")
            if not isinstance(thread, str) or not thread:
                raise web.HTTPBadRequest(text="thread_ts names the case card to answer under")
            await sandbox.staff_says(thread, text)
    except (aiohttp.ClientError, aiosmtplib.SMTPException, OSError) as exc:
        raise web.HTTPBadGateway(text=f"the hub did not take it: {type(exc).__name__}: {exc}") from None
    return web.json_response({"ok": True})
