"""The inbox at /admin/inbox: a staff desk in the browser, beside Slack's.

The queue lists open cases (waiting for a person first, then the longest open, the SLA shown),
200 a page, narrowed by a search (`core.admin.inbox.search`) and by "mine";
a case's page shows its summary, the conversation as the customer saw it, its notes and
history, and the forms to claim, reply, write a note, assign, resolve or give it back to the
bot. Every change goes through handoff's own transactions (the same as from Slack), then the
hub delivers what was said to the customer's channel and updates the Slack card.

With an LLM and a customer writing in another language than staff's (`languages.staff`), the
case shows which language the customer needs, each of their messages with its translation
beside it, and a reply is sent translated into their language, what staff wrote kept with it
(`core.handoff.translations`).

The pages are server-rendered and work without script; one small script (`inbox.js`, the only
one the dashboard runs, allowed by its hash) listens to `…/events` (server-sent events) and
reloads the page's live region when the case or the queue changed. The streams share one
watcher per process (`core.admin.inbox.live`): at a beat of the hub's `Pulse` (a message
stored here or, on PostgreSQL, in another process; a case moved), or every `RECHECK_S` at the
latest, it reads every open page's version and session at once, so a change costs the same few
statements however many pages are open, and a person removed or signed out stops receiving at
once. A person keeps at most `admin.live_streams_per_person` streams; the next is refused (429).
"""

from __future__ import annotations

import base64
import hashlib
import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from functools import partial
from importlib.resources import files

from aiohttp import web
from aiohttp_sse import sse_response
from jinja2 import Environment
from sqlalchemy.orm import Session

from core.admin.inbox import queries as inbox_queries
from core.admin.inbox.asked import BadQueueRequest, QueueAsked, queue_asked
from core.admin.inbox.live import LiveStreams, TooManyStreams, Version
from core.admin.inbox.scope import require_case_in_scope, require_in_scope, scope_of
from core.admin.queries.conversations import Transcript, transcript
from core.admin.views.dashboard import Dashboard, Form
from core.admin.views.render import SECURITY_HEADERS, as_json
from core.clean_text import clean
from core.desk_port import CaseAction
from core.handoff.canned import NoSuchCannedReply, canned_replies, render_canned_reply
from core.handoff.cases import CaseTransitionError
from core.handoff.copilot import Copilot, Suggestion, SuggestionKind, asked_on_case
from core.handoff.copilot_uses import Used
from core.handoff.desk_store import Relayed, act_on_case
from core.handoff.hours import Sla
from core.handoff.inbox_store import assign, note, reply
from core.handoff.translations import Outgoing, language_of_case
from core.ops.access import VISITOR, Visitor
from core.ops.request_guards import could_be_row_id
from core.ops.runtime import Runtime
from core.settings import Settings
from core.store import staff

log = logging.getLogger(__name__)

SCRIPT = files("core.admin.inbox").joinpath("inbox.js").read_text(encoding="utf-8")
_SCRIPT_HASH = base64.b64encode(hashlib.sha256(SCRIPT.encode()).digest()).decode()
LIVE_HEADERS = {
    **SECURITY_HEADERS,
    "Content-Security-Policy": SECURITY_HEADERS["Content-Security-Policy"]
    + f"; script-src 'sha256-{_SCRIPT_HASH}'; connect-src 'self'",
}
RECHECK_S = 15.0
"""The longest a live page goes without looking (a beat missed while a listener reconnected)."""
SEND_TIMEOUT_S = 60.0
"""A tab that takes no event for this long (a laptop asleep, a dead network) is let go."""
MAX_TEXT = 10_000
ACTIONS = {"claim": CaseAction.CLAIM, "resolve": CaseAction.RESOLVE, "return": CaseAction.RETURN}


