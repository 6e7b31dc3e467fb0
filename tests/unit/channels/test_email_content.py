"""Inbound mail on recorded samples: replies from Gmail, Outlook, Apple Mail and German clients
reduced to their new text, HTML-only mail, ids and threading headers, attachments, automatic
mail, and the DMARC verdict."""

from __future__ import annotations

from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from channels.email.content import MAX_BODY_CHARS, ParsedMail, dmarc_passed, parse_mail

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "email"

NEW_TEXT = {
    "gmail_reply": "Hi,\n\nthe invoice still shows my old address. Could you change it?",
    "gmail_reply_de": "Hallo,\n\ndie Rechnung ging wieder an die alte Adresse. Bitte ändern Sie das.",
    "outlook_reply": "Hi,\n\nyes, please cancel the second subscription.",
    "outlook_mobile_reply": "Hi,\n\nthanks, that worked! I can log in again.",
    "outlook_reply_de": "Hallo,\n\ndie Lieferung ist heute angekommen, aber ein Karton fehlt noch.",
    "apple_mail_reply": (
        "The parcel went to my old address. What I tried:\n- the tracking link\n- calling the courier\n\nCarla"
    ),
    "iphone_reply": "Yes, please send it again.",
}
"""Each reply's new text: no attribution line, quote, Outlook header block or signature, and
nothing of what the customer wrote lost ("thanks, that worked!", a hyphen list)."""


def sample(name: str) -> bytes:
    return (FIXTURES / f"{name}.eml").read_bytes()


def mail(
    headers: str = "",
    *,
    sender: str = "Anna <anna@example.org>",
    content_type: str = "text/plain",
    body: str = "Hello, my order has not arrived.",
) -> bytes:
    """A minimal mail from a person; `headers` are extra header lines, each ending in a newline."""
    return (
        f"From: {sender}\nTo: support@example.com\nSubject: Order\nMessage-ID: <1@example.org>\n"
        f"{headers}MIME-Version: 1.0\nContent-Type: {content_type}\n\n{body}\n"
    ).encode()


def html_only(raw: bytes) -> bytes:
    """The same mail with only its HTML alternative, as an HTML-only client would send it."""
    original = message_from_bytes(raw, policy=policy.default)
    html = original.get_body(preferencelist=("html",))
    assert html is not None
    message = EmailMessage()
    for name, value in original.items():
        if name.lower() not in {"content-type", "content-transfer-encoding", "mime-version"}:
            message[name] = value
    message.set_content(html.get_content(), subtype="html")
    return bytes(message)


# -- the new text ------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "text"), NEW_TEXT.items())
def test_a_reply_is_reduced_to_the_new_text(name: str, text: str) -> None:
    assert parse_mail(sample(name)).text == text


@pytest.mark.parametrize(
    ("body", "text"),
    [
        pytest.param("Hi,\n\nThanks, that worked!\n\nAnna", "Hi,\n\nThanks, that worked!\n\nAnna", id="short-sentence"),
        pytest.param(
            "Hi,\n\nThanks, the invoice is right now but the export of my orders still\nfails with error 504."
            "\n\nBest regards,\nAnna",
            "Hi,\n\nThanks, the invoice is right now but the export of my orders still\nfails with error 504.",
            id="wrapped-sentence-then-sign-off",
        ),
    ],
)
def test_a_sentence_starting_with_a_closing_word_is_not_a_signature(body: str, text: str) -> None:
    assert parse_mail(mail(body=body)).text == text


@pytest.mark.parametrize("name", sorted(set(NEW_TEXT) - {"outlook_reply_de"}))
def test_the_html_alternative_alone_gives_the_same_text(name: str) -> None:
    assert parse_mail(html_only(sample(name))).text == NEW_TEXT[name]


def test_html_only_mail_becomes_text_without_the_quoted_mail_or_signature() -> None:
    parsed = parse_mail(sample("outlook_web_html_only"))

    assert parsed.text == (
        "Hello,\n\nthe export still fails with **error 504** in Firefox 134. "
        "See [the export page](https://app.example.com/exports/981)."
    )


