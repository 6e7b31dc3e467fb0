"""Word documents: the Title style is the document's title, Heading 1–6 its sections.

markitdown converts Word files with mammoth, whose default style map knows Heading 1–6 but not
Title: a Title paragraph came out as body text, and the first Heading 1 was taken for the
document's title. So when the document body uses the Title style, the map makes it the `# `
heading and moves every Heading n one level down (Heading 1 → `##`: a section under the
title; Heading 5 and 6 both become `######`, markdown's last level). A document without a Title
paragraph keeps mammoth's map, whose first Heading 1 is the title as before. Subtitle is a
paragraph either way.
"""

from __future__ import annotations

import io
import posixpath
import zipfile
from xml.etree import ElementTree

from knowledge.conversion.markitdown_files import markitdown_chunks
from knowledge.ingest.chunking import Chunk

_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_RELS = "{http://schemas.openxmlformats.org/package/2006/relationships}"
_DOCUMENT = "/officeDocument"
_STYLES = "/styles"

_SUBTITLE_MAP = "p.Subtitle => p:fresh\np[style-name='Subtitle'] => p:fresh"
_TITLE_MAP = "\n".join(
    [
        "p.Title => h1:fresh",
        "p[style-name='Title'] => h1:fresh",
        _SUBTITLE_MAP,
        *(
            f"{selector} => h{min(level + 1, 6)}:fresh"
            for level in range(1, 7)
            for selector in (
                f"p.Heading{level}",
                f"p[style-name='Heading {level}']",
                f"p[style-name='heading {level}']",
            )
        ),
    ]
)


def docx_chunks(data: bytes, *, stem: str, max_chars: int) -> list[Chunk]:
    with zipfile.ZipFile(io.BytesIO(data)) as package:
        titled = _uses_title_style(package)
    return markitdown_chunks(
        data, suffix=".docx", stem=stem, max_chars=max_chars, style_map=_TITLE_MAP if titled else _SUBTITLE_MAP
    )


def _uses_title_style(package: zipfile.ZipFile) -> bool:
    """Does a paragraph of the document body have Word's Title style (by its name, in whatever
    language Word gave its id, or by the id `Title` when the package has no styles part)?"""
    document = _part(package, "", _DOCUMENT, "word/document.xml")
    if document is None:
        return False
    styles = _part(package, document, _STYLES, "word/styles.xml")
    ids = {"Title"}
    if styles is not None:
        with package.open(styles) as xml:
            ids |= {
                style.get(f"{_W}styleId", "")
                for style in ElementTree.parse(xml).getroot().iter(f"{_W}style")
                if (name := style.find(f"{_W}name")) is not None and name.get(f"{_W}val", "").casefold() == "title"
            }
    with package.open(document) as xml:
        for _, element in ElementTree.iterparse(xml):
            if element.tag == f"{_W}pStyle" and element.get(f"{_W}val") in ids:
                return True
            element.clear()  # the body's elements are not kept: a long document stays small
    return False


def _part(package: zipfile.ZipFile, source: str, relationship: str, fallback: str) -> str | None:
    """The package path of the part `source` (a part's path; "" for the package) relates to by
    a relationship type ending in `relationship`, else `fallback`; None when neither exists."""
    folder, name = posixpath.split(source)
    rels = posixpath.join(folder, "_rels", f"{name}.rels")
    names = set(package.namelist())
    if rels in names:
        with package.open(rels) as xml:
            for item in ElementTree.parse(xml).getroot().iter(f"{_RELS}Relationship"):
                target = item.get("Target", "")
                if item.get("Type", "").endswith(relationship) and item.get("TargetMode") != "External":
                    path = posixpath.normpath(posixpath.join(folder, target)).lstrip("/")
                    if target.startswith("/"):
                        path = target.lstrip("/")
                    if path in names:
                        return path
    return fallback if fallback in names else None
