"""Staff passwords: argon2id through argon2-cffi, its default (RFC 9106 low-memory) parameters.

A hash takes tens of milliseconds of CPU on purpose, so the async callers run it in a thread
(`asyncio.to_thread`) and the event loop keeps serving. A sign-in for an unknown email checks
the password against a throwaway hash all the same, so the answer takes as long whether or not
the account exists.
"""

from __future__ import annotations

import asyncio

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

MIN_LENGTH = 10
MAX_LENGTH = 256
"""Longer is refused before hashing: argon2 hashes any length, but nobody types more."""

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


async def hashed(password: str) -> str:
    return await asyncio.to_thread(_hasher.hash, checked(password))


async def matches(stored: str | None, password: str) -> bool:
    """Whether `password` is the one `stored` was made from; `stored` None (no such account)
    takes as long and is False."""
    if len(password) > MAX_LENGTH:
        return False
    return await asyncio.to_thread(_verify, stored, password)


def _verify(stored: str | None, password: str) -> bool:
    try:
        return _hasher.verify(stored or _UNKNOWN, password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored: str) -> bool:
    return _hasher.check_needs_rehash(stored)
