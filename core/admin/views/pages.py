"""The dashboard's pages and their JSON twins. Each handler reads through the query modules
(core.admin.queries.overview, conversations, gaps, wrong_answers, operations) in one session and
renders; nothing here knows a channel or the hub's pipeline. The two actions — re-index now, retry a dead
letter — are staff actions (`core.admin.views.dashboard`): POSTs whose CSRF value was checked, answered
by a redirect back (post/redirect/get).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from aiohttp import web
from jinja2 import Environment

from core.admin.inbox.scope import scope_of
from core.admin.queries import conversations, operations
from core.admin.queries import overview as queries
from core.admin.queries import satisfaction as surveys
from core.admin.queries.conversations import TEST_CHANNELS
from core.admin.queries.gaps import GapFinder, GapReport
from core.admin.queries.overview import Period
from core.admin.queries.periods import PERIODS, BadFilter, Chosen, chosen_period
from core.admin.queries.schedule import ScheduledJob, upcoming_runs
from core.admin.queries.status import Status, read_status
from core.admin.queries.wrong_answers import WrongAnswers, wrong_answers
from core.admin.views.action_calls import ActionCallPages
from core.admin.views.charts import Series, data_table, stacked_bars
from core.admin.views.dashboard import Dashboard
from core.admin.views.rehearsals import RehearsalPages
from core.admin.views.render import SECURITY_HEADERS, as_json, back, row_number
from core.admin.views.replies import CannedReplyPages
from core.admin.views.suggestions import SuggestionPages, section_targets
from core.answering.answer_decision import Bar, answer_bar
from core.clean_text import clean
from core.handoff.hours import Sla
from core.languages import detectable
from core.ops.access import VISITOR
from core.ops.reindex_process import ReindexFailed
from core.ops.request_guards import could_be_row_id
from core.ops.runtime import Runtime
from core.registry import installed_channels
from core.rehearsals import drafts
from core.settings import Settings
from core.store.calibrations import load as load_calibration
from core.store.db import ConversationState
from core.store.dead_letters import NoSuchOutboxItem, NotRequeueable, requeue
from knowledge.ingest.chunking import SECTION_SEPARATOR

log = logging.getLogger(__name__)

MAX_GAP_QUESTION = 500
"""The longest question a knowledge gap's draft takes (the gaps page's own field holds as much)."""

PAGE_SIZE = 50
WARM_EVERY_S = 300
MAX_WORDS = 10
"""Each word is a substring scan of the messages: a search of hundreds would tie the database up."""
MAX_PAGE = 10_000


@dataclass(frozen=True, slots=True)
class Overview:
    period: str
    channel: str | None
    since: datetime
    until: datetime
    volume: list[queries.DayVolume]
    outcomes: queries.Outcomes
    outcomes_by_day: list[queries.DayOutcomes]
    helpfulness: queries.Helpfulness
    helpful_share: float | None
    """`helpfulness.share`, carried as a field so the JSON has it (it serialises fields only)."""
    first_response: queries.FirstResponse
    cases: queries.CaseCounts
    days: list[date]
    """Every UTC day of the period, empty ones included: the charts' x axis."""
    satisfaction: surveys.Satisfaction
    satisfaction_by_staff: list[surveys.StaffSatisfaction]
    resolution: surveys.Resolution


@dataclass(frozen=True, slots=True)
class KnowledgeStatus:
    documents: list[operations.DocumentRow]
    runs: list[operations.RunRow]
    schedule: list[ScheduledJob]
    reindexing: bool
    """A re-index started from the dashboard is running in this process."""


