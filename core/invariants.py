"""What the code itself guarantees, checked in production too.

An `assert` vanishes under `python -O` and, when it fires, says only "AssertionError" with no
word of what was missing. The hub's invariants — a row read just before in the same session, a
field the settings validator made required, a value a route guarantees — are checked with an
explicit error instead: `InvariantError`, whose message names what did not hold and why it
should have.

An `InvariantError` is a bug in the hub, never bad input from a customer or an operator: bad
input is answered where it enters (a 400, a settings error, a polite reply). So no caller
catches it to answer a user; it travels up to the log like any other unexpected error.

This module is part of the contract floor and imports only the standard library.
"""

from __future__ import annotations

from typing import TypeVar

T = TypeVar("T")


class InvariantError(RuntimeError):
    """Something the code itself guarantees did not hold: a bug, never bad input from outside."""


def present(value: T | None, what: str) -> T:
    """`value`, which the code guarantees is there; `InvariantError` ("<what> is missing") if it is None.

    Only None counts as missing: 0, "" and an empty list are values.
    """
    if value is None:
        raise InvariantError(f"{what} is missing")
    return value
