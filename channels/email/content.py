"""Inbound mail as what the hub needs from it: who wrote, which thread, the new text only,
the files, and whether software sent it.

Pure: bytes in, a `ParsedMail` out, parsed with the standard library's `email.policy.default`
(headers decoded, addresses and parameters parsed). The caller decides what to do with it;
nothing here trusts the From header (`dmarc_passed` reads the receiving server's verdict).

**The new text.** text/plain is preferred: every major client sends it beside the HTML, and
it is what the reply parsers were built on. HTML-only mail first loses, in the DOM, what
clients mark whatever the language: Gmail's `.gmail_quote`, Apple Mail's and Thunderbird's
`blockquote[type=cite]`, Outlook's `#appendonsend` / `#divRplyFwdMsg` and the ruled "From: …
Sent: …" block of the desktop app, each with everything after it (Outlook puts the quoted mail
after these, not inside them), and Outlook's signature blocks. Then it becomes text with
markdownify over BeautifulSoup (links kept as `[text](url)`, a `<div>` as a line): both MIT and
already installed with markitdown; html2text, the usual choice, is GPL-3.0. The desktop block
is found by Outlook's rule above it rather than by its words, so a Spanish "De: … Enviado: …"
goes too; English and German ones would also be caught by the reply parser below.

Quoted history and signatures are then cut with mail-parser-reply. Compared on the samples in
`tests/fixtures/email/` (text/plain parts; "right" = exactly the customer's new text):

    candidate                          right  misses
    mail-parser-reply (en, de)           5/7  cuts a hyphen list as a signature (Apple);
                                              "thanks, that worked!" taken for a sign-off
      + keep_hyphen_lists                6/7  the "thanks, …" sentence
      + sentence guard (this module)     7/7
    email-reply-parser 0.5.12            3/7  no German attribution or header lines; keeps
                                              sign-offs and "Get Outlook for iOS"
    quotequail 0.5.4                     0/7  keeps every attribution line, Outlook's header
                                              block and every signature
    a line-regex heuristic               4/7  Gmail's attribution wrapped over two lines,
                                              sign-offs ("Best regards", "Viele Grüße")

Counting only whether the quote went: email-reply-parser 5/7, the heuristic 6/7, quotequail 0/7.

mail-parser-reply (MIT, no dependencies, 2025) finds the attribution lines of Gmail, Apple
Mail and Outlook in English and German, wrapped or quoted, and Outlook's header block with and
without the underscore line. Two of its defaults cut customers' words, so this module changes
them: hyphen lists are kept (`keep_hyphen_lists`: "- tried another browser" is not a
signature), and a line its signature pattern matches only because it starts with a closing
word ("Thanks,", "Grüße") is skipped when it reads as a sentence (`_is_sign_off`). Only English
and German are enabled: its Danish signatures ("Tak", "Kh") and Swedish ("/word") match the
start of ordinary English lines ("Take…", "Khan…", "/settings"), and its Polish header pattern
fires on a single "Data:" line.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.header import decode_header, make_header
from email.message import EmailMessage, MIMEPart
from email.policy import Policy
from email.utils import parseaddr
from urllib.parse import unquote

import mailparser_reply
from bs4 import BeautifulSoup, Tag
from markdownify import MarkdownConverter

from core.clean_text import clean
from core.messages import Attachment

LANGUAGES = ("en", "de")
"""The languages whose reply headers and sign-offs are recognised (see the module docstring)."""
MAX_PARTS = 200
"""MIME parts (the containers counted) a mail may have: the parser spends about 0.4 ms of CPU
on each, so a mail of 60,000 tiny parts took 24 s; a person's mail has a handful, and at most
`attachments.max_files` (≤ 50) of its files are read anyway."""
MAX_BODY_CHARS = 200_000
"""How much of the body is taken apart for its new text: converting HTML costs about 3 µs a
character (a 5 MB HTML body took 15 s) and the reply parser about 0.4 µs. The new text is at
the top, the quoted history under it, and the hub keeps at most `email.max_text_length`
(≤ 100,000) characters of it."""

_QUOTE_BLOCKS = ".gmail_quote, blockquote[type=cite], .moz-cite-prefix"
"""Gmail's, Apple Mail's and Thunderbird's quotes with their attribution lines: removed with
what they contain."""
_SIGNATURE_BLOCKS = "#Signature, #ms-outlook-mobile-signature"
"""Outlook's signatures, which lack the "-- " line that marks Gmail's and Thunderbird's."""
_QUOTE_STARTS = '#appendonsend, #divRplyFwdMsg, div[style*="border-top:solid #E1E1E1" i]'
"""Where Outlook's quoted mail begins: the web and mobile apps' markers, and the rule above the
desktop app's "From: … Sent: …" block. Outlook puts the quoted mail after these, not inside,
so they are removed with everything after them."""
_SPACE_RUN = re.compile(r"(?<=\S)[ \t]{2,}(?=\S)")
"""Spaces inside a line of converted HTML, where the browser would show one."""

