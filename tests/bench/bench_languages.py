"""Customers in other languages, answered offline: the sample eval set's questions in English,
German and Spanish side by side, run with:

    python -m tests.bench.bench_languages

The questions of config/eval/sample-questions.jsonl and their translations
(sample-questions.de.jsonl, sample-questions.es.jsonl: the same lines, the same expected
documents) are asked of the sample help centre through the product's offline path: each
question of a message searched (in the customer's language first), then
`OfflineResponder.answer_all` inside `speaking(language)`. The bar is learned once, from the
English lines not held out, as an operator's `supporthub eval --calibrate` learns it; the
English figures are the baseline the others are read against.

1. The sample help centre as it ships: every article in English, so a German or Spanish
   question finds its article only as far as the English model matches across languages.
2. The same help centre with three of its articles also in German and Spanish
   (tests/bench/datasets/translated-articles, in folders named `de/` and `es/`): for each
   preference the search gives the customer's language (`fusion.FusionWeights.language`: none,
   a boost, or "only" — a boost no cosine can overcome, i.e. restrict to the customer's
   language wherever it has a candidate, else fall back), how often the expected article is
   cited first, and how often in the customer's language where it has a translation.
"""

from __future__ import annotations

import asyncio
import dataclasses
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.answering.agent import ask_each
from core.answering.answer_eval import Outcome, outcome, searched
from core.answering.calibration import Calibration, fit
from core.answering.offline_responder import OfflineResponder
from core.languages import speaking
from core.settings import AnswerSettings
from knowledge.base import KnowledgeBase
from knowledge.embedding.embedder import Embedder
from knowledge.evaluation import EvalQuestion, load_questions, source_matches
from knowledge.hits import Hit
from knowledge.search.fusion import FusionWeights
from knowledge.settings import KnowledgeSettings
from tests.bench.bench_retrieval import open_kb
from tests.bench.calibrate_answers import ROOT

LANGUAGES = ("en", "de", "es")
TRANSLATED = Path(__file__).resolve().parent / "datasets" / "translated-articles"
ONLY = 10.0
"""A language boost no cosine difference can overcome: the customer's language whenever it has
a candidate at all."""
PREFERENCES: tuple[tuple[str, float], ...] = (
    ("none", 0.0),
    ("+0.05", 0.05),
    ("+0.1", 0.1),
    ("+0.2", 0.2),
    ("only", ONLY),
)


def eval_file(language: str) -> Path:
    name = "sample-questions.jsonl" if language == "en" else f"sample-questions.{language}.jsonl"
    return ROOT / "config" / "eval" / name


@dataclass(frozen=True, slots=True)
class Answered:
    question: EvalQuestion
    outcome: Outcome
    cited: str | None


async def _calibrated(kb: KnowledgeBase, settings: AnswerSettings) -> Calibration:
    """The bar from the English lines not held out (`supporthub eval --calibrate`)."""
    lines = [q for q in load_questions(eval_file("en")) if not q.held_out]
    return fit(await asyncio.to_thread(searched, kb, settings, lines), settings, source="sample-questions.jsonl")


async def _answer(kb: KnowledgeBase, settings: AnswerSettings, learned: Calibration, language: str) -> list[Answered]:
    responder = OfflineResponder(settings, floor=lambda: kb.paraphrase_floor, learned=lambda: learned)

    async def search(query: str) -> list[Hit]:
        return await kb.search(query, settings.top_k, language=language)

    out = []
    for question in load_questions(eval_file(language)):
        asked = await ask_each(question.question, search)
        with speaking(language):
            reply = responder.answer_all(asked)
        cited = reply.citations[0].source if reply.citations and not reply.handoff else None
        out.append(Answered(question, outcome(reply, question.expected_source), cited))
    return out


def _figures(answered: Sequence[Answered]) -> dict[str, tuple[int, int]]:
    answerable = [a for a in answered if a.question.answerable]
    unanswerable = [a for a in answered if not a.question.answerable]
    return {
        "right": (sum(a.outcome == Outcome.RIGHT for a in answerable), len(answerable)),
        "declined_answerable": (sum(a.outcome == Outcome.DECLINED for a in answerable), len(answerable)),
        "declined_unanswerable": (sum(a.outcome == Outcome.DECLINED for a in unanswerable), len(unanswerable)),
    }


