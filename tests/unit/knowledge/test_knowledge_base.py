from __future__ import annotations

import asyncio
import hashlib
import itertools
import logging
import os
import sys
import zipfile
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from core.store.db import make_sessionmaker
from knowledge.base import KnowledgeBase
from knowledge.conversion import CONVERSION
from knowledge.embedding import embedder as embedder_module
from knowledge.embedding.embedder import Embedder, TorchEncoder
from knowledge.ingest.chunking import heading_text
from knowledge.ingest.ingestor import TooManyRemoved
from knowledge.search import fusion
from knowledge.search.index import LocalIndex
from knowledge.settings import FolderSource, KnowledgeSettings
from knowledge.tables import IndexRun, KnowledgeDocument, SkippedFile
from tests.fakes.dense_store import LoopGuardedDenseStore
from tests.zip_bombs import MB, padded

MARKDOWN = """# Account security

## Two-factor authentication

Turn on two-factor authentication under Settings › Security. You will need an authenticator app.

## Lost phone

If you lost the phone with your authenticator app, use one of your recovery codes to sign in.
"""

FAQ_CSV = """question,answer
How do I cancel my subscription?,Open Billing and press Cancel subscription; you keep access until the period ends.
Do you offer student discounts?,Students get 50 percent off the Pro plan with a valid university email.
"""

HTML = """<html><head><title>Shipping</title></head><body>
<h1>Shipping</h1><h2>Delivery times</h2><p>Parcels within Europe arrive in three to five working days.</p>
</body></html>"""


def write_docx(path: Path, paragraphs: list[str]) -> None:
    """A minimal valid .docx (python-docx is not installed; the format is a zip of XML)."""
    body = "".join(f"<w:p><w:r><w:t>{text}</w:t></w:r></w:p>" for text in paragraphs)
    ns = "http://schemas.openxmlformats.org"
    with zipfile.ZipFile(path, "w") as docx:
        docx.writestr(
            "[Content_Types].xml",
            (
                f'<?xml version="1.0" encoding="UTF-8"?><Types xmlns="{ns}/package/2006/content-types">'
                f'<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
                f'<Default Extension="xml" ContentType="application/xml"/>'
                f'<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.'
                f'wordprocessingml.document.main+xml"/></Types>'
            ),
        )
        docx.writestr(
            "_rels/.rels",
            (
                f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{ns}/package/2006/relationships">'
                f'<Relationship Id="rId1" Type="{ns}/officeDocument/2006/relationships/officeDocument" '
                f'Target="word/document.xml"/></Relationships>'
            ),
        )
        docx.writestr(
            "word/document.xml",
            (
                f'<?xml version="1.0" encoding="UTF-8"?><w:document xmlns:w="{ns}/wordprocessingml/2006/main">'
                f"<w:body>{body}</w:body></w:document>"
            ),
        )


def write_corpus(root: Path) -> Path:
    docs = root / "docs"
    (docs / "nested").mkdir(parents=True)
    (docs / "security.md").write_text(MARKDOWN, encoding="utf-8")
    (docs / "faq.csv").write_text(FAQ_CSV, encoding="utf-8")
    (docs / "nested" / "shipping.html").write_text(HTML, encoding="utf-8")
    write_docx(
        docs / "warranty.docx", ["Warranty", "Every keyboard has a two year warranty covering manufacturing defects."]
    )
    book = Workbook()
    sheet = book.active
    sheet.title = "Prices"
    sheet.append(["Plan", "Monthly price", "Seats"])
    sheet.append(["Starter", "9 EUR", "1"])
    sheet.append(["Team", "49 EUR", "10"])
    book.save(docs / "prices.xlsx")
    return docs


async def runs(engine: AsyncEngine) -> list[IndexRun]:
    async with make_sessionmaker(engine)() as session:
        return list((await session.scalars(select(IndexRun).order_by(IndexRun.id))).all())


