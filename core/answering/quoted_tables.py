"""A table in a help-centre passage, quoted as a table: its header and the rows (and columns) the
question asks about.

"How much is the Business plan per month?" against the ten-column plan table of pricing.xlsx
quotes the Plan column, the two per-month price columns and the Business row — not the whole
table flattened into one line. A row or column is picked by the question's words it holds,
weighted by how few rows (columns) hold them: "plan" is in every row and picks nothing,
"business" is in one. A question that asks *when* or *how much* also keeps the columns of times
or of prices ("what time can I swim lengths on Tuesday" keeps Start and End beside the Tuesday
rows, though it names neither). A question for the cheapest or the dearest that names no row
keeps the row with the lowest or highest price ("how much is your cheapest unit a week" keeps
the row of the lowest Per week price, and that column).
"""

from __future__ import annotations

import calendar
import enum
import math
import re
from collections import Counter
from collections.abc import Mapping, Sequence, Set
from dataclasses import dataclass
from functools import lru_cache
from types import MappingProxyType

from knowledge.search.coverage import content_words

COLUMN_WORD_WEIGHT = 0.5
"""How much a word that names a column counts in the name of a row the question's other words
name (`Table._named`): it asks for the column, and tells those rows apart."""
MAX_ROWS = 8
"""A table whose rows the question does not pick is quoted whole up to this many rows."""
NOTED_ROWS = 3
"""Up to this many rows quoted, a row's remark (`_remarks`) that holds a word of the question
comes with it though the question names another column: "is the pool open wednesdays?" keeps
"Closed every Wednesday in low season for cleaning" beside the Wednesday column."""
REMARK_WORDS = 8
"""A column whose filled cells average this many words or more holds remarks (`_remarks`)."""
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

    def holds(self, given: Sequence[Amount]) -> bool:
        """Whether a row's range holds one of the given amounts (`holds`; a holiday of a fixed
        date in a row's name is its day)."""
        return any(holds(cell, given, name=i == 0) for row in self.rows for i, cell in enumerate(row))

    def markdown(self) -> str:
        lines = [_row(self.header), _row(tuple("---" for _ in self.header))]
        return "\n".join(lines + [_row(row) for row in self.rows])

    def narrowed(
        self,
        wanted: Set[str],
        amounts: Sequence[Amount] = (),
        kinds: Set[str] = frozenset(),
        *,
        extreme: Extreme | None = None,
        holidays: Set[str] = frozenset(),
    ) -> Table:
        """The rows whose first cell holds the question's words, the best of them by those and
        by its other words in their other cells (`_named`), else the rows whose range
        holds one of the question's `amounts` ("my dog weighs 25 kg" picks "over 20 kg"), else
        the row of the lowest or highest price the question asks for (`extreme`), else the rows
        its words pick by any cell (all, up to MAX_ROWS, when none); and the first
        column with the columns whose header the question's words pick (all when none), and
        with them the columns whose cells picked the rows, and the columns of a kind of value
        it asks for (`asked_kinds`) that none of those holds: "what time … in the pool" keeps
        Start and End beside Pool, "how much … for a junior" keeps only the Junior prices. Of a
        table's two columns of times, a start and an end, one kept keeps the other ("is central
        library open late on thursdays? what time does it shut" keeps opens and closes). How
        the holidays the question names (`holidays`, its `holiday_names`) name rows: `_named`."""
        in_range = [
            i for i, row in enumerate(self.rows) if any(holds(cell, amounts, name=j == 0) for j, cell in enumerate(row))
        ]
        # beside a row whose range holds the number, one whose range of that unit does not is
        # ruled out, whatever words it shares: "10 days before arrival" is "Fewer than 14 days"
        ruled_out = {i for i, row in enumerate(self.rows) if in_range and i not in in_range and _measures(row, amounts)}
        columns = _picked([content_words(cell) for cell in self.header[1:]], wanted)
        # a word that names a column asks for it ("open" for opens), not for a row by another cell
        others = wanted - {word for i in columns for word in content_words(self.header[i + 1])}
        first, by_cells = self._named(wanted, others, in_range, ruled_out, holidays)
        rows = first or in_range or self._extreme_row(extreme, columns)
        any_cell = [] if rows else _picked([content_words(" ".join(row)) for row in self.rows], others)
        rows = rows or any_cell
        kept_rows = [self.rows[i] for i in rows] if rows else list(self.rows[:MAX_ROWS])
        if columns:
            columns = self._shown(
                columns,
                kept_rows,
                ranged=amounts if any(i in in_range for i in rows) else (),
                said=others if by_cells or any_cell else frozenset(),
                words=wanted,
                kinds=kinds,
            )
        keep = [0, *(i + 1 for i in columns)] if columns else list(range(len(self.header)))
        return Table(tuple(self.header[i] for i in keep), tuple(tuple(row[i] for i in keep) for row in kept_rows))

    def _shown(
        self,
        columns: Sequence[int],
        kept_rows: Sequence[Sequence[str]],
        *,
        ranged: Sequence[Amount],
        said: Set[str],
        words: Set[str],
        kinds: Set[str],
    ) -> list[int]:
        """The picked `columns` (indexed after the first) with those the reader needs beside
        them: the range that picked the row ("Large | over 20 kg | £30"), the cells that picked
        the rows ("Central Library | Thursday | …"), what tells apart rows alike by their first
        cell, a few rows' remarks that hold one of the question's `words` besides the row's name
        (`_remarks`), the columns of a kind of value asked for that none of those holds, and of a
        table's two columns of times, a start and an end, both."""
        cells = range(1, len(self.header))
        picking = {i for i in cells if any(holds(row[i], ranged) or content_words(row[i]) & said for row in kept_rows)}
        if len({row[0] for row in kept_rows}) < len(kept_rows):  # rows alike by name: what tells them apart
            apart = next((i for i in cells if len({row[i] for row in kept_rows}) == len(kept_rows)), None)
            picking |= set() if apart is None else {apart}
        if len(kept_rows) <= NOTED_ROWS:  # "Low season | Closed | Closed every Wednesday in low season"
            picking |= {
                i
                for i in cells
                if _remarks(self.rows, i)
                and any(content_words(row[i]) & (words - content_words(row[0])) for row in kept_rows)
            }
        shown = {*columns, *(i - 1 for i in picking)}
        kind_of = [_column_kind(self.rows, i) for i in cells]  # indexed as `columns`
        asked = kinds - {kind_of[i] for i in shown}
        shown |= {i for i, kind in enumerate(kind_of) if kind in asked}
        times = {i for i, kind in enumerate(kind_of) if kind == "time" and self._filled(i + 1)}
        if len(times) == 2 and times & shown:  # a start and an end: "opens" brings "closes"
            shown |= times
        return sorted(shown)

    def _filled(self, column: int) -> bool:
        """Whether most rows have a value in the column (a times column, not notes that name one)."""
        return 2 * sum(bool(row[column].strip()) for row in self.rows) > len(self.rows)

    def _named(
        self,
        wanted: Set[str],
        others: Set[str],
        in_range: Sequence[int],
        ruled_out: Set[int],
        holidays: Set[str],
    ) -> tuple[list[int], bool]:
        """The rows whose first cell holds the question's words or whose range holds its number,
        the best of them by those and by the question's other words in their other cells, and
        whether those picked them: "is central library open late on thursdays?" is the Central
        Library's Thursday row, not its seven days, "are you open saturdays at the porthaven
        surgery" is Porthaven's Saturday row, not the rows of "Both surgeries", and "17 radiators
        … a powerflush" is "Power flush, 15 to 20 radiators", not the row of 8 nor "Annual boiler
        service" ("the engineer who serviced it"). A word counts once a row: in its first cell if
        it is there; a number in a row's own range ("up to 2") names no row. A name's words, and
        a range holding the question's number, weigh by how few of all the rows hold them, the
        other cells' words by how few of the named rows do: a word of a common name and one of
        the row's other cells outweigh a rarer name alone, as Porthaven's Saturday outweighs
        "Both surgeries". A word that names a column ("Calderbrook") names a row only when the
        question's other words name none, and otherwise only tells apart the rows they name
        (COLUMN_WORD_WEIGHT): "is the Calderbrook branch open on a Sunday" is the Sunday row of
        the Calderbrook column, not "Key drop box (Calderbrook branch door)", while "what does a
        swim cost for an adult" is the Adult swim row of the Adult column, of the three swims. A holiday
        the question names ("good friday", `holidays`) names the rows that hold it, in their
        first cell or, when none does, in another ("Except Good Friday, …" in a note), and its
        words then name no other row ("Friday")."""
        in_name = [holiday_names(row[0]) & holidays for row in self.rows]
        holding = in_name if any(in_name) else [holiday_names(" | ".join(row)) & holidays for row in self.rows]
        taken = frozenset(word for found in holding for name in found for word in content_words(name))
        names = [
            content_words(" ".join(found)) | (content_words(row[0]) - _bound_numbers(row[0]) - taken)
            for row, found in zip(self.rows, holding, strict=True)
        ]
        own, column = _scores(names, others), _scores(names, wanted - others)
        if any(own):  # the column's words only tell apart the rows the other words name
            by_name = [
                mine + COLUMN_WORD_WEIGHT * theirs if mine else 0.0 for mine, theirs in zip(own, column, strict=True)
            ]
        else:
            by_name = column
        if 0 < len(in_range) < len(self.rows):
            held = math.log(1 + len(self.rows) / len(in_range))
            by_name = [score + (held if i in in_range else 0.0) for i, score in enumerate(by_name)]
        named = [i for i, score in enumerate(by_name) if score > 0 and i not in ruled_out]
        # words that together name a row pick it: another row that only mentions one of them
        # ("Motorway lesson | 2 hours …" for "an hour lesson") is not named by it; a word that
        # names some other row alone ("Saturday family fun") still picks by its cells
        naming = others & frozenset().union(*names)
        if not any(naming <= names[i] for i in named):
            naming = frozenset()
        by_cells = _scores([content_words(" ".join(self.rows[i][1:])) - names[i] for i in named], others - naming)
        total = [by_name[i] + by_cells[n] for n, i in enumerate(named)]
        best = max(total, default=0.0)
        picked = [n for n, score in enumerate(total) if score >= best - 1e-9]
        # a holiday found in another cell ("Except Good Friday, …" in the notes) picked its row
        # as that cell's words do: the cell is shown
        noted = [bool(holding[named[n]]) and not in_name[named[n]] for n in picked]
        return [named[n] for n in picked], any(by_cells[n] > 0 or up for n, up in zip(picked, noted, strict=True))

    def _extreme_row(self, extreme: Extreme | None, columns: Sequence[int]) -> list[int]:
        """The row holding the lowest (highest) price of the first price column the question
        names, or of the table's first price column when it names none; [] when there is none."""
        if extreme is None:
            return []
        prices = [i + 1 for i in range(len(self.header) - 1) if _holds_prices(self.header[i + 1], self.rows, i + 1)]
        named = [i + 1 for i in columns if i + 1 in prices]
        column = next(iter(named or prices), None)
        if column is None:
            return []
        in_header = _PRICE_HEADER.search(self.header[column]) is not None
        values = {
            i: value for i, row in enumerate(self.rows) if (value := _price(row[column], bare=in_header)) is not None
        }
        if not values:
            return []
        best = (min if extreme is Extreme.LOWEST else max)(values.values())
        return [i for i, value in values.items() if value == best]  # ties: every row at that price


