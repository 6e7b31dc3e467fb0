"""Customers' files read in a worker process: real PDF, DOCX, XLSX and PPTX files built here,
the limits of `[attachments]`, and a conversion killed on timeout."""

from __future__ import annotations

import asyncio
import io
import logging
import time
import zipfile
import zlib
from collections.abc import Iterator

import openpyxl
import pptx
import pytest

from core.answering.attachments import AttachmentReader
from core.file_sizes import size_text
from core.messages import Attachment
from core.settings import AttachmentSettings
from core.turn_context import AttachmentText
from tests.zip_bombs import deflated_spaces, padded, understated

MAX_PAGES = 3
MAX_CHARS = 2000
MAX_FILES = 3
MB = 1024 * 1024


def make_pdf(pages: list[str], *, compress: bool = False, deflated: bytes | None = None) -> bytes:
    """A valid PDF with one line of Helvetica text per page; `deflated`: every page's content
    stream instead, already deflated."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [%s] /Count %d >>"
        % (b" ".join(b"%d 0 R" % (4 + 2 * i) for i in range(len(pages))), len(pages)),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    for i, text in enumerate(pages):
        content = b"BT /F1 12 Tf 72 720 Td (%s) Tj ET" % text.encode("latin-1")
        flate = b""
        if compress:
            content, flate = zlib.compress(content), b" /Filter /FlateDecode"
        if deflated is not None:
            content, flate = deflated, b" /Filter /FlateDecode"
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
            b"/Resources << /Font << /F1 3 0 R >> >> /Contents %d 0 R >>" % (5 + 2 * i)
        )
        objects.append(b"<< /Length %d%s >>\nstream\n%s\nendstream" % (len(content), flate, content))
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def make_docx(paragraphs: list[str]) -> bytes:
    """A minimal WordprocessingML package (python-docx is not installed; mammoth reads this)."""
    body = "".join(f"<w:p><w:r><w:t>{p}</w:t></w:r></w:p>" for p in paragraphs)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as package:
        package.writestr(
            "[Content_Types].xml",
            '<?xml version="1.0" encoding="UTF-8"?>'
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/word/document.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>',
        )
        package.writestr(
            "_rels/.rels",
            '<?xml version="1.0" encoding="UTF-8"?>'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Target="word/document.xml" Type="http://schemas.openxmlformats.org/'
            'officeDocument/2006/relationships/officeDocument"/></Relationships>',
        )
        package.writestr(
            "word/document.xml",
            '<?xml version="1.0" encoding="UTF-8"?><w:document xmlns:w='
            f'"http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>{body}</w:body></w:document>',
        )
    return buffer.getvalue()


def make_xlsx(sheets: dict[str, list[list[str | int]]]) -> bytes:
    workbook = openpyxl.Workbook()
    workbook.remove(workbook.active)
    for title, rows in sheets.items():
        sheet = workbook.create_sheet(title)
        for row in rows:
            sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def make_pptx(titles: list[str]) -> bytes:
    deck = pptx.Presentation()
    for text in titles:
        title = deck.slides.add_slide(deck.slide_layouts[5]).shapes.title  # layout 5: "Title Only"
        assert title is not None
        title.text = text
    buffer = io.BytesIO()
    deck.save(buffer)
    return buffer.getvalue()


def make_zip(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return buffer.getvalue()


def text_file(filename: str, text: str) -> Attachment:
    return Attachment(filename, "text/plain", text.encode())


@pytest.fixture(scope="module")
def reader() -> Iterator[AttachmentReader]:
    """One worker for the module: starting one takes ≈ 2 s."""
    reader = AttachmentReader(AttachmentSettings(max_pages=MAX_PAGES, max_chars=MAX_CHARS, max_files=MAX_FILES))
    yield reader
    asyncio.run(reader.aclose())


PDF = Attachment(
    "guide.pdf",
    "application/pdf",
    make_pdf(["Refund policy: 30 days", "Shipping takes five days", "Contact us by email"]),
)

FORMATS: dict[str, tuple[Attachment, list[str]]] = {
    "pdf": (PDF, ["Refund policy: 30 days", "Shipping takes five days", "Contact us by email"]),
    "docx": (
        Attachment(
            "letter.docx",
            "application/octet-stream",
            make_docx(["Order 1234 arrived damaged", "Please send a replacement"]),
        ),
        ["Order 1234 arrived damaged", "Please send a replacement"],
    ),
    "xlsx": (
        Attachment(
            "stock.xlsx",
            "application/octet-stream",
            make_xlsx({"Stock": [["sku", "qty"], ["A-100", 7]], "Prices": [["sku", "eur"], ["A-100", 19]]}),
        ),
        ["## Stock", "| A-100 | 7 |", "## Prices", "| A-100 | 19 |"],
    ),
    "pptx": (
        Attachment("deck.pptx", "application/octet-stream", make_pptx(["Welcome deck", "Pricing tiers"])),
        ["# Welcome deck", "# Pricing tiers"],
    ),
    "csv": (Attachment("orders.csv", "text/csv", b"order,status\n1234,shipped\n"), ["| 1234 | shipped |"]),
    "html": (
        Attachment("page.HTML", "text/html", b"<html><body><h1>Opening hours</h1><p>9 to 5</p></body></html>"),
        ["# Opening hours", "9 to 5"],
    ),
    "no extension, type from content_type": (
        Attachment("scan", "application/pdf; name=scan", PDF.data),
        ["Shipping takes five days"],
    ),
}


@pytest.mark.parametrize(("attachment", "expected"), FORMATS.values(), ids=FORMATS.keys())
async def test_reads_the_text_of_each_format(
    reader: AttachmentReader, attachment: Attachment, expected: list[str]
) -> None:
    result = await reader.read(attachment)

    assert result.problem is None
    assert result.filename == attachment.filename
    assert result.text is not None
    for fragment in expected:
        assert fragment in result.text


ALLOWED = ".pdf, .docx, .xlsx, .pptx, .txt, .md, .csv, .json, .html, .htm"
REFUSED: dict[str, tuple[Attachment, str]] = {
    "type": (
        Attachment("invoice.exe", "application/octet-stream", b"MZ..."),
        f"invoice.exe: files of type .exe are not supported (allowed: {ALLOWED})",
    ),
    "unknown type, no extension": (
        Attachment("blob", "application/x-unknown", b"data"),
        f"blob: files of this type are not supported (allowed: {ALLOWED})",
    ),
    "empty": (text_file("notes.txt", ""), "notes.txt is empty"),
    "over the limit": (text_file("big.txt", "x" * (2 * 1024 + 1)), "big.txt is 2.1 KB, over the 2 KB limit"),
    "not a PDF": (
        Attachment("scan.pdf", "application/pdf", b"hello, I am text"),
        "scan.pdf looks broken (not a valid PDF file)",
    ),
    "not a DOCX": (
        Attachment("letter.docx", "application/msword", b"\xd0\xcf\x11\xe0 an old .doc"),
        "letter.docx looks broken (not a valid DOCX file)",
    ),
}


@pytest.mark.parametrize(("attachment", "reason"), REFUSED.values(), ids=REFUSED.keys())
async def test_refuses_before_converting(attachment: Attachment, reason: str) -> None:
    reader = AttachmentReader(AttachmentSettings(max_bytes=2 * 1024))

    assert reader.precheck(attachment) == reason
    assert await reader.read(attachment) == AttachmentText(attachment.filename, None, reason)


@pytest.mark.parametrize(
    ("filename", "content_type", "data"),
    [
        ("Report.PDF", "application/octet-stream", b"%PDF-1.4"),
        ("notes", "text/markdown; charset=utf-8", b"# Notes"),
        ("sheet", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", b"PK\x03\x04"),
        ("C:\\Users\\ann\\v1.2\\data.csv", "text/plain", b"a,b"),
    ],
)
def test_type_comes_from_the_extension_else_the_content_type(filename: str, content_type: str, data: bytes) -> None:
    assert AttachmentReader(AttachmentSettings()).precheck(Attachment(filename, content_type, data)) is None


def test_the_size_limit_reads_in_megabytes() -> None:
    reader = AttachmentReader(AttachmentSettings())
    scan = Attachment("scan.pdf", "application/pdf", b"%PDF" + bytes(int(14.2 * MB) - 4))

    assert reader.precheck(scan) == "scan.pdf is 14.2 MB, over the 10 MB limit"
    assert reader.precheck(Attachment("scan.pdf", "application/pdf", b"%PDF" + bytes(10 * MB - 4))) is None


@pytest.mark.parametrize(("size", "text"), [(900, "900 bytes"), (3584, "3.5 KB"), (10 * MB, "10 MB")])
def test_size_text(size: int, text: str) -> None:
    assert size_text(size) == text


@pytest.mark.parametrize(
    ("attachment", "reason"),
    [
        (
            Attachment("long.pdf", "application/pdf", make_pdf([f"page {i}" for i in range(4)])),
            "long.pdf has 4 pages; the limit is 3",
        ),
        (Attachment("long.pptx", "", make_pptx(["a", "b", "c", "d"])), "long.pptx has 4 slides; the limit is 3"),
        (
            Attachment("wide.xlsx", "", make_xlsx({name: [["x"]] for name in "ABCD"})),
            "wide.xlsx has 4 sheets; the limit is 3",
        ),
    ],
    ids=["pdf", "pptx", "xlsx"],
)
async def test_refuses_more_pages_than_the_limit(reader: AttachmentReader, attachment: Attachment, reason: str) -> None:
    assert await reader.read(attachment) == AttachmentText(attachment.filename, None, reason)


DAMAGED = {
    "pdf": Attachment("statement.pdf", "application/pdf", b"%PDF-1.7\n1 0 obj << /SECRET-IBAN-DE89 ] >>\n%%EOF"),
    "xlsx": Attachment("stock.xlsx", "", b"PK\x03\x04 SECRET-IBAN-DE89 truncated"),
    "zip named .docx": Attachment("letter.docx", "", make_zip({"notes.txt": "SECRET-IBAN-DE89"})),
}


@pytest.mark.parametrize("attachment", DAMAGED.values(), ids=DAMAGED.keys())
async def test_a_damaged_file_is_a_problem_logged_without_its_content(
    reader: AttachmentReader, attachment: Attachment, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="core.answering.attachments"):
        result = await reader.read(attachment)

    assert result == AttachmentText(
        attachment.filename, None, f"{attachment.filename} could not be read (it looks damaged or password-protected)"
    )
    assert attachment.filename in caplog.text
    assert "SECRET" not in caplog.text


async def test_a_file_without_text_says_so(reader: AttachmentReader) -> None:
    blank = Attachment("scan.pdf", "application/pdf", make_pdf(["", ""]))

    assert await reader.read(blank) == AttachmentText(
        "scan.pdf", None, "scan.pdf has no readable text (a scanned image?)"
    )


async def test_long_text_is_cut_and_says_so(reader: AttachmentReader) -> None:
    words = " ".join(f"word{i}" for i in range(1000))

    result = await reader.read(text_file("log.txt", words))

    assert result.problem is None and result.text is not None
    assert result.text.startswith("word0 word1 ")
    assert result.text.endswith("\n\n[… cut at 2,000 characters]")
    assert len(result.text) <= MAX_CHARS + len("\n\n[… cut at 2,000 characters]")
    assert "word999" not in result.text


async def test_reads_only_the_first_max_files(reader: AttachmentReader) -> None:
    files = [text_file(f"note{i}.txt", f"note number {i}") for i in range(MAX_FILES)]
    files.insert(1, Attachment("virus.exe", "application/octet-stream", b"MZ"))

    results = await reader.read_all([*files, text_file("late.txt", "late")], contact="ada")

    assert [r.filename for r in results] == ["note0.txt", "virus.exe", "note1.txt", "note2.txt", "late.txt"]
    assert [r.text for r in results[:4]] == ["note number 0", None, "note number 1", None]
    assert results[1].problem is not None and "not supported" in results[1].problem
    skipped = "was not read: only the first 3 files of a message are read"
    assert [r.problem for r in results[3:]] == [f"note2.txt {skipped}", f"late.txt {skipped}"]


async def test_a_message_without_files_reads_nothing(reader: AttachmentReader) -> None:
    assert await reader.read_all([], contact="ada") == ()


@pytest.mark.slow("a converter process killed at its time limit")
async def test_a_slow_conversion_is_killed_and_the_reader_goes_on() -> None:
    timeout = 1.0
    reader = AttachmentReader(AttachmentSettings(timeout_s=timeout))
    # one page with 500,000 glyphs: 1.4 KB compressed, ≈ 40 s for markitdown to lay out
    heavy = Attachment("heavy.pdf", "application/pdf", make_pdf(["word " * 100_000], compress=True))
    try:
        assert (await reader.read(text_file("warm.txt", "up"))).text == "up"  # the worker is up: ≈ 2 s

        started = time.perf_counter()
        result = await reader.read(heavy)
        elapsed = time.perf_counter() - started

        # stopped by its timeout: run to its end it takes ≈ 40 s and ends "too large to read"
        assert result == AttachmentText("heavy.pdf", None, "heavy.pdf took too long to read")
        assert elapsed >= timeout
        after = await reader.read(PDF)  # on a fresh worker
        assert after.problem is None and after.text is not None and "Contact us by email" in after.text
    finally:
        await reader.aclose()


async def test_an_office_file_that_unpacks_past_the_limit_is_not_converted(reader: AttachmentReader) -> None:
    """The probe: a small .docx unpacking to a gigabyte took the host to 7 GB. Refused from its
    declared sizes, before any converter unpacks it."""
    bomb = Attachment("report.docx", "", padded(make_docx(["Quarterly report"]), 60 * MB))
    assert len(bomb.data) < MB

    result = await reader.read(bomb)

    assert result == AttachmentText(
        "report.docx", None, "report.docx was not read: it unpacks to 60 MB, over the 50 MB limit"
    )


async def test_a_member_compressed_like_a_bomb_is_refused_under_the_size_limit() -> None:
    reader = AttachmentReader(AttachmentSettings(max_unpacked_bytes=500 * MB))
    bomb = Attachment("report.docx", "", padded(make_docx(["Quarterly report"]), 30 * MB))
    try:
        result = await reader.read(bomb)
    finally:
        await reader.aclose()

    assert result == AttachmentText(
        "report.docx", None, "report.docx was not read: it is compressed over 200:1, which only a zip bomb is"
    )


async def test_a_member_that_unpacks_to_more_than_it_declares_is_damaged(reader: AttachmentReader) -> None:
    lying = Attachment(
        "report.docx", "", understated(padded(make_docx(["Quarterly report"]), 8 * MB), "word/padding.xml", 4096)
    )

    result = await reader.read(lying)

    assert result == AttachmentText(
        "report.docx", None, "report.docx could not be read (it looks damaged or password-protected)"
    )


@pytest.mark.slow("a converter process fails a gigabyte allocation")
async def test_the_converter_runs_in_a_capped_address_space() -> None:
    """A PDF page whose content stream inflates to a gigabyte: pdfminer inflates a stream whole.
    Capped, the worker fails its allocation at once; uncapped, it took the gigabyte and then
    parsed it past the timeout."""
    reader = AttachmentReader(AttachmentSettings(worker_memory_mb=768, timeout_s=15))
    bomb = Attachment("invoice.pdf", "application/pdf", make_pdf([""], deflated=deflated_spaces(1024 * MB)))
    try:
        result = await reader.read(bomb)
        after = await reader.read(PDF)
    finally:
        await reader.aclose()

    assert result == AttachmentText("invoice.pdf", None, "invoice.pdf is too large to read")
    assert after.problem is None and after.text is not None and "Contact us by email" in after.text
