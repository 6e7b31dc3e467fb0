"""What a visitor asks of the queue in its address: `?q=` (a search), `?mine=1`, `?team=` (one
team's queue, `core.admin.inbox.scope`), `?page=`; read
once for the page and its JSON twin, and written back into the links to the pages before and
after. A parameter the queue cannot answer is refused with the reason (`BadQueueRequest`, a
400), never guessed at."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlencode

from core.admin.inbox.search import QueueSearch
from core.admin.queries.operations import TeamScope
from core.admin.views.render import row_number
from core.clean_text import clean

MAX_PAGE = 10_000
MAX_WORDS = 10
MAX_SEARCH_CHARS = 200


class BadQueueRequest(ValueError):
    """A parameter of the queue's address it cannot answer; the message says why, to the visitor."""


@dataclass(frozen=True, slots=True)
class QueueAsked:
    q: str
    """The search as typed (cleaned and trimmed): shown back in the search box."""
    words: tuple[str, ...]
    mine: bool
    page: int
    team: str = ""

    def search(self, *, me: str, scope: TeamScope | None) -> QueueSearch:
        return QueueSearch(words=self.words, owner=me if self.mine else None, scope=scope)

    def link(self, path: str, *, page: int) -> str:
        """`path` asking for the same search on `page`."""
        kept = [("q", self.q)] if self.q else []
        kept += [("mine", "1")] if self.mine else []
        kept += [("team", self.team)] if self.team else []
        kept += [("page", str(page))] if page > 1 else []
        return f"{path}?{urlencode(kept)}" if kept else path


def queue_asked(query: Mapping[str, str]) -> QueueAsked:
    page = row_number(query.get("page") or "1")
    if page is None or page > MAX_PAGE:
        raise BadQueueRequest(f"page is a number from 1 to {MAX_PAGE}")
    q = clean(query.get("q", "")).strip()  # as stored: no NUL, no lone surrogate
    if len(q) > MAX_SEARCH_CHARS:
        raise BadQueueRequest(f"search for at most {MAX_SEARCH_CHARS} characters")
    words = tuple(dict.fromkeys(q.split()))
    if len(words) > MAX_WORDS:
        raise BadQueueRequest(f"search for at most {MAX_WORDS} words")
    team = query.get("team", "").strip().lower()
    return QueueAsked(q=q, words=words, mine=query.get("mine") == "1", page=page, team=team)
