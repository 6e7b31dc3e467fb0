"""Every fixed sentence an SMS carries, in every shipped language, costs no more segments than
its English: the SMS channel's own (channels.po entries from channels/sms*.py and
channels/common/downloads.py) and every sentence of the hub's (bot.po), as SMS sends them.

The catalogs are read as they are, so a sentence added to bot.po or channels.po is measured
without a change here. They are measured as the SMS channel sends them by default
(`sms.plain_letters`): a letter GSM-7 lacks (á, í, ó, ú, ç, ã, ê…) written without its accent,
so the SMS stays GSM-7, 160 characters a segment; a translation that needs more segments than
its English is rephrased shorter, or its budget stated in BUDGETS with the reason.
"""

from __future__ import annotations

import string
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import pytest
from babel.messages.catalog import Message
from babel.messages.pofile import read_po

from channels.sms.format import Segments, gsm7_letters, segments, sms_body
from core.languages import LOCALES, SHIPPED, SOURCE, speaking
from core.messages import Citation

SMS_FILES = ("channels/sms", "channels/common/downloads.py")
"""Where the channels' sentences an SMS carries are written."""
BUDGETS: dict[str, int] = {}
"""Segments a sentence may take in any language when its English takes fewer: none so far."""
SAMPLES = {
    "title": "Refunds",
    "titles": "Refunds; Billing; Plans",
    "url": "https://help.example.com/refunds",
    "name": "mms-1.jpg",
    "limit": "10 MB",
}
"""Values for the placeholders, as an SMS fills them; any other placeholder gets EXAMPLE."""
EXAMPLE = "Example"


def _entries() -> Iterator[tuple[str, str, str, bool]]:
    """(language, English, translation, whether the channel's own line) per SMS sentence."""
    for language in SHIPPED:
        if language == SOURCE:
            continue
        folder = LOCALES / language / "LC_MESSAGES"
        for name, own in (("channels.po", True), ("bot.po", False)):
            for message in _read(folder / name):
                said = own and any(path.startswith(SMS_FILES) for path, _line in message.locations)
                if isinstance(message.id, str) and message.id and message.string and (said or not own):
                    yield language, message.id, str(message.string), own


def _read(path: Path) -> list[Message]:
    if not path.exists():
        return []
    with path.open("rb") as file:
        return list(read_po(file))


def _filled(text: str) -> str:
    return text.format_map(defaultdict(lambda: EXAMPLE, SAMPLES))


def _as_sent(text: str, *, own: bool) -> Segments:
    """An SMS line of the channel's as it is written into the body; a sentence of the hub's as
    a reply SMS carries it (markdown as plain text, typography made GSM-7)."""
    filled = _filled(text)
    return segments(gsm7_letters(filled) if own else sms_body(filled, max_segments=10, plain_letters=True))


def over_budget(english: str, translated: str, *, own: bool) -> str | None:
    """Why `translated` costs more than `english` as an SMS; None when it does not."""
    theirs, ours = _as_sent(english, own=own), _as_sent(translated, own=own)
    budget = max(theirs.count, BUDGETS.get(english, 0))
    if ours.count > budget:
        return f"{ours.count} segments ({ours.encoding}, {ours.units} units), over the {budget} of the English"
    if theirs.encoding == "GSM-7" and ours.encoding != "GSM-7":
        return "UCS-2: the whole SMS it is part of would be (GSM-7 in English)"
    return None


ENTRIES = list(_entries())


@pytest.mark.parametrize(
    ("language", "english", "translated", "own"), ENTRIES, ids=[f"{e[0]}:{e[1][:40]}" for e in ENTRIES]
)
def test_each_sentence_stays_within_the_english_segments(
    language: str, english: str, translated: str, own: bool
) -> None:
    assert over_budget(english, translated, own=own) is None


@pytest.mark.parametrize(
    ("language", "english", "translated", "own"), ENTRIES, ids=[f"{e[0]}:{e[1][:40]}" for e in ENTRIES]
)
def test_each_translation_keeps_the_placeholders(language: str, english: str, translated: str, own: bool) -> None:
    def names(text: str) -> set[str]:
        return {name for _text, name, _spec, _conversion in string.Formatter().parse(text) if name is not None}

    assert names(translated) == names(english)


def test_the_channel_s_sms_lines_are_measured_in_every_language() -> None:
    measured = {(language, english) for language, english, _translated, own in ENTRIES if own}
    for language in ("de", "es", "fr", "pt"):
        assert (language, "More: reply with a narrower question.") in measured
        assert (language, "{name} is over the {limit} limit") in measured


def test_a_translation_that_turns_ucs2_or_longer_is_caught() -> None:
    english = "Ask a question and we'll answer by text. Reply STOP to stop messages, START to resume."
    accented = "Faça uma pergunta e responderemos por SMS. Responda STOP para parar as mensagens, START para retomar."
    assert over_budget(english, accented, own=True) is None  # "Faca": GSM-7, one segment
    assert over_budget(english, accented * 2, own=True) == "2 segments (GSM-7, 202 units), over the 1 of the English"
    assert over_budget("Sources: {titles}", "Fontes: {titles} œ", own=True) == (
        "UCS-2: the whole SMS it is part of would be (GSM-7 in English)"
    )
    assert over_budget("Hello.", "Привет.", own=False) == (
        "UCS-2: the whole SMS it is part of would be (GSM-7 in English)"
    )


def test_a_cut_german_reply_keeps_gsm7_and_its_segments() -> None:
    """The channel's German lines do not turn a GSM-7 answer UCS-2 nor push it past its budget."""
    answer = " ".join(["Die Erstattung dauert in der Regel fünf bis zehn Werktage."] * 20)
    citations = [Citation("refunds.md", "Erstattungen", "", 1.0, url="https://help.example.com/refunds")]
    with speaking("de"):
        body = sms_body(answer, citations, max_segments=2)
    assert body.endswith("\n\nMehr: https://help.example.com/refunds\nQuelle: Erstattungen")
    assert segments(body).encoding == "GSM-7"
    assert segments(body).count == 2
