"""A markdown file's YAML front matter: the `---` block at its very top that static-site
generators (Jekyll, Hugo, MkDocs, Docusaurus) read as the page's title, address and tags.

Its `title:` names a document whose text has no `# ` heading, its `url:` is where customers
read it, its `language:` the language it is written in (`knowledge.ingest.languages`); the block
itself is never text to index. A file that only looks like it has one —
a rule line at the top, a block that is not YAML or not a mapping — is left as it is.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

import yaml

from knowledge.ingest.addresses import web_address
from knowledge.ingest.languages import language_code

log = logging.getLogger(__name__)

_BLOCK = re.compile(r"\A---[ \t]*\r?\n(?P<yaml>.*?)^(?:---|\.\.\.)[ \t]*(?:\r?\n|\Z)", re.DOTALL | re.MULTILINE)


@dataclass(frozen=True, slots=True)
class FrontMatter:
    title: str | None = None
    url: str | None = None
    language: str | None = None


def split_front_matter(text: str, *, name: str) -> tuple[FrontMatter, str]:
    """The front matter of markdown `text` and the text without it; no front matter (and the
    text unchanged) when it has none or a block that is not a YAML mapping. A key whose value
    cannot be used is ignored with a warning naming it and the document (`name`)."""
    text = text.removeprefix("\ufeff")
    match = _BLOCK.match(text)
    if match is None:
        return FrontMatter(), text
    try:
        fields = yaml.safe_load(match.group("yaml"))
    except (yaml.YAMLError, RecursionError) as exc:  # deep nesting recurses in PyYAML's parser
        log.warning("front matter of %s is not valid YAML, kept as text: %s", name, type(exc).__name__)
        return FrontMatter(), text
    if fields is None:
        fields = {}
    if not isinstance(fields, dict):
        return FrontMatter(), text
    meta = FrontMatter(
        title=_title(fields.get("title"), name),
        url=_url(fields.get("url"), name),
        language=_language(fields.get("language", fields.get("lang")), name),
    )
    return meta, text[match.end() :]


def _title(value: object, name: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, str | int | float) and not isinstance(value, bool) and str(value).strip():
        return " ".join(str(value).split())
    log.warning("front matter of %s: `title` ignored, not a line of text", name)
    return None


def _url(value: object, name: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, str) and (address := web_address(value.strip())) is not None:
        return address
    log.warning("front matter of %s: `url` ignored, not an http or https address", name)
    return None


def _language(value: object, name: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, str) and (code := language_code(value)) is not None:
        return code
    log.warning("front matter of %s: `language` ignored, not a language code (de, es, pt-BR)", name)
    return None
