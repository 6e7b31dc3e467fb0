"""The real app, through aiohttp's test client."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from aiohttp.test_utils import TestClient

from core.server import create_app
from core.settings import Settings


@pytest.fixture
async def client(aiohttp_client: Callable[..., object], make_settings: Callable[..., Settings]) -> TestClient:
    return await aiohttp_client(create_app(make_settings()))  # type: ignore[no-any-return, operator]