class Extreme(enum.Enum):
    """A question for the lowest or the highest price (`extreme`)."""

    LOWEST = "lowest"
    HIGHEST = "highest"


_EXTREMES = {
    Extreme.LOWEST: re.compile(
        r"\b(?:cheapest|lowest\s+(?:price|cost|fee|rate)s?|least\s+expensive|smallest\s+prices?)\b", re.I
    ),
    Extreme.HIGHEST: re.compile(r"\b(?:dearest|priciest|most\s+expensive|highest\s+(?:price|cost|fee|rate)s?)\b", re.I),
}
"""The words that ask for the lowest or highest price (English)."""


def extreme(question: str) -> Extreme | None:
    """Whether the question asks for the lowest or the highest price; None when neither (or both)."""
    found = [kind for kind, asks in _EXTREMES.items() if asks.search(question)]
    return found[0] if len(found) == 1 else None


_AMOUNT_TEXT = r"(\d[\d.,]*)"
_PRICE = re.compile(
    rf"(?:[£$€]|\b(?:EUR|USD|GBP))\s?{_AMOUNT_TEXT}|{_AMOUNT_TEXT}\s?(?:€|(?:EUR|USD|GBP)\b)|^\s*(free)\s*$", re.I
)


_PRICE_HEADER = re.compile(r"[£$€]|\b(?:EUR|USD|GBP|price|prices|cost|fee|fees)\b", re.I)
"""A column header that says its cells are prices ("Monthly billing (USD per seat per month)")."""
_BARE_NUMBER = re.compile(r"^\s*(\d[\d.,]*)\s*$")


