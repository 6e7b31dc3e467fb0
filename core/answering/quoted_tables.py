"""A table in a help-centre passage, quoted as a table: its header and the rows (and columns) the
question asks about.

"How much is the Business plan per month?" against the ten-column plan table of pricing.xlsx
quotes the Plan column, the two per-month price columns and the Business row — not the whole
table flattened into one line. A row or column is picked by the question's words it holds,
weighted by how few rows (columns) hold them: "plan" is in every row and picks nothing,
"business" is in one.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence, Set
from dataclasses import dataclass

from knowledge.coverage import content_words

MAX_ROWS = 8
"""A table whose rows the question does not pick is quoted whole up to this many rows."""
_PIPE = re.compile(r"(?<!\\)\|")
_DELIMITER_CELL = re.compile(r"^\s*:?-{1,}:?\s*$")


@dataclass(frozen=True, slots=True)
class Table:
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]

    @property
    def text(self) -> str:
        """Header and rows as words, for scoring."""
        return " ".join([*self.header, *(cell for row in self.rows for cell in row)])

    def markdown(self) -> str:
        lines = [_row(self.header), _row(tuple("---" for _ in self.header))]
        return "\n".join(lines + [_row(row) for row in self.rows])

    def narrowed(self, wanted: Set[str]) -> Table:
        """The rows the question's words pick by their first cell (else by any cell; all, up to
        MAX_ROWS, when none), and the first column with the columns whose header the
        question's words pick (all when none)."""
        rows = _picked([content_words(row[0]) for row in self.rows], wanted) or _picked(
            [content_words(" ".join(row)) for row in self.rows], wanted
        )
        kept_rows = [self.rows[i] for i in rows] if rows else list(self.rows[:MAX_ROWS])
        columns = _picked([content_words(cell) for cell in self.header[1:]], wanted)
        keep = [0, *(i + 1 for i in columns)] if columns else list(range(len(self.header)))
        return Table(tuple(self.header[i] for i in keep), tuple(tuple(row[i] for i in keep) for row in kept_rows))


def parse(lines: Sequence[str]) -> Table | None:
    """A markdown table (header row, delimiter row, rows); None when `lines` are not one."""
    if len(lines) < 3:
        return None
    cells = [_cells(line) for line in lines]
    if not all(_DELIMITER_CELL.match(cell) for cell in cells[1]) or not cells[0]:
        return None
    width = len(cells[0])
    rows = tuple(tuple((row + [""] * width)[:width]) for row in cells[2:] if any(row))
    return Table(tuple(cells[0]), rows) if rows else None


def _cells(line: str) -> list[str]:
    inner = line.strip()
    inner = inner[1:] if inner.startswith("|") else inner
    inner = inner[:-1] if inner.endswith("|") and not inner.endswith("\\|") else inner
    return [cell.strip() for cell in _PIPE.split(inner)]


def _row(cells: Sequence[str]) -> str:
    return "| " + " | ".join(cell.replace("\n", " ") for cell in cells) + " |"


def _picked(candidates: Sequence[Set[str]], wanted: Set[str]) -> list[int]:
    """Indexes of the candidates holding the most rarity-weighted wanted words (ties all)."""
    frequency = Counter(word for words in candidates for word in words & wanted)
    weight = {word: math.log(1 + len(candidates) / n) for word, n in frequency.items() if n < len(candidates)}
    scores = [sum(weight.get(word, 0.0) for word in words & wanted) for words in candidates]
    best = max(scores, default=0.0)
    return [i for i, score in enumerate(scores) if score > 0 and score >= best - 1e-9] if best > 0 else []
