"""A local fake of a shop's own API, for the actions the hub calls on a customer's behalf.

    async with FakeCompanyApi() as api:            # or the `company_api` fixture (tests/conftest.py)
        api.add_order("1001", email="ada@example.com", status="shipped", items=[{"name": "Mug", "qty": 2}])
        … point the action at api.url (listing api.host_port), header `Authorization: Bearer {api.token}` …
        await api.received("/api/orders/1001")     # once the hub's call has arrived
        api.requests[-1].query["email"]            # what crossed the wire

Everything under `/api/` wants the bearer token given at construction (401 otherwise):
- `GET /api/orders/{number}?email=…` (or `?phone=…`): the order, only to its owner. A wrong
  owner, no owner given and an unknown number all get the same 404 `{"error": "not found"}`,
  so an answer never tells that another customer's order exists.
- `GET /api/orders?email=…` (or `?phone=…`): that customer's orders, a JSON list.
- `POST /api/subscriptions/cancel` `{"email", "reason"?}`: recorded in `cancellations`.
- `POST /api/invoices/{number}/resend` `{"email"}`: 202, recorded in `resends`.

And the hostile ones, no token needed: `GET /slow` answers only once the fake is closing;
`GET /broken` is a 500 whose body is a stack trace holding `SECRET_DETAIL`; `GET /huge` is a
`HUGE_SIZE` JSON body (`?chunked=1`: streamed with no Content-Length, for a cap that must count
bytes rather than trust a header); `GET /redirect-away` is a 302 to another host.

Every request is recorded as it arrives, before it is answered (a `/slow` call can be waited
for while it hangs), unknown paths and refused tokens included.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler
from multidict import CIMultiDict, CIMultiDictProxy

from core.sandbox.stand_in import StandIn

TOKEN = "company-api-test-token"
METADATA_URL = "http://169.254.169.254/latest/meta-data/"
"""Where `/redirect-away` sends a client by default: the cloud metadata service."""
EFFECTIVE = "2026-12-31"
"""When every cancelled subscription ends."""
SECRET_DETAIL = "secret-internal-detail"
BROKEN_BODY = (
    f"Traceback (most recent call last): {SECRET_DETAIL}\n"
    '  File "/srv/shop/api/orders.py", line 87, in lookup\n'
    "    row = db.execute(QUERY, dsn='postgresql://shop:hunter2@10.0.0.5/orders')\n"
    f"KeyError: '{SECRET_DETAIL}'\n"
)
HUGE_SIZE = 5 * 1024 * 1024
_CHUNK = 64 * 1024


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    """One request as it arrived. `headers` look up in any case; `json` is the parsed body, or
    None when there was none or it was not JSON."""

    method: str
    path: str
    query: Mapping[str, str]
    headers: Mapping[str, str]
    json: Any


@dataclass(frozen=True, slots=True)
class Order:
    number: str
    email: str | None
    phone: str | None
    status: str
    carrier: str | None
    eta: str | None
    items: tuple[Mapping[str, Any], ...]

    def belongs_to(self, *, email: str | None, phone: str | None) -> bool:
        """Every identity given matches, and at least one is given (emails in any case)."""
        if email is None and phone is None:
            return False
        email_ok = email is None or (self.email is not None and email.casefold() == self.email.casefold())
        phone_ok = phone is None or phone == self.phone
        return email_ok and phone_ok

    def public(self) -> dict[str, Any]:
        """What the API shows its owner (never the owner's own identity)."""
        return {
            "number": self.number,
            "status": self.status,
            "carrier": self.carrier,
            "eta": self.eta,
            "items": [dict(item) for item in self.items],
        }


@dataclass(frozen=True, slots=True)
class Cancellation:
    email: str
    reason: str | None


@dataclass(frozen=True, slots=True)
class Resend:
    invoice: str
    email: str


class FakeCompanyApi(StandIn):
    def __init__(self, *, token: str = TOKEN, redirect_to: str = METADATA_URL) -> None:
        super().__init__()
        self.token = token
        self.redirect_to = redirect_to
        self.requests: list[RecordedRequest] = []
        self.orders: dict[str, Order] = {}
        self.cancellations: list[Cancellation] = []
        self.resends: list[Resend] = []
        self._closing = asyncio.Event()

    @property
    def host_port(self) -> str:
        """`127.0.0.1:PORT` once started, as an operator lists the host."""
        return self.url.removeprefix("http://")

    def order_status_config(self, path: Path, *, token_env: str = "SHOP_API_TOKEN") -> Path:
        """A settings file declaring one action, `order_status`, on this API, its bearer token
        read from `token_env` when it is called; written to `path`, which is returned."""
        path.write_text(
            f'[actions]\nprivate_hosts = ["{self.host_port}"]\n'
            "[actions.declared.order_status]\n"
            'description = "Look up an order"\n'
            f'url = "{self.url}/api/orders/{{order_number}}?email={{contact.email}}"\n'
            f'headers = {{ Authorization = "Bearer {{env.{token_env}}}" }}\n'
            'parameters = { type = "object", properties = { order_number = { type = "string" } } }\n'
        )
        return path

    def add_order(
        self,
        number: str,
        *,
        email: str | None = None,
        phone: str | None = None,
        status: str = "processing",
        carrier: str | None = None,
        eta: str | None = None,
        items: Sequence[Mapping[str, Any]] = (),
    ) -> Order:
        """Seed an order owned by `email` and/or `phone` (one at least)."""
        if email is None and phone is None:
            raise ValueError(f"order {number}: an owner needs an email or a phone")
        order = Order(number, email, phone, status, carrier, eta, tuple(dict(item) for item in items))
        self.orders[number] = order
        return order

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self._record_and_guard])
        app.router.add_get("/api/orders", self._list_orders)
        app.router.add_get("/api/orders/{number}", self._order)
        app.router.add_post("/api/subscriptions/cancel", self._cancel)
        app.router.add_post("/api/invoices/{number}/resend", self._resend)
        app.router.add_get("/slow", self._slow)
        app.router.add_get("/broken", self._broken)
        app.router.add_get("/huge", self._huge)
        app.router.add_get("/redirect-away", self._redirect_away)
        return app

    async def stop(self) -> None:
        self._closing.set()  # lets `/slow` answer, so the shutdown does not wait on it
        await super().stop()

    async def __aenter__(self) -> FakeCompanyApi:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    def requests_to(self, path_prefix: str) -> list[RecordedRequest]:
        """The requests whose path starts with `path_prefix`, in the order they arrived."""
        return [request for request in self.requests if request.path.startswith(path_prefix)]

    async def received(self, path_prefix: str, count: int = 1, *, timeout: float = 60.0) -> list[RecordedRequest]:
        """Once at least `count` requests have arrived on a path starting with `path_prefix`,
        all of them. Woken by each arrival; `timeout` only bounds a test that would hang, and
        ends it with an AssertionError listing what did arrive."""

        def expected() -> str:
            seen = [f"{r.method} {r.path}" for r in self.requests]
            return (
                f"expected {count} request(s) to {path_prefix} within {timeout} s, "
                f"got {len(self.requests_to(path_prefix))}; requests: {seen}"
            )

        await self.wait_until(lambda: len(self.requests_to(path_prefix)) >= count, timeout=timeout, expected=expected)
        return self.requests_to(path_prefix)

    @web.middleware
    async def _record_and_guard(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        await self._record(request)
        if request.path.startswith("/api/") and request.headers.get("Authorization") != f"Bearer {self.token}":
            return web.json_response({"error": "unauthorized"}, status=401, headers={"WWW-Authenticate": "Bearer"})
        return await handler(request)

    async def _record(self, request: web.Request) -> None:
        body: Any = None
        if request.body_exists:
            try:
                body = json.loads(await request.read())  # read() is cached: the handler reads it again
            except ValueError:
                body = None
        recorded = RecordedRequest(
            method=request.method,
            path=request.path,
            query=dict(request.query),
            headers=CIMultiDictProxy(CIMultiDict(request.headers)),
            json=body,
        )
        self.requests.append(recorded)
        await self.recorded()

    async def _order(self, request: web.Request) -> web.Response:
        order = self.orders.get(request.match_info["number"])
        if order is None or not order.belongs_to(**_identity(request)):
            return web.json_response({"error": "not found"}, status=404)
        return web.json_response(order.public())

    async def _list_orders(self, request: web.Request) -> web.Response:
        identity = _identity(request)
        return web.json_response([order.public() for order in self.orders.values() if order.belongs_to(**identity)])

    async def _cancel(self, request: web.Request) -> web.Response:
        body = await _json_object(request)
        email, reason = body.get("email"), body.get("reason")
        if not isinstance(email, str) or not email or not isinstance(reason, str | None):
            return web.json_response({"error": "email (a string) required, reason a string"}, status=400)
        self.cancellations.append(Cancellation(email, reason))
        return web.json_response({"cancelled": True, "effective": EFFECTIVE})

    async def _resend(self, request: web.Request) -> web.Response:
        email = (await _json_object(request)).get("email")
        if not isinstance(email, str) or not email:
            return web.json_response({"error": "email (a string) required"}, status=400)
        self.resends.append(Resend(request.match_info["number"], email))
        return web.json_response({"sent_to": email}, status=202)

    async def _slow(self, request: web.Request) -> web.Response:
        await self._closing.wait()
        return web.json_response({"slow": True})

    async def _broken(self, request: web.Request) -> web.Response:
        return web.Response(status=500, text=BROKEN_BODY)

    async def _huge(self, request: web.Request) -> web.StreamResponse:
        body = _huge_body()
        if not request.query.get("chunked"):
            return web.Response(body=body, content_type="application/json")
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        for start in range(0, len(body), _CHUNK):
            await response.write(body[start : start + _CHUNK])
        await response.write_eof()
        return response

    async def _redirect_away(self, request: web.Request) -> web.Response:
        return web.Response(status=302, headers={"Location": self.redirect_to})


def _identity(request: web.Request) -> dict[str, str | None]:
    return {"email": request.query.get("email"), "phone": request.query.get("phone")}


async def _json_object(request: web.Request) -> dict[str, Any]:
    """The body as a JSON object; {} when it is missing, not JSON or not an object."""
    try:
        body = await request.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _huge_body() -> bytes:
    """A JSON object of exactly HUGE_SIZE bytes."""
    frame = b'{"padding": ""}'
    return frame[:-2] + b"x" * (HUGE_SIZE - len(frame)) + frame[-2:]
