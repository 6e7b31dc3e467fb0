"""Staff passwords: argon2id through argon2-cffi, its default (RFC 9106 low-memory) parameters.

A hash takes a fifth of a second of CPU on purpose (measured here: 0.19 s, on four lanes that
each take a core), so it runs in a worker thread, and no more than `AT_ONCE` at a time in a
process (`Hashing`): a storm of sign-ins then waits its turn instead of taking every core and
every thread of the default pool, which answering customers needs too. A sign-in for an unknown
email checks the password against a throwaway hash all the same, so the answer takes as long
whether or not the account exists.
"""

from __future__ import annotations

import asyncio
import os

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

MIN_LENGTH = 10
MAX_LENGTH = 256
"""Longer is refused before hashing: argon2 hashes any length, but nobody types more."""
AT_ONCE = max(1, (os.cpu_count() or 1) // 2)
"""Hashes running at once: half the cores, so the other half answers customers (one on a
2-core machine)."""

_hasher = PasswordHasher()
_UNKNOWN = _hasher.hash("no account has this password")


class WeakPassword(ValueError):
    """A password refused before it is stored, with the reason to show."""


def checked(password: str) -> str:
    if len(password) < MIN_LENGTH:
        raise WeakPassword(f"a password has at least {MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        raise WeakPassword(f"a password has at most {MAX_LENGTH} characters")
    return password


class Hashing:
    """One process's argon2 work: in worker threads, at most `at_once` at a time; the rest
    wait their turn on the event loop, holding no thread."""

    def __init__(self, at_once: int = AT_ONCE) -> None:
        self._turns = asyncio.Semaphore(at_once)

    async def hashed(self, password: str) -> str:
        checked(password)
        async with self._turns:
            return await asyncio.to_thread(_hasher.hash, password)

    async def matches(self, stored: str | None, password: str) -> bool:
        """Whether `password` is the one `stored` was made from; `stored` None (no such
        account) takes as long and is False."""
        if len(password) > MAX_LENGTH:
            return False
        async with self._turns:
            return await asyncio.to_thread(_verify, stored, password)


def _verify(stored: str | None, password: str) -> bool:
    try:
        return _hasher.verify(stored or _UNKNOWN, password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored: str) -> bool:
    return _hasher.check_needs_rehash(stored)
