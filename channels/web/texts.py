"""The widget's texts in the visitor's language: which texts the widget says, which language a
request means, and the table of translations the widget is served (GET /widget/texts/{language}).

The widget's sentences are written in English in its script, each as `t("…")` (or `N_("…")`
for a text said later), so Babel's javascript extractor finds them; the same extraction, run
on the script's parts when the channel starts, names the texts the widget is served — a
language's table holds those and nothing else of the hub's catalogs, so it stays small (a few
kilobytes) and says nothing the widget does not show. The translations come from the catalogs
in use (`core.languages.catalogs()`: the shipped `widget.po` files under the operator's
`languages.catalogs` folder), so an operator overrides a widget text as any other sentence.

Language codes are BCP 47-ish tags ("de", "pt-BR", "pt_BR"): a tag is matched to the
languages that have a catalog whole, then by its primary subtag; a tag nothing matches means
`languages.default`, as everywhere in the hub.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass

from babel.messages.extract import extract

from core.languages import SOURCE, Catalogs

KEYWORDS = {"t": None, "N_": None}
"""The widget's marks for translatable text: `t("…", {values})` said now, `N_("…")` later."""
LANGUAGE_TAG = re.compile(r"[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{1,8}){0,3}")
MAX_TAG = 35


class MalformedTag(ValueError):
    """Not a language tag like "de" or "pt-BR"."""


def widget_messages(sources: Iterable[str]) -> frozenset[str]:
    """Every text the widget marks with `t()` or `N_()` in `sources` (its JavaScript)."""
    found: set[str] = set()
    for source in sources:
        for _lineno, message, _comments, _context in extract(
            "javascript", io.BytesIO(source.encode()), keywords=KEYWORDS, comment_tags=()
        ):
            if isinstance(message, str) and message:
                found.add(message)
    return frozenset(found)


def normal_tag(tag: str) -> str:
    """`tag` lowercased with "-" between its subtags ("pt_BR" → "pt-br"); `MalformedTag` when
    it is no language tag."""
    if len(tag) > MAX_TAG or not LANGUAGE_TAG.fullmatch(tag):
        raise MalformedTag(f"{tag[:MAX_TAG]!r} is not a language code like 'de' or 'pt-BR'")
    return tag.lower().replace("_", "-")


def known_languages(catalogs: Catalogs) -> tuple[str, ...]:
    """The languages with texts, as the widget names them (normal tags), English among them."""
    return tuple(sorted({normal_tag(code) for code in catalogs.languages() if LANGUAGE_TAG.fullmatch(code)}))


def match(tag: str, languages: Collection[str]) -> str | None:
    """The language of `languages` (normal tags) that `tag` names: whole, else its primary
    subtag; None when neither has texts. `MalformedTag` for no language tag at all."""
    normal = normal_tag(tag)
    if normal in languages:
        return normal
    primary = normal.split("-", 1)[0]
    return primary if primary in languages else None


def accepted(header: str, languages: Collection[str]) -> str | None:
    """The language of `languages` a browser's Accept-Language header prefers, if any."""
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate(header.split(",")[:20]):
        tag, _, params = part.strip().partition(";")
        weight = 1.0
        quality = params.strip()
        if quality.startswith("q="):
            try:
                weight = float(quality[2:])
            except ValueError:
                continue
        if tag and tag != "*" and weight > 0:
            ranked.append((-weight, position, tag))
    for _weight, _position, tag in sorted(ranked):
        try:
            found = match(tag, languages)
        except MalformedTag:
            continue
        if found is not None:
            return found
    return None


@dataclass(frozen=True, slots=True)
class Texts:
    """One language's table as served: the body (JSON) and its ETag."""

    language: str
    body: bytes
    etag: str


class WidgetTexts:
    """The tables of the widget's texts, built once per language from the catalogs in use."""

    def __init__(self, catalogs: Catalogs, messages: Collection[str]) -> None:
        self._catalogs = catalogs
        self._messages = messages
        self.languages = known_languages(catalogs)
        self.default = normal_tag(catalogs.default) if LANGUAGE_TAG.fullmatch(catalogs.default) else SOURCE
        self._tables: dict[str, Texts] = {}

    def resolve(self, tag: str) -> str:
        """The language served for `tag`: its own, else `languages.default` (`MalformedTag`)."""
        return match(tag, self.languages) or self.default

    def table(self, tag: str) -> Texts:
        """The texts for `tag` (`MalformedTag` when it is no language tag)."""
        language = self.resolve(tag)
        found = self._tables.get(language)
        if found is None:
            found = self._tables[language] = self._build(language)
        return found

    def _build(self, language: str) -> Texts:
        code = next((c for c in self._catalogs.languages() if normal_tag(c) == language), language)
        translations = _translated(self._catalogs.translations(code), self._messages) if code != SOURCE else {}
        body = json.dumps({"language": language, "texts": translations}, ensure_ascii=False, sort_keys=True)
        # As the script's literals: a "<" can never close an element should the JSON be inlined.
        data = body.replace("<", "\\u003c").encode()
        return Texts(language=language, body=data, etag=f'"{hashlib.sha256(data).hexdigest()[:32]}"')


def _translated(translations: Mapping[str, str], messages: Collection[str]) -> dict[str, str]:
    return {message: translations[message] for message in messages if translations.get(message)}
