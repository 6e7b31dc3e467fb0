"""A document's language: where it comes from, where it is kept, and a search that prefers the
customer's."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from core.store.db import make_sessionmaker
from knowledge.base import KnowledgeBase
from knowledge.ingest.languages import folder_language, language_code
from knowledge.settings import FolderSource
from knowledge.tables import KnowledgeDocument

ROOT = Path(__file__).resolve().parents[3]
SAMPLE = ROOT / "config" / "knowledge"
GERMAN = ROOT / "tests" / "bench" / "datasets" / "translated-articles" / "de"


async def languages(engine: AsyncEngine) -> dict[str, str | None]:
    async with make_sessionmaker(engine)() as session:
        rows = (await session.execute(select(KnowledgeDocument.source, KnowledgeDocument.language))).all()
    return {Path(row.source).name: row.language for row in rows}


@pytest.mark.parametrize(
    ("value", "code"),
    [("de", "de"), ("DE", "de"), ("pt-BR", "pt"), ("es_419", "es"), (" fr ", "fr"), ("xx", None), ("german", None)],
)
def test_a_language_is_named_by_its_code_or_a_locale(value: str, code: str | None) -> None:
    assert language_code(value) == code


def test_the_nearest_folder_named_like_a_language_says_it() -> None:
    assert folder_language(["help", "de", "billing"]) == "de"
    assert folder_language(["help", "de", "es"]) == "es"
    assert folder_language(["help", "billing"]) is None


async def test_a_documents_language_comes_from_its_front_matter_its_folder_source_or_its_folder(
    kb: KnowledgeBase, kb_engine: AsyncEngine, tmp_path: Path
) -> None:
    help_centre = tmp_path / "help"
    (help_centre / "de").mkdir(parents=True)
    (help_centre / "de" / "rechnungen.md").write_text("# Rechnungen\n\nRechnungen finden Sie als PDF.\n")
    (help_centre / "de" / "billing.md").write_text(
        "---\nlanguage: en\n---\n# Billing\n\nInvoices are PDFs under Settings > Billing.\n"
    )
    (help_centre / "intro.md").write_text("# Welcome\n\nStart here.\n")
    spanish = tmp_path / "ayuda"
    spanish.mkdir()
    (spanish / "facturas.md").write_text("# Facturas\n\nLas facturas están en Ajustes > Facturación.\n")
    (spanish / "precios.md").write_text("---\nlanguage: pt-BR\n---\n# Preços\n\nO plano Business custa 20 por mês.\n")

    await kb.reindex([FolderSource(path=help_centre), FolderSource(path=spanish, language="es")], trigger="test")

    assert await languages(kb_engine) == {
        "rechnungen.md": "de",  # its folder is named de
        "billing.md": "en",  # its front matter wins over the folder's name
        "intro.md": None,  # nothing says
        "facturas.md": "es",  # its folder source says
        "precios.md": "pt",  # its front matter wins over the folder source
    }
    hits = await kb.search("Rechnungen als PDF", 5)
    assert {(Path(h.source).name, h.language) for h in hits} >= {("rechnungen.md", "de"), ("billing.md", "en")}


async def test_a_folder_sources_language_wins_over_a_folder_named_like_another(
    kb: KnowledgeBase, kb_engine: AsyncEngine, tmp_path: Path
) -> None:
    """An `it/` folder of the IT team's articles is not Italian when its source says English."""
    (tmp_path / "help" / "it").mkdir(parents=True)
    (tmp_path / "help" / "it" / "vpn.md").write_text("# VPN\n\nConnect to the VPN before you open the intranet.\n")

    await kb.reindex([FolderSource(path=tmp_path / "help", language="en")], trigger="test")

    assert await languages(kb_engine) == {"vpn.md": "en"}


async def test_a_language_set_later_indexes_the_folder_again(
    kb: KnowledgeBase, kb_engine: AsyncEngine, tmp_path: Path
) -> None:
    (tmp_path / "hilfe").mkdir()
    (tmp_path / "hilfe" / "konto.md").write_text("# Konto\n\nIhr Konto verwalten Sie unter Einstellungen.\n")
    await kb.reindex([FolderSource(path=tmp_path / "hilfe")], trigger="test")
    assert await languages(kb_engine) == {"konto.md": None}

    summary = await kb.reindex([FolderSource(path=tmp_path / "hilfe", language="de")], trigger="test")

    assert summary.changed == 1
    assert await languages(kb_engine) == {"konto.md": "de"}
    [best, *_] = await kb.search("Konto verwalten", 3)
    assert best.language == "de"


async def test_a_german_question_is_answered_from_the_german_article_in_a_mixed_help_centre(
    kb: KnowledgeBase, tmp_path: Path
) -> None:
    help_centre = tmp_path / "help"
    (help_centre / "de").mkdir(parents=True)
    for name in ("reset-your-password.md", "billing-and-invoices.md", "two-factor-authentication.md"):
        (help_centre / name).write_text((SAMPLE / name).read_text(encoding="utf-8"), encoding="utf-8")
    german = (GERMAN / "reset-your-password.md").read_text(encoding="utf-8")
    (help_centre / "de" / "reset-your-password.md").write_text(german, encoding="utf-8")
    await kb.ingest([help_centre], trigger="test")
    question = "Wie oft kann ich einen Reset-Link anfordern?"

    unsaid = await kb.search(question, 5)
    german_first = await kb.search(question, 5, language="de")
    english_first = await kb.search("How often can I ask for a reset link?", 5, language="en")

    # the English article matches this question's words better, yet a German customer is
    # answered from the German one; an English customer still from the English one
    assert Path(unsaid[0].source).parent.name == "help"
    assert german_first[0].source.endswith("de/reset-your-password.md")
    assert german_first[0].language == "de"
    assert german_first[0].relevance == max(h.relevance for h in german_first if h.language == "de")
    assert english_first[0].source.endswith("help/reset-your-password.md")
