"""The widget's texts in the visitor's language: GET /widget/texts/{language} through the
channel's real routes, the catalogs it serves from (shipped and the operator's), the language
the channel's own error lines are said in, and the shipped widget.po files' completeness."""

from __future__ import annotations

import io
import json
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from babel.messages.extract import extract
from babel.messages.pofile import escape

from channels.web.assets import STATIC_DIR, WIDGET_DIR, WIDGET_PARTS
from channels.web.channel import WebChannel
from channels.web.frames import FrameError, Hello, message_frame, parse_frame
from channels.web.settings import WebSettings
from channels.web.texts import MalformedTag, accepted, match, widget_messages
from core.languages import LOCALES, SHIPPED, SOURCE, read_catalog, use_catalogs
from core.messages import Address, Author
from core.pipeline.hub_gate import HubGate
from core.settings import Settings
from tests.app_client import AppClient
from tests.fakes.hub import FakeHub

ClientFactory = Callable[[web.Application], Awaitable[AppClient]]
TRANSLATED = tuple(language for language in SHIPPED if language != SOURCE)
CHANNEL_SOURCES = sorted(Path(__file__).parents[3].joinpath("channels", "web").glob("*.py"))


@pytest.fixture(autouse=True)
def shipped_catalogs() -> Iterator[None]:
    """Each test starts from the shipped catalogs and leaves them so for the next."""
    use_catalogs(None)
    yield
    use_catalogs(None)


async def started(aiohttp_client: ClientFactory, tmp_path: Path, **web_settings: Any) -> tuple[AppClient, FakeHub]:
    gate = HubGate()
    channel = WebChannel(Settings(data_dir=tmp_path, web=WebSettings(**web_settings)), gate.port)
    hub = FakeHub(channel)
    gate.open(hub)
    await channel.start()
    app = web.Application()
    app.add_routes(channel.routes())
    app.on_cleanup.append(lambda _: channel.stop())
    return await aiohttp_client(app), hub


@pytest.fixture
async def client(aiohttp_client: ClientFactory, tmp_path: Path) -> AppClient:
    return (await started(aiohttp_client, tmp_path))[0]


async def texts_of(client: AppClient, language: str) -> dict[str, Any]:
    response = await client.get(f"/widget/texts/{language}")
    assert response.status == 200, await response.text()
    assert response.content_type == "application/json"
    body: dict[str, Any] = await response.json()
    return body


# --- the endpoint ------------------------------------------------------------------------------


async def test_german_texts_are_the_widgets_sentences_in_german(client: AppClient) -> None:
    body = await texts_of(client, "de")
    assert body["language"] == "de"
    texts = body["texts"]
    assert texts["Open chat"] == "Chat öffnen"
    assert texts["Ask a question\u2026"] == "Stellen Sie eine Frage\u2026"
    assert texts["Help"] == "Hilfe"  # the [web] title's default
    assert texts["Ask us anything \u2014 we usually answer right away."].startswith("Fragen Sie uns")
    widget = widget_messages((STATIC_DIR / WIDGET_DIR / name).read_text() for name in WIDGET_PARTS)
    assert set(texts) <= widget  # nothing of the rest of the hub's catalogs
    assert len(texts) == len(widget)


@pytest.mark.parametrize(("asked", "served"), [("es-MX", "es"), ("pt_BR", "pt"), ("FR", "fr"), ("de-Latn-CH", "de")])
async def test_a_regional_tag_gets_its_languages_texts(client: AppClient, asked: str, served: str) -> None:
    body = await texts_of(client, asked)
    assert body["language"] == served
    assert body["texts"]["Send message"] != "Send message"


async def test_english_is_the_texts_as_written(client: AppClient) -> None:
    assert await texts_of(client, "en") == {"language": "en", "texts": {}}
    assert await texts_of(client, "en-GB") == {"language": "en", "texts": {}}


async def test_a_language_without_texts_gets_the_default_languages(
    aiohttp_client: ClientFactory, tmp_path: Path
) -> None:
    english, _hub = await started(aiohttp_client, tmp_path / "en")
    assert await texts_of(english, "ja") == {"language": "en", "texts": {}}

    use_catalogs(None, default="fr")
    french, _hub = await started(aiohttp_client, tmp_path / "fr")
    body = await texts_of(french, "ja")
    assert body["language"] == "fr"
    assert body["texts"]["Open chat"] == "Ouvrir le chat"


@pytest.mark.parametrize("tag", ["d", "de<script>", "de-DE-x-" + "a" * 40, "12", "de--DE", "%20de", "de;q=1"])
async def test_a_malformed_code_is_refused_with_the_reason(client: AppClient, tag: str) -> None:
    response = await client.get(f"/widget/texts/{tag}")
    assert response.status == 400
    assert "is not a language code like 'de' or 'pt-BR'" in await response.text()


