"""The satisfaction survey's scale as buttons, for every channel that shows them (Slack's
buttons, WhatsApp's list): each score's title, and the value a button carries ("41:4", the
question's message id and the score) read back when it is pressed."""

from __future__ import annotations

from core.languages import N_, _
from core.messages import SURVEY_SCORES

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
