"""/admin/actions: the actions the bot may call (the operator's, declared under `[actions]`, and
the hub's built-in case actions), the hosts they may reach, and the audit trail of every call,
newest first (`core.store.action_calls`).

Only what an operator needs to check a call is shown: a declaration's method, URL template,
identity fields and example phrasings, never its headers (where the secrets are); a call's
arguments as stored, already masked. With the Bearer token the same data is JSON at
/admin/api/actions, for scripts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from core.action_settings import ActionDeclaration, ActionSettings
from core.admin.queries.contact_labels import contact_labels
from core.admin.views.dashboard import Dashboard
from core.admin.views.render import as_json, row_number
from core.answering.actions import built_in
from core.store import action_calls as store

PAGE_SIZE = 50
MAX_PAGE = 10_000
"""As the conversation search's: a deeper offset is a scan nobody reads."""


@dataclass(frozen=True, slots=True)
class DeclaredAction:
    """One action as the page describes it: nothing of its headers."""

    name: str
    description: str
    method: str
    url: str
    """The URL template as written; "" for a built-in action, which calls nothing."""
    writes: bool
    identity: list[str]
    """The verified identity fields it passes, and so needs."""
    examples: list[str]
    built_in: bool


@dataclass(frozen=True, slots=True)
class AuditPage:
    """One page of the audit trail, newest first."""

    action: str | None
    page: int
    total: int
    """Calls of the chosen action (or all) on every page."""
    more: bool
    calls: list[store.AuditedCall]
    contacts: dict[str, str]
    """Each listed contact's label, by id (`core.admin.queries.contact_labels`)."""


@dataclass(frozen=True, slots=True)
class ActionsReport:
    declared: list[DeclaredAction]
    allowed_hosts: list[str]
    private_hosts: list[str]
    audit: AuditPage


def declared_actions(settings: ActionSettings) -> list[DeclaredAction]:
    """The operator's actions by name, then the built-in ones (every hub has them)."""
    return [
        *(_described(name, declaration, built=False) for name, declaration in sorted(settings.declared.items())),
        *(_described(name, declaration, built=True) for name, declaration in built_in.DECLARATIONS.items()),
    ]


def _described(name: str, declaration: ActionDeclaration, *, built: bool) -> DeclaredAction:
    return DeclaredAction(
        name=name,
        description=declaration.description,
        method="" if built else declaration.method,
        url="" if built else declaration.url,
        writes=declaration.writes,
        identity=declaration.identity,
        examples=list(declaration.examples),
        built_in=built,
    )


class ActionCallPages:
    def __init__(self, *, dashboard: Dashboard, settings: ActionSettings) -> None:
        self._runtime, self._page = dashboard.runtime, dashboard.page
        self._settings = settings
        self._declared = declared_actions(settings)

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/admin/actions", self.index),
            web.get("/admin/api/actions", self.index_json),
        ]

    async def _report(self, request: web.Request) -> ActionsReport:
        action, page_number = _chosen(request.query)
        async with self._runtime(request).sessionmaker() as session:
            audit = await _audit_page(session, action=action, page_number=page_number)
        return ActionsReport(
            declared=self._declared,
            allowed_hosts=list(self._settings.allowed_hosts),
            private_hosts=list(self._settings.private_hosts),
            audit=audit,
        )

    async def index(self, request: web.Request) -> web.Response:
        return self._page(
            request,
            "actions.html",
            report=await self._report(request),
            names=[action.name for action in self._declared],
            query=request.query,
        )

    async def index_json(self, request: web.Request) -> web.Response:
        return as_json(await self._report(request))


def _chosen(query: Mapping[str, str]) -> tuple[str | None, int]:
    """The action to filter by (None: all) and the page; 400 for a page that is not one."""
    page_number = row_number(query.get("page") or "1")
    if page_number is None or page_number > MAX_PAGE:
        raise web.HTTPBadRequest(text=f"page is a number from 1 to {MAX_PAGE}\n")
    return query.get("action") or None, page_number


async def _audit_page(session: AsyncSession, *, action: str | None, page_number: int) -> AuditPage:
    def read(sync: Session) -> tuple[list[store.AuditedCall], int]:
        offset = (page_number - 1) * PAGE_SIZE
        return store.listed(sync, action=action, limit=PAGE_SIZE, offset=offset), store.counted(sync, action=action)

    calls, total = await session.run_sync(read)
    labels = await contact_labels(session, [call.contact_id for call in calls if call.contact_id])
    return AuditPage(
        action=action,
        page=page_number,
        total=total,
        more=page_number * PAGE_SIZE < total,
        calls=calls,
        contacts=labels,
    )
