"""Where a customer can reach the support team when no person can join the conversation (no
staff desk takes cases, `core.pipeline.staffing`): the sentence a reply says wherever it would
otherwise offer a person, in the language spoken now.

It is made from what the operator gave: `[handoff.contact]` (an email address, a phone number)
and, when business hours are set and the team is out, when it is back (`[handoff.hours]`). With
neither address nor number it says plainly that there is no other way. An operator's own
`handoff.unstaffed_message` stands in for it, through the catalogs like every configured text
(the operator's .po files may translate it).
"""

from __future__ import annotations

from datetime import datetime

from core.handoff.hours import BusinessHours
from core.languages import N_, _
from core.quoting import literal
from core.settings import HandoffSettings

NO_PERSON = N_("I can't bring in a person in this chat.")
"""Said before where to reach the team when the customer asked for a person."""
BY_EMAIL_OR_PHONE = N_("You can reach our support team at {email} or {phone}.")
BY_EMAIL = N_("You can reach our support team at {email}.")
BY_PHONE = N_("You can reach our support team at {phone}.")
NOWHERE = N_("I'm sorry, I have no other way to put you in touch with our support team.")
BACK = N_("Our team is back {back}.")


def where_to_reach(settings: HandoffSettings, *, now: datetime) -> str:
    """Where the team can be reached, as said now: "You can reach our support team at
    support@example.com or +1 555 0100. Our team is back Monday at 09:00 CET." (the second
    sentence only out of business hours)."""
    if settings.unstaffed_message:
        return _(settings.unstaffed_message)
    email, phone = literal(settings.contact.email), literal(settings.contact.phone)
    if email and phone:
        said = _(BY_EMAIL_OR_PHONE, email=email, phone=phone)
    elif email or phone:
        said = _(BY_EMAIL, email=email) if email else _(BY_PHONE, phone=phone)
    else:
        return _(NOWHERE)
    back = BusinessHours.of(settings.hours).when_back(now)
    return said if back is None else f"{said} {_(BACK, back=back)}"