async def test_ingest_every_format_then_search_finds_the_right_chunk(kb: KnowledgeBase, tmp_path: Path) -> None:
    docs = write_corpus(tmp_path)
    summary = await kb.ingest([docs], trigger="test")
    assert (summary.added, summary.changed, summary.removed, summary.unchanged, summary.skipped) == (5, 0, 0, 0, 0)
    assert await kb.chunk_count() == summary.chunks_embedded > 5

    cases = {
        "I lost my phone and can't log in": ("security.md", "Lost phone"),
        "how can I stop paying for my plan": ("faq.csv", "How do I cancel my subscription?"),
        "how long does delivery take": ("shipping.html", "Delivery times"),
        "is there a warranty on keyboards": ("warranty.docx", None),
        "how much does the Team plan cost per month": ("prices.xlsx", None),
    }
    for query, (filename, section) in cases.items():
        top = (await kb.search(query, 3))[0]
        assert Path(top.source).name == filename, query
        if section is not None:
            assert top.section == section
        assert 0.0 < top.relevance <= 1.0
    assert "| Team | 49 EUR | 10 |" in (await kb.search("Team plan price", 1))[0].text  # tables stay tables


async def test_unchanged_files_cost_nothing_and_a_changed_file_only_itself(
    kb: KnowledgeBase, kb_engine: AsyncEngine, tmp_path: Path
) -> None:
    docs = write_corpus(tmp_path)
    await kb.ingest([docs], trigger="first")
    again = await kb.ingest([docs], trigger="second")
    assert (again.added, again.changed, again.unchanged, again.chunks_embedded) == (0, 0, 5, 0)

    (docs / "security.md").write_text(MARKDOWN + "\n## Sessions\n\nSign out of all devices from Settings › Sessions.\n")
    changed = await kb.ingest([docs], trigger="third")
    assert (changed.added, changed.changed, changed.unchanged) == (0, 1, 4)
    assert changed.chunks_embedded == 3  # only security.md's chunks were embedded again
    assert (await kb.search("sign out everywhere", 1))[0].section == "Sessions"

    recorded = await runs(kb_engine)
    assert [(r.trigger, r.added, r.changed, r.unchanged, r.error) for r in recorded] == [
        ("first", 5, 0, 0, None),
        ("second", 0, 0, 5, None),
        ("third", 0, 1, 4, None),
    ]
    assert all(r.finished_at is not None and r.seconds is not None for r in recorded)


async def test_the_first_reindex_after_conversion_changed_converts_every_file_again(
    kb: KnowledgeBase, kb_engine: AsyncEngine, tmp_path: Path
) -> None:
    """What docs/cli.md promises after an upgrade: the table holds the hashes the release before
    (`CONVERSION` b"2:") recorded, and none of them stands for this release's chunks."""
    assert CONVERSION != b"2:"
    docs = write_corpus(tmp_path)
    first = await kb.ingest([docs], trigger="first")
    async with make_sessionmaker(kb_engine)() as session, session.begin():
        for row in (await session.scalars(select(KnowledgeDocument))).all():
            row.content_hash = hashlib.sha256(b"2:" + (tmp_path / row.source).read_bytes()).hexdigest()

    upgraded = await kb.reindex([docs], trigger="upgraded")
    assert (upgraded.changed, upgraded.unchanged, upgraded.chunks_embedded) == (5, 0, first.chunks_embedded)
    again = await kb.reindex([docs], trigger="again")
    assert (again.changed, again.unchanged, again.chunks_embedded) == (0, 5, 0)


