"""A passage's questions in its own words, and what they tell about this help centre's scores.

Some help centres list the questions an article answers, the way customers put them ("What
people ask: - show my alarms - what alarms do I have set"), or put questions in lists, on
lines of their own, or one per line with no marker at all. Those lines are what a customer's
question is most like: all-MiniLM-L6-v2 was trained on question-to-question pairs. So each chunk's *phrasings* — its list items and
lines that ask something (`knowledge.asking`), markdown emphasis dropped — are embedded with the
index, and a hit's `phrasing_relevance` is the query's best cosine with its chunk's phrasings,
as `heading_relevance` is with its heading.

They also calibrate. Two phrasings of one passage are two ways customers ask the same thing:
how alike they are (each phrasing's best cosine with the passage's other phrasings, "leave one
out") is how alike a new customer question and the passage's phrasings will be, measured on this
help centre's own wording and score scale. Its 5th percentile is the `Floor` an answerable
question reaches 95 times in 100: the bar the answer-or-hand-over decision can use instead of
one constant fitted on another data set. A help centre with too few such lines has no floor.

A person can also *link* a customer's wording to a section (`knowledge.ingest.written`): a linked
phrasing is one of its section's phrasings, and more — it makes the section a candidate of
its own, scored by the query's cosine with it (`Phrasings.linked_best`), so the section is found
for those words even where the passage's own cosine would not rank it. Linked phrasings are
left out of the floor: it measures how the help centre itself words what it answers.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from knowledge.asking import asks

MAX_PER_CHUNK = 8
"""Phrasings kept per chunk, the first ones: a long list of steps is not a list of questions."""
MAX_WORDS = 25
"""A phrasing is question-sized: a longer line is prose."""
MIN_WORDS = 2
MIN_PLAIN_LIST = 3
"""Lines in a row that make a plain list of questions."""
FLOOR_QUANTILE = 0.05
"""The share of answerable questions the floor lets go: it aims at 95 % answered."""
MIN_FLOOR_LINES = 20
"""Phrasings (in passages with three or more) needed before the floor says anything."""
_ITEM = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+(.+)$")
_EMPHASIS = re.compile(r"[*_`]+")
_TEXTS = "phrasings.json"
_VECTORS = "phrasings.npy"


def phrasings(text: str) -> list[str]:
    """The lines of a chunk's `text` that ask something: list items, lines ending with "?", and
    the lines of a plain list of questions (`_plain_lists`); at most MAX_PER_CHUNK, in order,
    each once."""
    found: list[str] = []
    listed = _plain_lists(text)
    for number, line in enumerate(text.splitlines()):
        item = _ITEM.match(line)
        if item is None and not line.rstrip().endswith("?") and number not in listed:
            continue
        candidate = _EMPHASIS.sub("", item.group(1) if item else line).strip()
        if line.lstrip().startswith(("#", "|", ">")) or candidate in found:
            continue
        if MIN_WORDS <= len(candidate.split()) <= MAX_WORDS and asks(candidate):
            found.append(candidate)
            if len(found) == MAX_PER_CHUNK:
                break
    return found


def _plain_lists(text: str) -> set[int]:
    """Line numbers of plain lists of questions: MIN_PLAIN_LIST or more consecutive lines, each
    question-sized, most of which ask — what people ask, one per line without a list marker or
    a question mark ("how long until my card arrives" / "when will my card come"). A hard-wrapped
    paragraph is not one: its lines continue a sentence rather than ask."""
    listed: set[int] = set()
    block: list[tuple[int, str]] = []

    def close() -> None:
        if len(block) >= MIN_PLAIN_LIST and 2 * sum(asks(line) for _, line in block) > len(block):
            listed.update(number for number, _ in block)
        block.clear()

    for number, line in enumerate(text.splitlines()):
        plain = line.strip()
        if not plain or plain.startswith(("#", "|", ">")) or _ITEM.match(line) or len(plain.split()) > MAX_WORDS:
            close()
        else:
            block.append((number, plain))
    close()
    return listed


@dataclass(frozen=True, slots=True)
class Floor:
    """The cosine an answerable question reaches 95 times in 100 on this help centre."""

    value: float
    lines: int
    """The phrasings it was measured on."""


@dataclass(frozen=True, slots=True, eq=False)
class Phrasings:
    """The phrasings of one index version's chunks, embedded (read-only): row `i` of
    `vectors` is `texts[i]`, a line of the chunk in row `chunk_rows[i]` (ascending), or a
    phrasing a person linked to it where `linked[i]`."""

    texts: tuple[str, ...]
    vectors: np.ndarray
    chunk_rows: np.ndarray
    linked: np.ndarray
    floor: Floor | None

    @classmethod
    def build(
        cls,
        texts: Sequence[str],
        vectors: np.ndarray,
        chunk_rows: Sequence[int],
        *,
        linked: Sequence[bool] | None = None,
    ) -> Phrasings:
        """`vectors`: one row per text (an empty one may have any width); `linked`: which are
        linked (none, when not given)."""
        flags = [False] * len(texts) if linked is None else list(linked)
        if len(vectors) != len(texts) or len(chunk_rows) != len(texts) or len(flags) != len(texts):
            raise ValueError(f"{len(texts)} phrasings with {len(vectors)} vectors and {len(chunk_rows)} rows")
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        rows = np.asarray(chunk_rows, dtype=np.int64)
        is_linked = np.asarray(flags, dtype=bool)
        for array in (vectors, rows, is_linked):
            array.setflags(write=False)
        own = ~is_linked
        return cls(tuple(texts), vectors, rows, is_linked, _floor(vectors[own], rows[own]))

    @classmethod
    def empty(cls, dim: int = 0) -> Phrasings:
        return cls.build((), np.zeros((0, dim), dtype=np.float32), ())

    def relevance(self, chunk_row: int, vector: np.ndarray) -> float | None:
        """The query's best cosine with the chunk's phrasings; None when it has none."""
        start, end = np.searchsorted(self.chunk_rows, [chunk_row, chunk_row + 1])
        if start == end:
            return None
        return float(np.max(self.vectors[start:end] @ vector))

    def linked_best(self, vector: np.ndarray, n: int) -> list[tuple[int, float]]:
        """The `n` chunk rows whose linked phrasings are most like the query, each with its best
        cosine, best first."""
        if not self.linked.any():
            return []
        scores = self.vectors[self.linked] @ vector
        best: dict[int, float] = {}
        for row, score in zip(self.chunk_rows[self.linked].tolist(), scores.tolist(), strict=True):
            if score > best.get(row, -2.0):
                best[row] = score
        return sorted(best.items(), key=lambda item: item[1], reverse=True)[:n]

    def by_text(self) -> dict[str, np.ndarray]:
        """The embeddings by text, to reuse in a rebuild."""
        return dict(zip(self.texts, self.vectors, strict=True))

    def save(self, version: Path) -> None:
        np.save(version / _VECTORS, self.vectors)
        rows = [int(row) for row in self.chunk_rows]
        linked = [bool(flag) for flag in self.linked]
        (version / _TEXTS).write_text(
            json.dumps({"texts": self.texts, "chunk_rows": rows, "linked": linked}), encoding="utf-8"
        )

    @classmethod
    def load(cls, version: Path) -> Phrasings | None:
        """A version's phrasings; None for a version published before they were kept."""
        if not (version / _TEXTS).exists():
            return None
        stored = json.loads((version / _TEXTS).read_text(encoding="utf-8"))
        return cls.build(
            stored["texts"], np.load(version / _VECTORS), stored["chunk_rows"], linked=stored.get("linked")
        )


def _floor(vectors: np.ndarray, rows: np.ndarray) -> Floor | None:
    """Leave one out: each phrasing's best cosine with the other phrasings of its passage, over
    passages with three or more; their FLOOR_QUANTILE."""
    alike: list[float] = []
    starts = np.flatnonzero(np.diff(rows)) + 1  # rows ascend: one group per passage, in one pass
    for group in np.split(vectors, starts):
        if len(group) < 3:
            continue
        similar = group @ group.T
        np.fill_diagonal(similar, -1.0)
        alike.extend(float(best) for best in similar.max(axis=1))
    if len(alike) < MIN_FLOOR_LINES:
        return None
    return Floor(float(np.quantile(alike, FLOOR_QUANTILE)), len(alike))