class Pages:
    def __init__(
        self,
        settings: Settings,
        runtime: web.AppKey[Runtime],
        *,
        channels: Sequence[str],
        env: Environment,
        case_url: Callable[[str], str | None] | None,
    ) -> None:
        """`case_url` links a case to its thread on the staff desk (None: no desk, no links)."""
        self._settings = settings
        self._case_url = case_url
        self._channels = list(channels)
        """The channels this hub serves (configured by name or switched on by their settings)."""
        self._installed = installed_channels()
        self._runtime_key = runtime
        self._dashboard = Dashboard(runtime, env=env)
        self._runtime, self._page = self._dashboard.runtime, self._dashboard.page
        self._gaps: GapFinder | None = None
        """Built with the knowledge base at the first request (the runtime opens after the app is built)."""
        self._sla = Sla.of(settings.handoff)
        self._reindexing: asyncio.Task[Any] | None = None
        self._replies = CannedReplyPages(dashboard=self._dashboard)
        self._suggestions = SuggestionPages(dashboard=self._dashboard, collection=settings.knowledge.collection)
        self._action_calls = ActionCallPages(dashboard=self._dashboard, settings=settings.actions)
        self._rehearsals = RehearsalPages(dashboard=self._dashboard, folder=str(settings.knowledge.rehearsals))

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/admin", self.overview),
            web.get("/admin/", self.home),
            web.get("/admin/api/overview", self.overview_json),
            web.get("/admin/gaps", self.gaps),
            web.get("/admin/api/gaps", self.gaps_json),
            web.get("/admin/api/wrong-answers", self.wrong_answers_json),
            web.get("/admin/conversations", self.conversation_search),
            web.get("/admin/api/conversations", self.conversation_search_json),
            web.get("/admin/conversations/{id}", self.transcript),
            web.get("/admin/conversations/{id}/rehearsal.yaml", self.transcript_rehearsal),
            web.get("/admin/gaps/rehearsal.yaml", self.gap_rehearsal),
            web.get("/admin/api/conversations/{id}", self.transcript_json),
            web.get("/admin/cases", self.cases),
            web.get("/admin/api/cases", self.cases_json),
            web.get("/admin/knowledge", self.knowledge),
            web.get("/admin/api/knowledge", self.knowledge_json),
            web.post("/admin/knowledge/reindex", self.reindex),
            web.get("/admin/status", self.status),
            web.get("/admin/api/status", self.status_json),
            web.post("/admin/outbox/{id}/retry", self.retry),
            *self._replies.routes(),
            *self._suggestions.routes(),
            *self._action_calls.routes(),
            *self._rehearsals.routes(),
        ]

    def _gap_finder(self, runtime: Runtime) -> GapFinder:
        if self._gaps is None:
            self._gaps = GapFinder(runtime.knowledge)
        return self._gaps

    async def keep_gaps_warm(self, app: web.Application) -> None:
        """Encode the last 30 days' unanswered questions soon after start-up and every
        `WARM_EVERY_S` after, so a visit to Knowledge gaps does not wait for the encoder (about
        5 ms a question on one core: seconds for a thousand)."""
        while (runtime := app.get(self._runtime_key)) is None:
            await asyncio.sleep(1)
        while True:
            now = datetime.now(UTC)
            try:
                async with runtime.sessionmaker() as session:
                    new = await self._gap_finder(runtime).warm(session, Period(now - timedelta(days=30), now))
                if new:
                    log.info("admin: %d unanswered questions encoded for the knowledge gaps page", new)
            except Exception:
                log.warning("admin: could not prepare the knowledge gaps page", exc_info=True)
            await asyncio.sleep(WARM_EVERY_S)

    def _chosen(self, request: web.Request) -> Chosen:
        try:
            return chosen_period(request.query, channels=self._channels, now=datetime.now(UTC))
        except BadFilter as exc:
            raise web.HTTPBadRequest(text=f"{exc}\n") from exc

    # -- overview ---------------------------------------------------------------------------

    async def home(self, request: web.Request) -> web.Response:
        back("/admin")

    async def _overview(self, request: web.Request) -> Overview:
        chosen = self._chosen(request)
        period = chosen.period
        runtime = self._runtime(request)
        bar = await self._bar(runtime)  # before the session: SQLite's pool holds one connection
        async with runtime.sessionmaker() as session:
            volume = await queries.volume(session, period)
            totals = await queries.outcomes(session, period)
            by_day = await queries.outcomes_by_day(session, period)
            helpful = await queries.helpfulness(session, period)
            first = await queries.first_response(session, period)
            cases = await queries.open_cases(session, now=period.until, sla=self._sla)
            rated = await surveys.satisfaction(session, period, now=datetime.now(UTC))
            rated_by_staff = await surveys.satisfaction_by_staff(session, period)
            resolved = await surveys.resolution(session, period, bar=bar.value)
        return Overview(
            chosen.key,
            period.channel,
            period.since,
            period.until,
            volume,
            totals,
            by_day,
            helpful,
            helpful.share,
            first,
            cases,
            chosen.days,
            satisfaction=rated,
            satisfaction_by_staff=rated_by_staff,
            resolution=resolved,
        )

    async def overview(self, request: web.Request) -> web.Response:
        data = await self._overview(request)
        days = data.days
        channels = sorted({row.channel for row in data.volume})
        per_day = {(row.day, row.channel): row.messages for row in data.volume}
        volume_series = [Series(channel, [per_day.get((day, channel), 0) for day in days]) for channel in channels]
        outcome_rows = {row.day: row for row in data.outcomes_by_day}
        outcome_series = [
            Series(name, [getattr(outcome_rows[day].outcomes, name) if day in outcome_rows else 0 for day in days])
            for name in queries.OUTCOME_NAMES
        ]
        return self._page(
            request,
            "overview.html",
            data=data,
            periods=PERIODS,
            channels=self._channels,
            sla=self._sla,
            volume_chart=stacked_bars(
                title="Messages in per day", description=_volume_text(data), days=days, series=volume_series
            ),
            volume_table=data_table(
                caption="Customer messages per UTC day and channel", days=days, series=volume_series
            ),
            outcome_chart=stacked_bars(
                title="Replies per day by outcome",
                percent=True,
                unit="replies",
                description="Share of each day's replies answered with sources, declined, "
                "escalated, written by staff, or other (small talk).",
                days=days,
                series=outcome_series,
            ),
            outcome_table=data_table(caption="Replies per UTC day by outcome", days=days, series=outcome_series),
        )

    async def overview_json(self, request: web.Request) -> web.Response:
        return as_json(await self._overview(request))

    # -- knowledge gaps ---------------------------------------------------------------------

    async def _bar(self, runtime: Runtime) -> Bar:
        """The answer bar the hub decides with now."""
        learned = await load_calibration(runtime.sessionmaker, self._settings.knowledge.collection)
        return answer_bar(self._settings.answer, runtime.knowledge.paraphrase_floor, learned)

    async def _gap_report(self, request: web.Request) -> tuple[Chosen, GapReport]:
        chosen = self._chosen(request)
        runtime = self._runtime(request)
        bar = await self._bar(runtime)
        async with runtime.sessionmaker() as session:
            report = await self._gap_finder(runtime).knowledge_gaps(
                session, chosen.period, min_match=bar.value, top_k=self._settings.answer.top_k
            )
        return chosen, report

    async def _wrong_answers(self, request: web.Request) -> WrongAnswers:
        runtime = self._runtime(request)
        bar = await self._bar(runtime)
        async with runtime.sessionmaker() as session:
            return await wrong_answers(session, self._chosen(request).period, bar=bar.value, limit=PAGE_SIZE)

    async def gaps(self, request: web.Request) -> web.Response:
        chosen, report = await self._gap_report(request)
        return self._page(
            request,
            "gaps.html",
            report=report,
            wrong=await self._wrong_answers(request),
            chosen=chosen,
            periods=PERIODS,
            channels=self._channels,
            targets=section_targets(self._runtime(request).knowledge),
            separator=SECTION_SEPARATOR,
        )

    async def gaps_json(self, request: web.Request) -> web.Response:
        return as_json((await self._gap_report(request))[1])

    async def wrong_answers_json(self, request: web.Request) -> web.Response:
        return as_json(await self._wrong_answers(request))

    # -- conversations ----------------------------------------------------------------------

    def _conversation_filter(self, request: web.Request) -> tuple[conversations.ConversationFilter, int]:
        query = request.query
        channel = query.get("channel") or None
        if channel is not None and channel not in self._channels:
            raise web.HTTPBadRequest(text=f"channel must be one of {', '.join(self._channels)}\n")
        state = query.get("state") or None
        if state is not None and state not in set(ConversationState):
            raise web.HTTPBadRequest(text=f"state must be one of {', '.join(ConversationState)}\n")
        language = query.get("language") or None
        if language is not None and not detectable(language):
            raise web.HTTPBadRequest(text="language is a language's two-letter ISO 639-1 code, such as de or es\n")
        try:
            since = _day(query.get("since"))
            until = _day(query.get("until"))
        except ValueError as exc:
            raise web.HTTPBadRequest(text="since and until are dates (YYYY-MM-DD)\n") from exc
        page_number = row_number(query.get("page") or "1")
        if page_number is None or page_number > MAX_PAGE:
            raise web.HTTPBadRequest(text=f"page is a number from 1 to {MAX_PAGE}\n")
        words = list(dict.fromkeys(clean(query.get("q", "")).split()))  # as stored: no NUL, no lone surrogate
        if len(words) > MAX_WORDS:
            raise web.HTTPBadRequest(text=f"search for at most {MAX_WORDS} words\n")
        found = conversations.ConversationFilter(
            words=" ".join(words),
            contact=clean(query.get("contact", "")).strip(),
            channel=channel,
            state=state,
            language=language,
            since=since,
            until=until + timedelta(days=1) if until is not None else None,
            tests=query.get("tests") != "hide",
        )
        return found, page_number

    async def _search(
        self, request: web.Request
    ) -> tuple[conversations.ConversationFilter, int, conversations.ConversationPage]:
        found, page_number = self._conversation_filter(request)
        async with self._runtime(request).sessionmaker() as session:
            result = await conversations.search(session, found, limit=PAGE_SIZE, offset=(page_number - 1) * PAGE_SIZE)
        return found, page_number, result

    async def conversation_search(self, request: web.Request) -> web.Response:
        found, page_number, result = await self._search(request)
        async with self._runtime(request).sessionmaker() as session:
            present = await conversations.languages(session)
        chosen = [found.language] if found.language is not None else []
        return self._page(
            request,
            "conversations.html",
            found=found,
            page_number=page_number,
            result=result,
            query=request.query,
            channels=self._channels,
            states=list(ConversationState),
            languages=sorted({*present, *chosen}),
        )

    async def conversation_search_json(self, request: web.Request) -> web.Response:
        return as_json((await self._search(request))[2])

    async def _transcript(self, request: web.Request) -> conversations.Transcript:
        if not could_be_row_id(conversation_id := request.match_info["id"]):
            raise web.HTTPNotFound(text="no such conversation\n")
        async with self._runtime(request).sessionmaker() as session:
            found = await conversations.transcript(session, conversation_id)
        if found is None:
            raise web.HTTPNotFound(text="no such conversation\n")
        return found

    async def transcript(self, request: web.Request) -> web.Response:
        return self._page(
            request, "transcript.html", transcript=await self._transcript(request), test_channels=TEST_CHANNELS
        )

    async def transcript_json(self, request: web.Request) -> web.Response:
        return as_json(await self._transcript(request))

    async def transcript_rehearsal(self, request: web.Request) -> web.Response:
        """ "Rehearse this": the conversation's customer turns as a rehearsal to edit (docs/rehearsals.md)."""
        found = await self._transcript(request)
        c = found.conversation
        said = [
            drafts.Said(m.author, m.text, [str(cite.get("source", "")) for cite in m.citations], m.declined, m.handoff)
            for m in found.messages
        ]
        name = f"conversation {c.id[:8]} ({c.created_at:%Y-%m-%d})"
        draft = drafts.from_conversation(name, c.channel, said, handed_over=bool(found.cases))
        return _yaml_file(draft, f"rehearsal-{c.id[:8]}.yaml")

    async def gap_rehearsal(self, request: web.Request) -> web.Response:
        """ "Rehearse this" on a knowledge gap: its question, expected to be answered once it is."""
        question = request.query.get("question", "").strip()
        if not question or len(question) > MAX_GAP_QUESTION:
            raise web.HTTPBadRequest(text=f"question: between 1 and {MAX_GAP_QUESTION} characters\n")
        return _yaml_file(drafts.from_question(question), "rehearsal-gap.yaml")

    # -- cases ------------------------------------------------------------------------------

    async def _cases(self, request: web.Request) -> list[operations.QueuedCase]:
        """The open cases of the visitor's queues (`core.admin.inbox.scope`)."""
        runtime = self._runtime(request)
        scope, _ = await scope_of(request, runtime)
        async with runtime.sessionmaker() as session:
            return await operations.case_queue(session, now=datetime.now(UTC), sla=self._sla, scope=scope)

    async def cases(self, request: web.Request) -> web.Response:
        queue = await self._cases(request)
        links = {case.id: self._case_url(case.desk_ref) if self._case_url and case.desk_ref else None for case in queue}
        return self._page(request, "cases.html", queue=queue, links=links, sla=self._sla)

    async def cases_json(self, request: web.Request) -> web.Response:
        return as_json(await self._cases(request))

    # -- knowledge --------------------------------------------------------------------------

    async def _knowledge(self, request: web.Request) -> KnowledgeStatus:
        async with self._runtime(request).sessionmaker() as session:
            documents = await operations.documents(session)
            runs = await operations.index_runs(session)
            last_started = await operations.last_scheduled_starts(session)
        schedule = upcoming_runs(self._settings.schedule, now=datetime.now(UTC), last_started=last_started)
        return KnowledgeStatus(documents, runs, schedule, self._reindexing is not None and not self._reindexing.done())

    async def knowledge(self, request: web.Request) -> web.Response:
        return self._page(
            request,
            "knowledge.html",
            knowledge=await self._knowledge(request),
            started=request.query.get("started") == "1",
        )

    async def knowledge_json(self, request: web.Request) -> web.Response:
        return as_json(await self._knowledge(request))

    async def reindex(self, request: web.Request) -> web.Response:
        """Start a re-index (in a child process, `core.ops.reindex_process`), recorded as an index
        run whose trigger names the dashboard and the operator's address; the page shows it
        when it lands."""
        visitor = request[VISITOR]
        visitor.require_admin("re-index")
        if self._reindexing is not None and not self._reindexing.done():
            back("/admin/knowledge?started=1")
        runtime = self._runtime(request)
        trigger = f"admin:dashboard ({visitor.actor} from {request.remote})"

        def start(_: None) -> None:
            self._reindexing = asyncio.create_task(self._run_reindex(runtime, trigger[:100]), name="admin-reindex")

        return await self._dashboard.act(
            request,
            work=lambda session: None,
            action="re-index",
            target=lambda _: "knowledge",
            then=start,
            location=lambda _: "/admin/knowledge?started=1",
        )

    async def close(self, app: web.Application) -> None:
        """At shutdown: stop a dashboard re-index before the runtime it uses closes (the run
        is recorded as stopped, and the next re-index redoes its work)."""
        if self._reindexing is not None:
            self._reindexing.cancel()
            await asyncio.gather(self._reindexing, return_exceptions=True)

    async def _run_reindex(self, runtime: Runtime, trigger: str) -> None:
        log.info("admin: re-index started (%s)", trigger)
        try:
            summary = await runtime.reindexer.run(trigger)
        except ReindexFailed as exc:  # the child logged its traceback
            log.error("admin: re-index failed (recorded in index_runs): %s", exc)
            return
        except Exception:
            log.exception("admin: re-index failed (recorded in index_runs)")
            return
        log.info("admin: re-index done: %s", summary.line)

    # -- status -----------------------------------------------------------------------------

    async def _status(self, request: web.Request) -> Status:
        return await read_status(
            self._runtime(request), self._settings, serving=self._channels, installed=self._installed
        )

    async def status(self, request: web.Request) -> web.Response:
        return await self._status_page(request, retried=row_number(request.query.get("retried")))

    async def _status_page(
        self, request: web.Request, *, retried: int | None, problem: str | None = None, status: int = 200
    ) -> web.Response:
        return self._page(
            request, "status.html", status=status, hub=await self._status(request), retried=retried, problem=problem
        )

    async def status_json(self, request: web.Request) -> web.Response:
        return as_json(await self._status(request))

    async def retry(self, request: web.Request) -> web.Response:
        """Re-queue a dead letter, then back to the Status page; a row that is not (or no
        longer) a dead letter gets the page again with the reason, and nothing changed."""
        visitor = request[VISITOR]
        visitor.require_admin("retry a delivery")
        reply_id = row_number(request.match_info["id"])
        if reply_id is None:
            raise web.HTTPNotFound(text="a dead letter's id is a number\n")
        return await self._dashboard.act(
            request,
            work=lambda session: requeue(session, outbox_id=reply_id),
            action="retry",
            target=lambda requeued: f"outbox {requeued.id}",
            refusals={NoSuchOutboxItem: web.HTTPNotFound, NotRequeueable: web.HTTPConflict},
            again=lambda status, reason: self._status_page(request, retried=None, problem=reason, status=status),
            then=lambda requeued: log.info(
                "admin: dead letter %d re-queued for %s by %s", requeued.id, requeued.channel, visitor.actor
            ),
            answer=lambda requeued: requeued,
            location=lambda _: f"/admin/status?retried={reply_id}",
        )


def _yaml_file(text: str, filename: str) -> web.Response:
    """A rehearsal draft, downloaded as a file to edit."""
    headers = {**SECURITY_HEADERS, "Content-Disposition": f'attachment; filename="{filename}"'}
    return web.Response(text=text, content_type="application/yaml", charset="utf-8", headers=headers)


def _volume_text(data: Overview) -> str:
    total = sum(row.messages for row in data.volume)
    per_channel: dict[str, int] = {}
    for row in data.volume:
        per_channel[row.channel] = per_channel.get(row.channel, 0) + row.messages
    parts = ", ".join(f"{channel} {count}" for channel, count in sorted(per_channel.items()))
    return f"{total} customer messages in the period" + (f": {parts}." if parts else ".")


def _day(value: str | None) -> datetime | None:
    """A search bound's UTC midnight; ValueError for anything but a date before the year 9999."""
    if not value:
        return None
    day = datetime.strptime(value, "%Y-%m-%d").replace(tzinfo=UTC)
    if day.year >= 9999:
        raise ValueError(value)
    return day
