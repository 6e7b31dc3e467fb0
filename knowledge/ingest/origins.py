"""Which run manages a document: the one definition of what `reindex` keeps and removes.

Every row of `knowledge_documents` names its origin:

- `files`: a file under `knowledge.paths` (or a folder source). `reindex` updates it, and
  removes it when its file is gone or its folder is no longer configured.
- `ingested`: a file added by hand with `supporthub ingest`, outside those folders. `reindex`
  keeps it and says so; `reindex --prune` removes it. Ingesting a file under a configured
  folder is no different from re-indexing it: it is `files` (`knowledge.ingest.files.discover`'s
  `managed`).
- `api`: pushed through `POST /api/knowledge/documents` (a help-centre editor's webhook).
  Kept until it is deleted through the API.
- `written`: written in the app (an approved answer, `knowledge.ingest.written`): removed when its
  row is.
- `site:<name>`: a page of the website source `<name>`. Its crawl updates it; a page gone
  (404, 410, or no longer listed) is removed once it has been gone for the source's grace
  period, never on one failed fetch; all of a source's pages go when the source is no longer
  configured.
"""

from __future__ import annotations

FILES = "files"
INGESTED = "ingested"
API = "api"
WRITTEN = "written"
_SITE = "site:"


def site(name: str) -> str:
    """The origin of a website source's pages."""
    return f"{_SITE}{name}"


def site_name(origin: str) -> str | None:
    """The website source an origin names; None when it is not a site's."""
    return origin[len(_SITE) :] if origin.startswith(_SITE) else None
