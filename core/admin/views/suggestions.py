"""/admin/suggestions: what the support team answered, reviewed before the bot uses it; and the
Knowledge gaps page's way to answer a group in place.

A suggestion (`core.store.suggestions`) is edited, approved (it becomes a support team answer,
indexed and cited like an article), linked to an article's section instead (its question
becomes one of that section's phrasings), kept for a person (the bot hands questions like it
over), or rejected; a live one can be changed or withdrawn. Anyone signed in may edit and
reject; what changes what the bot tells customers (approve, link, hand over, change a live
answer, withdraw, answer a gap) needs an admin. Each change that goes live asks
for a knowledge update at once (`ReindexRunner.soon`), so it is searched within seconds on every
process.

Every change is a POST carrying the session's CSRF value, answered by a redirect back (post/
redirect/get); a review step that cannot be taken gets the page again with the reason and a 4xx
(a gap's answer that cannot be saved: the reason as text, 400). With the Bearer token the same
routes answer JSON (the list at /admin/api/suggestions), for scripts.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

from aiohttp import web
from sqlalchemy.orm import Session

from core.admin.views.render import as_json, back, row_number, wants_json
from core.admin.views.replies import PageMaker
from core.answering.answer_decision import HAND_OVER_SOURCE
from core.ops.access import VISITOR, Visitor
from core.ops.runtime import Runtime
from core.store import staff
from core.store import suggestions as store
from core.store.db import SuggestionState
from knowledge.base import KnowledgeBase
from knowledge.ingest.chunking import SECTION_SEPARATOR

log = logging.getLogger(__name__)

VIEWS: dict[str, tuple[SuggestionState, ...]] = {
    "pending": (SuggestionState.PENDING,),
    "live": (SuggestionState.APPROVED, SuggestionState.LINKED, SuggestionState.HAND_OVER),
    "closed": (SuggestionState.REJECTED, SuggestionState.WITHDRAWN),
}
ACTIONS = ("save", "approve", "reject", "redact", "link", "hand-over", "withdraw")
CHANGES_LIVE = frozenset({"approve", "link", "hand-over", "withdraw"})
"""What changes what the bot tells customers: an admin's, and followed by a knowledge update
(so is saving a live answer)."""
MAX_TARGETS = 2_000
"""Article sections offered to link to (the form's list); any section can still be typed."""


class SuggestionPages:
    def __init__(
        self,
        *,
        runtime: Callable[[web.Request], Runtime],
        page: PageMaker,
        collection: str,
    ) -> None:
        """The dashboard's own ways to reach the runtime, and render a page (`core.admin.views.pages.Pages`); `collection`: the knowledge
        collection whose index version a link moves."""
        self._runtime = runtime
        self._page = page
        self._collection = collection

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/admin/suggestions", self.index),
            web.get("/admin/api/suggestions", self.index_json),
            web.post("/admin/suggestions/{id}", self.act),
            web.post("/admin/gaps/answer", self.answer_gap),
        ]

    async def _listed(self, request: web.Request) -> tuple[str, list[store.SuggestionView]]:
        view = request.query.get("view", "pending")
        if view not in VIEWS:
            raise web.HTTPBadRequest(text=f"view must be one of {', '.join(VIEWS)}\n")
        listed = await self._runtime(request).transactions.run(partial(store.listed, states=VIEWS[view]))
        return view, listed

    async def index(self, request: web.Request) -> web.Response:
        return await self._index(request, problem=None)

    async def _index(self, request: web.Request, *, problem: tuple[int, str] | None, status: int = 200) -> web.Response:
        view, listed = await self._listed(request)
        done = request.query.get("done")
        return self._page(
            request,
            "suggestions.html",
            status=status,
            view=view,
            views=list(VIEWS),
            suggestions=listed,
            problem=problem,
            done=done if done in ACTIONS else None,
            done_id=row_number(request.query.get("id")),
            targets=self._targets(request),
            separator=SECTION_SEPARATOR,
        )

    async def index_json(self, request: web.Request) -> web.Response:
        _, listed = await self._listed(request)
        return as_json(listed)

    def _targets(self, request: web.Request) -> list[str]:
        return section_targets(self._runtime(request).knowledge)

    def _target(self, request: web.Request, value: str) -> tuple[str, str]:
        """`source › section` of a section the index holds; 400 otherwise."""
        source, _, section = value.strip().partition(SECTION_SEPARATOR)
        if source == HAND_OVER_SOURCE:
            raise _Refused(400, "keep the question for a person with “Always hand over” instead")
        records = self._runtime(request).knowledge.local.snapshot.records
        if not any(record.source == source and record.section == section for record in records):
            raise _Refused(400, f"there is no section “{value.strip()}” in the knowledge base: pick one from the list")
        return source, section

    async def act(self, request: web.Request) -> web.Response:
        visitor: Visitor = request[VISITOR]
        suggestion_id = row_number(request.match_info["id"])
        form = await request.post()
        fields = {
            key: value if isinstance(value := form.get(key), str) else ""
            for key in ("action", "question", "answer", "target")
        }
        action = fields["action"]
        if suggestion_id is None:
            raise web.HTTPNotFound(text="there is no such suggestion\n")
        if action not in ACTIONS:
            raise web.HTTPBadRequest(text=f"action must be one of {', '.join(ACTIONS)}\n")
        try:
            await self._act(request, visitor, suggestion_id, action, fields)
        except _Refused as exc:
            if wants_json(request):
                raise (web.HTTPNotFound if exc.status == 404 else web.HTTPBadRequest)(text=f"{exc.reason}\n") from exc
            return await self._index(request, problem=(suggestion_id, exc.reason), status=exc.status)
        log.info("admin: suggestion %s: %s (%s)", suggestion_id, action, visitor.actor)
        if wants_json(request):
            found = await self._runtime(request).transactions.run(partial(store.one, suggestion_id=suggestion_id))
            return as_json(found)
        view = request.query.get("view", "pending")
        back(f"/admin/suggestions?view={view if view in VIEWS else 'pending'}&done={action}&id={suggestion_id}")

    async def _act(
        self, request: web.Request, visitor: Visitor, suggestion_id: int, action: str, fields: dict[str, str]
    ) -> None:
        if action in CHANGES_LIVE:
            visitor.require_admin("change what the bot answers")
        runtime, collection, actor = self._runtime(request), self._collection, visitor.actor
        step: Callable[[Session], Any]
        if action == "save":
            step = partial(
                store.edit,
                suggestion_id=suggestion_id,
                question=fields["question"],
                answer=fields["answer"],
                actor=actor,
                collection=collection,
                may_change_live=visitor.is_admin,
            )
        elif action == "approve":
            edits = partial(
                _edits_as_shown,
                suggestion_id=suggestion_id,
                question=fields["question"],
                answer=fields["answer"],
                actor=actor,
                collection=collection,
            )
            step = partial(store.approve, suggestion_id=suggestion_id, actor=actor, collection=collection)
        elif action == "link":
            source, section = self._target(request, fields["target"])
            step = partial(
                store.link,
                suggestion_id=suggestion_id,
                source=source,
                section=section,
                actor=actor,
                collection=collection,
            )
        elif action == "hand-over":
            step = partial(store.hand_over, suggestion_id=suggestion_id, actor=actor, collection=collection)
        elif action == "reject":
            step = partial(store.reject, suggestion_id=suggestion_id, actor=actor)
        elif action == "redact":
            step = partial(store.redact_all, suggestion_id=suggestion_id)
        else:
            step = partial(store.withdraw, suggestion_id=suggestion_id, actor=actor, collection=collection)
        try:
            if action == "approve":
                await runtime.transactions.run(edits)
            changed_live = await runtime.transactions.run(step)
        except store.NoSuchSuggestion as exc:
            raise _Refused(404, str(exc)) from exc
        except store.NeedsAdmin as exc:
            raise web.HTTPForbidden(text=f"Only an admin can change what the bot answers: {exc}.\n") from exc
        except store.ReviewError as exc:
            raise _Refused(400, str(exc)) from exc
        record = partial(
            staff.record,
            actor=actor,
            staff_id=visitor.staff_id,
            action=f"{action} suggestion",
            target=str(suggestion_id),
        )
        await runtime.transactions.run(record)
        if action in CHANGES_LIVE or (action == "save" and changed_live):
            runtime.reindexer.soon(f"admin:suggestion {suggestion_id} ({actor})"[:100])

    async def answer_gap(self, request: web.Request) -> web.Response:
        """A knowledge gap answered in place: written (an approved answer) or linked to a
        section; the group drops off the page once the index answers it."""
        visitor: Visitor = request[VISITOR]
        visitor.require_admin("change what the bot answers")
        form = await request.post()
        question = form.get("question")
        answer, target = (value if isinstance(value := form.get(key), str) else "" for key in ("answer", "target"))
        phrasings = [value for value in form.getall("phrasing", []) if isinstance(value, str)]
        if not isinstance(question, str) or not question.strip():
            raise web.HTTPBadRequest(text="the group's question is missing\n")
        runtime = self._runtime(request)
        try:
            link_to = self._target(request, target) if target.strip() else None
            if link_to is None and not answer.strip():
                raise _Refused(400, "write the answer, or pick the article that answers it")
            made = await runtime.transactions.run(
                partial(
                    _answer_gap,
                    question=question,
                    phrasings=phrasings,
                    answer=answer,
                    link_to=link_to,
                    actor=visitor.actor,
                    collection=self._collection,
                )
            )
        except (_Refused, store.ReviewError) as exc:
            reason = exc.reason if isinstance(exc, _Refused) else str(exc)
            raise web.HTTPBadRequest(text=f"Not saved: {reason}.\n") from exc
        await runtime.transactions.run(
            partial(staff.record, actor=visitor.actor, staff_id=visitor.staff_id, action="answer gap", target=str(made))
        )
        runtime.reindexer.soon(f"admin:gap answered ({visitor.actor})"[:100])
        log.info("admin: knowledge gap answered as suggestion %s (%s)", made, visitor.actor)
        if wants_json(request):
            return as_json(await runtime.transactions.run(partial(store.one, suggestion_id=made)))
        back(f"/admin/suggestions?view=live&done={'link' if link_to else 'approve'}&id={made}")