class Inbox:
    def __init__(
        self,
        settings: Settings,
        runtime: web.AppKey[Runtime],
        *,
        env: Environment,
    ) -> None:
        self._dashboard = Dashboard(runtime, env=env, headers=LIVE_HEADERS)
        self._runtime, self._page = self._dashboard.runtime, self._dashboard.page
        self._sla = Sla.of(settings.handoff)
        self._survey = settings.handoff.survey
        self._staff = settings.languages.staff
        self._per_person = settings.admin.live_streams_per_person
        self._live: LiveStreams | None = None

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/admin/inbox", self.queue),
            web.get("/admin/api/inbox", self.queue_json),
            web.get("/admin/inbox/events", self.queue_events),
            web.get("/admin/inbox/{id}", self.case),
            web.get("/admin/api/inbox/{id}", self.case_json),
            web.get("/admin/inbox/{id}/events", self.case_events),
            web.post("/admin/inbox/{id}/reply", self.reply),
            web.post("/admin/inbox/{id}/note", self.note),
            web.post("/admin/inbox/{id}/assign", self.assign),
            web.post("/admin/inbox/{id}/{action:claim|resolve|return}", self.act),
        ]

    async def close(self, app: web.Application) -> None:
        """At shutdown: end the live streams, so the server need not wait for them."""
        if self._live is not None:
            await self._live.stop()

    # -- the queue ----------------------------------------------------------------------------

    async def _queue(self, request: web.Request) -> tuple[inbox_queries.QueuePage, QueueAsked, str, list[str]]:
        try:
            asked = queue_asked(request.query)
        except BadQueueRequest as exc:
            raise web.HTTPBadRequest(text=f"{exc}\n") from exc
        runtime = self._runtime(request)
        scope, teams = await scope_of(request, runtime)
        search = asked.search(me=request[VISITOR].actor, scope=scope)
        async with runtime.sessionmaker() as session:
            # The version first: on PostgreSQL each statement sees what committed before it, and
            # a version newer than the entries would keep the page from fetching them (inbox.js).
            version = await inbox_queries.queue_version(session)
            page = await inbox_queries.queue(
                session, now=datetime.now(UTC), sla=self._sla, staff=self._staff, search=search, page=asked.page
            )
        return page, asked, _version(version), teams

    async def queue(self, request: web.Request) -> web.Response:
        page, asked, version, teams = await self._queue(request)
        return self._page(
            request,
            "inbox.html",
            found=page,
            asked=asked,
            previous=asked.link(request.path, page=page.page - 1) if 1 < page.page <= page.pages else None,
            next=asked.link(request.path, page=page.page + 1) if page.more else None,
            teams=teams,
            version=version,
            sla=self._sla,
            script=SCRIPT,
        )

    async def queue_json(self, request: web.Request) -> web.Response:
        """The page's cases as a list (what scripts read since before paging); the pages before
        and after in a `Link` header (RFC 8288), and how many the search found in `X-Total-Count`."""
        page, asked, _, _ = await self._queue(request)
        response = as_json(page.entries)
        links = [
            f'<{asked.link(request.path, page=number)}>; rel="{rel}"'
            for rel, number, there in (
                ("prev", page.page - 1, 1 < page.page <= page.pages),
                ("next", page.page + 1, page.more),
            )
            if there
        ]
        if links:
            response.headers["Link"] = ", ".join(links)
        response.headers["X-Total-Count"] = str(page.matching)
        return response

    async def queue_events(self, request: web.Request) -> web.StreamResponse:
        runtime = self._runtime(request)
        since = runtime.hub.pulse.beats
        async with runtime.sessionmaker() as session:
            version = await inbox_queries.queue_version(session)
        return await self._stream(request, runtime, case_id=None, version=version, since=since)

    # -- one case -----------------------------------------------------------------------------

    async def _case(self, request: web.Request) -> tuple[inbox_queries.InboxCase, Transcript, str]:
        case_id = _case_id(request)
        runtime = self._runtime(request)
        scope, _ = await scope_of(request, runtime)
        async with runtime.sessionmaker() as session:
            version = await inbox_queries.case_version(session, case_id)  # first: see `_queue`
            found = await inbox_queries.one_case(
                session, case_id, now=datetime.now(UTC), sla=self._sla, staff=self._staff
            )
            if found is None:
                raise web.HTTPNotFound(text="no such case\n")
            require_in_scope(scope, found.case.team)
            conversation = await transcript(session, found.case.conversation_id)
            if conversation is None:  # erased since (a contact forgotten)
                raise web.HTTPNotFound(text="no such case\n")
        return found, conversation, _version(version or (0, 0, 0))

    async def case(self, request: web.Request) -> web.Response:
        """The case; `?canned=NAME` fills the reply box with that canned reply, filled in for
        this customer and signed with the visitor's name, to read and edit before sending;
        `?suggestion=KEY` with that suggested reply (`core.handoff.copilot`), the form then
        carrying which it was, so that sending records it (`core.handoff.copilot_uses`)."""
        return await self._case_page(request)

    async def _case_page(self, request: web.Request, *, problem: str | None = None, status: int = 200) -> web.Response:
        found, conversation, version = await self._case(request)
        runtime = self._runtime(request)
        visitor: Visitor = request[VISITOR]
        colleagues = await runtime.transactions.run(staff.active_people)
        replies = await runtime.transactions.run(canned_replies)
        agent = visitor.person.name if visitor.person is not None else None
        suggestions = await self._suggestions(runtime, found, agent=agent)
        draft, inserted = "", None
        if key := request.query.get("suggestion"):
            inserted = next((suggestion for suggestion in suggestions if suggestion.key == key), None)
            if inserted is None:
                problem = "That suggestion is no longer offered (the conversation or the help centre changed)."
            else:
                draft = inserted.text
        if name := request.query.get("canned"):
            try:
                draft = await runtime.transactions.run(
                    partial(render_canned_reply, name=name, conversation_id=found.case.conversation_id, agent=agent)
                )
            except NoSuchCannedReply:
                problem = "There is no canned reply by that name."
        return self._page(
            request,
            "inbox_case.html",
            status=status,
            found=found,
            transcript=conversation,
            version=version,
            colleagues=colleagues,
            replies=replies,
            suggestions=suggestions,
            inserted=inserted,
            draft=draft,
            problem=problem,
            script=SCRIPT,
        )

    async def _suggestions(
        self, runtime: Runtime, found: inbox_queries.InboxCase, *, agent: str | None
    ) -> list[Suggestion]:
        """The open case's suggested replies; none once it is closed or returned."""
        if not found.is_open:
            return []
        asked = await runtime.transactions.run(partial(asked_on_case, case_id=found.case.id))
        return [] if asked is None else await Copilot(runtime.knowledge).suggest(asked, agent=agent)

    async def case_json(self, request: web.Request) -> web.Response:
        found, conversation, _ = await self._case(request)
        return as_json({"case": found, "conversation": conversation})

    async def case_events(self, request: web.Request) -> web.StreamResponse:
        runtime = self._runtime(request)
        case_id = _case_id(request)
        since = runtime.hub.pulse.beats
        async with runtime.sessionmaker() as session:
            version = await inbox_queries.case_version(session, case_id)
        if version is None:
            raise web.HTTPNotFound(text="no such case\n")
        await require_case_in_scope(request, runtime, case_id)
        return await self._stream(request, runtime, case_id=case_id, version=version, since=since)

    async def _stream(
        self, request: web.Request, runtime: Runtime, *, case_id: str | None, version: Version, since: int
    ) -> web.StreamResponse:
        """Server-sent events: `version` at once, then each new one; ends when the client goes,
        the session ends, the case is erased, or the hub shuts down. A visitor with
        `live_streams_per_person` streams open already is refused (429)."""
        visitor: Visitor = request[VISITOR]
        if self._live is None:
            self._live = LiveStreams(
                runtime.sessionmaker, runtime.hub.pulse, per_person=self._per_person, recheck_s=RECHECK_S
            )
        try:
            stream = self._live.open(
                who=visitor.staff_id or visitor.actor,
                session_token=visitor.session_token,
                case_id=case_id,
                version=version,
                since=since,
                connected=partial(_connected, request),
            )
        except TooManyStreams:
            raise web.HTTPTooManyRequests(
                text=f"You have {self._per_person} live inbox pages open already: close one to have this one "
                "update by itself (it still works; reload it to see changes).\n"
            ) from None
        try:
            # aiohttp-sse pings every RECHECK_S (a closed tab is noticed then at the latest) and
            # aborts a tab that stops reading for SEND_TIMEOUT_S.
            async with sse_response(
                request, headers=SECURITY_HEADERS, sep="\n", ping_interval=RECHECK_S, send_timeout=SEND_TIMEOUT_S
            ) as events:
                await events.send(_version(stream.version))
                while not stream.ended and events.is_connected():
                    if await stream.next(RECHECK_S) and not stream.ended:
                        await events.send(_version(stream.version))
        except (ConnectionResetError, TimeoutError):
            pass  # the tab was closed or stopped reading: the stream ends here (a cancellation, at shutdown, goes on up)
        finally:
            self._live.close(stream)
        return events

    # -- actions ------------------------------------------------------------------------------

    async def _change(
        self, request: web.Request, action: str, work: Callable[[Session], Relayed | None]
    ) -> web.Response:
        """A staff action on the case (`core.admin.views.dashboard`): one of handoff's transactions,
        with its line in the audit trail, then the hub delivers and updates the Slack card; a move
        the case cannot make is answered with the case's page and the reason (409), and nothing is
        recorded. Every caller, a script too, is sent back to the case."""
        case_id = _case_id(request)
        runtime = self._runtime(request)
        await require_case_in_scope(request, runtime, case_id)

        async def relay(relayed: Relayed | None) -> None:
            if relayed is not None:
                await runtime.hub.case_changed(relayed)
            else:
                runtime.hub.pulse.beat()

        return await self._dashboard.act(
            request,
            work=work,
            action=action,
            target=lambda _: f"case {case_id}",
            refusals={CaseTransitionError: web.HTTPConflict},
            again=lambda status, reason: self._case_page(request, problem=f"Nothing changed: {reason}.", status=status),
            then=relay,
            location=lambda _: f"/admin/inbox/{case_id}",
        )

    async def reply(self, request: web.Request) -> web.Response:
        visitor, form = await self._dashboard.form(request)
        text = _text(form, "text")
        used = _used(form)
        runtime = self._runtime(request)
        case_id = _case_id(request)
        sent = Outgoing(text)
        if (translations := runtime.hub.translations) is not None:
            language = await runtime.transactions.run(partial(language_of_case, case_id=case_id))
            sent = await translations.for_customer(text, language=language)
        return await self._change(
            request,
            "reply",
            partial(
                reply, case_id=case_id, actor=visitor.actor, text=text, push=runtime.hub.push, sent=sent, used=used
            ),
        )

    async def note(self, request: web.Request) -> web.Response:
        visitor, form = await self._dashboard.form(request)
        text = _text(form, "text")
        case_id = _case_id(request)
        return await self._change(
            request, "note", lambda session: note(session, case_id=case_id, actor=visitor.actor, text=text)
        )

    async def assign(self, request: web.Request) -> web.Response:
        visitor, form = await self._dashboard.form(request)
        wanted = str(form.get("to", ""))
        colleagues = await self._runtime(request).transactions.run(staff.active_people)
        person = next((p for p in colleagues if p.id == wanted), None)
        if person is None:
            raise web.HTTPBadRequest(text="assign to someone on the staff (their id, from the form's list)\n")
        return await self._change(
            request,
            f"assign to {person.name}",
            partial(assign, case_id=_case_id(request), to=person.name, actor=visitor.actor),
        )

    async def act(self, request: web.Request) -> web.Response:
        visitor, _ = await self._dashboard.form(request)
        action = ACTIONS[request.match_info["action"]]
        push = self._runtime(request).hub.push
        return await self._change(
            request,
            action.value,
            partial(
                act_on_case,
                case_id=_case_id(request),
                action=action,
                actor=visitor.actor,
                push=push,
                survey=self._survey,
            ),
        )


