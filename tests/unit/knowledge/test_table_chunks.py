"""Tables stay tables through ingest (issue 14): a price table in a .md, .html, .docx, .xlsx or
(non-FAQ) .csv file comes out of `convert` as a markdown table that the offline responder's
`core.answering.quoted_tables.parse` reads back with its header and rows; a long one is split by rows,
each piece headed by the same header."""

from __future__ import annotations

import csv
import html
import io
import zipfile
from collections.abc import Callable, Sequence
from xml.sax.saxutils import escape

import pytest
from openpyxl import Workbook

from core.answering.quoted_tables import Table, parse
from knowledge.archive_limits import DEFAULT_MAX_UNPACKED_BYTES
from knowledge.conversion import convert

Rows = Sequence[Sequence[str]]

HEADER = ("Plan", "Monthly price", "Annual price")
ROWS = (("Starter", "$9", "$90"), ("Business", "$49", "$490"), ("Enterprise", "$199", "$1990"))
LONG_ROWS = tuple((f"Plan {i:02d}", f"${i}", f"${i * 10}") for i in range(1, 61))

_W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/word/document.xml"'
    ' ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/>'
    "</Types>"
)
_PACKAGE_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Target="word/document.xml"'
    ' Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument"/>'
    "</Relationships>"
)


def _markdown(header: Sequence[str], rows: Rows) -> bytes:
    lines = ["# Pricing", "", "| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines).encode()


def _html(header: Sequence[str], rows: Rows, *, header_cells: str = "th") -> bytes:
    def row(cells: Sequence[str], tag: str) -> str:
        return "<tr>" + "".join(f"<{tag}>{html.escape(cell)}</{tag}>" for cell in cells) + "</tr>"

    body = row(header, header_cells) + "".join(row(cells, "td") for cells in rows)
    return (
        f"<html><head><title>Pricing</title></head><body><h1>Pricing</h1><table>{body}</table></body></html>".encode()
    )


def _docx(header: Sequence[str], rows: Rows, *, header_row_marked: bool = True) -> bytes:
    """A minimal WordprocessingML package: one table, its first row marked as the header row
    (Word's "Repeat as header row") unless `header_row_marked` is false."""

    def row(cells: Sequence[str], properties: str = "") -> str:
        return (
            f"<w:tr>{properties}"
            + "".join(f"<w:tc><w:p><w:r><w:t>{escape(cell)}</w:t></w:r></w:p></w:tc>" for cell in cells)
            + "</w:tr>"
        )

    head = row(header, "<w:trPr><w:tblHeader/></w:trPr>" if header_row_marked else "")
    table = "<w:tbl>" + head + "".join(row(cells) for cells in rows) + "</w:tbl>"
    document = (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        f'<w:document xmlns:w="{_W}"><w:body>{table}<w:p/></w:body></w:document>'
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as package:
        package.writestr("[Content_Types].xml", _CONTENT_TYPES)
        package.writestr("_rels/.rels", _PACKAGE_RELS)
        package.writestr("word/document.xml", document)
    return buffer.getvalue()


def _xlsx(header: Sequence[str], rows: Rows) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = "Prices"
    for cells in (header, *rows):
        sheet.append(list(cells))
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _csv(header: Sequence[str], rows: Rows) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows([header, *rows])
    return buffer.getvalue().encode()


FORMATS: dict[str, Callable[[Sequence[str], Rows], bytes]] = {
    ".md": _markdown,
    ".html": _html,
    ".docx": _docx,
    ".xlsx": _xlsx,
    ".csv": _csv,
}


def _chunk_tables(suffix: str, data: bytes, *, max_chars: int) -> list[Table | None]:
    """Each chunk's table as the responder reads it: the run of lines starting with "|"."""
    chunks = convert(
        data, suffix=suffix, stem="pricing", max_chars=max_chars, max_unpacked_bytes=DEFAULT_MAX_UNPACKED_BYTES
    ).chunks
    tables: list[Table | None] = []
    for chunk in chunks:
        lines = chunk.text.split("\n")
        start = next((i for i, line in enumerate(lines) if line.lstrip().startswith("|")), len(lines))
        end = next((i for i in range(start, len(lines)) if not lines[i].lstrip().startswith("|")), len(lines))
        tables.append(parse(lines[start:end]))
    return tables


@pytest.mark.parametrize("suffix", FORMATS)
def test_a_price_table_comes_out_as_a_markdown_table(suffix: str) -> None:
    tables = _chunk_tables(suffix, FORMATS[suffix](HEADER, ROWS), max_chars=1200)

    assert len(tables) == 1 and tables[0] is not None
    assert tables[0].header == HEADER
    assert tables[0].rows == ROWS
    assert ("Business", "$49", "$490") in tables[0].rows


@pytest.mark.parametrize("suffix", FORMATS)
def test_a_long_table_is_split_by_rows_under_the_same_header(suffix: str) -> None:
    tables = _chunk_tables(suffix, FORMATS[suffix](HEADER, LONG_ROWS), max_chars=400)

    assert len(tables) > 1
    assert all(table is not None and table.header == HEADER for table in tables)
    assert [row for table in tables if table is not None for row in table.rows] == list(LONG_ROWS)


@pytest.mark.parametrize(
    ("suffix", "data"),
    [
        pytest.param(".docx", _docx(HEADER, ROWS, header_row_marked=False), id="docx-header-row-not-marked"),
        pytest.param(".html", _html(HEADER, ROWS, header_cells="td"), id="html-header-in-td-cells"),
    ],
)
def test_a_table_whose_header_row_is_not_marked_keeps_its_header(suffix: str, data: bytes) -> None:
    tables = _chunk_tables(suffix, data, max_chars=1200)

    assert tables[0] is not None and tables[0].header == HEADER