def section_targets(knowledge: KnowledgeBase) -> list[str]:
    """The sections the index holds, articles' and the team's own answers', to link a question
    to, as `source › section`."""
    found = dict.fromkeys(
        f"{record.source}{SECTION_SEPARATOR}{record.section}"
        for record in knowledge.local.snapshot.records
        if record.source != HAND_OVER_SOURCE
    )
    return list(found)[:MAX_TARGETS]


def _edits_as_shown(
    session: Session, *, suggestion_id: int, question: str, answer: str, actor: str, collection: str
) -> None:
    """Keep what the reviewer saw in the form before approving it (a field left out keeps what
    is stored): edits refused approval (personal data left in them) then stay, shown flagged."""
    stored = store.one(session, suggestion_id)
    if stored is None:
        raise store.NoSuchSuggestion(f"there is no suggestion {suggestion_id}")
    store.edit(
        session,
        suggestion_id,
        question=question or stored.question,
        answer=answer or stored.answer,
        actor=actor,
        collection=collection,
        may_change_live=False,
    )


def _answer_gap(
    session: Session,
    *,
    question: str,
    phrasings: Sequence[str],
    answer: str,
    link_to: tuple[str, str] | None,
    actor: str,
    collection: str,
) -> int:
    made = store.for_gap(session, question=question, phrasings=phrasings, answer=answer, actor=actor)
    if link_to is None:
        store.approve(session, made, actor=actor, collection=collection)
    else:
        store.link(session, made, source=link_to[0], section=link_to[1], actor=actor, collection=collection)
    return made


class _Refused(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