_SUBJECT_PREFIXES = re.compile(r"^(?:\s*(?:re|fwd?|aw|wg|sv|vs)\s*(?:\[\d+\]|\(\d+\))?\s*:)+", re.IGNORECASE)
_FORWARD = re.compile(r"\s*(?:fwd?|wg)\s*(?:\[\d+\]|\(\d+\))?\s*:", re.IGNORECASE)
"""A subject that starts as a forward ("Fwd:", "FW:", German "WG:"), not as a reply to one."""
_MESSAGE_ID = re.compile(r"<([^<>\s]+)>")
MAX_ADDRESS_LENGTH = 254
_CID = re.compile(r"cid:([^\"'\s>)]+)", re.IGNORECASE)
_NULL_PATH = re.compile(r"<\s*>")
_BULK_PRECEDENCE = frozenset({"bulk", "list", "junk"})
_MACHINE_LOCAL_PARTS = frozenset({"mailerdaemon", "postmaster", "noreply", "donotreply"})
"""Local parts with "-", "_" and "." removed: mailer-daemon, no-reply, do_not_reply…"""
_SENTENCE_END = (".", "!", "?", ":", ";")
_MAX_SIGN_OFF_WORDS = 6
"""'Mit freundlichen Grüßen / Best regards,' is six; a wrapped line of prose has more."""


class _MailMarkdown(MarkdownConverter):
    """markdownify with a <div> as a line rather than a paragraph: mail clients write one div
    per line and `<div><br></div>` for a blank one."""

    def convert_div(self, el: Tag, text: str, parent_tags: set[str]) -> str:
        line = text.strip(" \t\r\n")
        return f"\n{line}\n" if line else "\n\n"


_MARKDOWN = _MailMarkdown(strip=["img", "hr"], escape_asterisks=False, escape_underscores=False, heading_style="ATX")
"""Images say nothing in text, and a rule is mostly the line Outlook draws above a quote."""


class TooManyParts(ValueError):
    """A mail of more than MAX_PARTS MIME parts, left unparsed: refused, not answered."""

    def __init__(self) -> None:
        super().__init__(f"more than {MAX_PARTS} MIME parts")


class _CountedParts:
    """The parser's message factory: one message a part, and TooManyParts past MAX_PARTS, so a
    mail of 60,000 parts stops costing CPU at the 201st."""

    def __init__(self) -> None:
        self._made = -1  # the parser makes one to try the factory's signature

    def __call__(self, *, policy: Policy) -> EmailMessage:
        self._made += 1
        if self._made > MAX_PARTS:
            raise TooManyParts
        return EmailMessage(policy=policy)


@dataclass(frozen=True, slots=True)
class ParsedMail:
    message_id: str
    """The Message-ID without <>, or "sha256-<hex>" of the raw bytes when there is none: the
    same mail delivered twice has the same id either way."""
    sender: str
    """The From address, lower-cased; "" when the mail has none (then `automatic` says so)."""
    sender_name: str | None
    subject: str
    thread_subject: str
    """The subject without Re:/Fwd:/AW:/… prefixes, whitespace collapsed, lower-cased: what
    threads a reply whose client dropped In-Reply-To and References."""
    in_reply_to: tuple[str, ...]
    references: tuple[str, ...]
    """Message-IDs without <>, oldest first, as the header lists them."""
    text: str
    """What the sender wrote in this mail: quoted history and signature removed."""
    attachments: tuple[Attachment, ...]
    """Files, in the mail's order; inline images and unnamed parts are left out."""
    automatic: str | None
    """Why software sent this mail and it must never be answered, or None for a person's mail."""
    authentication_results: str | None
    """The topmost Authentication-Results header (the receiving server's), for `dmarc_passed`."""


