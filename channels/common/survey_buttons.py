"""The satisfaction survey's scale as buttons, for every channel that shows them (Slack's
buttons, WhatsApp's list): each score's title, and the value a button carries ("41:4", the
question's message id and the score) read back when it is pressed."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Protocol

from core.channel import ChannelRecords, Intake, RatingResult
from core.languages import N_, _
from core.messages import SURVEY_SCORES, Address

PRESS_PREFIX = "survey:"
"""Before a survey button's value where the platform hands presses back among other choices."""
THANKS = N_("Thank you for your rating: {score} of {scale}.")
CLOSED = N_("This survey is closed.")
_SCORE_LABELS = {SURVEY_SCORES[0]: N_("bad"), SURVEY_SCORES[-1]: N_("great")}


def score_title(score: int) -> str:
    """ "1 (bad)", "3", "5 (great)": in the language spoken now."""
    label = _SCORE_LABELS.get(score)
    return f"{score} ({_(label)})" if label else str(score)


def survey_value(message_id: int, score: int) -> str:
    return f"{message_id}:{score}"


def survey_choice(value: object) -> tuple[int, int] | None:
    """(question's message id, score) from a survey button's value; None for anything else."""
    if not isinstance(value, str):
        return None
    message_id, _colon, score = value.partition(":")
    if not (message_id.isascii() and message_id.isdigit() and score.isascii() and score.isdigit()):
        return None
    if int(score) not in SURVEY_SCORES or not 0 < int(message_id) < 2**31:
        return None
    return int(message_id), int(score)


class SurveyHub(Intake, ChannelRecords, Protocol):
    """What keeping a press asks of the hub."""


@dataclass(frozen=True, slots=True)
class Press:
    """What became of a choice the customer pressed."""

    taken: bool
    """It was a score of a survey of this conversation (or a redelivery of one): nothing more
    to do with it; otherwise its title goes on as text."""
    reply: str | None = None
    """The sentence to say back (`THANKS` or `CLOSED`), None for a redelivery."""
    values: dict[str, object] = field(default_factory=dict)


async def take_press(hub: SurveyHub, channel: str, *, press_id: str, pressed: str | None, address: Address) -> Press:
    """A button value `pressed` (`PRESS_PREFIX` and `survey_value`) kept once under the platform's
    id `press_id` for it: a redelivery is taken and says nothing; a press the hub could not keep
    is not marked, so the platform's next delivery tries again."""
    value = pressed or ""
    choice = survey_choice(value.removeprefix(PRESS_PREFIX)) if value.startswith(PRESS_PREFIX) else None
    if choice is None:
        return Press(taken=False)
    message_id, score = choice
    values = hub.values(channel)
    key = "pressed:" + hashlib.sha256(press_id.encode()).hexdigest()[:40]
    if await values.get(key) is not None:
        return Press(taken=True)
    result = await hub.rate(message_id, score=score, address=address)
    if result is RatingResult.NOT_FOUND:
        return Press(taken=False)
    await values.put(key, str(message_id))
    if result is RatingResult.SAVED:
        return Press(taken=True, reply=THANKS, values={"score": score, "scale": SURVEY_SCORES[-1]})
    return Press(taken=True, reply=CLOSED)