@pytest.mark.parametrize(
    ("html", "text"),
    [
        pytest.param(
            '<div dir="ltr">Merci, c\'est réglé.</div><br><div class="gmail_quote"><div dir="ltr" '
            'class="gmail_attr">Le lun. 5 janv. 2026 à 10:00, Example Support &lt;<a href="mailto:'
            'support@example.com">support@example.com</a>&gt; a écrit :<br></div><blockquote '
            'class="gmail_quote">Bonjour,<br>votre colis est parti.</blockquote></div>',
            "Merci, c'est réglé.",
            id="gmail-french",
        ),
        pytest.param(
            '<p>Dank je, het werkt weer.</p><div class="moz-cite-prefix">Op 05-01-2026 om 10:00 '
            'schreef Example Support:<br></div><blockquote type="cite">Hallo,<br>probeer het opnieuw.'
            "</blockquote>",
            "Dank je, het werkt weer.",
            id="thunderbird-dutch",
        ),
        pytest.param(
            '<div class="WordSection1"><p class="MsoNormal">Sí, por favor.<o:p></o:p></p><div><div '
            'style="border:none;border-top:solid #E1E1E1 1.0pt;padding:3.0pt 0cm 0cm 0cm"><p class='
            '"MsoNormal"><b>De:</b> Example Support &lt;support@example.com&gt;<br><b>Enviado el:</b> '
            "lunes, 5 de enero de 2026 10:00<br><b>Asunto:</b> RE: Pedido</p></div></div><p class="
            '"MsoNormal">Hola,</p><p class="MsoNormal">¿Cancelamos el pedido?</p></div>',
            "Sí, por favor.",
            id="outlook-desktop-spanish",
        ),
        pytest.param(
            '<div dir="ltr">Grazie, ora funziona.</div><div id="ms-outlook-mobile-signature">Scarica '
            '<a href="https://aka.ms/o0ukef">Outlook per iOS</a></div><hr style="display:inline-block">'
            '<div id="divRplyFwdMsg" dir="ltr"><b>Da:</b> Example Support<br><b>Inviato:</b> lunedì '
            "5 gennaio 2026 10:00</div><div>Buongiorno,<br>riprovi per favore.</div>",
            "Grazie, ora funziona.",
            id="outlook-mobile-italian",
        ),
        pytest.param(
            '<div>Obrigado!</div><div id="appendonsend"></div><div><b>De:</b> Example Support<br>'
            "<b>Enviada:</b> segunda-feira</div><div>Olá,<br>tente de novo.</div>",
            "Obrigado!",
            id="outlook-appendonsend-portuguese",
        ),
    ],
)
def test_quotes_that_clients_mark_in_html_go_whatever_the_language(html: str, text: str) -> None:
    assert parse_mail(mail(content_type="text/html; charset=utf-8", body=html)).text == text


def test_a_table_keeps_its_rows() -> None:
    html = (
        "<p>My orders:</p><table><tr><th><div>Order</div></th><th><div>Status</div></th></tr>"
        "<tr><td><div>10442</div></td><td><div>missing</div></td></tr></table>"
    )

    assert parse_mail(mail(content_type="text/html", body=html)).text == (
        "My orders:\n\n| Order | Status |\n| --- | --- |\n| 10442 | missing |"
    )


def test_mail_links_become_the_address() -> None:
    html = '<div>Please write to <a href="mailto:billing@fabrikam.example">billing@fabrikam.example</a>.</div>'

    assert parse_mail(mail(content_type="text/html", body=html)).text == "Please write to billing@fabrikam.example."


def test_a_disclaimer_is_removed() -> None:
    body = (
        "Please cancel my order.\n\nDisclaimer: This email and any attachments are confidential and "
        "intended solely for the addressee."
    )

    assert parse_mail(mail(body=body)).text == "Please cancel my order."


