"""How the mood reading (`core.answering.sentiment`) and small talk (`core.answering.small_talk`)
do on customer messages in each shipped language, run with:

    python -m tests.bench.bench_sentiment_languages

The messages are tests/fixtures/mood/messages.jsonl: 30 a language (en, de, es, fr, pt), written
for this bench, each labelled with the intent a person would read (question, request,
complaint, human_request, greeting, other), whether it is frustrated, and its small talk
(greeting, thanks or none). Every other message of a language is `held_out`: the rules were
written against the calibration half; the held-out half is what the figures are for.

Each message is read twice in one run: as English (what the hub did before it read other
languages: VADER and the English rules) and in its own language. A label's figure is
"found/labelled +false": of the messages labelled with it, how many were read so, and how many
messages not labelled with it were read so all the same. "frustrated" means a frustration
reaching `handoff.frustrated_level`; "small talk" a greeting or thanks recognised as its kind
(small talk has one reading for every language, so both rows show it: before it knew the other
languages' words it found none of them).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from core.answering.sentiment import SentimentAnalyzer
from core.answering.small_talk import small_talk
from core.settings import HandoffSettings, SentimentSettings
from core.turn_context import Intent, Signals

MESSAGES = Path(__file__).resolve().parents[1] / "fixtures" / "mood" / "messages.jsonl"
LANGUAGES = ("en", "de", "es", "fr", "pt")
LABELS = ("frustrated", "complaint", "question", "person", "small talk")


@dataclass(frozen=True, slots=True)
class Labelled:
    language: str
    text: str
    intent: Intent
    frustrated: bool
    small_talk: str | None
    held_out: bool


def load(path: Path = MESSAGES) -> list[Labelled]:
    rows = (json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip())
    return [
        Labelled(
            row["language"], row["text"], Intent(row["intent"]), row["frustrated"], row["small_talk"], row["held_out"]
        )
        for row in rows
    ]


@dataclass(frozen=True, slots=True)
class Score:
    found: int
    labelled: int
    false: int

    def __str__(self) -> str:
        return f"{self.found}/{self.labelled} +{self.false}"


def scores(messages: Sequence[Labelled], read: Callable[[Labelled], Signals]) -> dict[str, Score]:
    """Per label, how `read` reads `messages` against their labels."""
    level = HandoffSettings().frustrated_level
    pairs: dict[str, list[tuple[bool, bool]]] = {label: [] for label in LABELS}
    for message in messages:
        signals = read(message)
        kind = small_talk(message.text)
        pairs["frustrated"].append((message.frustrated, signals.frustration >= level))
        for label, intent in (
            ("complaint", Intent.COMPLAINT),
            ("question", Intent.QUESTION),
            ("person", Intent.HUMAN_REQUEST),
        ):
            pairs[label].append((message.intent is intent, signals.intent is intent))
        said = kind.value if kind is not None else None
        pairs["small talk"].append((message.small_talk is not None, said is not None and said == message.small_talk))
    return {
        label: Score(
            found=sum(1 for truth, read in found if truth and read),
            labelled=sum(1 for truth, _ in found if truth),
            false=sum(1 for truth, read in found if read and not truth),
        )
        for label, found in pairs.items()
    }


def run(*, held_out: bool = True) -> dict[tuple[str, str], dict[str, Score]]:
    """(language, "as English" | "in its language") -> label -> score, on one half."""
    analyzer = SentimentAnalyzer(SentimentSettings())
    messages = [message for message in load() if message.held_out is held_out]
    figures: dict[tuple[str, str], dict[str, Score]] = {}
    for language in LANGUAGES:
        mine = [message for message in messages if message.language == language]
        figures[language, "as English"] = scores(mine, lambda message: analyzer.analyze(message.text, "en"))
        figures[language, "in its language"] = scores(
            mine, lambda message: analyzer.analyze(message.text, message.language)
        )
    return figures


def report(figures: dict[tuple[str, str], dict[str, Score]]) -> str:
    lines = [f"{'language':<9}{'read':<17}" + "".join(f"{label:>12}" for label in LABELS)]
    for (language, reading), shares in figures.items():
        lines.append(f"{language:<9}{reading:<17}" + "".join(f"{shares[label]!s:>12}" for label in LABELS))
    return "\n".join(lines)


if __name__ == "__main__":
    for held_out in (False, True):
        print("held-out half" if held_out else "calibration half")
        print(report(run(held_out=held_out)), end="\n\n")