def parse_mail(raw: bytes) -> ParsedMail:
    """A received message as the hub sees it. Raises only TooManyParts; never on odd mail:
    missing headers give empty values, unknown charsets are read as UTF-8, and a message the
    standard library cannot parse at all comes back empty with `automatic` saying so, to be
    recorded, not answered. CPU-bound (BeautifulSoup takes 0.35 s for 60 KB of HTML): call it
    off the event loop."""
    try:
        # the parser calls its factory with policy= (email.feedparser); typeshed says without arguments
        message = message_from_bytes(raw, _CountedParts(), policy=policy.default)  # type: ignore[arg-type]
    except TooManyParts:
        raise
    except Exception as error:  # noqa: BLE001 — the parser's own bugs on malformed MIME ("Content-Type: x/y; name*")
        return _unreadable(raw, error)
    sender, sender_name = _from(message)
    subject = _header(message, "Subject") or ""
    body = _body(message)
    return ParsedMail(
        message_id=_message_id(message, raw),
        sender=sender,
        sender_name=sender_name,
        subject=subject,
        thread_subject=_thread_subject(subject),
        in_reply_to=_ids(message, "In-Reply-To"),
        references=_ids(message, "References"),
        text=_body_text(body, forward=_FORWARD.match(subject) is not None) if body is not None else "",
        attachments=_attachments(message, body),
        automatic=_why_automatic(message, sender),
        authentication_results=_header(message, "Authentication-Results"),
    )


def _unreadable(raw: bytes, error: Exception) -> ParsedMail:
    return ParsedMail(
        message_id=_hash_id(raw),
        sender="",
        sender_name=None,
        subject="",
        thread_subject="",
        in_reply_to=(),
        references=(),
        text="",
        attachments=(),
        automatic=f"unreadable: the standard library's parser failed ({type(error).__name__}: {error})",
        authentication_results=None,
    )


def dmarc_passed(authentication_results: str | None, from_domain: str) -> bool:
    """Whether the receiving server found that DMARC passed for `from_domain`: every dmarc
    result in the header is "pass" for that header.from domain, and there is at least one.

    Only meaningful for a header our own receiving server wrote: a sender can put any
    Authentication-Results header into its mail, so the caller must know that its server
    adds one above them (or removes theirs)."""
    if not authentication_results:
        return False
    verdicts = [_dmarc_verdict(resinfo) for resinfo in re.sub(r"\([^()]*\)", " ", authentication_results).split(";")]
    found = [verdict for verdict in verdicts if verdict is not None]
    return bool(found) and all(verdict == ("pass", from_domain.lower()) for verdict in found)


def _dmarc_verdict(resinfo: str) -> tuple[str, str] | None:
    """("pass", "example.com") for "dmarc=pass header.from=example.com"; None for another method."""
    result = re.match(r"\s*dmarc\s*=\s*(\w+)", resinfo, re.IGNORECASE)
    if result is None:
        return None
    domain = re.search(r"\bheader\.from\s*=\s*\"?([^\s\";]+)", resinfo, re.IGNORECASE)
    return result.group(1).lower(), domain.group(1).lower() if domain else ""


# -- headers -----------------------------------------------------------------------------------


def _header(message: MIMEPart, name: str) -> str | None:
    """The first header of that name, decoded and unfolded; None when absent. The standard
    library's header parser fails on some malformed headers (an IndexError or AttributeError
    deep inside it, found by fuzzing the samples), and on an encoded word that decodes to a
    lone surrogate (UTF-7 holding half an emoji): such a header's encoded words are decoded
    the older way, or failing that it is read as its raw text. What is kept is cleaned
    (`core.clean_text`): NULs dropped, bytes that are not UTF-8 (the parser keeps them as
    surrogates) and lone surrogates U+FFFD, so a header is text a database takes."""
    try:
        value = message.get(name)
    except Exception:  # noqa: BLE001 — only the standard library's header parser runs here
        raw = next((raw for key, raw in message.raw_items() if key.lower() == name.lower()), None)
        value = None if raw is None else _words_decoded(raw)
    return None if value is None else clean("".join(str(value).splitlines()).strip())