@pytest.mark.parametrize("content_type", ["text/plain", "text/html"])
def test_only_the_top_of_a_huge_body_is_taken_apart(content_type: str) -> None:
    """A 5 MB HTML body took 15 s of CPU to convert; the new text is at the top anyway."""
    line = "<div>How do I reset my password?</div>" if content_type == "text/html" else "How do I reset my password?"
    parsed = parse_mail(mail(content_type=content_type, body="\n".join([line] * 150_000)))

    assert parsed.text.startswith("How do I reset my password?") and len(parsed.text) <= MAX_BODY_CHARS


def test_a_forward_keeps_what_was_forwarded() -> None:
    assert parse_mail(sample("gmail_forward")).text == (
        "Is this about my order 10442?\n\n"
        "---------- Forwarded message ---------\n"
        "From: Courier Notifications <noreply@notify.courier.example>\n"
        "Date: Mon, Jan 5, 2026 at 9:00 AM\n"
        "Subject: Delivery delayed: parcel 00340434161094042557\n"
        "To: <anna.schmidt@gmail.com>\n\n"
        "Your parcel from Example Shop will arrive two days later than planned."
    )


def test_a_mail_that_is_all_quote_keeps_its_text() -> None:
    html = '<div class="gmail_quote">On Mon, Jan 5, 2026 at 10:00 AM Bob wrote:<blockquote>Hi</blockquote></div>'

    parsed = parse_mail(mail(content_type="text/html", body=html))

    assert parsed.text == "On Mon, Jan 5, 2026 at 10:00 AM Bob wrote:\n> Hi"


def test_an_unknown_charset_is_read_as_utf8() -> None:
    raw = mail(content_type="text/plain; charset=unknown-8bit", body="Grüße aus Köln")

    assert parse_mail(raw).text == "Grüße aus Köln"


# -- headers -----------------------------------------------------------------------------------


def test_the_headers_of_a_reply() -> None:
    parsed = parse_mail(sample("outlook_reply_de"))

    assert parsed.message_id == "FR3P281MB12349C8D7E6F5A4B3C2D1E0F9A8B7C6D@FR3P281MB1234.DEUP281.PROD.OUTLOOK.COM"
    assert (parsed.sender, parsed.sender_name) == ("j.weber@weber-logistik.example", "Jürgen Weber")
    assert (parsed.subject, parsed.thread_subject) == ("AW: Lieferung 7781", "lieferung 7781")
    assert parsed.in_reply_to == parsed.references == ("176760000123.4242.2323232323@example.com",)
    assert parsed.automatic is None


def test_the_sender_address_is_lower_cased() -> None:
    assert parse_mail(sample("outlook_reply")).sender == "bob.miller@contoso.example"


def test_in_reply_to_and_references_are_bare_ids_in_order() -> None:
    raw = mail(
        "In-Reply-To: <c3@mail.example.org> (Anna's message of Mon, 5 Jan 2026)\n"
        "References: <a1@example.com>\n <b2@mail.example.org>\n\t<c3@mail.example.org>\n"
    )

    parsed = parse_mail(raw)

    assert parsed.in_reply_to == ("c3@mail.example.org",)
    assert parsed.references == ("a1@example.com", "b2@mail.example.org", "c3@mail.example.org")


def test_a_mail_without_threading_headers_has_none() -> None:
    parsed = parse_mail(mail())

    assert (parsed.in_reply_to, parsed.references) == ((), ())


def test_a_missing_message_id_is_a_stable_hash_of_the_bytes() -> None:
    raw = sample("gmail_reply").replace(
        b"Message-ID: <CAJx2Yb1q8M+Fz3kU8mZp0o9c4gZp=QqX7V8xNw5eB0a-6Y3hTw@mail.gmail.com>\n", b""
    )
    other = raw.replace(b"Could you change it?", b"Could you change it, please?")

    first, again, different = parse_mail(raw).message_id, parse_mail(raw).message_id, parse_mail(other).message_id

    assert first.startswith("sha256-") and len(first) == len("sha256-") + 64
    assert first == again
    assert different != first