async def _shipped(root: Path, embedder: Embedder, settings: AnswerSettings) -> dict[str, Any]:
    kb, engine = await open_kb(root, embedder)
    await kb.ingest([ROOT / "config" / "knowledge"], trigger="bench")
    learned = await _calibrated(kb, settings)
    out: dict[str, Any] = {"bar": learned.bar, "languages": {}}
    for language in LANGUAGES:
        answered = await _answer(kb, settings, learned, language)
        out["languages"][language] = {
            "all": _figures(answered),
            "held out": _figures([a for a in answered if a.question.held_out]),
        }
    await kb.aclose()
    await engine.dispose()
    return out


def _translated(language: str) -> set[str]:
    return {path.name for path in (TRANSLATED / language).glob("*.md")}


async def _mixed(root: Path, embedder: Embedder, settings: AnswerSettings) -> dict[str, Any]:
    kb, engine = await open_kb(root, embedder)
    await kb.ingest([ROOT / "config" / "knowledge", TRANSLATED], trigger="bench")
    learned = await _calibrated(kb, settings)
    out: dict[str, Any] = {}
    for label, boost in PREFERENCES:
        kb.weights = dataclasses.replace(kb.weights, language=boost)
        rows: dict[str, Any] = {}
        for language in LANGUAGES:
            answered = await _answer(kb, settings, learned, language)
            translated = _translated(language) if language != "en" else _translated("de")
            has_translation = [
                a
                for a in answered
                if a.question.expected_source is not None and Path(a.question.expected_source).name in translated
            ]
            own = f"/{language}/"
            rows[language] = {
                **_figures(answered),
                "translated_right": (sum(a.outcome == Outcome.RIGHT for a in has_translation), len(has_translation)),
                # English: cited in English although a translation exists (the right language too)
                "in_language": (
                    sum(
                        a.cited is not None
                        and source_matches(a.question.expected_source or "", a.cited)
                        and ((own in a.cited) if language != "en" else not any(f"/{x}/" in a.cited for x in LANGUAGES))
                        for a in has_translation
                    ),
                    len(has_translation),
                ),
            }
        out[label] = rows
    await kb.aclose()
    await engine.dispose()
    return out


def run(*, settings: AnswerSettings | None = None, embedder: Embedder | None = None) -> dict[str, Any]:
    settings = settings or AnswerSettings()
    embedder = embedder or Embedder.load(KnowledgeSettings())
    with tempfile.TemporaryDirectory() as tmp:
        shipped = asyncio.run(_shipped(Path(tmp), embedder, settings))
    with tempfile.TemporaryDirectory() as tmp:
        mixed = asyncio.run(_mixed(Path(tmp), embedder, settings))
    return {"shipped": shipped, "mixed": mixed, "default_boost": FusionWeights().language}


def _share(pair: tuple[int, int]) -> str:
    part, whole = pair
    return f"{part / whole:6.1%} ({part:>3}/{whole:<3})" if whole else "n/a"


def report(out: dict[str, Any]) -> str:
    shipped = out["shipped"]
    head = f"{'':38}" + "".join(f"{(lang + ' (baseline)' if lang == 'en' else lang):>20}" for lang in LANGUAGES)
    lines = [
        f"1. The sample help centre (every article in English), bar {shipped['bar']:.2f} learned from the "
        "English calibration lines",
        head,
    ]
    for part in ("all", "held out"):
        figures = {lang: shipped["languages"][lang][part] for lang in LANGUAGES}
        first = figures["en"]
        lines.append(
            f"  {part} lines ({first['right'][1]} answerable, {first['declined_unanswerable'][1]} unanswerable)"
        )
        for key, label in (
            ("right", "answerable: right source cited first"),
            ("declined_answerable", "answerable: declined"),
            ("declined_unanswerable", "unanswerable: declined (right)"),
        ):
            lines.append(f"    {label:34}" + "".join(f"{_share(figures[lang][key]):>20}" for lang in LANGUAGES))
    lines += [
        "",
        "2. The same with three articles also in German and Spanish (de/, es/): the customer's language preferred by",
        f"{'':38}" + "".join(f"{lang:>20}" for lang in LANGUAGES),
    ]
    for label, rows in out["mixed"].items():
        default = " (default)" if label == f"+{out['default_boost']:g}" else ""
        lines.append(f"  {label}{default}")
        for key, text in (
            ("right", "answerable: right source first"),
            ("translated_right", "  of those translated: right first"),
            ("in_language", "    ... and in the customer's language"),
            ("declined_unanswerable", "unanswerable: declined"),
        ):
            lines.append(f"    {text:34}" + "".join(f"{_share(rows[lang][key]):>20}" for lang in LANGUAGES))
    lines.append("(English: 'in the customer's language' = the English article cited, not a translation)")
    return "\n".join(lines)


def _main() -> None:
    print(report(run()))


if __name__ == "__main__":
    _main()
