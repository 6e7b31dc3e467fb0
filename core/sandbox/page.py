"""The sandbox page and its small JSON API, added to the hub's application by `supporthub
sandbox` only (never by `serve`): GET /sandbox, GET /sandbox/api/transcript, and POST
/sandbox/api/{telegram,sms,email,staff} for what the person writes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

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


async def _says(request: web.Request) -> web.Response:
    sandbox = request.app[SANDBOX]
    pane = request.match_info["pane"]
    try:
        body: Any = await request.json()
    except ValueError:
        raise web.HTTPBadRequest(text="send a JSON object") from None
    text = body.get("text") if isinstance(body, dict) else None
    if not isinstance(text, str) or not text.strip() or len(text) > MAX_TEXT:
        raise web.HTTPBadRequest(text=f"text must be 1 to {MAX_TEXT} characters")
    if pane == "telegram":
        await sandbox.telegram_says(text)
    elif pane == "sms":
        await sandbox.sms_says(text)
    elif pane == "email":
        subject = body.get("subject") or "A question"
        if not isinstance(subject, str) or len(subject) > 200:
            raise web.HTTPBadRequest(text="subject must be at most 200 characters")
        await sandbox.email_says(subject, text)
    elif pane == "staff":
        thread = body.get("thread_ts")
        if not isinstance(thread, str) or not thread:
            raise web.HTTPBadRequest(text="thread_ts names the case card to answer under")
        await sandbox.staff_says(thread, text)
    else:
        raise web.HTTPNotFound(text=f"no pane {pane!r}: telegram, sms, email or staff")
    return web.json_response({"ok": True})