def test_headers_are_read_as_text_a_database_stores() -> None:
    """Found by fuzzing the listener on PostgreSQL: each of these made the mail fail to store
    (a 451, so the sender's server would have tried again for days)."""
    too_long_id = "x" * 300 + "@example.org"
    raw = (
        mail(sender=f"{'N' * 300} <{'a' * 260}@example.org>")
        .replace(b"Message-ID: <1@example.org>", f"Message-ID: <{too_long_id}>".encode())
        .replace(b"Subject: Order", b"Subject: Or\xffder \x00now")
    )

    parsed = parse_mail(raw)

    assert parsed.message_id.startswith("sha256-")
    assert (parsed.sender, parsed.sender_name, parsed.automatic) == ("", "N" * 200, "no From address")
    assert parsed.subject == "Or\ufffdder now"


@pytest.mark.parametrize(
    ("subject", "thread_subject"),
    [
        ("Re: RE: Fwd: AW: Re[2]: Billing  question", "billing question"),
        ("WG: SV: VS: FW: Re(3):Billing question ", "billing question"),
        ("=?UTF-8?Q?AW:_R=C3=BCckerstattung?=", "rückerstattung"),
        ("Regarding: refunds", "regarding: refunds"),
        ("VS Code: extension crashes", "vs code: extension crashes"),
    ],
)
def test_the_thread_subject_drops_reply_and_forward_prefixes(subject: str, thread_subject: str) -> None:
    raw = mail().replace(b"Subject: Order", f"Subject: {subject}".encode())

    assert parse_mail(raw).thread_subject == thread_subject


def test_the_subject_is_decoded() -> None:
    raw = mail().replace(b"Subject: Order", b"Subject: =?UTF-8?Q?AW:_R=C3=BCckerstattung?=")

    assert parse_mail(raw).subject == "AW: Rückerstattung"


# -- attachments -------------------------------------------------------------------------------


def test_files_are_kept_and_inline_images_and_unnamed_parts_left_out() -> None:
    parsed = parse_mail(sample("attachments"))

    assert [(a.filename, a.content_type) for a in parsed.attachments] == [
        ("invoice-2026-0042.pdf", "application/pdf"),
        ("Bildschirmfoto 2026-01-05 um 10.12.03 übersicht.png", "image/png"),
    ]
    assert parsed.attachments[0].data.startswith(b"%PDF-1.4\n") and parsed.attachments[0].data.endswith(b"%%EOF\n")
    assert parsed.attachments[1].data.startswith(b"\x89PNG\r\n\x1a\n")
    assert parsed.text.startswith("Hello,\n\nthe invoice charges 49 EUR instead of 39 EUR.")


def test_a_forwarded_mail_attached_is_a_file() -> None:
    forwarded = EmailMessage()
    forwarded["From"] = "Courier <noreply@courier.example>"
    forwarded["Subject"] = "Delivery delayed"
    forwarded.set_content("Your parcel is late.")
    message = EmailMessage()
    message["From"] = "Anna <anna@example.org>"
    message["Subject"] = "See the attached mail"
    message.set_content("What does this mean?")
    message.add_attachment(forwarded, filename="courier.eml")

    parsed = parse_mail(bytes(message))

    [attached] = parsed.attachments
    assert (attached.filename, attached.content_type) == ("courier.eml", "message/rfc822")
    assert message_from_bytes(attached.data, policy=policy.default)["Subject"] == "Delivery delayed"
    assert parsed.text == "What does this mean?"


def test_an_inline_image_with_a_content_id_is_left_out_even_when_no_html_shows_it() -> None:
    message = EmailMessage()
    message["From"] = "Anna <anna@example.org>"
    message.set_content("Our logo is below.")
    message.add_related(
        b"\x89PNG\r\n\x1a\n", "image", "png", cid="<logo@example.org>", disposition="inline", filename="logo.png"
    )

    assert parse_mail(bytes(message)).attachments == ()


