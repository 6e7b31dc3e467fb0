"""Files as an ingest run finds them: which ones, their names in the index, their public
addresses.

A file's name in the index (its `source`) is never a server path (`source_name`). Its public
address, the citation's link, is its own front matter `url:` when it has one, else its folder's
`base_url` plus its path in that folder without the extension (`folder_url`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from urllib.parse import quote

from knowledge.conversion import SUPPORTED_FORMATS
from knowledge.ingest.languages import folder_language
from knowledge.settings import FolderSource
from knowledge.tables import SkippedFile

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Found:
    """A supported file, and the folder it belongs to (its public address is relative to it)."""

    path: Path
    folder: FolderSource
    managed: bool = False
    """It lies under a folder a re-index indexes (`discover`'s `managed`): it is that folder's."""


def discover(
    folders: Sequence[FolderSource], managed: Sequence[FolderSource] = ()
) -> tuple[list[Found], list[SkippedFile]]:
    """Supported files under `folders` (recursively, sorted, hidden files ignored; a file under
    two folders belongs to the first), and the paths named directly that are missing or of an
    unsupported format. A file that also lies under one of the `managed` folders (a re-index's,
    when files are ingested by hand) belongs to that one. Unsupported files found in a folder
    (images beside the articles) are expected: logged at debug level only."""
    roots = [folder.path for folder in (*managed, *folders)]
    found: dict[Path, FolderSource] = {}
    skipped: list[SkippedFile] = []
    for folder in folders:
        root = folder.path
        if root.is_dir():
            for path in sorted(root.rglob("*")):
                relative = path.relative_to(root).parts
                if path.is_file() and not any(part.startswith(".") for part in relative):
                    if path.suffix.lower() in SUPPORTED_FORMATS:
                        found.setdefault(path.resolve(), folder)
                    else:
                        log.debug("not a supported format, skipped: %s", path)
        elif root.is_file():
            if root.suffix.lower() in SUPPORTED_FORMATS:
                found.setdefault(root.resolve(), folder)
            else:
                supported = ", ".join(sorted(SUPPORTED_FORMATS))
                log.warning("not a supported format (%s), skipped: %s", supported, root)
                skipped.append(SkippedFile(source_name(root.resolve(), roots), f"not a supported format ({supported})"))
        else:
            log.warning("no such file or directory, skipped: %s", root)
            skipped.append(SkippedFile(source_name(root.resolve(), roots), "no such file or directory"))
    return [_owned(path, folder, managed) for path, folder in found.items()], skipped


def _owned(path: Path, folder: FolderSource, managed: Sequence[FolderSource]) -> Found:
    owner = next((m for m in managed if path.is_relative_to(m.path.resolve())), None)
    return Found(path, folder) if owner is None else Found(path, owner, managed=True)


def source_name(path: Path, roots: Sequence[Path]) -> str:
    """A document's name in the index and in citations, never a server path: relative to the
    working directory when it lies under it, else to the parent of the knowledge path that
    holds it (`/srv/help/billing.md` under the knowledge path `/srv/help` is `help/billing.md`)."""
    if path.is_relative_to(Path.cwd()):
        return str(path.relative_to(Path.cwd()))
    for root in (r.resolve() for r in roots):
        if path.is_relative_to(root):
            return str(path.relative_to(root.parent))
    return path.name


def folder_url(found: Found) -> str:
    """The file's address under its folder's `base_url` (empty when the folder has none):
    `billing/refunds.md` in a folder at `https://help.example.com/articles` is
    `https://help.example.com/articles/billing/refunds`."""
    base = found.folder.base_url
    if not base:
        return ""
    root = found.folder.path.resolve()
    relative = found.path.relative_to(root) if found.path != root else Path(found.path.name)
    parts = PurePosixPath(*relative.parts).with_suffix("").parts
    return f"{base.rstrip('/')}/{'/'.join(quote(part) for part in parts)}"


def found_language(found: Found) -> str | None:
    """The language its folder says the file is in (`knowledge.ingest.languages`): the folder source's
    `language`, else the nearest folder of its path named like a language, the folder's own
    name included (`help/de` as a knowledge path); None when neither says. The file's own front
    matter wins over both (the caller's)."""
    if found.folder.language:
        return found.folder.language
    root = found.folder.path.resolve()
    if found.path == root:
        return folder_language([root.parent.name])
    return folder_language([root.name, *found.path.relative_to(root).parent.parts])