def _holds_prices(header: str, rows: Sequence[Sequence[str]], column: int) -> bool:
    """Whether a column is prices: most of its cells are (`_column_kind`), or its header says so
    and most of its filled cells are a price or a bare number."""
    if _column_kind(rows, column) == "price":
        return True
    cells = [row[column] for row in rows if row[column].strip()]
    priced = sum(_price(cell, bare=True) is not None for cell in cells)
    return _PRICE_HEADER.search(header) is not None and bool(cells) and 2 * priced >= len(cells)


def _price(cell: str, *, bare: bool = False) -> float | None:
    """The first price a cell states ("£6.50", "1,200 €", "9,50 €", "EUR 12"; "Free" is 0), or,
    with `bare` (the header names the currency), a cell that is only a number ("16"); None when
    it states none."""
    found = _PRICE.search(cell)
    if found is None:
        plain = _BARE_NUMBER.match(cell) if bare else None
        return None if plain is None else _amount(plain.group(1))
    if found.group(3):
        return 0.0
    return _amount(found.group(1) or found.group(2))


def _amount(text: str) -> float | None:
    """A written amount as a number: "1,200", "1,200.50", "9,50" and "1.200,00" (a decimal
    comma); None for what is no amount ("1.2.3", a version)."""
    text = text.rstrip(".,")
    if re.fullmatch(r"\d+(?:\.\d{3})*,\d{1,2}", text):  # "9,50", "1.200,00": a decimal comma
        return float(text.replace(".", "").replace(",", "."))
    if re.fullmatch(r"\d{1,3}(?:,\d{3})*(?:\.\d+)?|\d+(?:\.\d+)?", text) is None:
        return None
    return float(text.replace(",", ""))


