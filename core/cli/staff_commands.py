"""`supporthub staff`: invite people to the staff desk, list them, remove them; `supporthub staff
team`: the teams cases are routed to (`core.handoff.teams`, `core.handoff.routing`). The invitation
is a one-time link the command prints (nothing is emailed): the admin passes it on."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

import click

from core.cli.support import in_transaction, uses_settings
from core.store.roles import StaffRole

if TYPE_CHECKING:
    from core.handoff.teams import TeamView
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


@staff_group.group(name="team")
def team_group() -> None:
    """Teams: each has a queue of its own and a rule for the cases it takes."""


@team_group.command(name="set")
@click.argument("name")
@click.option(
    "--channel", "channels", default="", help="Channels it takes, comma-separated (email,whatsapp); none: any."
)
@click.option("--language", "languages", default="", help="Customer languages it takes (de,fr); none: any.")
@click.option(
    "--topic",
    "topics",
    default="",
    help="Words looked for in why the case was handed over and in the help centre sections the bot cited "
    "(billing,refund); none: any.",
)
@click.option("--round-robin/--no-round-robin", default=False, help="Give each new case to a member in turn.")
@click.option(
    "--capacity", default=5, show_default=True, help="Open cases a member owns before round robin passes them."
)
@click.option(
    "--hours", default="", help="When round robin gives out cases: 'weekdays=09:00-17:00; timezone=Europe/Berlin'."
)
@uses_settings
def set_team(
    settings: Settings,
    name: str,
    channels: str,
    languages: str,
    topics: str,
    round_robin: bool,
    capacity: int,
    hours: str,
) -> None:
    """Make the team NAME, or change its rule and routing (its members stay)."""
    from core.handoff import teams

    change = partial(
        teams.save_team,
        name=name,
        channels=channels,
        languages=languages,
        topics=topics,
        round_robin=round_robin,
        capacity=capacity,
        hours=hours,
        actor=CLI_ACTOR,
    )
    try:
        team = in_transaction(settings, change)
    except teams.TeamError as exc:
        raise click.UsageError(str(exc)) from None
    click.echo(f"Team {team.name}: takes {team.rule}; {_routing(team)}.")


@team_group.command(name="join")
@click.argument("name")
@click.argument("emails", nargs=-1, required=True)
@uses_settings
def join_team(settings: Settings, name: str, emails: tuple[str, ...]) -> None:
    """Put the people with EMAILS on the team NAME."""
    _members(settings, name, emails, join=True)


@team_group.command(name="leave")
@click.argument("name")
@click.argument("emails", nargs=-1, required=True)
@uses_settings
def leave_team(settings: Settings, name: str, emails: tuple[str, ...]) -> None:
    """Take the people with EMAILS off the team NAME."""
    _members(settings, name, emails, join=False)


@team_group.command(name="remove")
@click.argument("name")
@uses_settings
def remove_team(settings: Settings, name: str) -> None:
    """Remove the team NAME: its cases go back to everyone's queue."""
    from core.handoff import teams

    try:
        in_transaction(settings, partial(teams.remove_team, name=name, actor=CLI_ACTOR))
    except teams.TeamError as exc:
        raise click.UsageError(str(exc)) from None
    click.echo(f"Removed the team {name.strip().lower()}; its cases are in everyone's queue.")


@team_group.command(name="list")
@uses_settings
def list_teams(settings: Settings) -> None:
    """Every team: what it takes, how it routes, who is on it."""
    from core.handoff import teams

    found = in_transaction(settings, teams.teams)
    if not found:
        click.echo("no teams: every case is in everyone's queue (supporthub staff team set NAME to make one)")
        return
    for team in found:
        click.echo(f"{team.name}: takes {team.rule}; {_routing(team)}")
        click.echo(f"  members: {', '.join(member.name for member in team.members) or 'nobody yet'}")


def _routing(team: TeamView) -> str:
    if not team.round_robin:
        return "staff pick cases from its queue"
    hours = f", {team.hours}" if team.hours else ""
    return f"round robin, up to {team.capacity} open cases each{hours}"


def _members(settings: Settings, name: str, emails: tuple[str, ...], *, join: bool) -> None:
    from core.handoff import teams

    change = teams.join_team if join else teams.leave_team
    try:
        for email in emails:
            team = in_transaction(settings, partial(change, name=name, email=email, actor=CLI_ACTOR))
    except teams.TeamError as exc:
        raise click.UsageError(str(exc)) from None
    click.echo(f"Team {team.name}: {', '.join(member.name for member in team.members) or 'nobody'}.")


COMMANDS = [staff_group]
