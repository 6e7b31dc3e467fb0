"""The web channel's page and script as served: read once at start, never per request."""

from __future__ import annotations

import shutil
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from channels.web import WebChannel
from channels.web_assets import STATIC_DIR, WidgetAssets
from core.settings import Settings
from tests.fakes.hub import FakeHub

ClientFactory = Callable[[web.Application], Awaitable[TestClient[Any, Any]]]


@pytest.fixture
def static_dir(tmp_path: Path) -> Path:
    """A copy of the package's static files, for a test to change on disk."""
    return Path(shutil.copytree(STATIC_DIR, tmp_path / "static"))


async def started_client(aiohttp_client: ClientFactory, tmp_path: Path, assets: WidgetAssets) -> TestClient[Any, Any]:
    channel = WebChannel(Settings(data_dir=tmp_path), assets=assets)
    await channel.start(FakeHub(channel))  # type: ignore[arg-type]  # a stand-in for core.hub.Hub
    app = web.Application()
    app.add_routes(channel.routes())
    app.on_cleanup.append(lambda _: channel.stop())
    return await aiohttp_client(app)


async def test_files_changed_on_disk_after_start_are_not_served(
    aiohttp_client: ClientFactory, tmp_path: Path, static_dir: Path
) -> None:
    client = await started_client(aiohttp_client, tmp_path, WidgetAssets(static_dir))
    page = await (await client.get("/")).read()
    script = await (await client.get("/widget.js")).read()
    for path in static_dir.rglob("*.*"):
        path.write_text("changed", encoding="utf-8")

    assert await (await client.get("/")).read() == page
    assert await (await client.get("/widget.js")).read() == script


async def test_a_missing_file_fails_the_start_not_a_request(tmp_path: Path, static_dir: Path) -> None:
    (static_dir / "index.html").unlink()
    channel = WebChannel(Settings(data_dir=tmp_path), assets=WidgetAssets(static_dir))
    with pytest.raises(FileNotFoundError):
        await channel.start(FakeHub(channel))  # type: ignore[arg-type]  # a stand-in for core.hub.Hub


async def test_a_request_before_start_is_served_all_the_same(aiohttp_client: ClientFactory, tmp_path: Path) -> None:
    app = web.Application()
    app.add_routes(WebChannel(Settings(data_dir=tmp_path)).routes())
    client = await aiohttp_client(app)
    assert (await client.get("/")).status == 200
    assert (await client.get("/widget.js")).status == 200
