"""A busy `serve` hands the memory a burst freed back to the system (`core.ops.glibc_malloc`)."""

from __future__ import annotations

import asyncio
import ctypes
import itertools

import psutil
import pytest

from core.ops.glibc_malloc import trim_freed_memory

BLOCK = 4096
BLOCKS = 50_000  # 200 MB, each block under glibc's mmap threshold: on the heap


def libc() -> ctypes.CDLL:
    try:
        lib = ctypes.CDLL("libc.so.6")
    except OSError:
        pytest.skip("glibc is not this system's C library")
    lib.malloc.restype = ctypes.c_void_p
    lib.malloc.argtypes = [ctypes.c_size_t]
    lib.free.argtypes = [ctypes.c_void_p]
    return lib


def resident_mb() -> float:
    rss: int = psutil.Process().memory_info().rss
    return rss / 2**20


def burst(lib: ctypes.CDLL) -> int:
    """Allocate and free 200 MB on the heap, keeping its top block in use (so glibc cannot give
    the rest back by itself); the top block's address, to free at the end."""
    blocks = [lib.malloc(BLOCK) for _ in range(BLOCKS)]
    for block in blocks:
        ctypes.memset(block, 1, BLOCK)
    pinned: int = blocks.pop()
    for block in blocks:
        lib.free(block)
    return pinned


async def test_the_heap_a_burst_freed_goes_back_to_the_system_once_there_was_activity() -> None:
    lib = libc()
    pinned = burst(lib)
    held = resident_mb()
    activity = itertools.count()
    trimming = asyncio.create_task(trim_freed_memory(lambda: next(activity), interval=0.01))
    try:
        async with asyncio.timeout(30):
            while resident_mb() > held - 150:
                await asyncio.sleep(0.01)
    finally:
        trimming.cancel()
        lib.free(pinned)


async def test_an_idle_process_keeps_its_heap_after_the_first_trim() -> None:
    lib = libc()
    looks = 0

    def activity() -> int:
        nonlocal looks
        looks += 1
        return 0  # nothing happens after the first look

    async def looked(times: int) -> None:
        async with asyncio.timeout(30):
            while looks < times:
                await asyncio.sleep(0.005)

    trimming = asyncio.create_task(trim_freed_memory(activity, interval=0.001))
    pinned = None
    try:
        await looked(2)  # the first look trims what start-up freed; the second found nothing new
        pinned = burst(lib)
        held = resident_mb()
        await looked(looks + 20)  # proof it looked, many times, since the burst
        assert resident_mb() > held - 50
    finally:
        trimming.cancel()
        if pinned is not None:
            lib.free(pinned)
