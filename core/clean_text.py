"""Text from outside made storable, once, where it enters the hub (`core.pipeline.hub.Hub`).

Two kinds of character arrive legally and are kept by no database: NUL (U+0000), which
PostgreSQL's text type refuses ("invalid byte sequence for encoding UTF8: 0x00"), and lone
surrogates (U+D800-U+DFFF without their other half), which are not Unicode text at all, so
nothing that encodes UTF-8 takes them: SQLite's and PostgreSQL's drivers, a model's API, a
reply's mail. JSON escapes both (`\\u0000`, `\\ud800`), a UTF-7 mail decodes to a lone
surrogate, and the email parser keeps a header byte it cannot decode as one. Left in, the
message fails to store every time it comes: a mail is refused with 451 until the sender's
server gives up days later, a webhook answers 500 or drops it.

So every string a channel hands the hub that may be stored or looked up is cleaned here, the
same way on every channel and both databases: NUL is dropped (no person typed it), a lone
surrogate becomes U+FFFD (the replacement character, as a decoder shows a broken byte), and a
pair that arrived as two halves is joined. Lookups are cleaned too, so they find what was stored.
Nothing else changes: other control characters store fine, and refusing them is each
channel's call. Ids are cleaned like the rest: the platforms' own (Telegram's, Slack's,
Twilio's) never hold these characters; an email address can, and two that differ only there
become one sender, an unverified one (a From: line proves nothing anyway).
"""

from __future__ import annotations

import re
from dataclasses import replace

from core.messages import Address, Attachment, InboundMessage

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def clean(text: str) -> str:
    """`text` without NUL and with lone surrogates replaced; itself when it holds neither."""
    if _UNSTORABLE.search(text) is None:
        return text
    # UTF-16 with surrogatepass joins a pair split into two code points; `replace` turns
    # what is left unpaired into U+FFFD
    return text.replace("\x00", "").encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")


def clean_optional(text: str | None) -> str | None:
    return None if text is None else clean(text)


def clean_address(address: Address) -> Address:
    return replace(address, chat_id=clean(address.chat_id), thread_id=clean_optional(address.thread_id))


def clean_message(message: InboundMessage) -> InboundMessage:
    """Every string of `message` cleaned: the text, the sender's name and ids, where it goes,
    its files' names and types."""
    return replace(
        message,
        address=clean_address(message.address),
        external_id=clean(message.external_id),
        sender_id=clean(message.sender_id),
        text=clean(message.text),
        sender_name=clean_optional(message.sender_name),
        attachments=tuple(_clean_attachment(a) for a in message.attachments),
        verified_email=clean_optional(message.verified_email),
        verified_phone=clean_optional(message.verified_phone),
    )


def _clean_attachment(attachment: Attachment) -> Attachment:
    return replace(
        attachment,
        filename=clean(attachment.filename),
        content_type=clean(attachment.content_type),
        problem=clean_optional(attachment.problem),
    )