def test_a_body_part_with_a_filename_is_the_text_not_a_file() -> None:
    raw = mail('Content-Disposition: inline; filename="message.txt"\n')

    parsed = parse_mail(raw)

    assert (parsed.text, parsed.attachments) == ("Hello, my order has not arrived.", ())


def test_a_mail_without_files_has_no_attachments() -> None:
    assert parse_mail(sample("gmail_reply")).attachments == ()


# -- automatic mail ----------------------------------------------------------------------------

_REPORT_BODY = (
    "--b\nContent-Type: text/plain\n\nDelivery failed.\n"
    "--b\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx.example.org\n\n"
    "Final-Recipient: rfc822; gone@example.net\nAction: failed\nStatus: 5.1.1\n--b--"
)


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        pytest.param(mail("Auto-Submitted: auto-replied\n"), "Auto-Submitted: auto-replied", id="auto-replied"),
        pytest.param(mail("Auto-Submitted: auto-generated\n"), "Auto-Submitted: auto-generated", id="auto-generated"),
        pytest.param(mail("X-Autoreply: yes\n"), "X-Autoreply: yes", id="x-autoreply"),
        pytest.param(mail("X-Autorespond: Vacation\n"), "X-Autorespond: Vacation", id="x-autorespond"),
        pytest.param(mail("Precedence: bulk\n"), "Precedence: bulk", id="precedence-bulk"),
        pytest.param(mail("Precedence: list\n"), "Precedence: list", id="precedence-list"),
        pytest.param(mail("Precedence: junk\n"), "Precedence: junk", id="precedence-junk"),
        pytest.param(
            mail("List-Id: Users <users.lists.example.org>\n"), "List-Id: Users <users.lists.example.org>", id="list-id"
        ),
        pytest.param(mail("Return-Path: <>\n"), "Return-Path: <> (a bounce or a notification)", id="null-return-path"),
        pytest.param(
            mail(content_type='multipart/report; report-type=delivery-status; boundary="b"', body=_REPORT_BODY),
            "a delivery report (multipart/report; report-type=delivery-status)",
            id="multipart-report",
        ),
        pytest.param(
            mail(content_type='multipart/mixed; boundary="b"', body=_REPORT_BODY),
            "a delivery report (message/delivery-status)",
            id="delivery-status-part",
        ),
        pytest.param(
            mail(sender="MAILER-DAEMON@mx.example.net"), "sent from mailer-daemon@mx.example.net", id="mailer-daemon"
        ),
        pytest.param(mail(sender="postmaster@example.net"), "sent from postmaster@example.net", id="postmaster"),
        pytest.param(mail(sender="Shop <no-reply@shop.example>"), "sent from no-reply@shop.example", id="no-reply"),
        pytest.param(mail(sender="NoReply@shop.example"), "sent from noreply@shop.example", id="noreply"),
        pytest.param(
            mail(sender="do-not-reply+42@shop.example"), "sent from do-not-reply+42@shop.example", id="do-not-reply"
        ),
        pytest.param(mail(sender=""), "no From address", id="no-sender"),
    ],
)
def test_automatic_mail_is_recognised(raw: bytes, reason: str) -> None:
    assert parse_mail(raw).automatic == reason


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("bounce", "Auto-Submitted: auto-replied"),
        ("out_of_office", "Auto-Submitted: auto-generated"),
        ("list_mail", "Precedence: bulk"),
    ],
)
def test_recorded_automatic_mail_is_recognised(name: str, reason: str) -> None:
    assert parse_mail(sample(name)).automatic == reason


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(mail(), id="plain"),
        pytest.param(mail("Auto-Submitted: no\n"), id="auto-submitted-no"),
        pytest.param(mail("Precedence: first-class\n"), id="precedence-first-class"),
        pytest.param(mail("Return-Path: <anna@example.org>\n"), id="return-path"),
        pytest.param(mail(sender="noreplyfan@example.org"), id="noreply-lookalike"),
        *(pytest.param(sample(name), id=name) for name in [*NEW_TEXT, "attachments", "gmail_forward"]),
    ],
)
def test_a_persons_mail_is_not_automatic(raw: bytes) -> None:
    assert parse_mail(raw).automatic is None


