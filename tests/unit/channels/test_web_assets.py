"""The web channel's page and script as served: the widget's parts assembled into one script,
read once at start, never per request."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from aiohttp import web

from channels.web.assets import STATIC_DIR, WIDGET_CSS, WIDGET_DIR, WIDGET_PARTS, WidgetAssets, assemble_widget
from channels.web.channel import WebChannel
from core.pipeline.hub_gate import HubGate
from core.settings import Settings
from tests.app_client import AppClient
from tests.fakes.hub import FakeHub

ClientFactory = Callable[[web.Application], Awaitable[AppClient]]

NODE = shutil.which("node")
needs_node = pytest.mark.skipif(NODE is None, reason="node is not installed, so no JavaScript parser to check with")

HOSTILE_CSS = [
    '.a::before{content:"\\201C it\'s"}',
    "</script><script>alert(1)</script>",
    "</STYLE><!-- -->",
    ".b{content:'\u2028\u2029'}\n\t.c{}",
    ".d{content:'→ ü \U0001f4ce'}\\",
]


@pytest.fixture
def static_dir(tmp_path: Path) -> Path:
    """A copy of the package's static files, for a test to change on disk."""
    return Path(shutil.copytree(STATIC_DIR, tmp_path / "static"))


@pytest.fixture
async def client(aiohttp_client: ClientFactory, tmp_path: Path) -> AppClient:
    return await started_client(aiohttp_client, tmp_path, WidgetAssets())


async def started_client(aiohttp_client: ClientFactory, tmp_path: Path, assets: WidgetAssets) -> AppClient:
    gate = HubGate()
    channel = WebChannel(Settings(data_dir=tmp_path), gate.port, assets=assets)
    gate.open(FakeHub(channel))
    await channel.start()
    app = web.Application()
    app.add_routes(channel.routes())
    app.on_cleanup.append(lambda _: channel.stop())
    return await aiohttp_client(app)


def run_node(*args: str) -> subprocess.CompletedProcess[str]:
    assert NODE is not None
    return subprocess.run([NODE, *args], capture_output=True, text=True, timeout=30, check=False)


def css_of(script: str) -> str:
    literal = re.search(r'^var CSS = (".*");$', script, re.MULTILINE)
    assert literal is not None
    css: str = json.loads(literal.group(1))
    return css


# --- the assembler -----------------------------------------------------------------------


def test_parts_are_pasted_in_order_inside_one_function() -> None:
    script = assemble_widget(css=".x{}", parts=[("one.js", "var a = 1;\n"), ("two.js", "var b = a;\n")])
    assert script == (
        '(function () {\n"use strict";\nvar CSS = ".x{}";\nvar BRANDING = {};\n'
        'var LANGUAGES = {"default": "en", "known": ["en"]};\n'
        "\n/* one.js */\nvar a = 1;\n"
        "\n/* two.js */\nvar b = a;\n"
        "})();\n"
    )


@pytest.mark.parametrize("css", HOSTILE_CSS)
def test_any_stylesheet_becomes_one_string_literal(css: str) -> None:
    script = assemble_widget(css=css, parts=[])
    assert css_of(script) == css
    assert "</" not in script and "<!--" not in script
    assert script.isascii()


@needs_node
@pytest.mark.parametrize("css", HOSTILE_CSS)
def test_javascript_reads_the_stylesheet_back_exactly(css: str, tmp_path: Path) -> None:
    probe = "process.stdout.write(JSON.stringify(CSS)); // a part may end in a line comment"
    path = tmp_path / "probe.js"
    path.write_text(assemble_widget(css=css, parts=[("probe.js", probe)]), encoding="utf-8")
    result = run_node(str(path))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == css


# --- the served script ---------------------------------------------------------------------


async def test_the_script_is_every_part_in_order_and_the_stylesheet(client: AppClient) -> None:
    script = await (await client.get("/widget.js")).text()
    widget = STATIC_DIR / WIDGET_DIR
    positions = [script.find((widget / name).read_text(encoding="utf-8").rstrip()) for name in WIDGET_PARTS]
    assert -1 not in positions
    assert positions == sorted(positions)
    assert css_of(script) == (widget / WIDGET_CSS).read_text(encoding="utf-8")
    assert script.startswith("(function () {\n") and script.endswith("})();\n")


@needs_node
async def test_the_served_script_parses(client: AppClient, tmp_path: Path) -> None:
    path = tmp_path / "widget.js"
    path.write_bytes(await (await client.get("/widget.js")).read())
    result = run_node("--check", str(path))
    assert result.returncode == 0, result.stderr


async def test_the_etag_names_the_script_and_answers_a_revalidation(client: AppClient) -> None:
    first = await client.get("/widget.js")
    body = await first.read()
    etag = first.headers["ETag"]
    assert re.fullmatch(r'"[0-9a-f]{32}"', etag)
    assert (await client.get("/widget.js")).headers["ETag"] == etag

    stale = await client.get("/widget.js", headers={"If-None-Match": '"0123456789abcdef0123456789abcdef"'})
    assert (stale.status, await stale.read()) == (200, body)
    fresh = await client.get("/widget.js", headers={"If-None-Match": etag})
    assert (fresh.status, await fresh.read()) == (304, b"")
    assert (fresh.headers["ETag"], fresh.headers["Cache-Control"]) == (etag, first.headers["Cache-Control"])


# --- read once -------------------------------------------------------------------------------


async def test_files_changed_on_disk_after_start_are_not_served(
    aiohttp_client: ClientFactory, tmp_path: Path, static_dir: Path
) -> None:
    client = await started_client(aiohttp_client, tmp_path, WidgetAssets(static_dir))
    page = await (await client.get("/")).read()
    script = await (await client.get("/widget.js")).read()
    changed = list(static_dir.rglob("*.*"))
    for path in changed:
        path.write_text("changed", encoding="utf-8")

    assert len(changed) == 2 + len(WIDGET_PARTS)
    assert await (await client.get("/")).read() == page
    assert await (await client.get("/widget.js")).read() == script


async def test_a_missing_file_fails_the_start_not_a_request(tmp_path: Path, static_dir: Path) -> None:
    (static_dir / WIDGET_DIR / WIDGET_PARTS[-1]).unlink()
    channel = WebChannel(Settings(data_dir=tmp_path), HubGate().port, assets=WidgetAssets(static_dir))
    with pytest.raises(FileNotFoundError):
        await channel.start()


async def test_a_request_before_start_is_served_all_the_same(aiohttp_client: ClientFactory, tmp_path: Path) -> None:
    app = web.Application()
    app.add_routes(WebChannel(Settings(data_dir=tmp_path), HubGate().port).routes())
    client = await aiohttp_client(app)
    assert (await client.get("/")).status == 200
    assert (await client.get("/widget.js")).status == 200
