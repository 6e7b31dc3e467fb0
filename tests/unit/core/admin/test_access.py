"""The session cookie's expiry and key: a cookie past its lifetime, or signed under another
token, lets no one in."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request
from pydantic import SecretStr

from core.admin.access import COOKIE, AdminAccess


def cookie_from(access: AdminAccess) -> str:
    signed_in = make_mocked_request("POST", "/admin/login")
    response = web.Response()
    access.sign_in(response, signed_in)
    return response.cookies[COOKIE].value


def request_with(cookie: str) -> web.Request:
    return make_mocked_request("GET", "/admin", headers={"Cookie": f"{COOKIE}={cookie}"})


def test_a_session_lets_its_holder_in_until_it_expires(monkeypatch: pytest.MonkeyPatch) -> None:
    access = AdminAccess(SecretStr("t0ken"), session_ttl=timedelta(hours=1))
    cookie = cookie_from(access)
    visitor = access.visitor(request_with(cookie))
    assert visitor is not None and visitor.csrf
    now = time.time()
    monkeypatch.setattr(time, "time", lambda: now + 3600 + 5)
    assert access.visitor(request_with(cookie)) is None


def test_a_new_token_signs_every_browser_out() -> None:
    cookie = cookie_from(AdminAccess(SecretStr("old-token")))
    assert AdminAccess(SecretStr("new-token")).visitor(request_with(cookie)) is None
    assert AdminAccess(SecretStr("old-token")).visitor(request_with(cookie)) is not None


def test_each_sign_in_gets_its_own_csrf_value() -> None:
    access = AdminAccess(SecretStr("t0ken"))
    first = access.visitor(request_with(cookie_from(access)))
    second = access.visitor(request_with(cookie_from(access)))
    assert first is not None and second is not None and first.csrf != second.csrf
