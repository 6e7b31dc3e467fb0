"""The actions every hub has: a customer asks how their cases stand, or adds a note to an open
one. Answered from the hub's own tables through `CaseBook` (handoff implements it), always for
the contact who writes and nobody else; no verified identity is needed, as a contact's cases
are their own conversations."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from core.action_settings import CASE_NOTE, CASE_STATUS, ActionDeclaration
from core.languages import N_, _
from core.turn_context import person_or_reach

_OWN_TABLES = "https://supporthub.invalid/"
"""Built-ins call nothing: their declarations' URLs are never used."""


@dataclass(frozen=True, slots=True)
class CaseLine:
    """One of the customer's cases as they may see it."""

    reference: str
    state: str
    """waiting, human, returned or closed (`core.store.case_tables.CaseState`)."""
    opened_at: datetime
    channel: str
    about: str
    open: bool
    """A person has it, or is to take it (the state is one of handoff's open states)."""


class CaseBook(Protocol):
    async def cases_of(self, contact_id: str) -> list[CaseLine]:
        """The contact's cases, newest first."""
        ...

    async def add_note(self, contact_id: str, text: str) -> CaseLine | None:
        """Add the customer's note to their newest open case, for the person on it; None when
        they have no open case."""
        ...


DECLARATIONS = {
    CASE_STATUS: ActionDeclaration(
        description="Tell the customer how their support cases (tickets) stand: waiting, with a person, resolved.",
        url=_OWN_TABLES + CASE_STATUS,
        examples=[
            "what's happening with my ticket",
            "what is the status of my case",
            "any update on my support request",
            "is anyone looking at my ticket",
            "status of my ticket",
        ],
    ),
    CASE_NOTE: ActionDeclaration(
        description="Add the customer's note to their open support case, for the person handling it.",
        url=_OWN_TABLES + CASE_NOTE,
        parameters={
            "type": "object",
            "properties": {
                "note": {"type": "string", "minLength": 2, "description": "the note, in the customer's words"}
            },
            "required": ["note"],
        },
        examples=["add a note to my ticket", "add something to my case", "I want to add information to my ticket"],
        ask={"note": N_("What would you like to add to your case? Write it in one message and I'll pass it on.")},
    ),
}

NO_CASE = N_("I can't find any support case of yours. If something needs a person, just ask.")
NO_CASE_NOBODY = N_("I can't find any support case of yours.")
NO_OPEN_CASE = N_("You have no open case to add a note to. Tell me what you need and I'll help, or ask for a person.")
NO_OPEN_CASE_NOBODY = N_("You have no open case to add a note to. Tell me what you need and I'll help.")
"""Each with a person offered, and as said when no person can come (followed by where to reach
the team: `core.turn_context.person_or_reach`)."""

_STATES = {
    "waiting": N_("waiting for a person from our team"),
    "human": N_("with a person from our team"),
    "returned": N_("resolved"),
    "closed": N_("closed"),
}


def status_text(cases: list[CaseLine], *, reach: str | None) -> str:
    """The customer's cases as a table. `reach` as `TurnContext.reach`: with no case, a person
    is offered only when one can come; otherwise the reply says where to reach the team."""
    if not cases:
        return person_or_reach(reach, person=NO_CASE, instead=NO_CASE_NOBODY)
    rows = [
        f"| {case.reference} | {case.opened_at:%Y-%m-%d} | {_(_STATES[case.state]) if case.state in _STATES else case.state} | {_cell(case.about)} |"
        for case in cases[:10]
    ]
    header = _("Here are your support cases:") if len(cases) > 1 else _("Here is your support case:")
    columns = "| " + " | ".join([_("Case"), _("Opened"), _("Status"), _("About")]) + " |"
    return "\n".join([header, "", columns, "|---|---|---|---|", *rows])


def note_text(case: CaseLine | None, *, reach: str | None) -> str:
    """The note's receipt; with no open case, what the customer can do instead (`status_text`'s
    `reach`)."""
    if case is None:
        return person_or_reach(reach, person=NO_OPEN_CASE, instead=NO_OPEN_CASE_NOBODY)
    return _("I've added your note to case {reference}; the person handling it will see it.", reference=case.reference)


def _cell(text: str) -> str:
    line = " ".join(text.split())
    return (line[:80] + "…" if len(line) > 80 else line).replace("|", "\\|")