def test_a_from_header_the_standard_library_fails_on_is_read_raw() -> None:
    raw = mail(sender="Anna <anna@")
    with pytest.raises(IndexError):  # CPython's address parser bug this guards against
        str(message_from_bytes(raw, policy=policy.default)["From"])

    parsed = parse_mail(raw)

    assert (parsed.sender, parsed.sender_name, parsed.automatic) == ("", "Anna", "no From address")
    assert parsed.text == "Hello, my order has not arrived."


def test_a_message_the_standard_library_cannot_parse_is_unreadable_not_an_error() -> None:
    raw = b"From: anna@example.org\nContent-Type: text/plain; name*\n\nHello"
    with pytest.raises(IndexError):  # CPython's parser bug this guards against
        message_from_bytes(raw, policy=policy.default)

    parsed = parse_mail(raw)

    assert parsed.automatic == (
        "unreadable: the standard library's parser failed (IndexError: string index out of range)"
    )
    assert parsed.message_id.startswith("sha256-") and parsed.text == ""


@settings(deadline=None)
@given(
    name=st.sampled_from(sorted(path.stem for path in FIXTURES.glob("*.eml"))),
    edits=st.lists(st.tuples(st.integers(min_value=0), st.integers(0, 40), st.binary(max_size=12)), max_size=20),
)
def test_parse_mail_never_raises_on_mangled_mail(name: str, edits: list[tuple[int, int, bytes]]) -> None:
    raw = bytearray(sample(name))
    for position, removed, inserted in edits:
        start = position % (len(raw) + 1)
        raw[start : start + removed] = inserted

    assert isinstance(parse_mail(bytes(raw)), ParsedMail)


# -- authentication ----------------------------------------------------------------------------


def test_the_receiving_servers_authentication_results_are_kept() -> None:
    results = parse_mail(sample("gmail_reply")).authentication_results

    assert results is not None and results.startswith("mx.example.com;")
    assert results.endswith("dmarc=pass (p=NONE sp=QUARANTINE dis=NONE) header.from=gmail.com")


def test_a_mail_without_authentication_results_has_none() -> None:
    assert parse_mail(mail()).authentication_results is None


@pytest.mark.parametrize(
    ("results", "domain", "passed"),
    [
        (
            "mx.example.com; spf=pass smtp.mailfrom=a@gmail.com; dmarc=pass (p=NONE) header.from=gmail.com",
            "gmail.com",
            True,
        ),
        ("MX.example.com; DMARC=Pass header.from=GMail.com", "gmail.COM", True),
        ("mx.example.com; dmarc=pass (p=none; dis=none) header.from=gmail.com", "gmail.com", True),
        ("mx.example.com; dmarc=pass header.from=gmail.com", "example.org", False),
        ("mx.example.com; dmarc=fail (p=REJECT) header.from=gmail.com", "gmail.com", False),
        ("mx.example.com; dmarc=none header.from=gmail.com", "gmail.com", False),
        ("mx.example.com; dkim=pass header.d=gmail.com; spf=pass smtp.mailfrom=gmail.com", "gmail.com", False),
        ("mx.example.com; dmarc=pass", "gmail.com", False),
        ("mx.example.com; dmarc=pass (forged; header.from=gmail.com) header.from=evil.example", "gmail.com", False),
        ("mx.example.com; dmarc=pass header.from=gmail.com; dmarc=fail header.from=gmail.com", "gmail.com", False),
        ("mx.example.com; none", "gmail.com", False),
        ("", "gmail.com", False),
        (None, "gmail.com", False),
    ],
)
def test_dmarc_passed_only_for_a_pass_for_the_from_domain(results: str | None, domain: str, passed: bool) -> None:
    assert dmarc_passed(results, domain) is passed


def test_dmarc_passed_on_a_recorded_mail() -> None:
    parsed = parse_mail(sample("outlook_reply"))

    assert dmarc_passed(parsed.authentication_results, parsed.sender.partition("@")[2])
