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

Every change is a staff action (`core.admin.views.dashboard`): a POST carrying the session's
CSRF value, answered by a redirect back (post/redirect/get); a review step that cannot be taken
gets the page again with the reason and a 4xx (a gap's answer that cannot be saved: the reason
as text, 400). With the Bearer token the same routes answer JSON (the list at
/admin/api/suggestions), for scripts.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

from aiohttp import web
from sqlalchemy.orm import Session

from core.admin.views.dashboard import AsText, Dashboard, Refusals
from core.admin.views.render import as_json, row_number
from core.answering.answer_decision import HAND_OVER_SOURCE
from core.ops.access import Visitor
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


class _Refused(Exception):
    """A step refused before the store is asked (a section the index does not hold, a gap's
    answer left empty), with the reason to show."""


REVIEWING: Refusals = {
    store.NoSuchSuggestion: web.HTTPNotFound,
    store.NeedsAdmin: AsText(web.HTTPForbidden, "Only an admin can change what the bot answers: {}."),
    store.ReviewError: web.HTTPBadRequest,
    _Refused: web.HTTPBadRequest,
}
NOT_SAVED = AsText(web.HTTPBadRequest, "Not saved: {}.")


class SuggestionPages:
    def __init__(self, *, dashboard: Dashboard, collection: str) -> None:
        """`collection`: the knowledge collection whose index version a link moves."""
        self._dashboard = dashboard
        self._runtime, self._page = dashboard.runtime, dashboard.page
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
        """`source › section` of a section the index holds; `_Refused` otherwise."""
        source, _, section = value.strip().partition(SECTION_SEPARATOR)
        if source == HAND_OVER_SOURCE:
            raise _Refused("keep the question for a person with “Always hand over” instead")
        records = self._runtime(request).knowledge.local.snapshot.records
        if not any(record.source == source and record.section == section for record in records):
            raise _Refused(f"there is no section “{value.strip()}” in the knowledge base: pick one from the list")
        return source, section

    async def act(self, request: web.Request) -> web.Response:
        visitor, form = await self._dashboard.form(request)
        suggestion_id = row_number(request.match_info["id"])
        fields = {
            key: value if isinstance(value := form.get(key), str) else ""
            for key in ("action", "question", "answer", "target")
        }
        action = fields["action"]
        if suggestion_id is None:
            raise web.HTTPNotFound(text="there is no such suggestion\n")
        if action not in ACTIONS:
            raise web.HTTPBadRequest(text=f"action must be one of {', '.join(ACTIONS)}\n")
        if action in CHANGES_LIVE:
            visitor.require_admin("change what the bot answers")
        runtime = self._runtime(request)
        view = request.query.get("view", "pending")
        edits = partial(
            _edits_as_shown,
            suggestion_id=suggestion_id,
            question=fields["question"],
            answer=fields["answer"],
            actor=visitor.actor,
            collection=self._collection,
        )

        def done(changed_live: object) -> None:
            if action in CHANGES_LIVE or (action == "save" and changed_live):
                runtime.reindexer.soon(f"admin:suggestion {suggestion_id} ({visitor.actor})"[:100])
            log.info("admin: suggestion %s: %s (%s)", suggestion_id, action, visitor.actor)

        return await self._dashboard.act(
            request,
            before=edits if action == "approve" else None,  # kept even when the approval is refused
            work=self._step(request, visitor, suggestion_id, action, fields),
            action=f"{action} suggestion",
            target=lambda _: str(suggestion_id),
            refusals=REVIEWING,
            again=lambda status, reason: self._index(request, problem=(suggestion_id, reason), status=status),
            then=done,
            answer=lambda _: runtime.transactions.run(partial(store.one, suggestion_id=suggestion_id)),
            location=lambda _: (
                f"/admin/suggestions?view={view if view in VIEWS else 'pending'}&done={action}&id={suggestion_id}"
            ),
        )

    def _step(
        self, request: web.Request, visitor: Visitor, suggestion_id: int, action: str, fields: dict[str, str]
    ) -> Callable[[Session], Any]:
        """The store's step `action` takes, as one transaction."""
        collection, actor = self._collection, visitor.actor
        if action == "save":
            return partial(
                store.edit,
                suggestion_id=suggestion_id,
                question=fields["question"],
                answer=fields["answer"],
                actor=actor,
                collection=collection,
                may_change_live=visitor.is_admin,
            )
        if action == "approve":
            return partial(store.approve, suggestion_id=suggestion_id, actor=actor, collection=collection)
        if action == "link":

            def link(session: Session) -> None:
                source, section = self._target(request, fields["target"])
                store.link(session, suggestion_id, source=source, section=section, actor=actor, collection=collection)

            return link
        if action == "hand-over":
            return partial(store.hand_over, suggestion_id=suggestion_id, actor=actor, collection=collection)
        if action == "reject":
            return partial(store.reject, suggestion_id=suggestion_id, actor=actor)
        if action == "redact":
            return partial(store.redact_all, suggestion_id=suggestion_id)
        return partial(store.withdraw, suggestion_id=suggestion_id, actor=actor, collection=collection)

    async def answer_gap(self, request: web.Request) -> web.Response:
        """A knowledge gap answered in place: written (an approved answer) or linked to a
        section; the group drops off the page once the index answers it."""
        visitor, form = await self._dashboard.form(request, admin_only="change what the bot answers")
        question = form.get("question")
        answer, target = (value if isinstance(value := form.get(key), str) else "" for key in ("answer", "target"))
        phrasings = [value for value in form.getall("phrasing", []) if isinstance(value, str)]
        if not isinstance(question, str) or not question.strip():
            raise web.HTTPBadRequest(text="the group's question is missing\n")
        runtime = self._runtime(request)

        def made(session: Session) -> int:
            link_to = self._target(request, target) if target.strip() else None
            if link_to is None and not answer.strip():
                raise _Refused("write the answer, or pick the article that answers it")
            return _answer_gap(
                session,
                question=question,
                phrasings=phrasings,
                answer=answer,
                link_to=link_to,
                actor=visitor.actor,
                collection=self._collection,
            )

        def done(made: int) -> None:
            runtime.reindexer.soon(f"admin:gap answered ({visitor.actor})"[:100])
            log.info("admin: knowledge gap answered as suggestion %s (%s)", made, visitor.actor)

        return await self._dashboard.act(
            request,
            work=made,
            action="answer gap",
            target=str,
            refusals={_Refused: NOT_SAVED, store.ReviewError: NOT_SAVED},
            then=done,
            answer=lambda made: runtime.transactions.run(partial(store.one, suggestion_id=made)),
            location=lambda made: (
                f"/admin/suggestions?view=live&done={'link' if target.strip() else 'approve'}&id={made}"
            ),
        )


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
