"""Our markdown replies as mail: a threaded `multipart/alternative` message, text and HTML.

Pure: the standard library's `email` package builds the message, the caller sends it. The
plain-text part is `channels.common.plain_text.plain_text` with tables as aligned columns (clients
that show text mail in a monospace font line them up) and the sources under it, one a line
with their URL. The HTML part is the markdown rendered safely (`core.markdown_html`: raw HTML
off, links only for http, https and mailto, images as their alt text, inline styles), in a
small complete document: no scripts, no external resources.

**Threading.** Clients thread a reply by In-Reply-To and References (RFC 5322 §3.6.4: the
parent's References, then the parent's Message-ID). A long thread's References is kept
bounded as clients do: the first id (the thread's root) and the last 19. The three id headers
are written one id a line exactly as given: the standard library folds a header line longer
than 78 characters by turning it into RFC 2047 encoded words, and an Outlook Message-ID
(`<AM0PR…@AM0PR….eurprd04.prod.outlook.com>`) is long enough for that, after which no client
recognises it as an id. So those headers are stored raw, under a policy that does not
refold raw headers (`refold_source="none"`); everything else is folded by `policy.default`.

The hub's own words in a reply — "Sources", the subject of a mail that had none — are in the
language spoken when it is rendered: the outbox sets the conversation's (`core.languages`).
"Re:" stays: every client in every language reads it.

Both parts are quoted-printable and non-ASCII headers RFC 2047-encoded, so the message is
7-bit clean and any relay takes it, with or without 8BITMIME or SMTPUTF8.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.utils import formataddr, formatdate, make_msgid

from channels.common.plain_text import plain_text
from core.languages import N_, _
from core.markdown_html import markdown_html
from core.messages import Citation

DEFAULT_SUBJECT = N_("Your question")
"""The subject of a reply to a mail that had none."""
MAX_REFERENCES = 20
"""Ids in References: the thread's root and the latest 19."""

_POLICY = policy.default.clone(refold_source="none")
_REPLY_PREFIXES = re.compile(r"^(?:\s*(?:re|aw|sv|vs|antw)\s*(?:\[\d+\]|\(\d+\))?\s*:)+", re.IGNORECASE)
"""Reply prefixes in English, German, the Scandinavian languages and Finnish, and Dutch, any
number of them, with a counter ("Re[2]:") or a space before the colon (French "Re :")."""
_MSG_ID = re.compile(r"[!-;=?-~]+")
"""A message id without its <>: printable ASCII, no space, no < or >. Anything else would be
encoded in the header and match nothing."""

_FONT = "-apple-system,BlinkMacSystemFont,'Segoe UI',Helvetica,Arial,sans-serif"
_BODY_STYLE = f"margin:0;padding:16px;font-family:{_FONT};font-size:15px;line-height:1.5;color:#1f2328"
_SOURCES_STYLE = "margin:24px 0 0;padding:12px 0 0;border-top:1px solid #d0d7de;font-size:13px;color:#57606a"
_DOCUMENT = """<!DOCTYPE html>
<html>
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
</head>
<body style="{style}">
{content}</body>
</html>
"""


@dataclass(frozen=True, slots=True)
class ThreadHeaders:
    """The customer's mail we answer, as its headers place our reply in their thread."""

    subject: str
    """The customer's subject as they sent it."""
    in_reply_to: str | None
    """The customer's Message-ID we answer, without <>; None for a mail that starts a thread."""
    references: tuple[str, ...]
    """Their References, without <>, oldest first."""


def reply_subject(subject: str) -> str:
    """ "Re: " and the subject without its reply prefixes ("RE: AW: Billing" → "Re: Billing",
    never "Re: Re:"), whitespace collapsed; "Re: Your question" when nothing is left. A
    forward's "Fwd:" stays: the reply answers the forward."""
    rest = " ".join(_REPLY_PREFIXES.sub("", subject).split())
    return f"Re: {rest or _(DEFAULT_SUBJECT)}"


def email_html(text: str, citations: Sequence[Citation] = ()) -> str:
    """The reply as a complete HTML document: the markdown rendered safely (see the module),
    then "Sources", one a line: a link for a web address, else the name ("Title › Section",
    or the title). With no text and no citations the body is empty: whether to send is the
    caller's decision."""
    content = markdown_html(text) + _html_sources(citations)
    return _DOCUMENT.format(style=_BODY_STYLE, content=content)