async def test_a_command_line_reindex_loads_the_model_only_when_something_changed(
    kb: KnowledgeBase, embedder: Embedder, kb_engine: AsyncEngine, tmp_path: Path
) -> None:
    """What `supporthub reindex` runs on (a lazy embedder): loading the model is most of an
    unchanged run's time, and nothing needs it."""
    docs = write_corpus(tmp_path)
    await kb.ingest([docs], trigger="first")
    loads: list[str] = []

    def load_model():  # type: ignore[no-untyped-def]
        loads.append("loaded")
        return embedder.model

    data_dir = tmp_path / "data"
    command = KnowledgeBase(
        embedder=Embedder(load_model),
        dense=LoopGuardedDenseStore.open(chroma_url="", data_dir=data_dir, collection="knowledge"),
        local=LocalIndex(data_dir / "bm25" / "knowledge"),
        sessionmaker=make_sessionmaker(kb_engine),
        max_chars=600,
    )
    try:
        again = await command.reindex([docs], trigger="unchanged")
        assert (again.unchanged, again.chunks_embedded, loads) == (5, 0, [])

        (docs / "faq.csv").write_text(FAQ_CSV + "Can I pay by invoice?,Yes: teams of ten seats or more can.\n")
        changed = await command.reindex([docs], trigger="changed")
        assert (changed.changed, loads) == (1, ["loaded"])
        assert (await command.search("pay by invoice", 1))[0].section == "Can I pay by invoice?"
        assert loads == ["loaded"]
    finally:
        await command.aclose()


async def test_reindex_removes_a_deleted_file_that_ingest_alone_keeps(
    kb: KnowledgeBase, kb_engine: AsyncEngine, tmp_path: Path
) -> None:
    docs = write_corpus(tmp_path)
    await kb.reindex([docs], trigger="first")
    (docs / "nested" / "shipping.html").unlink()
    without_prune = await kb.ingest([docs], trigger="no-prune")
    assert without_prune.removed == 0
    summary = await kb.reindex([docs], trigger="reindex")
    assert summary.removed == 1
    hits = await kb.search("how long does delivery take", 10)
    assert all(Path(hit.source).name != "shipping.html" for hit in hits)
    async with make_sessionmaker(kb_engine)() as session:
        sources = (await session.scalars(select(KnowledgeDocument.source))).all()
    assert sorted(Path(s).name for s in sources) == ["faq.csv", "prices.xlsx", "security.md", "warranty.docx"]


async def test_documents_ingested_by_hand_survive_a_reindex_of_other_folders_until_pruned(
    kb: KnowledgeBase, kb_engine: AsyncEngine, tmp_path: Path
) -> None:
    """The trap users fell into: `supporthub ingest mydocs/` then `make run` (a re-index of
    knowledge.paths) silently removed what was just ingested."""
    docs = write_corpus(tmp_path)
    mine = tmp_path / "mydocs"
    mine.mkdir()
    (mine / "loyalty.md").write_text("# Loyalty points\n\nEvery order earns one point per euro spent.\n")
    await kb.reindex([docs], trigger="configured")
    await kb.ingest([mine], trigger="by hand")
    kept = await kb.reindex([docs], trigger="make run")
    assert (kept.removed, kept.kept_ingested) == (0, ("mydocs/loyalty.md",))
    assert "kept 1 ingested by hand" in kept.line
    assert (await kb.search("how many loyalty points per euro", 1))[0].source == "mydocs/loyalty.md"

    pruned = await kb.reindex([docs], trigger="pruned", prune_ingested=True)
    assert (pruned.removed, pruned.kept_ingested) == (1, ())
    assert all(hit.source != "mydocs/loyalty.md" for hit in await kb.search("loyalty points", 10))


async def test_a_reindex_that_would_empty_most_of_the_index_stops_unless_forced(
    guarded: KnowledgeBase, kb_engine: AsyncEngine, tmp_path: Path
) -> None:
    docs = write_corpus(tmp_path)
    other = tmp_path / "other"
    other.mkdir()
    (other / "hours.md").write_text("# Opening hours\n\nWe answer from 9 to 5.\n")
    await guarded.reindex([docs], trigger="first")
    with pytest.raises(TooManyRemoved, match=r"remove 5 of the 5 indexed documents \(100%"):
        await guarded.reindex([other], trigger="wrong folder")
    assert len(await guarded.search("warranty", 10)) > 0  # nothing was removed
    [*_, failed] = await runs(kb_engine)
    assert failed.error is not None and "supporthub reindex --force" in failed.error
    forced = await guarded.reindex([other], trigger="forced", force=True)
    assert (forced.added, forced.removed) == (1, 5)


