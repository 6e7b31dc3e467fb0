"""`supporthub staff`: invite people to the staff desk, list them, remove them. The invitation
is a one-time link the command prints (nothing is emailed): the admin passes it on."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

import click

from core.cli.support import in_transaction, uses_settings
from core.store.roles import StaffRole

if TYPE_CHECKING:
    from core.settings import Settings

CLI_ACTOR = "command line"


@click.group(name="staff")
def staff_group() -> None:
    """The people who sign in to /admin and answer customers."""


@staff_group.command()
@click.argument("email")
@click.option("--name", default="", help="How colleagues and customers see them (they can change it when they join).")
@click.option(
    "--role",
    type=click.Choice([role.value for role in StaffRole]),
    default=StaffRole.AGENT.value,
    show_default=True,
    help="agent: works cases; admin: also invites and removes people, re-indexes, retries deliveries.",
)
@uses_settings
def invite(settings: Settings, email: str, name: str, role: str) -> None:
    """Invite EMAIL: prints a one-time link (valid 7 days) where they choose a password."""
    from core.store import staff

    if settings.admin.token is None:
        raise click.ClickException("/admin is off: set SUPPORTHUB_ADMIN__TOKEN first (see docs/dashboard)")
    try:
        token = in_transaction(
            settings, partial(staff.invite, email=email, name=name, role=StaffRole(role), actor=CLI_ACTOR)
        )
    except staff.StaffError as exc:
        raise click.UsageError(str(exc)) from None
    click.echo(f"Invited {email.strip().lower()} as {role}. Send them this link (valid 7 days, works once):")
    click.echo(staff.invitation_link(settings, token))


@staff_group.command(name="list")
@uses_settings
def list_staff(settings: Settings) -> None:
    """Everyone invited: name, email, role and whether they joined."""
    from core.store import staff

    found = in_transaction(settings, staff.people)
    if not found:
        click.echo("nobody yet: supporthub staff invite you@example.com --role admin")
        return
    click.echo(f"{'name':24}  {'email':32}  {'role':6}  status")
    for person in found:
        status = "removed" if person.removed else "active" if person.active else "invited"
        click.echo(f"{person.name[:24]:24}  {person.email[:32]:32}  {person.role.value:6}  {status}")


@staff_group.command()
@click.argument("email")
@uses_settings
def remove(settings: Settings, email: str) -> None:
    """Remove EMAIL: their sessions end at once; what they did keeps their name."""
    from core.store import staff

    try:
        person = in_transaction(settings, partial(staff.remove, email=email, actor=CLI_ACTOR))
    except staff.StaffError as exc:
        raise click.UsageError(str(exc)) from None
    click.echo(f"Removed {person.name} ({person.email}); they are signed out everywhere.")


COMMANDS = [staff_group]