async def test_the_texts_are_cacheable_and_fetchable_from_any_site(client: AppClient) -> None:
    response = await client.get("/widget/texts/de", headers={"Origin": "https://www.example.com"})
    assert response.headers["Cache-Control"] == "public, max-age=300"
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert response.headers["Content-Language"] == "de"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    again = await client.get("/widget/texts/de-AT", headers={"If-None-Match": response.headers["ETag"]})
    assert again.status == 304
    other = await client.get("/widget/texts/fr", headers={"If-None-Match": response.headers["ETag"]})
    assert other.status == 200


async def test_an_operators_catalog_overrides_a_text_and_adds_a_language(
    aiohttp_client: ClientFactory, tmp_path: Path
) -> None:
    folder = tmp_path / "catalogs"
    folder.mkdir()
    (folder / "de.po").write_text('msgid "Open chat"\nmsgstr "Fragen? Hier klicken"\n', encoding="utf-8")
    (folder / "it.po").write_text(
        'msgid "Open chat"\nmsgstr "Apri la chat"\n\nmsgid "Chat with us"\nmsgstr "Scrivici"\n\n'
        'msgid "a line of the bot"\nmsgstr "una frase del bot"\n',
        encoding="utf-8",
    )
    use_catalogs(folder)
    client, _hub = await started(aiohttp_client, tmp_path, title="Chat with us")

    german = (await texts_of(client, "de"))["texts"]
    assert german["Open chat"] == "Fragen? Hier klicken"
    assert german["Send message"] == "Nachricht senden"  # the shipped rest stays
    assert await texts_of(client, "it") == {
        "language": "it",
        "texts": {"Open chat": "Apri la chat", "Chat with us": "Scrivici"},  # the site's own title too
    }
    script = await (await client.get("/widget.js")).text()
    assert 'var LANGUAGES = {"default": "en", "known": ["de", "en", "es", "fr", "it", "pt"]};' in script


async def test_a_translation_cannot_break_out_of_its_json(aiohttp_client: ClientFactory, tmp_path: Path) -> None:
    folder = tmp_path / "catalogs"
    folder.mkdir()
    hostile = '</script><img src=x onerror=alert(1)>"\\'
    (folder / "de.po").write_text(f'msgid "Open chat"\nmsgstr {escape(hostile)}\n', encoding="utf-8")
    use_catalogs(folder)
    client, _hub = await started(aiohttp_client, tmp_path)
    raw = await (await client.get("/widget/texts/de")).text()
    assert "<" not in raw
    assert json.loads(raw)["texts"]["Open chat"] == hostile


# --- which language a tag or a browser means ---------------------------------------------------


def test_a_tag_matches_whole_then_by_its_primary_subtag() -> None:
    known = ("de", "en", "pt-br", "pt")
    assert match("pt-BR", known) == "pt-br"
    assert match("pt-PT", known) == "pt"
    assert match("ja", known) is None
    with pytest.raises(MalformedTag):
        match("not a tag", known)


@pytest.mark.parametrize(
    ("header", "language"),
    [
        ("de-DE,de;q=0.9,en;q=0.8", "de"),
        ("ja,es;q=0.5,fr;q=0.7", "fr"),
        ("*, pt-BR;q=0.1", "pt"),
        ("ja, zh;q=0.9", None),
        ("fr;q=0, es;q=0.2", "es"),
        ("fr;q=abc, es", "es"),
        ("", None),
    ],
)
def test_the_browsers_accept_language_header(header: str, language: str | None) -> None:
    assert accepted(header, ("de", "en", "es", "fr", "pt")) == language


# --- the frames --------------------------------------------------------------------------------


def test_the_hello_names_the_widgets_language() -> None:
    frame = parse_frame('{"type": "hello", "token": null, "after": 0, "language": "pt-BR"}', max_text_length=10)
    assert frame == Hello(token=None, after=0, language="pt-br")
    for bad in ('"x<"', "7", '"de de"'):
        refused = parse_frame(f'{{"type": "hello", "token": null, "language": {bad}}}', max_text_length=10)
        assert refused == FrameError('language must be a language code like "de" or "pt-BR"')


def test_the_hubs_messages_carry_the_language_they_were_said_in() -> None:
    hub = FakeHub(WebChannel(Settings(), HubGate().port))
    address = Address("web", "s")
    question = hub.add(address, Author.CUSTOMER, "¿Cuánto cuesta el plan Solo al mes?", language="es")
    answer = hub.add(address, Author.BOT, "…", language="es", reply_to=question.id)
    assert message_frame(answer)["language"] == "es"
    assert "language" not in message_frame(question)  # the customer's own: not the conversation's
    assert "language" not in message_frame(hub.add(address, Author.BOT, "…"))


