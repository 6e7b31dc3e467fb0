"""PowerPoint decks: one section per slide, named by the slide's title ("Slide 3" when it has
none); the deck's title is its first slide's title.

A slide's text keeps its shape: the paragraphs of a content placeholder are bullets (the
master gives them bullets) unless a paragraph turns its bullet off, those of any other shape
only when they set one themselves; bullets are a `- ` list (numbered ones `1. `), indented by
their level; other paragraphs are paragraphs, tables markdown tables. markitdown wrote each
bullet as a bare line, so a long slide's bullets ran together into one sentence when split.
Shapes are read top to bottom, then left to right; pictures and charts hold no text to index.

Speaker notes are kept, after the slide's own text and marked `Notes:`: in a help-centre deck
they are usually the explanation the bullets only name.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator

from pptx import Presentation
from pptx.enum.shapes import PP_PLACEHOLDER
from pptx.shapes.autoshape import Shape
from pptx.shapes.base import BaseShape
from pptx.shapes.graphfrm import GraphicFrame
from pptx.shapes.group import GroupShape
from pptx.slide import Slide
from pptx.table import Table
from pptx.text.text import TextFrame, _Paragraph

from knowledge.conversion.markdown_table import markdown_table
from knowledge.ingest.chunking import Chunk, chunk_sections

_BULLETED = frozenset(
    {PP_PLACEHOLDER.BODY, PP_PLACEHOLDER.OBJECT, PP_PLACEHOLDER.VERTICAL_BODY, PP_PLACEHOLDER.VERTICAL_OBJECT}
)
_SKIPPED = frozenset(
    {
        PP_PLACEHOLDER.TITLE,
        PP_PLACEHOLDER.CENTER_TITLE,
        PP_PLACEHOLDER.VERTICAL_TITLE,
        PP_PLACEHOLDER.DATE,
        PP_PLACEHOLDER.FOOTER,
        PP_PLACEHOLDER.HEADER,
        PP_PLACEHOLDER.SLIDE_NUMBER,
    }
)
"""Placeholders that are not the slide's text: its title (the section's name) and the
date, footer and number every slide repeats."""
_A = "{http://schemas.openxmlformats.org/drawingml/2006/main}"


def pptx_chunks(data: bytes, *, stem: str, max_chars: int) -> list[Chunk]:
    deck = Presentation(io.BytesIO(data))
    sections: list[tuple[int, str, str]] = []
    title: str | None = None
    for number, slide in enumerate(deck.slides, start=1):
        name = _slide_title(slide)
        if number == 1:
            title = name
        sections.append((2, name or f"Slide {number}", "\n\n".join(_slide_blocks(slide))))
    return chunk_sections(sections, stem=stem, max_chars=max_chars, title=title)


def _slide_title(slide: Slide) -> str | None:
    shape = slide.shapes.title
    if shape is None or not shape.has_text_frame:
        return None
    return " ".join(shape.text_frame.text.split()) or None


def _slide_blocks(slide: Slide) -> Iterator[str]:
    yield from _shapes_blocks(slide.shapes)
    if slide.has_notes_slide and (notes := slide.notes_slide.notes_text_frame) is not None:
        paragraphs = [text for p in notes.paragraphs if (text := _text(p, separator="\n"))]
        if paragraphs:
            yield f"Notes: {paragraphs[0]}"
            yield from paragraphs[1:]


def _shapes_blocks(shapes: Iterable[BaseShape]) -> Iterator[str]:
    for shape in sorted(shapes, key=lambda s: (s.top or 0, s.left or 0)):
        if shape.is_placeholder and shape.placeholder_format.type in _SKIPPED:
            continue
        if isinstance(shape, GroupShape):
            yield from _shapes_blocks(shape.shapes)
        elif isinstance(shape, GraphicFrame) and shape.has_table:
            yield _table(shape.table)
        elif isinstance(shape, Shape) and shape.has_text_frame:
            bulleted = shape.is_placeholder and shape.placeholder_format.type in _BULLETED
            yield from _text_blocks(shape.text_frame, bulleted=bulleted)


def _text_blocks(frame: TextFrame, *, bulleted: bool) -> Iterator[str]:
    """Paragraphs as blocks; a run of bullets as one markdown list."""
    items: list[str] = []
    numbers: dict[int, int] = {}
    for paragraph in frame.paragraphs:
        kind = _bullet(paragraph, bulleted=bulleted)
        if kind is None:
            if text := _text(paragraph, separator="\n"):
                if items:
                    yield "\n".join(items)
                    items, numbers = [], {}
                yield text
            continue
        if not (text := _text(paragraph, separator=" ")):
            continue
        level = paragraph.level
        numbers = {depth: count for depth, count in numbers.items() if depth <= level}
        if kind == "number":
            numbers[level] = numbers.get(level, 0) + 1
            marker = f"{numbers[level]}."
        else:
            numbers.pop(level, None)
            marker = "-"
        items.append(f"{'  ' * level}{marker} {text}")
    if items:
        yield "\n".join(items)


def _bullet(paragraph: _Paragraph, *, bulleted: bool) -> str | None:
    """ "bullet", "number" or None (a plain paragraph), as the paragraph sets it, else as its
    shape's kind does."""
    properties = paragraph._p.pPr
    if properties is not None:
        if properties.find(f"{_A}buNone") is not None:
            return None
        if properties.find(f"{_A}buAutoNum") is not None:
            return "number"
        if properties.find(f"{_A}buChar") is not None or properties.find(f"{_A}buBlip") is not None:
            return "bullet"
    return "bullet" if bulleted else None


def _text(paragraph: _Paragraph, *, separator: str) -> str:
    """The paragraph's text, its line breaks (`\\v` in python-pptx) as `separator`."""
    return separator.join(" ".join(line.split()) for line in paragraph.text.split("\v") if line.strip())


def _table(table: Table) -> str:
    rows = [[" ".join(cell.text.split()) for cell in row.cells] for row in table.rows]
    return markdown_table(rows) if rows else ""
