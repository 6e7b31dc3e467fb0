"""Staff roles, apart from the schema: the command line lists them without loading it."""

from __future__ import annotations

from enum import StrEnum


class StaffRole(StrEnum):
    """What a staff account may do: an agent works cases; an admin also manages people and the hub."""

    ADMIN = "admin"
    AGENT = "agent"
