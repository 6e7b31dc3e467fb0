"""How dense and lexical retrieval combine: dense-first, with a gated lexical boost.

Measured with tests/bench/bench_retrieval.py (all-MiniLM-L6-v2, 2 CPU cores), document-level
hit@1 / MRR@10:

    StackFAQ, 125 threads, 1,249 paraphrase queries
      dense alone                         0.932 / 0.961
      BM25 alone                          0.683 / 0.782
      RRF, equal weights                  0.838 / 0.898   (naive fusion loses 10 points)
      cosine + 0.05..0.1 x BM25/max        0.930 / 0.960   (any lexical weight costs a little)
      cosine + 0.3 x exact (chosen)       0.933 / 0.961   (>= dense: one query fixed, none broken)
    Exact tokens (40 queries: error codes BD-40xx, invoices INV-2024-xxxxx, plan names, in
    near-identical documents, StackFAQ threads as distractors)
      dense alone                         0.743 / 0.836
      BM25 alone                          1.000 / 1.000
      cosine + 0.3 x exact (chosen)       1.000 / 1.000

So: the ranking is dense (cosine), and lexical evidence enters only where it is strong: when
the query holds *exact tokens* (`exact_tokens`) and a chunk contains them literally, the chunk
gets +0.3 (pro rata for a partial match), which lifts it over any near-identical neighbour
(cosines within ~0.1) but not over a much better paraphrase match. BM25 is a candidate
generator: its top chunks join the dense ones (with their true cosine), so a chunk holding the
code is considered even when dense retrieval ranked it past the cut. A general BM25 weight was
measured and rejected (lexical=0.0): on paraphrased questions it only ever cost ranking.
Gating matters: first version also treated 2-letter capitals (FB, CC, KB, MB) as exact; on
StackFAQ they broke 9 top-1 answers (0.926) because the documents spell those words out, so
tokens without digits must be 3+ characters and rare (<= 2% of chunks).

The customer's language (`FusionWeights.language`): a chunk written in it gets a small boost.
Measured with tests/bench/bench_languages.py: the sample help centre plus three of its articles
also in German and Spanish, the sample eval set's questions in each language (146 answerable;
12 of them about a translated article), the reply's first citation:

    preference   German: right first / translated cited in German   Spanish: the same
    none                30 / 8 of 12                                 26 / 11 of 12
    +0.05 (chosen)      29 / 9 of 12                                 25 / 11 of 12
    +0.1                27 / 9 of 12                                 21 / 11 of 12
    +0.2                18 / 9 of 12                                 14 / 11 of 12
    only (restrict)      9 / 9 of 12                                 11 / 11 of 12

The English model already ranks a passage in the question's own language higher (shared
words), so a preference only decides near ties, such as an article and its translation; a
larger one pulls the few translated articles over the right English article for questions
they do not answer, and restricting the search to the customer's language (falling back when
it has no candidate) is the worst of all. English questions were unaffected at every value.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from knowledge.hits import Hit
from knowledge.search.index import ChunkRecord

_CANDIDATE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/#:-]*[A-Za-z0-9]|[A-Za-z0-9]")
_WORD = re.compile(r"(?u)\w\w+")
_CALENDAR = frozenset(
    [
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
    ]
)
"""Capitalised by English spelling, not names: "…had surgery on Monday" must not make the opening
hours, which name Monday, an exact match."""
_TIME_OF_DAY = r"\d{1,2}(?:[:.]\d{2})?(?:am|pm)|\d{1,2}:\d{2}"
_QUANTITY = re.compile(
    rf"(?:{_TIME_OF_DAY})(?:-(?:{_TIME_OF_DAY}))?|\d+(?:st|nd|rd|th)"
    r"|\d+(?:[.,]\d+)?(?:kg|g|lbs?|cm|mm|km|ml|mins?|hrs?|mph)",
    re.IGNORECASE,
)
"""A time of day, a span of them, an ordinal or a measure ("11:00", "6.30pm", "10am-2pm", "17th",
"30kg", "5lbs"): written in digits, but no identifier. A bare number may be one ("the 500 meg
one", error 404, order 12345), and so may "11.00" (a price, a version)."""


@dataclass(frozen=True, slots=True)
class FusionWeights:
    lexical: float = 0.0
    """Weight of the BM25 score, normalised by the best BM25 score of the query (0..1)."""
    exact: float = 0.3
    """Added to a chunk that contains all of the query's exact tokens (pro rata for some)."""
    rare_fraction: float = 0.02
    """A capitalised or mixed-case word is a name only when at most this share of chunks has it."""
    language: float = 0.05
    """Added to a chunk written in the language the search prefers (the customer's): of two
    passages saying the same, one in the customer's language and one not, it wins, but a far
    better passage in another language still leads (measured: the module's docstring)."""


DEFAULT_WEIGHTS = FusionWeights()


def exact_tokens(
    query: str, document_frequency: Mapping[str, int], chunk_count: int, *, weights: FusionWeights = DEFAULT_WEIGHTS
) -> list[str]:
    """The query's tokens that must match literally: codes with digits, rare names.

    - anything with a digit, 3+ characters: `INV-2024-00731`, `BD-4012`, `v2.3`, `2024`;
    - a mixed-case or all-caps word (`SSO`, `PayPal`) or a capitalised word that is not the
      first of the query (`Enterprise`) when it occurs in at most `rare_fraction` of chunks
      and at least one: common words (`Gmail` in a Gmail help centre) carry no signal.
    """
    tokens: list[str] = []
    for position, match in enumerate(_CANDIDATE.finditer(query)):
        token = match.group(0)
        if any(ch.isdigit() for ch in token):
            if len(token) >= 3:
                tokens.append(token)
            continue
        # Two-letter capitals (FB, CC, KB) are abbreviations of words the documents spell
        # out, not identifiers: measured on StackFAQ they only broke rankings.
        mixed = len(token) >= 3 and any(ch.isupper() for ch in token[1:])
        capitalised = token[0].isupper() and position > 0 and token.lower() not in _CALENDAR
        if (mixed or capitalised) and len(token) >= 3:
            df = max((document_frequency.get(word.lower(), 0) for word in _WORD.findall(token)), default=0)
            if 0 < df <= max(1.0, weights.rare_fraction * chunk_count):
                tokens.append(token)
    return list(dict.fromkeys(tokens))


def identifies(token: str) -> bool:
    """Whether an exact token names one thing (an order number, an error code, a plan) rather
    than being a quantity (`_QUANTITY`). A quantity still lifts the passage that holds it, but
    makes no exact match (`Hit.exact_match`), nor is needed for one: "I booked the car on the
    11:00 sailing for Saturday…" is not asking for the timetable that lists 11:00, and "order
    INV-2024-00731, ordered on the 3rd" is asking for that order's passage."""
    return _QUANTITY.fullmatch(token) is None


def _pattern(token: str) -> re.Pattern[str]:
    return re.compile(r"(?<![\w-])" + re.escape(token) + r"(?!\w|-\w)", re.IGNORECASE)


def exact_fraction(tokens: Sequence[str], text: str) -> float:
    if not tokens:
        return 0.0
    return sum(1 for token in tokens if _pattern(token).search(text)) / len(tokens)


def best_of(
    dense: Sequence[tuple[ChunkRecord, float]], linked: Sequence[tuple[ChunkRecord, float]]
) -> list[tuple[ChunkRecord, float]]:
    """The dense candidates with those found through a phrasing a person linked to them, each
    chunk once with the better of its two cosines: a chunk is as relevant as the best thing
    known to mean it."""
    best: dict[str, tuple[ChunkRecord, float]] = {}
    for record, cosine in (*dense, *linked):
        known = best.get(record.chunk_id)
        if known is None or cosine > known[1]:
            best[record.chunk_id] = (record, cosine)
    return list(best.values())


@dataclass(slots=True)
class Candidate:
    record: ChunkRecord
    cosine: float | None = None
    bm25: float = 0.0
    exact: float = 0.0
    lexical_rank: int | None = None


def rank(
    *,
    query_vector: np.ndarray,
    dense: Sequence[tuple[ChunkRecord, float]],
    lexical: Sequence[tuple[ChunkRecord, float]],
    tokens: Sequence[str],
    embeddings: Callable[[Sequence[str]], Mapping[str, np.ndarray]],
    k: int,
    weights: FusionWeights = DEFAULT_WEIGHTS,
    language: str | None = None,
) -> list[Hit]:
    """Fuse the dense and lexical candidate lists into the top `k` hits; chunks in `language`
    (when given) are preferred by `weights.language`."""
    candidates: dict[str, Candidate] = {}
    for record, cosine in dense:
        candidates[record.chunk_id] = Candidate(record, cosine=cosine)
    for position, (record, score) in enumerate(lexical, 1):
        candidate = candidates.setdefault(record.chunk_id, Candidate(record))
        candidate.bm25, candidate.lexical_rank = score, position
    missing = [cid for cid, c in candidates.items() if c.cosine is None]
    if missing:
        # A lexical-only candidate still gets its true cosine: `relevance` must mean the same
        # thing for every hit, and the fused score needs it.
        for cid, vector in embeddings(missing).items():
            candidates[cid].cosine = float(np.dot(query_vector, vector))
    best_bm25 = max((c.bm25 for c in candidates.values()), default=0.0) or 1.0
    scored: list[tuple[float, Candidate]] = []
    for candidate in candidates.values():
        if candidate.cosine is None:  # deleted between the two lookups
            continue
        candidate.exact = exact_fraction(tokens, candidate.record.searchable)
        score = candidate.cosine + weights.lexical * candidate.bm25 / best_bm25 + weights.exact * candidate.exact
        if language is not None and candidate.record.language == language:
            score += weights.language
        scored.append((score, candidate))
    scored.sort(key=lambda pair: pair[0], reverse=True)
    named = [token for token in tokens if identifies(token)]  # what makes an exact match
    return [
        Hit(
            chunk_id=c.record.chunk_id,
            source=c.record.source,
            title=c.record.title,
            section=c.record.section,
            text=c.record.text,
            url=c.record.url,
            score=score,
            relevance=float(c.cosine or 0.0),
            exact_match=bool(named) and exact_fraction(named, c.record.searchable) == 1.0,
            lexical_rank=c.lexical_rank,
            language=c.record.language or None,
        )
        for score, c in scored[:k]
    ]