ASKS_TIME = re.compile(
    r"\b(?:what\s+times?|when|how\s+(?:late|early)|until|till|til|opening\s+(?:times|hours)"
    r"|(?:are|is)\s+(?:\w+\s+){0,3}open|opens?\s+(?:at|till|until|late|early|on)|(?:closes?|shuts?)\s+(?:at|early|on)"
    r"|(?:does|do)\s+(?!i\b|we\b)(?:\w+\s+){1,3}(?:close|shut))\b",
    re.I,
)
"""Words that ask for a time of day: "what time", "when", "how late", "till", "are you open",
"does it shut" (not "how do I close my account")."""
TIME = re.compile(r"\b\d{1,2}:\d{2}\b|\b\d{1,2}(?:[.:]\d{2})?\s?[ap]\.?m\b|\b(?:noon|midday|midnight)\b", re.I)
"""A time of day: "06:30", "7pm", "9.30am", "noon" (not a bare "21.00", which is as often a price
or a number)."""

_ASKS = {
    "time": ASKS_TIME,
    "price": re.compile(
        r"\bhow\s+much\s+(?:is|are|does|do|would|will|for|to|it|extra|more|per|a|an)\b"
        r"|\b(?:costs?|prices?|fees?|charges?|charged|pay|paying|cheap(?:er|est)?)\b",
        re.I,
    ),
}
"""The kinds of value a question asks for, by its words (English)."""
_KIND_CELL = {
    "price": re.compile(r"[£$€]\s?\d|\d\s?(?:€|(?:EUR|USD|GBP)\b)|\b(?:EUR|USD|GBP)\s?\d"),
    "time": TIME,
}
"""A cell holding a value of each kind: "£32.50", "12 €", "EUR 12"; a time of day (`TIME`)."""


def asked_kinds(question: str) -> frozenset[str]:
    """Which kinds of value (`_ASKS`) the question asks for."""
    return frozenset(kind for kind, asks in _ASKS.items() if asks.search(question))


def _column_kind(rows: Sequence[Sequence[str]], column: int) -> str | None:
    """The kind of value (`_KIND_CELL`) at least half of the column's filled cells hold."""
    cells = [row[column] for row in rows if row[column].strip()]
    for kind, pattern in _KIND_CELL.items():
        if cells and 2 * sum(bool(pattern.search(cell)) for cell in cells) >= len(cells):
            return kind
    return None


