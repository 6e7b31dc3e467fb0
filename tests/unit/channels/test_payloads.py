"""Decoding what the widget and the REST API receive: large payloads leave the event loop."""

from __future__ import annotations

import threading

from channels.common.payloads import LARGE_PAYLOAD, decoded_off_loop


def decoding_thread(raw: bytes) -> str:
    return threading.current_thread().name


async def test_a_large_payload_is_decoded_in_a_worker_thread_and_a_small_one_inline() -> None:
    loop_thread = threading.current_thread().name
    assert await decoded_off_loop(decoding_thread, b"{}" * (LARGE_PAYLOAD // 2)) == loop_thread
    assert await decoded_off_loop(decoding_thread, b"x" * (LARGE_PAYLOAD + 1)) != loop_thread
