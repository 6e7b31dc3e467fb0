"""Shared fixtures: an internet guard, databases on both backends, the sample help centre
indexed once per session, settings pointing at it, and the platforms' fakes."""

from __future__ import annotations

import asyncio
import ipaddress
import os
import socket
from collections.abc import AsyncIterator, Callable, Iterator
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import aiohttp.web_app
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from channels.discord.stand_in import FakeDiscord
from channels.slack.stand_in import FakeSlack
from channels.telegram.stand_in import FakeBotApi
from channels.twilio.stand_in import FakeTwilio
from channels.whatsapp.stand_in import FakeGraph
from core.answering.language import load_detector
from core.ops.runtime import open_database
from core.pipeline.storage import Storage
from core.settings import Settings
from core.store.db import make_engine, make_sessionmaker
from core.store.transactions import Transactions, transactions_for
from knowledge.base import KnowledgeBase
from knowledge.embedding.embedder import Embedder
from knowledge.settings import KnowledgeSettings
from tests.fakes.company_api import FakeCompanyApi
from tests.fakes.dovecot import Dovecot, require_dovecot
from tests.fakes.openai_server import FakeOpenAI
from tests.schema_templates import SchemaTemplates
from tests.suite_habits import pytest_collection_modifyitems, pytest_terminal_summary  # noqa: F401 — hooks

if TYPE_CHECKING:
    from channels.teams.stand_in import FakeTeams

pytest_plugins = ["pytester"]  # tests/unit/test_suite_habits.py runs pytest on samples
os.environ.setdefault("SUPPORTHUB_KNOWLEDGE__REHEARSAL_GATE", "off")
"""The suite's hubs index help centres of their own, not the sample that config/rehearsals is
written for; the gate's tests turn it on (tests/integration/test_rehearse.py)."""
_real_connect = socket.socket.connect


def _is_local(address: Any) -> bool:
    if isinstance(address, (str, bytes)):  # AF_UNIX path
        return True
    host = address[0]
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _guarded_connect(self: socket.socket, address: Any) -> Any:
    if not _is_local(address):
        raise RuntimeError(f"test tried to reach the network: {address!r}")
    return _real_connect(self, address)


@pytest.fixture(scope="session", autouse=True)
def language_models() -> None:
    """The default languages' models, loaded once before any test: a server loads them at start
    (`core.ops.runtime`), and a test's hub built without one would wait on them mid-turn."""
    load_detector(tuple(Settings().languages.detect))


@pytest.fixture(autouse=True)
def no_internet(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Fail any test that tries to reach beyond this machine."""
    monkeypatch.setattr(socket.socket, "connect", _guarded_connect)
    yield


@pytest.fixture(autouse=True)
def apps_let_go() -> Iterator[None]:
    """Let go of the test's aiohttp applications when it ends. aiohttp keeps every application
    that answered a request in a process-wide cache of 1,024 middleware chains
    (`aiohttp.web_app._cached_build_middleware`, made for one long-lived app): each test's app,
    with its hub, knowledge base and database engine, stayed alive, ~25 MB a test, 14.6 GB over
    the suite. Home Assistant's supervisor met the same (home-assistant/supervisor#7196)."""
    yield
    aiohttp.web_app._cached_build_middleware.cache_clear()  # private: an aiohttp that renames it fails here, loudly


@pytest.fixture(scope="session")
def schema_templates(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SchemaTemplates]:
    """Databases migrated once per session; each test gets a copy (`tests.schema_templates`)."""
    templates = SchemaTemplates(tmp_path_factory.mktemp("schema"))
    yield templates
    templates.close()


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path, schema_templates: SchemaTemplates) -> str:
    """A migrated database of this test's own, on SQLite and on PostgreSQL (skipped without
    SUPPORTHUB_TEST_POSTGRES_URL; CI sets it)."""
    if request.param == "sqlite":
        return schema_templates.sqlite(tmp_path / "test.db")
    return schema_templates.postgres("PostgreSQL storage tests")


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(database_url)
    yield engine
    await engine.dispose()


@pytest.fixture
def sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return make_sessionmaker(engine)


@pytest.fixture
async def transactions(
    engine: AsyncEngine, sessionmaker: async_sessionmaker[AsyncSession]
) -> AsyncIterator[Transactions]:
    transactions = transactions_for(engine, sessionmaker)
    yield transactions
    await transactions.close()


@pytest.fixture
def storage(transactions: Transactions) -> Storage:
    return Storage.on(transactions)


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    """A local fake of Slack's Web API, for the real slack-sdk client."""
    fake = FakeSlack()
    await fake.start()
    yield fake
    await fake.stop()