def _remarks(rows: Sequence[Sequence[str]], column: int) -> bool:
    """Whether the column holds remarks, not values or names: its filled cells run to
    REMARK_WORDS words or more on average ("Open on the first and third Saturday of each month
    only"; a remark may name a time or a price, a column of values is shorter)."""
    cells = [row[column] for row in rows if row[column].strip()]
    words = sum(len(cell.split()) for cell in cells)
    return bool(cells) and words >= REMARK_WORDS * len(cells)


@dataclass(frozen=True, slots=True)
class Amount:
    """A number a question gives, with the unit written after it ("25 kg" → 25, "kg")."""

    value: float
    unit: str

    @property
    def measured(self) -> bool:
        """Whether it says what it measures in a unit other than years: told beside a question,
        "about 20 hours till we sail" is what the question is about, "a member for 5 years" and an
        order number are not."""
        return bool(self.unit) and self.unit not in _UNSAID


_NUMBER = r"(\d+(?:[.,]\d+)?)"
_UNIT = r"\s*([^\W\d_]+\.?)?"
_AMOUNT = re.compile(rf"(?<![\w.:/-]){_NUMBER}{_UNIT}", re.UNICODE)
_BETWEEN = re.compile(
    rf"{_NUMBER}{_UNIT}\s*(?:-|–|—|to)\s*{_NUMBER}{_UNIT}|\bbetween\s+{_NUMBER}{_UNIT}\s+and\s+{_NUMBER}{_UNIT}",
    re.IGNORECASE,
)
_BELOW = re.compile(
    rf"\b(?:under|below|(?:less|fewer|no\s+more)\s+than|up\s+to|at\s+most|max(?:imum)?)\s+{_NUMBER}{_UNIT}|[<≤]\s*{_NUMBER}{_UNIT}",
    re.IGNORECASE,
)
_ABOVE = re.compile(
    rf"\b(?:over|above|more\s+than|at\s+least|from)\s+{_NUMBER}{_UNIT}|[>≥]\s*{_NUMBER}{_UNIT}"
    rf"|{_NUMBER}{_UNIT}\s*(?:\+|and\s+(?:over|above|up|older)|or\s+(?:more|over|older))",
    re.IGNORECASE,
)


