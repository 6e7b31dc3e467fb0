"""`supporthub languages`: the template of every sentence the hub says (for an operator's own
`<language>.po`), and a check of an operator's catalogs against it (docs/languages.md).

The sentences are Babel's extract over core, knowledge and the package of every installed channel
(a plug-in's too, found through its entry point): Python's `_("…")` and
`N_("…")`, and the widget's javascript `t("…")`. A check names, per `<language>.po` of the
folder, the sentences still said in English (neither that file nor the shipped catalog of its
language translates them) and the file's translations the hub will not say, by the same rule the
catalogs apply when the hub loads them (`core.placeholders.unfit`): a placeholder that is no plain
name (`{reference:>300000000}`, `{name.__class__}`), or other placeholders than the English's (one
that drops `{name}` loses the value, one that adds `{nmae}` cannot be filled). Those fail the check
(exit status 1): the hub says the English instead.
"""

from __future__ import annotations

import importlib
import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import click

import core
import knowledge
from core.placeholders import unfit

if TYPE_CHECKING:
    from babel.messages.catalog import Catalog

KEYWORDS: Mapping[str, None] = {"_": None, "N_": None, "t": None}
"""`_` and `N_` in Python, `t` in the widget's javascript: the first argument is the sentence."""
METHODS = [("**/static/widget/**.js", "javascript"), ("**.py", "python")]


def installed_packages() -> tuple[object, ...]:
    """core, knowledge and the top-level package of each installed channel."""
    from core.languages import channel_entry_points  # loads babel: not for `--help`

    roots = sorted({entry.module.split(".")[0] for entry in channel_entry_points().values()})
    return (core, knowledge, *(importlib.import_module(root) for root in roots))


def sentences(packages: Iterable[object] | None = None) -> Catalog:
    """Every translatable sentence of `packages` (the installed ones by default), each with where
    it is written."""
    from babel.messages.catalog import Catalog
    from babel.messages.extract import extract_from_dir

    catalog = Catalog(project="supporthub", charset="utf-8")
    for package in installed_packages() if packages is None else packages:
        root = Path(str(getattr(package, "__file__", ""))).parent
        for filename, line, message, comments, _context in extract_from_dir(
            str(root), METHODS, keywords=KEYWORDS, comment_tags=("Translators:",), strip_comment_tags=True
        ):
            if isinstance(message, str) and message:
                where = f"{root.name}/{filename}"
                catalog.add(message, locations=[(where, line)], auto_comments=comments)
    return catalog


@dataclass(frozen=True, slots=True)
class Checked:
    """What one operator catalog lacks, and where its placeholders differ from the English."""

    language: str
    missing: tuple[str, ...]
    mismatched: tuple[tuple[str, str, str], ...]
    """(English, translation, why) of each translation the hub will not say."""


def check(translated: Mapping[str, str], own: Mapping[str, str], language: str, template: Catalog) -> Checked:
    """A language's sentences against the template: `translated`, all it has (shipped and
    operator's), for what is missing; `own`, the operator's file, for the placeholders."""
    english = [m.id for m in template if isinstance(m.id, str) and m.id]
    missing = tuple(e for e in english if not translated.get(e))
    unsaid = ((e, own[e], unfit(own[e], e)) for e in english if e in own)
    return Checked(language, missing, tuple((e, said, why) for e, said, why in unsaid if why is not None))


@click.group()
def languages() -> None:
    """The sentences the hub says to customers, and an operator's translations of them."""


@languages.command()
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), help="Write here (default: print).")
def template(output: Path | None) -> None:
    """Write the .pot template of every sentence the hub says: copy it to <language>.po and translate."""
    from babel.messages.pofile import write_po

    catalog = sentences()
    buffer = io.BytesIO()
    write_po(buffer, catalog, width=100, sort_output=True)
    if output is None:
        click.echo(buffer.getvalue().decode("utf-8"), nl=False)
        return
    output.write_bytes(buffer.getvalue())
    click.echo(f"wrote {len(catalog)} sentences to {output}")


@languages.command(name="check")
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
def check_command(folder: Path) -> None:
    """Report, per <language>.po in FOLDER, the sentences missing and the placeholders that differ."""
    from core.languages import Catalogs, read_catalog

    files = sorted(folder.glob("*.po"))
    if not files:
        raise click.ClickException(f"no <language>.po files in {folder}")
    catalog, catalogs = sentences(), Catalogs(folder)
    total = len(catalog)
    broken = False
    for path in files:
        own = read_catalog(path)
        checked = check(catalogs.translations(path.stem), own, path.stem, catalog)
        click.echo(
            f"{path.name}: {len(own)} sentences of its own; {total - len(checked.missing)} of {total} translated "
            f"with the shipped ones; {len(checked.mismatched)} with placeholders it cannot fill"
        )
        for english in checked.missing:
            click.echo(f"  missing: {english}")
        for english, said, why in checked.mismatched:
            click.echo(f"  {why}: {english!r} -> {said!r}")
        broken = broken or bool(checked.mismatched)
    if broken:
        raise SystemExit(1)


COMMANDS = [languages]
