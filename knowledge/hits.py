"""What a knowledge search returns; the only knowledge type other packages see."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ScoredSentence:
    """One sentence, list item or table row of a hit's chunk (`knowledge.passages.units`) and
    its cosine with the query."""

    text: str
    relevance: float


@dataclass(frozen=True, slots=True)
class Hit:
    chunk_id: str
    source: str
    title: str
    section: str
    text: str
    score: float
    """The fused ranking score (higher is better); comparable only within one result list."""
    relevance: float
    """Cosine similarity of the query and the chunk embedding, or of the query and a phrasing a
    person linked to the chunk when that is higher (`knowledge.ingest.written`): comparable across
    queries, so the responder can decide whether anything relevant was found at all."""
    exact_match: bool = False
    """The query's exact tokens occur in this chunk, and one of them is an identifier (an order
    number, an error code, a plan name), not a quantity (`knowledge.search.fusion.identifies`)."""
    heading_relevance: float | None = None
    """Cosine similarity of the query and the chunk's heading (title › section): in an FAQ the
    heading *is* the question the passage answers, and a question-to-question cosine tells
    "answers this question" from "is about the same app" better than the passage cosine
    (see core.answering.offline_responder). None when not computed."""
    phrasing_relevance: float | None = None
    """The query's best cosine with the chunk's own question lines (`knowledge.search.phrasings`);
    None when the chunk has none."""
    sentence_relevance: float | None = None
    """The query's best cosine with one of the chunk's sentences (`sentences`): a question is
    one sentence, and the sentence that answers it is closer to it than the passage around it
    is. None when not computed, when the chunk has no sentence to score, or when it is headed by a
    question (an FAQ entry: its heading is the question it answers, `heading_relevance`)."""
    document_relevance: float | None = None
    """The query's cosine with the unit mean of its document's chunk vectors: what the whole
    article is about (`knowledge.search.index.document_vectors`). None when not computed (a
    help centre too large for vectors in memory, searched through Chroma)."""
    lexical_rank: int | None = None
    """The chunk's rank (1 = best) by BM25 among the candidates; None when BM25 did not find it."""
    url: str = ""
    """The public address of the hit's document (a web page, or a file given one): the
    citation's link. Empty when it has none."""
    coverage: float | None = None
    """The rarity-weighted share of the query's content words this chunk holds, heading included
    (`knowledge.search.coverage`); None when not computed."""
    sentences: tuple[ScoredSentence, ...] = ()
    """The chunk's sentences, list items and table rows (a whole document's table rows alone),
    each with its cosine with the query (in the chunk's order); empty when not computed, as for
    `sentence_relevance`."""
    language: str | None = None
    """The language its document is written in (ISO 639-1, `knowledge.ingest.languages`); None when
    nothing says (the help centre's default language, as the app sees it)."""


def hit_json(hit: Hit) -> dict[str, str | float]:
    """The JSON shape of a hit, shared by `supporthub search --json` and `GET /api/search`."""
    return {
        "source": hit.source,
        "title": hit.title,
        "section": hit.section,
        "score": round(hit.score, 6),
        "relevance": round(hit.relevance, 6),
        "text": hit.text,
        "url": hit.url,
    }