_UNSAID = frozenset({"year", "yo"})
"""Units a table leaves unsaid: "I'm 17 years old" against "16 to 24"."""
_SPELLINGS = {
    "h": "hour",
    "hr": "hour",
    "hrs": "hour",
    "min": "minute",
    "mins": "minute",
    "yr": "year",
    "yrs": "year",
    "wk": "week",
    "wks": "week",
    "metre": "m",
    "metres": "m",
    "meter": "m",
    "meters": "m",
    "kgs": "kg",
    "kilo": "kg",
    "kilos": "kg",
    "kilogram": "kg",
    "kilograms": "kg",
    "mi": "mile",
    "lbs": "lb",
    "kms": "km",
    "jan": "january",
    "feb": "february",
    "mar": "march",
    "apr": "april",
    "jun": "june",
    "jul": "july",
    "aug": "august",
    "sep": "september",
    "sept": "september",
    "oct": "october",
    "nov": "november",
    "dec": "december",
}
"""Other spellings of a unit, each to the one compared: "30 hrs" is held by "between 48 and 24
hours", "a 9 metre motorhome" by "over 8.5 m", "29 Dec" by "27 to 31 December"."""
_MONTHS = frozenset(name.lower() for name in calendar.month_name[1:])  # the C locale's: English
_ORDINAL = frozenset({"st", "nd", "rd", "th"})
DAY_OF_MONTH = "day of the month"
"""The unit of a date a question gives without its month ("on the 29th"): any month's range of
days may hold it ("27 to 31 December")."""
_HOLIDAYS: Mapping[str, tuple[float, str]] = MappingProxyType(
    {
        "christmas eve": (24.0, "december"),
        "christmas day": (25.0, "december"),
        "boxing day": (26.0, "december"),
        "st stephens day": (26.0, "december"),
        "new years eve": (31.0, "december"),
        "new years day": (1.0, "january"),
    }
)
"""Holidays of a fixed date, as an opening-hours table names its rows (English, as `_MONTHS`):
"are you open on the 26th?" is the Boxing Day row, "…on the 29th" is not the row of
"Christmas Day, Boxing Day and New Year's Day" but that of "27 to 31 December", and "are you
open on christmas day? my booking is for the 29th" keeps the Christmas Day row beside it."""
_HOLIDAY_NAME = re.compile(
    r"\b(?:good\s+friday|easter\s+(?:saturday|sunday|monday)|whit\s+monday|christmas\s+(?:eve|day)|boxing\s+day"
    r"|st\.?\s+stephen['’]?s\s+day|new\s+year['’]?s\s+(?:eve|day))\b",
    re.IGNORECASE,
)
"""Holidays by name, fixed or moving (English): a row holding one is named by it."""
_MONTH_AFTER = re.compile(r"\s+(?:of\s+)?([a-z]+)", re.IGNORECASE)
_MONTH_BEFORE = re.compile(r"\b([a-z]+)\.?\s+$", re.IGNORECASE)
_WORD_AFTER = re.compile(r"\s+([a-z]+)", re.IGNORECASE)
_NUMBERED = frozenset(
    [
        "floor",
        "class",
        "birthday",
        "anniversary",
        "party",
        "child",
        "kid",
        "son",
        "daughter",
        "baby",
        "grandchild",
        "time",
        "place",
        "grade",
        "year",
        "edition",
        "attempt",
        "lesson",
        "visit",
        "round",
        "row",
        "choice",
        "option",
        "item",
        "minute",
        "hour",
        "person",
        "level",
        "stage",
        "step",
        "term",
    ]
)
"""Nouns an ordinal gives the place of ("the 2nd floor", "my 17th birthday"): no day of a month."""
_AGE_AFTER = re.compile(r"[\s-]*(?:years?|yrs?)[\s-]*old\b", re.IGNORECASE)
_AGE_BEFORE = re.compile(r"\b(?:aged?|i'?m|i\s+am|he'?s|she'?s|is|turns?|turning)\s+$", re.IGNORECASE)
_AGE_JOIN = re.compile(r"\s*(?:,|and|or|&)\s*", re.IGNORECASE)
_SCALES = {
    "minute": (1 / 60, "hour"),
    "hour": (1.0, "hour"),
    "day": (24.0, "hour"),
    "week": (168.0, "hour"),
    "month": (730.0, "hour"),
    "cm": (0.01, "m"),
    "m": (1.0, "m"),
    "km": (1000.0, "m"),
    "g": (0.001, "kg"),
    "kg": (1.0, "kg"),
    "lb": (0.4536, "kg"),
}
"""Units of one quantity, each as a multiple of one of them: "3 weeks before" is held by
"between 42 and 14 days before arrival"."""


_NO_UNIT = frozenset(
    [
        "a",
        "an",
        "and",
        "at",
        "but",
        "by",
        "each",
        "for",
        "from",
        "go",
        "if",
        "in",
        "is",
        "it",
        "my",
        "next",
        "now",
        "of",
        "on",
        "or",
        "our",
        "per",
        "so",
        "that",
        "the",
        "their",
        "then",
        "this",
        "to",
        "we",
        "you",
        "your",
    ]
)
"""Words that follow a number without being its unit: "ones 6 and ones 2", "2 per pitch", "under 4
go free", "12 this year"."""


def amounts(question: str) -> list[Amount]:
    """The numbers a question gives, each with the unit after it (none: ""); a date's unit is its
    month ("the 15th of August", "Dec 29th", "Dec 29", "29 December"), or `DAY_OF_MONTH` when it
    names none ("on the 29th please"); an ordinal before a noun it counts ("2nd floor", "1st
    class", "my 17th birthday") is no date; an age is in years ("I'm 67", "aged 3 and 13", "a
    70-year-old")."""
    found: list[Amount] = []
    age_end: int | None = None
    for number in _AMOUNT.finditer(question):
        word = number.group(2) or ""
        unit = _unit(word)
        value = _number(number.group(1))
        ordinal = word.lower().rstrip(".")
        month = _month(question, number, after=False) if not word and value <= 31 else None
        if ordinal in _ORDINAL:
            day = value <= 31 and _is_day(question, number.end())
            unit = _month(question, number) or (DAY_OF_MONTH if day else ordinal)
        elif month:
            unit = month
        elif not unit and _is_age(question, number, age_end):
            unit = "year"
        if unit == "year":
            age_end = number.end(1)
        found.append(Amount(value, unit))
    return found


def _is_day(text: str, end: int) -> bool:
    """Whether an ordinal is a day ("the 29th", "the 29th please", "is the 29th free?"), not a
    noun's place ("the 2nd floor", "my 17th birthday")."""
    after = _WORD_AFTER.match(text, end)
    return after is None or after.group(1).lower() not in _NUMBERED


