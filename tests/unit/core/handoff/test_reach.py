"""Where a customer is told they can reach the team when no person can join: from what the
operator gave, in the customer's language, and plainly nothing when nothing was given."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from core.handoff.reach import where_to_reach
from core.languages import speaking
from core.settings import ContactSettings, HandoffSettings, HoursSettings

BERLIN = ZoneInfo("Europe/Berlin")
FRIDAY_EVENING = datetime(2025, 10, 24, 18, 5, tzinfo=BERLIN)
WEEKDAYS = HoursSettings(timezone="Europe/Berlin", **dict.fromkeys(("monday", "friday"), "09:00-17:30"))


@pytest.mark.parametrize(
    ("contact", "told"),
    [
        (ContactSettings(), "You can reach our support team at support@brightdesk.example or +1 555 0100."),
        (
            ContactSettings(email="help_desk@example.com", phone=""),
            r"You can reach our support team at help\_desk@example.com.",
        ),
        (ContactSettings(email="", phone="(030) 1234-567"), r"You can reach our support team at \(030\) 1234-567."),
        (
            ContactSettings(email="", phone=""),
            "I'm sorry, I have no other way to put you in touch with our support team.",
        ),
    ],
)
def test_the_sentence_names_what_the_operator_gave(contact: ContactSettings, told: str) -> None:
    assert where_to_reach(HandoffSettings(contact=contact), now=FRIDAY_EVENING) == told  # markdown-escaped


def test_out_of_business_hours_it_says_when_the_team_is_back() -> None:
    settings = HandoffSettings(hours=WEEKDAYS)
    assert where_to_reach(settings, now=FRIDAY_EVENING) == (
        "You can reach our support team at support@brightdesk.example or +1 555 0100. "
        "Our team is back Monday at 09:00 CET."
    )
    with speaking("fr"):
        assert where_to_reach(settings, now=FRIDAY_EVENING) == (
            "Vous pouvez joindre notre équipe d'assistance à l'adresse support@brightdesk.example ou au "
            "+1 555 0100. Notre équipe sera de retour lundi à 09:00 CET."
        )


def test_with_nothing_to_give_the_hours_are_not_said() -> None:
    settings = HandoffSettings(hours=WEEKDAYS, contact=ContactSettings(email="", phone=""))
    with speaking("de"):
        assert where_to_reach(settings, now=FRIDAY_EVENING) == (
            "Leider habe ich keine andere Möglichkeit, Sie mit unserem Support-Team in Kontakt zu bringen."
        )


def test_the_operators_own_words_stand_in_for_it() -> None:
    settings = HandoffSettings(unstaffed_message="Please use the form at example.com/support.", hours=WEEKDAYS)
    assert where_to_reach(settings, now=FRIDAY_EVENING) == "Please use the form at example.com/support."


@pytest.mark.parametrize(("key", "value"), [("email", "support at example.com"), ("phone", "call us")])
def test_a_contact_that_is_not_an_address_or_a_number_is_refused(key: str, value: str) -> None:
    with pytest.raises(ValueError, match=key):
        ContactSettings(**{key: value})
