"""The languages the hub speaks to customers in: its fixed sentences' catalogs, and the
language the sentences of the turn (or delivery) under way are said in.

Every sentence the hub says on its own — a greeting, a decline, the handoff notice, a file's
problem — is written in English in the code, wrapped in `_()` (said now) or `N_()` (a
constant, said later with `_()`), and looked up in a gettext catalog when it is said:
`core/locales/<language>/LC_MESSAGES/*.po` (one file per part of the hub: `bot.po`, `channels.po`,
`widget.po`…), read with Babel. The language is the
conversation's (`speaking`), set where a turn or a delivery starts, so a sentence deep in a
responder needs no language passed down to it.

An operator overrides any sentence, or adds a language, with a folder of `<language>.po`
files (`languages.catalogs`): its entries win over the shipped ones, and a language with no
catalog at all is spoken in `languages.default`. `supporthub languages template` writes the
template such a file starts from (docs/languages.md). A channel package brings its own
sentences' translations in a `locales/<language>/LC_MESSAGES/` folder beside its module (the
WhatsApp channel's `channels/whatsapp/locales`), read with the shipped ones (`shipped_folders`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from functools import cache
from importlib.metadata import EntryPoint, entry_points
from importlib.util import find_spec
from pathlib import Path
from types import MappingProxyType

from babel import Locale, UnknownLocaleError
from babel.lists import format_list
from babel.messages.pofile import read_po
from lingua import IsoCode639_1

from core.placeholders import fill, unfit

log = logging.getLogger(__name__)

SOURCE = "en"
"""The language the sentences are written in, in the code."""
SHIPPED = ("en", "de", "es", "fr", "pt")
"""The languages whose catalogs ship with the hub."""
LOCALES = Path(__file__).parent / "locales"
CHANNEL_GROUP = "supporthub.channels"
"""The entry-point group channels register under; its names are the channels' section names."""

_spoken: ContextVar[str] = ContextVar("supporthub_language", default=SOURCE)


def N_(message: str) -> str:
    """Mark a constant sentence for the catalogs; `_()` says it later, in the language then."""
    return message


def _(message: str, /, **values: object) -> str:
    """`message` in the language spoken now, its `{names}` filled from `values` (by lookup:
    `core.placeholders.fill`)."""
    said = _catalogs().text(_spoken.get(), message)
    return fill(said, values) if values else said


def spoken() -> str:
    """The language the hub's sentences are said in now."""
    return _spoken.get()


def said_in() -> str:
    """The language `_()` says sentences in now: the spoken one, or `languages.default` when it
    has no catalog (a date or a list in a sentence follows it, `listing`)."""
    language = _spoken.get()
    return language if language == SOURCE or language in _catalogs().languages() else _default.language


def said_alike(message: str, beside: str) -> bool:
    """Whether `_()` says `message` in the language it says `beside` in: both translated, or both
    as written. A sentence added to the hub after an operator's catalog was written, or whose
    translation was refused, is said in English there; a reply can leave it out rather than mix
    two languages."""
    return (_(message) != message) == (_(beside) != beside)


@contextmanager
def speaking(language: str | None) -> Iterator[None]:
    """Say the sentences inside in `language` (None: the hub's default)."""
    token = _spoken.set(language or _default.language)
    try:
        yield
    finally:
        _spoken.reset(token)


def listing(items: Sequence[str]) -> str:
    """Items joined as the language spoken now joins them: "a, b and c" in English (the hub's
    own style, without a serial comma), Babel's list pattern in others ("a, b und c")."""
    if len(items) < 2:
        return "".join(items)
    if said_in() != SOURCE:
        try:
            return format_list(list(items), locale=said_in())
        except (ValueError, UnknownLocaleError):  # an operator's language Babel does not know
            pass
    return ", ".join(items[:-1]) + " and " + items[-1]


def default_language() -> str:
    """The language the hub speaks before it knows the customer's (`languages.default`): also the
    language of the help centre's documents that don't say theirs."""
    return _default.language


def language_name(language: str, *, in_language: str = SOURCE) -> str:
    """ "German" for "de" (in English; "Deutsch" in German); the code itself when unknown."""
    try:
        return Locale.parse(language).get_display_name(in_language) or language
    except (ValueError, UnknownLocaleError):
        return language


def detectable(code: str) -> bool:
    """Whether `code` is the ISO 639-1 code of a language `core.answering.language` recognises."""
    return code.islower() and hasattr(IsoCode639_1, code.upper())


def language_of(tag: object) -> str | None:
    """The ISO 639-1 language of an IETF tag ("pt" for "pt-BR", "de" for "de_AT"), when it is one
    `detectable` knows; None for anything else (a platform's field of another type included)."""
    if not isinstance(tag, str):
        return None
    code = tag.replace("_", "-").split("-")[0].lower()
    return code if detectable(code) else None


