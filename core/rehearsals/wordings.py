"""Other wordings of a rehearsal's customer turns (`supporthub rehearse --variants`): the same
question as customers also write it — with a typo, after a preamble, in a shorter form. Each
variant changes one turn and runs the whole rehearsal again, so the report names the wording
that fails. These are deterministic: the same file gives the same variants on every run. With an
LLM configured, `paraphrased` adds the model's own wordings of each turn (`PARAPHRASES` a turn),
which change from run to run."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

from core.rehearsals.script import Rehearsal

PARAPHRASES = 2
PREAMBLE = "Hi there, quick question: "
_FILLER = re.compile(
    r"\b(?:please|kindly|just|could you|can you|would you|tell me|i'd like to know|i want to know|"
    r"i would like to know|hi|hello|hey|thanks|thank you)\b[,!]?\s*",
    re.IGNORECASE,
)
_WORD = re.compile(r"[A-Za-z]{5,}")


def typo(text: str) -> str:
    """Two different letters of the longest word swapped, from its third on: "pasword" is a
    drop, this is a swap ("paswsord" for "password")."""
    words = _WORD.findall(text)
    if not words:
        return text
    word = max(words, key=len)
    at = next((i for i in range(2, len(word) - 1) if word[i] != word[i + 1]), None)
    if at is None:
        return text
    return text.replace(word, word[:at] + word[at + 1] + word[at] + word[at + 2 :], 1)


def with_preamble(text: str) -> str:
    return PREAMBLE + text[:1].lower() + text[1:]


def shorter(text: str) -> str:
    """Without the politeness around the question ("Could you please tell me how…" → "how…")."""
    return re.sub(r"\s+", " ", _FILLER.sub("", text)).strip(" ,")


WORDINGS = (("typo", typo), ("preamble", with_preamble), ("shorter", shorter))


def variants(rehearsal: Rehearsal) -> list[tuple[str, Rehearsal]]:
    """(what was changed, the rehearsal with that turn reworded) for each turn and wording that
    changes the text."""
    found = []
    for index, turn in enumerate(rehearsal.turns):
        for name, reword in WORDINGS:
            said = reword(turn.customer)
            if said and said != turn.customer:
                found.append((f"turn {index + 1}, {name}: {said!r}", _with_turn(rehearsal, index, said)))
    return found


async def paraphrased(
    rehearsal: Rehearsal, paraphrases: Callable[[str], Awaitable[list[str]]]
) -> list[tuple[str, Rehearsal]]:
    """As `variants`, with each turn in the wordings `paraphrases` writes (an LLM's)."""
    found = []
    for index, turn in enumerate(rehearsal.turns):
        for said in await paraphrases(turn.customer):
            found.append((f"turn {index + 1}, paraphrase: {said!r}", _with_turn(rehearsal, index, said)))
    return found


def _with_turn(rehearsal: Rehearsal, index: int, said: str) -> Rehearsal:
    turns = list(rehearsal.turns)
    turns[index] = turns[index].model_copy(update={"customer": said})
    return rehearsal.model_copy(update={"turns": turns})