async def test_broken_file_is_skipped_with_a_warning_and_its_reason_recorded(
    kb: KnowledgeBase, kb_engine: AsyncEngine, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    docs = write_corpus(tmp_path)
    broken = docs / "manual.pdf"
    broken.write_bytes(b"\x00\x01 this is not a pdf \xff" * 10)
    with caplog.at_level(logging.WARNING, logger="knowledge.ingest.ingestor"):
        summary = await kb.ingest([docs], trigger="test")
    assert summary.added == 5 and summary.skipped == 1
    assert [s.source for s in summary.skipped_files] == [f"{docs.name}/manual.pdf"]
    assert any(str(broken.resolve()) in record.getMessage() for record in caplog.records)
    reason = "cannot convert: ValueError: not a valid PDF file"
    assert summary.skipped_files == (SkippedFile("docs/manual.pdf", reason),)
    [run] = await runs(kb_engine)
    assert run.skipped == [{"source": "docs/manual.pdf", "reason": reason}]
    assert run.skipped_files == [SkippedFile("docs/manual.pdf", reason)]


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads a file whatever its mode")
async def test_an_unreadable_file_is_recorded_with_why_without_its_server_path(
    kb: KnowledgeBase, kb_engine: AsyncEngine, tmp_path: Path
) -> None:
    docs = write_corpus(tmp_path)
    secret = docs / "secret.md"
    secret.write_text("# Secret\n\nNot for you.\n")
    secret.chmod(0)
    try:
        summary = await kb.ingest([docs], trigger="test")
    finally:
        secret.chmod(0o600)
    expected = SkippedFile("docs/secret.md", "cannot read: PermissionError: Permission denied")
    assert summary.skipped_files == (expected,)
    assert [run.skipped_files for run in await runs(kb_engine)] == [[expected]]


async def test_a_named_file_of_another_format_and_a_missing_path_are_recorded_as_skipped(
    kb: KnowledgeBase, kb_engine: AsyncEngine, tmp_path: Path
) -> None:
    docs = write_corpus(tmp_path)
    notes = tmp_path / "notes.rtf"
    notes.write_text("{\\rtf1 notes}")
    summary = await kb.ingest([docs, notes, tmp_path / "gone"], trigger="test")
    supported = ".csv, .docx, .htm, .html, .json, .markdown, .md, .pdf, .pptx, .txt, .xlsx"
    assert (summary.added, summary.skipped_files) == (
        5,
        (
            SkippedFile("notes.rtf", f"not a supported format ({supported})"),
            SkippedFile("gone", "no such file or directory"),
        ),
    )
    [run] = await runs(kb_engine)
    assert run.skipped == [
        {"source": "notes.rtf", "reason": f"not a supported format ({supported})"},
        {"source": "gone", "reason": "no such file or directory"},
    ]


async def test_a_run_without_skipped_files_records_none_skipped(
    kb: KnowledgeBase, kb_engine: AsyncEngine, tmp_path: Path
) -> None:
    await kb.ingest([write_corpus(tmp_path)], trigger="test")
    assert [run.skipped for run in await runs(kb_engine)] == [[]]


async def test_an_office_file_that_unpacks_past_the_limit_is_skipped_unconverted(
    kb: KnowledgeBase, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    docs = write_corpus(tmp_path)
    manual = docs / "manual.docx"
    write_docx(manual, ["Manual", "How to pair the keyboard."])
    manual.write_bytes(padded(manual.read_bytes(), 210 * MB))
    with caplog.at_level(logging.WARNING, logger="knowledge.ingest.ingestor"):
        summary = await kb.ingest([docs], trigger="test")
    assert summary.added == 5 and [s.source for s in summary.skipped_files] == [f"{docs.name}/manual.docx"]
    assert "it unpacks to 210 MB, over the 200 MB limit" in caplog.text


async def test_exact_token_query_ranks_the_document_with_that_code_first(kb: KnowledgeBase, tmp_path: Path) -> None:
    docs = tmp_path / "errors"
    docs.mkdir()
    for i in range(10):
        code = f"BD-40{12 + i}"
        (docs / f"{code}.md").write_text(
            f"# Payment error {code}\n\nThe payment failed with error {code}. Try another card or contact your bank.\n"
        )
    await kb.ingest([docs], trigger="test")
    query = "what does BD-4017 mean?"
    hits = await kb.search(query, 5)
    assert hits[0].source == "errors/BD-4017.md"  # relative to the knowledge path, not /tmp/…
    assert hits[0].exact_match and not any(h.exact_match for h in hits[1:])


async def ingest_files(kb: KnowledgeBase, folder: Path, files: dict[str, str]) -> None:
    """Write `files` (name → markdown) into `folder` and index it."""
    folder.mkdir()
    for name, text in files.items():
        (folder / name).write_text(text)
    await kb.ingest([folder], trigger="test")


async def test_a_time_of_day_lifts_the_passage_that_holds_it_but_is_no_exact_match(
    kb: KnowledgeBase, tmp_path: Path
) -> None:
    """ "I booked the car on the 11:00 sailing for Saturday…" (docs/answering.md) is not asking
    for the timetable that lists 11:00: the time still lifts it, but does not make the decision
    answer from it whatever its score (`core.answering.answer_decision.decide`)."""
    await ingest_files(
        kb,
        tmp_path / "ferry",
        {
            "timetable.md": "# Sailing timetable\n\nDepartures to Tarsay: 07:15, 09:00, 11:00 and 13:30.\n",
            "changes.md": "# Changing a booking\n\nChange your sailing in Manage my booking.\n",
        },
    )

    hits = await kb.search("I booked the car on the 11:00 sailing for Saturday but need to go on Sunday instead", 5)

    assert hits[0].source == "ferry/timetable.md"
    assert not any(h.exact_match for h in hits)


def test_a_quantity_is_no_identifier() -> None:
    quantities = ["11:00", "6pm", "9:30am", "6.30pm", "10am-2pm", "17th", "30kg", "152cm", "5lbs", "45mins"]
    assert not any(map(fusion.identifies, quantities))
    # a bare number may name something: a plan ("the 500 meg one"), an error, an order
    assert all(map(fusion.identifies, ["500", "404", "12345", "BD-4012", "INV-2024-00731", "v2.3"]))


async def test_an_order_number_beside_a_date_is_still_an_exact_match(kb: KnowledgeBase, tmp_path: Path) -> None:
    await ingest_files(
        kb,
        tmp_path / "orders",
        {
            "inv.md": "# Invoice INV-2024-00731\n\nPaid by card. Shipped in two parcels.\n",
            "other.md": "# Delivery\n\nParcels arrive in 3 to 5 working days.\n",
        },
    )

    hits = await kb.search("where is INV-2024-00731, I ordered it on the 3rd", 5)

    assert hits[0].source == "orders/inv.md" and hits[0].exact_match


def test_exact_tokens_are_codes_and_rare_names_only() -> None:
    frequency = {"enterprise": 1, "gmail": 40, "inbox": 30}
    assert fusion.exact_tokens("Where is order INV-2024-00731?", frequency, 100) == ["INV-2024-00731"]
    assert fusion.exact_tokens("Does Enterprise include SSO?", frequency, 100) == ["Enterprise"]
    assert fusion.exact_tokens("Gmail inbox is full", frequency, 100) == []
    # a weekday is capitalised by English spelling, not because it names anything
    assert fusion.exact_tokens("My cat had surgery on Monday, when can she eat?", {"monday": 1}, 100) == []
    assert fusion.exact_fraction(["BD-4012"], "error BD-4012.") == 1.0
    assert fusion.exact_fraction(["BD-4012"], "error BD-40123") == 0.0


async def test_concurrent_searches_share_encode_calls(kb: KnowledgeBase, tmp_path: Path) -> None:
    await kb.ingest([write_corpus(tmp_path)], trigger="test")
    before = kb.batcher.batches
    queries = [f"question number {i} about shipping" for i in range(40)]
    results = await asyncio.gather(*(kb.search(q, 2) for q in queries))
    assert all(len(hits) == 2 for hits in results)
    assert kb.batcher.batches - before < len(queries) / 2


async def test_without_local_vectors_search_asks_chroma_off_the_event_loop(
    embedder: Embedder, kb_engine: AsyncEngine, tmp_path: Path
) -> None:
    """A corpus too large for brute force (the limit is 0 here) is ranked with chroma's
    candidates and vectors, asked from a worker thread."""
    data_dir = tmp_path / "data"
    kb = KnowledgeBase(
        embedder=embedder,
        dense=LoopGuardedDenseStore.open(chroma_url="", data_dir=data_dir, collection="knowledge"),
        local=LocalIndex(data_dir / "bm25" / "knowledge"),
        sessionmaker=make_sessionmaker(kb_engine),
        max_chars=600,
        brute_force_max_chunks=0,
    )
    try:
        summary = await kb.ingest([write_corpus(tmp_path)], trigger="test")
        assert not kb.local.snapshot.has_vectors
        top = (await kb.search("how long does delivery take", 3))[0]
        assert (Path(top.source).name, top.section) == ("shipping.html", "Delivery times")
        assert await kb.chunk_count() == summary.chunks_embedded
    finally:
        await kb.aclose()


async def test_another_process_sees_a_new_index_version(kb: KnowledgeBase, embedder, kb_engine, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from knowledge.search.index import DenseStore, LocalIndex

    data_dir = tmp_path / "data"
    reader = KnowledgeBase(
        embedder=embedder,
        dense=DenseStore.open(chroma_url="", data_dir=data_dir, collection="knowledge"),
        local=LocalIndex(data_dir / "bm25" / "knowledge"),
        sessionmaker=make_sessionmaker(kb_engine),
        max_chars=600,
    )
    assert reader.search_sync("delivery", 3) == []
    await kb.ingest([write_corpus(tmp_path)], trigger="test")
    assert Path(reader.search_sync("how long does delivery take", 1)[0].source).name == "shipping.html"


@pytest.mark.slow("another process holds the store's lock for 3 s")
async def test_counting_chunks_does_not_stop_the_process_while_another_holds_the_embedded_store(
    kb: KnowledgeBase, tmp_path: Path
) -> None:
    """Readiness probes and metrics count the chunks while a re-index in another process
    writes chroma's files (here: holds their lock for 3 s): the count answers, and the event
    loop keeps running meanwhile."""
    summary = await kb.ingest([write_corpus(tmp_path)], trigger="test")
    holder = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        "import sqlite3, time\n"
        f"db = sqlite3.connect({str(tmp_path / 'data' / 'chroma' / 'chroma.sqlite3')!r}, isolation_level=None)\n"
        "db.execute('BEGIN EXCLUSIVE'); print('locked', flush=True); time.sleep(3); db.execute('COMMIT')\n",
        stdout=asyncio.subprocess.PIPE,
    )
    assert holder.stdout is not None
    try:
        assert await holder.stdout.readline() == b"locked\n"
        loop = asyncio.get_running_loop()
        passes: list[float] = []

        async def ticker() -> None:
            while True:
                passes.append(loop.time())
                await asyncio.sleep(0.01)

        tick = asyncio.create_task(ticker())
        await asyncio.sleep(0.05)
        count = await kb.chunk_count()
        await asyncio.sleep(0.05)
        tick.cancel()
        assert count == summary.chunks_embedded
        longest = max(later - earlier for earlier, later in itertools.pairwise(passes))
        assert longest < 0.5, f"the event loop stood still {longest:.1f} s"
    finally:
        await holder.wait()


async def test_a_file_is_cited_by_its_front_matter_url_or_its_folders_base_url(
    kb: KnowledgeBase, tmp_path: Path
) -> None:
    help_folder = tmp_path / "help"
    (help_folder / "billing").mkdir(parents=True)
    (help_folder / "billing" / "refunds.md").write_text(
        "# Refunds\n\nRefunds reach your card within five working days.\n", encoding="utf-8"
    )
    (help_folder / "gift-cards.md").write_text(
        "---\ntitle: Gift cards\nurl: https://help.example.com/hc/articles/4412\n---\n"
        "Gift cards never expire and can be used across several orders.\n",
        encoding="utf-8",
    )
    folder = FolderSource(path=help_folder, base_url="https://help.example.com/articles/")
    await kb.reindex([folder], trigger="first")
    refunds = (await kb.search("how long does a refund take to reach my card", 1))[0]
    assert (refunds.source, refunds.url) == (
        "help/billing/refunds.md",
        "https://help.example.com/articles/billing/refunds",
    )
    gift = (await kb.search("do gift cards expire", 1))[0]
    assert (gift.title, gift.url) == ("Gift cards", "https://help.example.com/hc/articles/4412")

    moved = FolderSource(path=help_folder, base_url="https://support.example.com/kb")
    again = await kb.reindex([moved], trigger="moved")
    assert again.changed == 2  # the folder's address is part of what each of its files is indexed as
    refunds = (await kb.search("how long does a refund take to reach my card", 1))[0]
    assert refunds.url == "https://support.example.com/kb/billing/refunds"
    assert (await kb.search("do gift cards expire", 1))[0].url == "https://help.example.com/hc/articles/4412"


async def test_a_local_index_rebuilt_from_nothing_embeds_on_pytorch_when_the_index_is_big(
    kb: KnowledgeBase, kb_engine: AsyncEngine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A new host, or an index of an older version, derives every heading and phrasing again:
    the run announces the whole index, so the embedder loads for a big run (PyTorch), not for
    the few distinct headings its first encode is about (here a big run is as many texts as
    the corpus has chunks, more than it has headings: a long section is cut in several)."""
    docs = write_corpus(tmp_path)
    paragraph = "Returns are free within thirty days when the parcel is sealed and the label is printed. "
    (docs / "returns.md").write_text("# Returns\n\n## How to send it back\n\n" + "\n\n".join([paragraph * 5] * 4))
    await kb.ingest([docs], trigger="test")
    chunks = await asyncio.to_thread(lambda: list(kb.dense.records()))
    assert len({heading_text(r.title, r.section) for r in chunks}) < len(chunks)
    monkeypatch.setattr(embedder_module, "SMALL_RUN_TEXTS", len(chunks))
    lazy = Embedder.load(KnowledgeSettings(), lazy=True)
    host = KnowledgeBase(
        embedder=lazy,
        dense=LoopGuardedDenseStore.open(chroma_url="", data_dir=tmp_path / "data", collection="knowledge"),
        local=LocalIndex(tmp_path / "elsewhere" / "bm25" / "knowledge"),  # nothing published here yet
        sessionmaker=make_sessionmaker(kb_engine),
        max_chars=600,
    )
    try:
        assert await asyncio.to_thread(host.ingestor.rebuild_local)
        assert isinstance(lazy.model, TorchEncoder)
    finally:
        await host.aclose()


async def test_a_closed_knowledge_base_gives_back_what_chroma_held_for_its_store(
    embedder: Embedder, kb_engine: AsyncEngine, tmp_path: Path
) -> None:
    """chroma keeps each store's engine and caches in a process-wide registry until its last
    client is closed: a process that opened knowledge bases on many stores (a test suite, a
    command after command) kept them all."""
    from chromadb.api.shared_system_client import SharedSystemClient

    store = tmp_path / "data" / "chroma"
    knowledge = KnowledgeBase(
        embedder=embedder,
        dense=LoopGuardedDenseStore.open(chroma_url="", data_dir=tmp_path / "data", collection="knowledge"),
        local=LocalIndex(tmp_path / "data" / "bm25" / "knowledge"),
        sessionmaker=make_sessionmaker(kb_engine),
        max_chars=600,
    )
    await knowledge.ingest([write_corpus(tmp_path)], trigger="test")
    assert str(store) in SharedSystemClient._identifier_to_system
    await knowledge.aclose()
    assert str(store) not in SharedSystemClient._identifier_to_system