@cache
def channel_entry_points() -> Mapping[str, EntryPoint]:
    """The installed channels' entry points (group `CHANNEL_GROUP`) by name, read once per
    process: reading them takes ~10 ms a time, and a hub starting read them a dozen times."""
    return MappingProxyType({entry.name: entry for entry in entry_points(group=CHANNEL_GROUP)})


@cache
def shipped_folders() -> tuple[Path, ...]:
    """`core/locales`, then the `locales` folder of each installed channel package that ships
    one beside its module (a plug-in's own sentences, in its own folder)."""
    folders = [LOCALES]
    for _, entry in sorted(channel_entry_points().items()):
        spec = find_spec(entry.module)
        for package in (spec.submodule_search_locations or []) if spec is not None else []:
            if (Path(package) / "locales").is_dir() and Path(package) / "locales" not in folders:
                folders.append(Path(package) / "locales")
    return tuple(folders)


@cache
def _shipped_texts(language: str) -> Mapping[str, str]:
    """The shipped catalogs' sentences of `language`, read once per process (package data)."""
    texts: dict[str, str] = {}
    for folder in shipped_folders():
        for path in sorted((folder / language / "LC_MESSAGES").glob("*.po")):
            texts.update(read_catalog(path))
    return MappingProxyType(texts)


@dataclass(frozen=True, slots=True)
class Refused:
    """A translation the catalogs do not say: its placeholders are not the English's plain names
    (`core.placeholders.unfit`), so the English is said instead."""

    language: str
    english: str
    translation: str
    why: str


class Catalogs:
    """The sentences of each language: the shipped catalogs, overridden by the operator's; a
    translation whose placeholders are unfit for its English is said in English (`refused`)."""

    def __init__(self, override: Path | None = None, *, default: str = SOURCE) -> None:
        self.refused: list[Refused] = []
        self._texts: dict[str, dict[str, str]] = {
            language: self._fit(language, _shipped_texts(language)) for language in SHIPPED if language != SOURCE
        }
        if override is not None:
            for path in sorted(override.glob("*.po")):
                self._texts.setdefault(path.stem, {}).update(self._fit(path.stem, read_catalog(path)))
        self.default = default

    def _fit(self, language: str, texts: Mapping[str, str]) -> dict[str, str]:
        """`texts` with each unfit translation replaced by its English (over a shipped one too)."""
        kept: dict[str, str] = {}
        for english, translation in texts.items():
            why = unfit(translation, english)
            if why is not None:
                self.refused.append(Refused(language, english, translation, why))
            kept[english] = translation if why is None else english
        return kept

    def languages(self) -> tuple[str, ...]:
        """The languages that have sentences: English and each catalog's."""
        return tuple(sorted({SOURCE, *self._texts}))

    def text(self, language: str, message: str) -> str:
        """`message` in `language`; in `default` when the language has no catalog, and as
        written when the catalog has no translation of it."""
        texts = self._texts.get(language)
        if texts is None:
            texts = self._texts.get(self.default, {})
        return texts.get(message) or message

    def translations(self, language: str) -> Mapping[str, str]:
        """Every translated sentence of `language` (the widget's texts come from here)."""
        return self._texts.get(language, self._texts.get(self.default, {}))


def read_catalog(path: Path) -> dict[str, str]:
    """A `.po` file's translated sentences by their English; fuzzy and empty entries left out."""
    with path.open("rb") as file:
        catalog = read_po(file)
    return {
        message.id: message.string
        for message in catalog
        if isinstance(message.id, str)
        and message.id
        and isinstance(message.string, str)
        and message.string
        and not message.fuzzy
    }


class _Default:
    """The catalogs in use (`use_catalogs`) and the language spoken when none is known."""

    catalogs: Catalogs | None = None
    language: str = SOURCE


_default = _Default()


def use_catalogs(override: Path | None, *, default: str = SOURCE) -> Catalogs:
    """Load the catalogs the process speaks from (once, at start-up): the operator's folder
    `override` over the shipped ones, and `default` for a language with none."""
    _default.catalogs = Catalogs(override, default=default)
    _default.language = default
    for refused in _default.catalogs.refused:
        log.warning(
            "languages: the %s translation %r of %r is not said (%s); said in English",
            refused.language,
            refused.translation,
            refused.english,
            refused.why,
        )
    return _default.catalogs


def catalogs() -> Catalogs:
    """The catalogs in use: which languages have sentences, and each one's (the widget's texts)."""
    return _catalogs()


def _catalogs() -> Catalogs:
    if _default.catalogs is None:  # a process that never called use_catalogs: the shipped ones
        _default.catalogs = Catalogs()
    return _default.catalogs