def email_text(text: str, citations: Sequence[Citation] = ()) -> str:
    """The reply as plain text: `plain_text(text, aligned_tables=True)`, then "Sources:" and a
    line per source, "Title › Section: URL" or just the name; "" when there is nothing to say."""
    lines = [f"{label}: {url}" if url and url != label else label for label, url in _sources(citations)]
    sources = "\n".join([_("Sources:"), *lines]) if lines else ""
    return "\n\n".join(part for part in (plain_text(text, aligned_tables=True), sources) if part)


def reply_message(
    *,
    text: str,
    citations: Sequence[Citation],
    to: str,
    from_address: str,
    display_name: str,
    domain: str,
    thread: ThreadHeaders,
    automatic: bool,
) -> tuple[EmailMessage, str]:
    """The reply as a message ready to send, and its Message-ID without <> (the caller stores
    it, so that the customer's answer to this mail finds the conversation).

    `multipart/alternative`, text then HTML (clients show the last part they can). In the
    customer's thread when `thread.in_reply_to` is set: In-Reply-To that id, References theirs
    in their order and it last (duplicates dropped, at most MAX_REFERENCES). `automatic` marks a bot
    reply "Auto-Submitted: auto-replied" (RFC 3834), so that well-behaved responders do not
    answer it; a staff member's reply is a person's and carries no such header.
    """
    if not domain:
        raise ValueError("domain is required: make_msgid would use the host's name or an empty one")
    message = EmailMessage(policy=_POLICY)
    message["From"] = formataddr((display_name, from_address))
    message["To"] = to
    message["Subject"] = reply_subject(thread.subject)
    message["Date"] = formatdate(localtime=True)
    message_id = make_msgid(domain=domain).strip("<>")
    message.set_raw("Message-ID", f"<{message_id}>")
    for name, ids in _thread_ids(thread):
        message.set_raw(name, "\n ".join(f"<{id_}>" for id_ in ids))
    if automatic:
        message["Auto-Submitted"] = "auto-replied"
    message.set_content(email_text(text, citations), cte="quoted-printable")
    message.add_alternative(email_html(text, citations), subtype="html", cte="quoted-printable")
    return message, message_id


# -- html ------------------------------------------------------------------------------------


def _html_sources(citations: Sequence[Citation]) -> str:
    sources = _sources(citations)
    if not sources:
        return ""
    items = "".join(f"<li>{_source_html(label, url)}</li>\n" for label, url in sources)
    heading = html.escape(_("Sources"))
    return (
        f'<div style="{_SOURCES_STYLE}">\n<p style="margin:0"><strong>{heading}</strong></p>\n'
        f'<ul style="margin:4px 0 0;padding-left:20px">\n{items}</ul>\n</div>\n'
    )


def _source_html(label: str, url: str | None) -> str:
    return f'<a href="{html.escape(url)}">{html.escape(label)}</a>' if url else html.escape(label)


# -- shared ----------------------------------------------------------------------------------


def _sources(citations: Sequence[Citation]) -> list[tuple[str, str | None]]:
    """(label, web address or None) per distinct source, in order. The label is
    "Title › Section", the title when there is no section (or it repeats the title), else the
    source itself."""
    out: dict[tuple[str, str | None], None] = {}
    for citation in citations:
        title, section = " ".join(citation.title.split()), " ".join(citation.section.split())
        label = " › ".join(part for part in (title, "" if section == title else section) if part)
        url = citation.link
        out[label or citation.source, url] = None
    return list(out)


def _thread_ids(thread: ThreadHeaders) -> list[tuple[str, list[str]]]:
    """In-Reply-To and References, each a list of valid ids; none for a new thread. The parent
    comes last in References even when their References already named it (a client's quirk),
    so the bound never drops it."""
    if thread.in_reply_to is None:
        return []
    parent = thread.in_reply_to.strip().strip("<>")
    theirs = (id_.strip().strip("<>") for id_ in thread.references)
    ids = [id_ for id_ in dict.fromkeys([*(id_ for id_ in theirs if id_ != parent), parent]) if _MSG_ID.fullmatch(id_)]
    if len(ids) > MAX_REFERENCES:
        ids = [ids[0], *ids[-(MAX_REFERENCES - 1) :]]
    headers = [("In-Reply-To", [parent])] if _MSG_ID.fullmatch(parent) else []
    return [*headers, ("References", ids)] if ids else headers