def _is_age(text: str, number: re.Match[str], age_end: int | None) -> bool:
    """Whether a number with no unit is an age: said of someone ("I'm 67", "my son is 12",
    "aged 3"), followed by "-year-old", or joined to an age before it ("aged 3 and 13")."""
    if _number(number.group(1)) > 120:
        return False
    if _AGE_AFTER.match(text, number.end()) or _AGE_BEFORE.search(text[: number.start()]):
        return True
    return age_end is not None and _AGE_JOIN.fullmatch(text[age_end : number.start()]) is not None


def _month(text: str, number: re.Match[str], *, after: bool = True) -> str | None:
    """The month written next to a day of the month ("15th of August", "Dec 29th"; with `after`
    off only before it, "Dec 29", as a month after a bare number is its unit already), if any."""
    next_word = _MONTH_AFTER.match(text, number.end()) if after else None
    before = _MONTH_BEFORE.search(text[: number.start()])
    for word in (next_word and next_word.group(1), before and before.group(1)):
        month = _unit(word) if word else ""
        if month in _MONTHS:
            return month
    return None


def _unit(text: str) -> str:
    """A unit as compared: lowercase, its other spellings as one (`_SPELLINGS`), a plural as its
    singular ("radiators", "radiator"); none for a word that is no unit (`_NO_UNIT`)."""
    unit = text.lower().rstrip(".")
    if unit in _NO_UNIT:
        return ""
    unit = _SPELLINGS.get(unit, unit)
    return unit[:-1] if len(unit) > 3 and unit.endswith("s") and not unit.endswith("ss") else unit


def holds(cell: str, given: Sequence[Amount], *, name: bool = False) -> bool:
    """Whether a cell states a range (`_ranges`) that holds one of the given amounts, in the same
    unit or another of the same quantity (`_unit`, `_SCALES`; or neither saying one). `name`: the
    cell is a row's name, whose holidays of a fixed date are their days (`holiday_days`)."""
    if not given:
        return False
    for low, high, unit in _ranges(cell) + (holiday_days(cell) if name else []):
        scale, base = _SCALES.get(unit, (1.0, unit))
        for amount in given:
            if amount.unit == DAY_OF_MONTH and not 1 <= low <= high <= 31:
                continue  # a day of no month: only a span of one month's days ("from 3 January" is no such)
            value_scale, value_base = _SCALES.get(amount.unit, (1.0, amount.unit))
            if _alike(value_base, base) and low * scale <= amount.value * value_scale <= high * scale:
                return True
    return False


def _alike(given: str, stated: str) -> bool:
    """Whether a unit a question gives is the one a range states: a day of no month is one of
    any month's, and years (`_UNSAID`) are held by a range that leaves its unit unsaid ("I'm 17
    years old" by "16 to 24") as by one in years ("my boiler is 12 yrs old" by "Boilers between
    10 and 15 years old"); a bare number is not held by a range in years ("how much for 4?" is
    no age)."""
    return (
        given == stated
        or (given == DAY_OF_MONTH and stated in _MONTHS)
        or (given in _UNSAID and stated in ("", *_UNSAID))
    )


def _measures(row: Sequence[str], given: Sequence[Amount]) -> bool:
    """Whether a row states a range in the unit (or the quantity) of one of the given amounts."""
    bases = {_SCALES.get(amount.unit, (1.0, amount.unit))[1] for amount in given}
    return any(
        _alike(base, _SCALES.get(unit, (1.0, unit))[1])
        for _, _, unit in [*holiday_days(row[0]), *(found for cell in row for found in _ranges(cell))]
        for base in bases
    )