def _case_id(request: web.Request) -> str:
    case_id = request.match_info["id"]
    if not could_be_row_id(case_id):
        raise web.HTTPNotFound(text="no such case\n")
    return case_id


def _text(form: Form, field: str) -> str:
    text = clean(str(form.get(field, ""))).strip()
    if not text:
        raise web.HTTPBadRequest(text=f"the {field} is empty\n")
    if len(text) > MAX_TEXT:
        raise web.HTTPRequestEntityTooLarge(
            max_size=MAX_TEXT, actual_size=len(text), text=f"at most {MAX_TEXT} characters\n"
        )
    return text


def _used(form: Form) -> Used | None:
    """The suggested reply the reply box was filled with, as the form carries it (the page's
    hidden fields); None when it was not filled from one."""
    kind = str(form.get("suggested_kind", ""))
    if not kind:
        return None
    try:
        known = SuggestionKind(kind)
    except ValueError:
        raise web.HTTPBadRequest(text=f"no kind of suggestion is called {kind[:40]!r}\n") from None
    suggested = clean(str(form.get("suggested_text", "")))[:MAX_TEXT]
    source, title, section = (
        clean(str(form.get(f"suggested_{field}", ""))) for field in ("source", "title", "section")
    )
    return Used(known, source, title, suggested, section)


def _connected(request: web.Request) -> bool:
    transport = request.transport
    return transport is not None and not transport.is_closing()


def _version(parts: Sequence[int]) -> str:
    return "-".join(str(part) for part in parts)