# --- the channel's own lines, in the visitor's language ----------------------------------------


async def feedback_refused(ws: Any) -> str:
    await ws.send_json({"type": "feedback", "message_id": 999, "rating": "up"})
    frame: dict[str, Any] = await ws.receive_json(timeout=3)
    assert frame["type"] == "error"
    reason: str = frame["reason"]
    return reason


@pytest.fixture
async def widget(aiohttp_client: ClientFactory, tmp_path: Path) -> AsyncIterator[tuple[AppClient, FakeHub]]:
    yield await started(aiohttp_client, tmp_path)


async def test_an_error_line_is_said_in_the_widgets_language(widget: tuple[AppClient, FakeHub]) -> None:
    client, _hub = widget
    ws = await client.ws_connect("/widget/ws")
    await ws.send_json({"type": "hello", "token": None, "after": 0, "language": "de"})
    assert (await ws.receive_json(timeout=3))["type"] == "session"
    assert await feedback_refused(ws) == "Feedback gilt nur für die Antworten des Bots in diesem Gespräch"


async def test_without_the_widgets_language_the_browsers_is_spoken(widget: tuple[AppClient, FakeHub]) -> None:
    client, _hub = widget
    ws = await client.ws_connect("/widget/ws", headers={"Accept-Language": "ja, es-ES;q=0.8, en;q=0.5"})
    await ws.send_json({"type": "hello", "token": None, "after": 0})
    assert (await ws.receive_json(timeout=3))["type"] == "session"
    assert await feedback_refused(ws) == "las valoraciones son solo para las respuestas del bot en esta conversación"


async def test_the_conversations_language_wins_once_the_hub_spoke_it(widget: tuple[AppClient, FakeHub]) -> None:
    client, hub = widget
    ws = await client.ws_connect("/widget/ws", headers={"Accept-Language": "fr"})
    await ws.send_json({"type": "hello", "token": None, "after": 0, "language": "de"})
    assert (await ws.receive_json(timeout=3))["type"] == "session"
    hub.with_person = True  # nobody answers but the line below
    await ws.send_json({"type": "message", "id": "c-1", "text": "Como conecto minha conta bancária?"})
    assert (await ws.receive_json(timeout=3))["author"] == "customer"
    address = next(a for a, _ in hub.messages)
    await hub.channel.send(address, hub.add(address, Author.STAFF, "Olá! Vou verificar.", language="pt"))
    assert (await ws.receive_json(timeout=3))["language"] == "pt"
    assert await feedback_refused(ws) == "o feedback é só para as respostas do bot nesta conversa"


async def test_english_error_lines_are_as_they_were(widget: tuple[AppClient, FakeHub]) -> None:
    client, _hub = widget
    ws = await client.ws_connect("/widget/ws")
    await ws.send_json({"type": "hello", "token": None, "after": 0})
    assert (await ws.receive_json(timeout=3))["type"] == "session"
    assert await feedback_refused(ws) == "feedback is for the bot's replies in this conversation"


# --- the shipped catalogs ----------------------------------------------------------------------


def python_messages() -> set[str]:
    found: set[str] = set()
    for path in CHANNEL_SOURCES:
        with path.open("rb") as source:
            found |= {m for _, m, _, _ in extract("python", source) if isinstance(m, str)}
    return found


def catalog_messages() -> frozenset[str]:
    return widget_messages((STATIC_DIR / WIDGET_DIR / name).read_text() for name in WIDGET_PARTS) | python_messages()


def test_the_extraction_finds_the_channels_lines() -> None:
    assert "feedback is for the bot's replies in this conversation" in python_messages()
    assert "Busy right now; trying again in {wait}\u2026" in catalog_messages()
    assert widget_messages(['t("Hi {name}", {name: x}); N_("Later"); t(variable); x("not this")']) == {
        "Hi {name}",
        "Later",
    }
    assert not list(extract("javascript", io.BytesIO(b'say("x")'), keywords={"t": None}))


@pytest.mark.parametrize("language", TRANSLATED)
def test_every_widget_text_is_translated(language: str) -> None:
    catalog = read_catalog(LOCALES / language / "LC_MESSAGES" / "widget.po")
    wanted = catalog_messages()
    assert sorted(wanted - set(catalog)) == []  # missing
    assert sorted(set(catalog) - wanted) == []  # no longer said
    for english, said in catalog.items():
        assert set(re.findall(r"\{\w+\}", said)) == set(re.findall(r"\{\w+\}", english)), english
