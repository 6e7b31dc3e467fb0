"""Which suggested reply (`core.handoff.copilot`) a staff reply started from, and how much of it
staff kept: a `CopilotUse` row, to query, and a line in the case's history, to read — both in the
transaction that sends the reply (`core.handoff.inbox_store.reply`).

How much was kept is the normalised Indel similarity of the suggestion as inserted and the reply
as sent (rapidfuzz: 1 − edits ÷ both lengths; 1.0 sent unchanged, near 0 rewritten): linear in
the texts' length, where difflib's ratio is quadratic on a long passage.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from rapidfuzz.distance import Indel
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.handoff.copilot import SuggestionKind
from core.store.case_tables import Case, CaseEvent, CaseEventKind, CopilotUse

MAX_SOURCE = 500


@dataclass(frozen=True, slots=True)
class Used:
    """The suggestion a reply started from, as the reply form carried it."""

    kind: SuggestionKind
    source: str
    title: str
    suggested: str
    """The text the reply box was filled with."""
    section: str = ""
    """A passage's section in its document."""


@dataclass(frozen=True, slots=True)
class UsedView:
    message_id: int
    kind: SuggestionKind
    source: str
    title: str
    kept: float
    actor: str
    at: datetime


def kept(suggested: str, sent: str) -> float:
    """How alike `sent` is to `suggested`, 0 to 1 (1: unchanged), line ends and outer space aside."""
    return float(Indel.normalized_similarity(_plain(suggested), _plain(sent)))


def record(session: Session, *, case: Case, message_id: int, actor: str, used: Used, sent: str) -> None:
    """Record that `actor` sent message `message_id` (`sent`: what they wrote) from `used`."""
    share = kept(used.suggested, sent)
    source, title = used.source[:MAX_SOURCE], used.title[:MAX_SOURCE]
    session.add(
        CopilotUse(
            case_id=case.id,
            message_id=message_id,
            kind=used.kind.value,
            source=source,
            title=title,
            section=used.section[:MAX_SOURCE],
            kept=share,
            actor=actor,
        )
    )
    how = "sent as suggested" if share == 1.0 else f"{int(share * 100)}% of it kept"
    session.add(
        CaseEvent.beside(case, kind=CaseEventKind.SUGGESTED, actor=actor, note=f"{used.kind.value}, “{title}”, {how}")
    )


def uses_of_case(session: Session, case_id: str) -> list[UsedView]:
    """The replies of a case sent from a suggestion, oldest first."""
    rows = session.execute(select(CopilotUse).where(CopilotUse.case_id == case_id).order_by(CopilotUse.id)).scalars()
    return [
        UsedView(row.message_id, SuggestionKind(row.kind), row.source, row.title, row.kept, row.actor, row.at)
        for row in rows
    ]


def _plain(text: str) -> str:
    return text.replace("\r\n", "\n").strip()