def _words_decoded(raw: str) -> str:
    try:
        return str(make_header(decode_header(raw)))
    except Exception:  # noqa: BLE001 — the same parser's older half; whatever it cannot read stays raw
        return raw


def _thread_subject(subject: str) -> str:
    """ "Re: AW: Fwd: Re[2]:  Billing  question" → "billing question"."""
    return " ".join(_SUBJECT_PREFIXES.sub("", subject).split()).lower()


def _from(message: MIMEPart) -> tuple[str, str | None]:
    """The sender's address ("" when it is longer than an address can be: RFC 5321's 254
    characters) and display name (at most 200 characters, as contacts keep it)."""
    name, address = parseaddr(_header(message, "From") or "")
    return (address.lower() if len(address) <= MAX_ADDRESS_LENGTH else ""), name[:200] or None


def _message_id(message: MIMEPart, raw: bytes) -> str:
    """The Message-ID without its brackets; a digest of the mail when there is none, or when
    it is longer than the 255 characters a message's id is stored in."""
    value = _header(message, "Message-ID") or ""
    bracketed = _MESSAGE_ID.search(value)
    found = bracketed.group(1) if bracketed else value
    return found if 0 < len(found) <= 255 else _hash_id(raw)


def _hash_id(raw: bytes) -> str:
    return f"sha256-{hashlib.sha256(raw).hexdigest()}"


def _ids(message: MIMEPart, name: str) -> tuple[str, ...]:
    return tuple(_MESSAGE_ID.findall(_header(message, name) or ""))


def _why_automatic(message: MIMEPart, sender: str) -> str | None:
    """The first sign that software sent the mail, in the order of the checks below."""
    auto_submitted = _header(message, "Auto-Submitted")
    if auto_submitted is not None and _token(auto_submitted) != "no":
        return f"Auto-Submitted: {auto_submitted}"
    for name in ("X-Autoreply", "X-Autorespond"):
        if name in message:
            return f"{name}: {_header(message, name)}"
    precedence = _header(message, "Precedence")
    if precedence is not None and _token(precedence) in _BULK_PRECEDENCE:
        return f"Precedence: {precedence}"
    if "List-Id" in message:
        return f"List-Id: {_header(message, 'List-Id')}"
    if _NULL_PATH.fullmatch(_header(message, "Return-Path") or ""):
        return "Return-Path: <> (a bounce or a notification)"
    if message.get_content_type() == "multipart/report":
        return f"a delivery report (multipart/report; report-type={message.get_param('report-type')})"
    if any(part.get_content_type() == "message/delivery-status" for part in _leaves(message)):
        return "a delivery report (message/delivery-status)"
    return _machine_sender(sender)


def _machine_sender(sender: str) -> str | None:
    if not sender:
        return "no From address"
    local_part = sender.partition("@")[0].partition("+")[0]
    if re.sub(r"[-_.]", "", local_part) in _MACHINE_LOCAL_PARTS:
        return f"sent from {sender}"
    return None


def _token(value: str) -> str:
    """The first word of a header value, lower-cased: "auto-replied" in "auto-replied (vacation)"."""
    match = re.match(r"\s*([\w-]*)", value)
    return match.group(1).lower() if match else ""


# -- the text ----------------------------------------------------------------------------------


def _body(message: MIMEPart) -> MIMEPart | None:
    """The first text/plain part that is not an attached file, else the first text/html one."""
    texts = [
        part
        for part in _leaves(message)
        if part.get_content_type() in ("text/plain", "text/html") and not part.is_attachment()
    ]
    return next((part for part in texts if part.get_content_subtype() == "plain"), texts[0] if texts else None)


def _body_text(body: MIMEPart, *, forward: bool) -> str:
    """The new text of the body part; all of it for a forward (what was forwarded is the
    point: a courier's notice, an invoice mail) or when stripping would leave nothing."""
    content = _decoded(body)[:MAX_BODY_CHARS]
    html = body.get_content_subtype() == "html"
    if not forward:
        new_text = _new_text(_html_text(content, keep_quotes=False) if html else content)
        if new_text:
            return new_text
    return _tidy(_html_text(content, keep_quotes=True) if html else content)


