"""The session cookie's expiry and key: a cookie past its lifetime, or signed under another
token, lets no one in."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request
from pydantic import SecretStr

from core.ops.access import COOKIE, AdminAccess


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


async def test_an_unreachable_failure_store_lets_operators_in_rather_than_failing(
    caplog: pytest.LogCaptureFixture,
) -> None:
    access = AdminAccess(SecretStr("t0ken"), redis_url="redis://:secret-pass@127.0.0.1:1/0")
    guess = make_mocked_request("GET", "/admin/api/status", headers={"Authorization": "Bearer wrong"})
    for _ in range(7):
        with pytest.raises(web.HTTPUnauthorized):
            await access.admit(guess)
    right = make_mocked_request("GET", "/admin/api/status", headers={"Authorization": "Bearer t0ken"})
    assert await access.admit(right) is not None
    assert "cannot be kept (ConnectionError); not throttling" in caplog.text
    assert caplog.text.count("cannot be kept") == 1
    assert "secret-pass" not in caplog.text
