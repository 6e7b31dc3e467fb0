"""A scriptable OpenAI-compatible chat-completions server, for pointing the real `openai`
client at.

Tests queue what the "model" does next — `Text`, `ToolCalls`, `HttpError`, `Stall`,
`StreamError` — and read back every request the server received (`requests`: headers and
JSON body). Streaming requests get real `chat.completion.chunk` SSE events, text and tool-call
arguments split across several deltas; non-streaming ones a `chat.completion` object.
A request with nothing left in the script is answered 418, so a test that under-scripts fails
loudly — unless the test set `otherwise`: a function of the request's body that answers it (for
conversations whose calls come in no fixed order, e.g. answering beside translating). Token usage (`usage`: one token per word) comes in the last chunk of a stream when the
request asks for it (`stream_options.include_usage`), and in every non-streamed completion.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from core.sandbox.stand_in import StandIn


@dataclass(frozen=True, slots=True)
class Text:
    """The model answers with `text`, streamed in `pieces` deltas, `delay` seconds before each
    (for watching a client show an answer as it is written)."""

    text: str
    pieces: int = 3
    delay: float = 0.0


@dataclass(frozen=True, slots=True)
class Call:
    """One tool call. `arguments` as a mapping is sent as JSON; a string is sent as it is (for
    malformed calls)."""

    name: str
    arguments: Mapping[str, Any] | str
    id: str | None = None
    """None: a fresh `call_<n>`; "" sends no id at all."""


@dataclass(frozen=True, slots=True)
class ToolCalls:
    """The model calls tools (optionally after some text); arguments arrive in several deltas."""

    calls: tuple[Call, ...]
    text: str = ""

    def __init__(self, *calls: Call, text: str = "") -> None:
        object.__setattr__(self, "calls", calls)
        object.__setattr__(self, "text", text)


@dataclass(frozen=True, slots=True)
class HttpError:
    status: int
    retry_after: float | None = None


@dataclass(frozen=True, slots=True)
class Stall:
    """Stream `before` (nothing: not even the headers), then go silent for `seconds`."""

    seconds: float
    before: str = ""


@dataclass(frozen=True, slots=True)
class StreamError:
    """Stream `before`, then an `{"error": …}` event, as OpenAI does when a stream breaks."""

    message: str
    before: str = ""


Response = Text | ToolCalls | HttpError | Stall | StreamError


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    path: str
    headers: Mapping[str, str]
    body: dict[str, Any]


@dataclass(slots=True)
class _Chunks:
    """Builds the chunks of one streamed completion."""

    model: str
    id: str = field(default_factory=lambda: f"chatcmpl-fake-{time.monotonic_ns()}")
    created: int = field(default_factory=lambda: int(time.time()))

    def chunk(self, delta: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}],
        }

    def usage_chunk(self, usage: dict[str, int]) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "choices": [],
            "usage": usage,
        }


def usage(body: Mapping[str, Any], text: str, calls: int) -> dict[str, int]:
    """The tokens a request and its answer count: one per word of the messages' text, and one
    per word of the answer plus one per tool call."""
    prompt = sum(len(m["content"].split()) for m in body["messages"] if isinstance(m.get("content"), str))
    completion = len(text.split()) + calls
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def split(text: str, pieces: int) -> list[str]:
    """`text` in `pieces` nearly equal parts (fewer when it is shorter), in order."""
    size = max(1, -(-len(text) // max(1, pieces)))
    return [text[i : i + size] for i in range(0, len(text), size)]


class FakeOpenAI(StandIn):
    """`GET /v1/models` lists `models`; with `api_key` set, it answers a request without that
    bearer key 401 `invalid_api_key`, quoting back the key it was given (as some compatible
    servers do), so a test can prove a client never prints that message."""

    def __init__(self, *, models: tuple[str, ...] = ("gpt-4o-mini",), api_key: str | None = None) -> None:
        super().__init__()
        self.models = models
        self.api_key = api_key
        self.requests: list[RecordedRequest] = []
        self._script: deque[Response] = deque()
        self._call_ids = itertools.count(1)
        self._closing = asyncio.Event()
        self.gate = asyncio.Event()
        """Cleared by a test to hold every answer back until it is set again."""
        self.gate.set()
        self.otherwise: Callable[[Mapping[str, Any]], Response] | None = None
        """Answers a request when the script is empty (None: 418)."""

    @property
    def base_url(self) -> str:
        """The base URL to give the client, `http://127.0.0.1:PORT/v1` once started ("" before)."""
        return f"{self.url}/v1" if self.url else ""

    def script(self, *responses: Response) -> None:
        """Queue what the next requests get, in order."""
        self._script.extend(responses)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._completions)
        app.router.add_get("/v1/models", self._models)
        return app

    async def stop(self) -> None:
        self._closing.set()  # ends stalls at once
        await super().stop()

    async def _models(self, request: web.Request) -> web.Response:
        self.requests.append(RecordedRequest(request.path, dict(request.headers), {}))
        given = request.headers.get("Authorization", "").removeprefix("Bearer ")
        if self.api_key is not None and given != self.api_key:
            error = {
                "message": f"Incorrect API key provided: {given}.",
                "type": "invalid_request_error",
                "param": None,
                "code": "invalid_api_key",
            }
            return web.json_response({"error": error}, status=401)
        listed = [
            {"id": model, "object": "model", "created": 1_700_000_000, "owned_by": "fake"} for model in self.models
        ]
        return web.json_response({"object": "list", "data": listed})

    async def _completions(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        self.requests.append(RecordedRequest(request.path, dict(request.headers), body))
        if self._script:
            response = self._script.popleft()
        elif self.otherwise is not None:
            response = self.otherwise(body)
        else:
            return _error(418, "the fake OpenAI server has no scripted response left")
        await self.gate.wait()
        if isinstance(response, HttpError):
            headers = {"Retry-After": str(response.retry_after)} if response.retry_after is not None else {}
            return _error(response.status, f"scripted HTTP {response.status}", headers)
        if isinstance(response, Stall) and not response.before:
            await self._stall(response.seconds)
        if body.get("stream"):
            return await self._stream(request, body, response)
        if isinstance(response, Stall | StreamError):  # nothing streamed: a plain failure
            return _error(500, "scripted failure")
        return web.json_response(self._completion(body, response))

    async def _stall(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._closing.wait(), seconds)

    async def _stream(
        self, request: web.Request, body: Mapping[str, Any], response: Text | ToolCalls | Stall | StreamError
    ) -> web.StreamResponse:
        out = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
        await out.prepare(request)
        chunks = _Chunks(body["model"])

        async def send(data: Mapping[str, Any]) -> None:
            await out.write(f"data: {json.dumps(data)}\n\n".encode())

        await send(chunks.chunk({"role": "assistant", "content": ""}))
        text = response.text if isinstance(response, Text | ToolCalls) else response.before
        delay = response.delay if isinstance(response, Text) else 0.0
        for piece in split(text, response.pieces if isinstance(response, Text) else 3):
            if delay:
                await self._stall(delay)
            await send(chunks.chunk({"content": piece}))
        if isinstance(response, Stall):
            await self._stall(response.seconds)
        if isinstance(response, StreamError):
            await send({"error": {"message": response.message, "type": "server_error"}})
            await out.write_eof()
            return out
        for index, call in enumerate(response.calls if isinstance(response, ToolCalls) else ()):
            for delta in self._call_deltas(index, call):
                await send(chunks.chunk({"tool_calls": [delta]}))
        finish = "tool_calls" if isinstance(response, ToolCalls) else "stop"
        await send(chunks.chunk({}, finish_reason=finish))
        if (body.get("stream_options") or {}).get("include_usage"):
            calls = len(response.calls) if isinstance(response, ToolCalls) else 0
            await send(chunks.usage_chunk(usage(body, text, calls)))
        await out.write(b"data: [DONE]\n\n")
        await out.write_eof()
        return out

    def _call_deltas(self, index: int, call: Call) -> list[dict[str, Any]]:
        """The first delta names the call; the arguments follow in three pieces."""
        first: dict[str, Any] = {"index": index, "type": "function", "function": {"name": call.name, "arguments": ""}}
        call_id = self._call_id(call)
        if call_id:
            first["id"] = call_id
        arguments = call.arguments if isinstance(call.arguments, str) else json.dumps(call.arguments)
        return [first] + [{"index": index, "function": {"arguments": piece}} for piece in split(arguments, 3)]

    def _call_id(self, call: Call) -> str:
        return f"call_{next(self._call_ids)}" if call.id is None else call.id

    def _completion(self, body: Mapping[str, Any], response: Text | ToolCalls) -> dict[str, Any]:
        message: dict[str, Any] = {"role": "assistant", "content": response.text or None}
        finish = "stop"
        if isinstance(response, ToolCalls):
            message["tool_calls"] = [
                {
                    "id": self._call_id(call),
                    "type": "function",
                    "function": {
                        "name": call.name,
                        "arguments": call.arguments if isinstance(call.arguments, str) else json.dumps(call.arguments),
                    },
                }
                for call in response.calls
            ]
            finish = "tool_calls"
        return {
            "id": f"chatcmpl-fake-{time.monotonic_ns()}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body["model"],
            "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": finish}],
            "usage": usage(body, response.text, len(response.calls) if isinstance(response, ToolCalls) else 0),
        }


def _error(status: int, message: str, headers: Mapping[str, str] | None = None) -> web.Response:
    body = {"error": {"message": message, "type": "server_error" if status >= 500 else "invalid_request_error"}}
    return web.json_response(body, status=status, headers=headers)
