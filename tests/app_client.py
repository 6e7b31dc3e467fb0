"""The aiohttp test client as the tests hold it: one type for a client of the hub's application."""

from __future__ import annotations

from aiohttp import web
from aiohttp.test_utils import TestClient

AppClient = TestClient[web.Request, web.Application]