def _decoded(part: MIMEPart) -> str:
    try:
        return str(part.get_content())
    except (LookupError, ValueError):  # a charset Python does not know ("unknown-8bit"): mostly UTF-8
        return bytes(part.get_payload(decode=True)).decode("utf-8", errors="replace")


def _html_text(html: str, *, keep_quotes: bool) -> str:
    soup = BeautifulSoup(html, "html.parser")
    for mail_link in soup.select('a[href^="mailto:" i]'):  # "[a@b.example](mailto:a@b.example)"
        mail_link.unwrap()
    if not keep_quotes:
        for block in soup.select(f"{_QUOTE_BLOCKS}, {_SIGNATURE_BLOCKS}"):
            block.extract()
        start = soup.select_one(_QUOTE_STARTS)
        if start is not None:
            _cut_from(start)
    return _SPACE_RUN.sub(" ", _MARKDOWN.convert_soup(soup))


def _cut_from(start: Tag) -> None:
    """Removes `start` and everything after it in the document."""
    for element in (start, *start.parents):
        for sibling in list(element.next_siblings):
            sibling.extract()
    start.extract()


def _new_text(text: str) -> str:
    """The text before the first quote header and the signature ("" when nothing is left)."""
    parsed = mailparser_reply.EmailMessage(text=text, languages=list(LANGUAGES), keep_hyphen_lists=True).read()
    reply = parsed.replies[0]
    body = reply.full_body
    body = body[: _signature_start(body, parsed.SIGNATURE_REGEX)]
    for disclaimer in reply.disclaimers:
        body = body.replace(disclaimer, "")
    return _tidy(body)


def _signature_start(text: str, signature: re.Pattern[str]) -> int:
    """Where the signature begins, or the end of `text`. mail-parser-reply's pattern matches
    any line starting with a closing word, so a match that reads as a sentence ("thanks, that
    worked!") is passed over and the search goes on from the next line."""
    position = 0
    while match := signature.search(text, position):
        line_start = match.end() - len(match.group().lstrip())
        line_end = text.find("\n", line_start)
        if _is_sign_off(text[line_start : line_end if line_end >= 0 else len(text)]):
            return match.start()
        if line_end < 0:
            break
        position = line_end + 1
    return len(text)


def _is_sign_off(line: str) -> bool:
    """ "Best regards,", "-- ", "Sent from my iPhone": a few words, not ending like a sentence."""
    return len(line.split()) <= _MAX_SIGN_OFF_WORDS and not line.rstrip().endswith(_SENTENCE_END)


def _tidy(text: str) -> str:
    """Line ends and trailing spaces normalized, runs of blank lines made one."""
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


# -- attachments -------------------------------------------------------------------------------


def _attachments(message: MIMEPart, body: MIMEPart | None) -> tuple[Attachment, ...]:
    leaves = list(_leaves(message))
    referenced = {
        unquote(cid).lower()
        for part in leaves
        if part.get_content_type() == "text/html"
        for cid in _CID.findall(_decoded(part))
    }
    return tuple(
        Attachment(filename=filename, content_type=part.get_content_type(), data=_data(part))
        for part in leaves
        if part is not body and (filename := part.get_filename()) and not _inline_image(part, referenced)
    )


def _leaves(part: MIMEPart) -> Iterator[MIMEPart]:
    """The parts that hold content, in order; an attached message is one part, not opened."""
    if part.get_content_maintype() == "multipart":
        for subpart in part.iter_parts():
            yield from _leaves(subpart)
    else:
        yield part


def _inline_image(part: MIMEPart, referenced: set[str]) -> bool:
    """An image shown in the HTML (a logo, a pasted picture) rather than a file sent along."""
    content_id = _MESSAGE_ID.search(_header(part, "Content-ID") or "")
    if part.get_content_maintype() != "image" or content_id is None:
        return False
    return part.get_content_disposition() == "inline" or content_id.group(1).lower() in referenced


def _data(part: MIMEPart) -> bytes:
    if part.get_content_type() == "message/rfc822":  # a forwarded mail, as an .eml file
        return bytes(part.get_content().as_bytes())
    return bytes(part.get_payload(decode=True) or b"")