def _ranges(cell: str) -> list[tuple[float, float, str]]:
    """The ranges a cell states, each (low, high, unit): "10 to 20 kg", "42 to 15 days" (either
    way round, but "10am-2pm" is no range of numbers), "between 48 hours and 4 hours", "under 10
    kg", "65 and over", and a lower and an upper bound of one unit as one range ("over 4.5 m and
    up to 6 m"; "at least 2 people, up to 6 hours" is two)."""
    ranges: list[tuple[float, float, str]] = []
    for found in _BETWEEN.findall(cell):
        first, first_unit, second, second_unit = found[:4] if found[0] else found[4:]
        unit = _unit(second_unit or first_unit)
        if _unit(first_unit) in _MONTHS and unit in _MONTHS and _unit(first_unit) != unit:
            # "27 December to 2 January": the days of each month it spans at its ends
            ranges += [(_number(first), 31.0, _unit(first_unit)), (1.0, _number(second), unit)]
            continue
        if found[0] and _unit(first_unit) not in ("", unit):  # "10am-2pm": each end its own unit
            ranges.append((_number(first), _number(second), unit))
            continue
        low, high = sorted((_number(first), _number(second)))
        ranges.append((low, high, unit))
    highs = [_bound(found) for found in _BELOW.findall(cell)]
    lows = [_bound(found) for found in _ABOVE.findall(cell)]
    if len(highs) == 1 and len(lows) == 1:
        (low, low_unit), (high, high_unit) = lows[0], highs[0]
        if low < high and (low_unit == high_unit or "" in (low_unit, high_unit)):
            return [*ranges, (low, high, high_unit or low_unit)]
    return ranges + [(-math.inf, high, unit) for high, unit in highs] + [(low, math.inf, unit) for low, unit in lows]


def holiday_days(text: str) -> list[tuple[float, float, str]]:
    """The holidays of a fixed date `text` names, each as its day (`_HOLIDAYS`): "Christmas Day
    and Boxing Day" is 25 to 25 and 26 to 26 December. A row's name (`holds`) and a question
    (`holiday_amounts`) are read for them, not a note that mentions one, nor what a message
    tells beside its question ("I'm away on boxing day")."""
    return [(day, day, month) for name in holiday_names(text) if name in _HOLIDAYS for day, month in [_HOLIDAYS[name]]]


def holiday_amounts(question: str) -> list[Amount]:
    """The days of the holidays of a fixed date a question names, as dates it gives (`amounts`):
    "are you open on christmas day?" is held by "closed from 24 to 26 December"."""
    return [Amount(day, month) for day, _, month in holiday_days(question)]


@lru_cache(maxsize=4096)
def holiday_names(text: str) -> frozenset[str]:
    """The holidays `text` names, fixed or moving, as `_holiday` writes them ("good friday",
    "new years day"): what names a row of opening hours though one of its words names another
    ("Friday")."""
    return frozenset(_holiday(found) for found in _HOLIDAY_NAME.findall(text))


def _holiday(name: str) -> str:
    """A holiday's name as `_HOLIDAYS` keys it: "New Year’s  Day" and "New Years Day" are "new
    years day", "St. Stephen's Day" is "st stephens day"."""
    return re.sub(r"[^a-z ]", "", re.sub(r"\s+", " ", name.lower()))


def _bound_numbers(cell: str) -> frozenset[str]:
    """The numbers a cell's ranges are made of, as words ("Dog (up to 2 per pitch)": "2"): a
    bound, not part of the row's name."""
    found = [*_BETWEEN.findall(cell), *_BELOW.findall(cell), *_ABOVE.findall(cell)]
    return frozenset(value for match in found for value in match[::2] if value)


def _bound(found: tuple[str, ...]) -> tuple[float, str]:
    """The number and unit of whichever of a bound's alternatives matched ("under 10 kg", "< 10")."""
    value, unit = next((v, u) for v, u in zip(found[::2], found[1::2], strict=True) if v)
    return _number(value), _unit(unit)


def _number(text: str) -> float:
    """A number as written: "12.5", "12,5", "1,000" (a thousand: `_amount`)."""
    amount = _amount(text)
    return amount if amount is not None else float(text.replace(",", "."))


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


def _scores(candidates: Sequence[Set[str]], wanted: Set[str]) -> list[float]:
    """Each candidate's wanted words, weighted by how few candidates hold them (a word all
    hold weighs nothing)."""
    frequency = Counter(word for words in candidates for word in words & wanted)
    weight = {word: math.log(1 + len(candidates) / n) for word, n in frequency.items() if n < len(candidates)}
    return [sum(weight.get(word, 0.0) for word in words & wanted) for words in candidates]


def _picked(candidates: Sequence[Set[str]], wanted: Set[str]) -> list[int]:
    """Indexes of the candidates holding the most rarity-weighted wanted words (ties all)."""
    scores = _scores(candidates, wanted)
    best = max(scores, default=0.0)
    return [i for i, score in enumerate(scores) if score > 0 and score >= best - 1e-9] if best > 0 else []