@pytest.fixture
async def model() -> AsyncIterator[FakeOpenAI]:
    """A scriptable OpenAI-compatible server, for the real openai client."""
    fake = FakeOpenAI()
    await fake.start()
    yield fake
    await fake.stop()


@pytest.fixture
async def telegram() -> AsyncIterator[FakeBotApi]:
    """A local fake of Telegram's Bot API and file server, for python-telegram-bot's Bot."""
    fake = FakeBotApi()
    await fake.start()
    yield fake
    await fake.stop()


@pytest.fixture
async def twilio() -> AsyncIterator[FakeTwilio]:
    """A local fake of Twilio's REST API and media, for the twilio SDK's client."""
    fake = FakeTwilio()
    await fake.start()
    yield fake
    await fake.stop()


@pytest.fixture
async def company_api() -> AsyncIterator[FakeCompanyApi]:
    """A local fake of a shop's own API (orders, subscriptions, invoices, hostile routes), for actions."""
    async with FakeCompanyApi() as fake:
        yield fake


MAILBOXES_PER_MODULE = 100


@pytest.fixture(scope="module")
def dovecot_server() -> Iterator[Dovecot]:
    """A real Dovecot IMAP server for the tests of one module (skipped where Dovecot cannot run,
    failed instead when CI requires it)."""
    require_dovecot()
    server = Dovecot(spare_mailboxes=MAILBOXES_PER_MODULE)
    asyncio.run(server.start())
    yield server
    asyncio.run(server.close())


@pytest.fixture
async def dovecot(dovecot_server: Dovecot) -> Dovecot:
    """The module's Dovecot, with a mailbox of this test's own (a new user, an empty INBOX) that
    `username`, `password` and the helpers act as."""
    await dovecot_server.new_mailbox()
    return dovecot_server


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    """The default model on PyTorch, loaded once for the whole session (as indexing runs it)."""
    return Embedder.load(KnowledgeSettings())


SAMPLE_KNOWLEDGE = Path(__file__).resolve().parents[1] / "config" / "knowledge"


async def _index(settings: Settings) -> None:
    async with open_database(settings) as (_, sessionmaker):
        knowledge = await asyncio.to_thread(
            partial(KnowledgeBase.open, settings.knowledge, data_dir=settings.data_dir, sessionmaker=sessionmaker)
        )
        try:
            await knowledge.ingest([SAMPLE_KNOWLEDGE], trigger="test")
        finally:
            await knowledge.aclose()


@pytest.fixture(scope="session")
def indexed_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data dir holding the sample knowledge base's index (tests get their own database)."""
    data_dir = tmp_path_factory.mktemp("indexed")
    asyncio.run(_index(Settings(data_dir=data_dir, knowledge=KnowledgeSettings(paths=[SAMPLE_KNOWLEDGE]))))
    return data_dir


@pytest.fixture
def make_settings(indexed_data_dir: Path, tmp_path: Path, schema_templates: SchemaTemplates) -> Callable[..., Settings]:
    """Settings for a hub on the sample help centre and a migrated SQLite database of the
    test's own (the same one for every call in a test); keyword arguments override."""

    def make(**overrides: object) -> Settings:
        values: dict[str, object] = {
            "data_dir": indexed_data_dir,
            "database_url": overrides.get("database_url") or schema_templates.sqlite(tmp_path / "hub.db"),
            "knowledge": KnowledgeSettings(paths=[SAMPLE_KNOWLEDGE]),
        }
        values.update(overrides)
        return Settings(**values)

    return make


@pytest.fixture
async def discord_fake() -> AsyncIterator[FakeDiscord]:
    """A fake of Discord's gateway and HTTP API on 127.0.0.1."""
    fake = FakeDiscord()
    await fake.start()
    yield fake
    await fake.stop()


@pytest.fixture
async def teams() -> AsyncIterator[FakeTeams]:
    """A fake of Microsoft's sign-in, signing keys and Bot Connector API on 127.0.0.1 (imported
    here: it needs the teams extra's PyJWT and cryptography)."""
    from channels.teams.stand_in import FakeTeams

    fake = FakeTeams()
    await fake.start()
    yield fake
    await fake.stop()


@pytest.fixture
async def graph() -> AsyncIterator[FakeGraph]:
    """A fake of Meta's Graph API (the WhatsApp Cloud API) on 127.0.0.1."""
    fake = FakeGraph()
    await fake.start()
    yield fake
    await fake.stop()
