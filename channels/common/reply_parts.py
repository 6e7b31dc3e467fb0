"""A reply written for a chat platform (WhatsApp, Messenger, Instagram) fitted to the longest
text one message takes there: the answer, then its sources on one line ("Sources: Refunds
(https://…); Shipping", at most three).

`parts` sends a longer reply in several messages, cut between paragraphs, else lines, else
words, the sources after the last. `one_message` keeps what one message must hold (a question
with buttons, a template's parameter): the longest beginning that fits, then "(cut short)" and
the sources.
"""

from __future__ import annotations

from collections.abc import Sequence

from core.languages import N_, _
from core.messages import Citation

MAX_SOURCES = 3
CUT_SHORT = N_("(cut short)")


def parts(answer: str, sources: str, *, max_chars: int) -> list[str]:
    """`answer` (already written for the platform) and the `sources` line as the messages they
    are sent in, each within `max_chars`: one when it fits."""
    full = "\n\n".join(part for part in (answer, sources) if part)
    if len(full) <= max_chars:
        return [full]
    found: list[str] = []
    rest = answer
    while len(rest) > max_chars:
        head = _cut(rest, max_chars)
        found.append(head)
        rest = rest[len(head) :].lstrip()
    tail = "\n\n".join(part for part in (rest, sources) if part)
    if len(tail) <= max_chars:
        return [*found, tail]
    return [*found, rest, sources[:max_chars]] if rest else [*found, sources[:max_chars]]


def one_message(answer: str, sources: str, *, max_chars: int) -> str:
    """`answer` and `sources` as one message within `max_chars` (see the module)."""
    full = "\n\n".join(part for part in (answer, sources) if part)
    if len(full) <= max_chars:
        return full
    tail = "\n\n".join(part for part in (_(CUT_SHORT), sources) if part)
    room = max_chars - len(tail) - 2
    if room <= 0:
        return full[:max_chars]
    return _cut(answer, room) + "\n\n" + tail


def sources_line(citations: Sequence[Citation]) -> str:
    """Distinct sources in order, each its title with its link when it has one."""
    named: dict[str, str] = {}
    for citation in citations:
        title = " ".join(citation.title.split())
        if title and title not in named:
            named[title] = f"{title} ({citation.link})" if citation.link else title
    shown = list(named.values())[:MAX_SOURCES]
    if not shown:
        return ""
    joined = "; ".join(shown)
    return _("Source: {title}", title=joined) if len(shown) == 1 else _("Sources: {titles}", titles=joined)


def _cut(text: str, room: int) -> str:
    """The longest beginning of `text` within `room` that ends a paragraph, else a line, else a word."""
    head = text[:room]
    for boundary in ("\n\n", "\n", " "):
        end = head.rfind(boundary)
        if end > room // 2:
            return head[:end].rstrip()
    return head.rstrip()
