"""A large help centre, generated: StackFAQ's answers beside synthetic product articles.

Deterministic (seeded) so two runs index the same chunks. The synthetic articles read like a
SaaS help centre's — product areas, features, steps, roles, plan limits, error codes,
integrations — with every sentence filled from word lists and numbers, so chunks are not
duplicates of each other (a corpus of repeated chunks would flatter BM25 and the heading
cache). Files are grouped in one folder per product area, as help centres export them.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from knowledge.archive_limits import DEFAULT_MAX_UNPACKED_BYTES
from knowledge.conversion import convert
from knowledge.ingest.chunking import Chunk
from tests.bench.bench_api import write_corpus

T = TypeVar("T")

AREAS = (
    "Billing",
    "Invoices",
    "Single sign-on",
    "Reports",
    "Mobile app",
    "Notifications",
    "Permissions",
    "Public API",
    "Webhooks",
    "Data import",
    "Data export",
    "Calendar sync",
    "Shared inbox",
    "Automations",
    "Analytics",
    "Security",
    "Teams",
    "Projects",
    "Time tracking",
    "File storage",
    "Backups",
    "Integrations",
    "Custom fields",
    "Forms",
    "Templates",
    "Audit log",
    "Two-factor authentication",
    "Email forwarding",
    "Chat widget",
    "Offline mode",
    "Search",
    "Dashboards",
    "Workflows",
    "Approvals",
    "Contracts",
    "Payments",
    "Subscriptions",
    "Tax settings",
    "Localization",
    "Guest access",
)
OBJECTS = (
    "workspace",
    "project",
    "report",
    "invoice",
    "user",
    "team",
    "label",
    "filter",
    "template",
    "webhook",
    "API key",
    "access token",
    "integration",
    "calendar",
    "folder",
    "file",
    "dashboard",
    "custom field",
    "form",
    "pipeline",
    "ticket",
    "macro",
    "rule",
    "snippet",
    "segment",
    "export job",
    "import job",
    "role",
    "group",
    "domain",
    "subscription",
    "payment method",
    "receipt",
    "credit note",
    "contact list",
    "channel",
)
VERBS = (
    ("create", "created"),
    ("rename", "renamed"),
    ("archive", "archived"),
    ("delete", "deleted"),
    ("restore", "restored"),
    ("share", "shared"),
    ("export", "exported"),
    ("import", "imported"),
    ("sync", "synced"),
    ("connect", "connected"),
    ("disconnect", "disconnected"),
    ("enable", "enabled"),
    ("disable", "disabled"),
    ("schedule", "scheduled"),
    ("duplicate", "duplicated"),
    ("merge", "merged"),
    ("move", "moved"),
    ("lock", "locked"),
    ("transfer", "transferred"),
    ("approve", "approved"),
)
PLANS = ("Free", "Starter", "Team", "Business", "Enterprise", "Nimbus", "Stratus", "Cirrus")
PLATFORMS = ("Windows", "macOS", "Linux", "iOS", "Android", "Chrome", "Firefox", "Safari", "Edge")
INTEGRATIONS = (
    "Slack",
    "Salesforce",
    "HubSpot",
    "Zapier",
    "Google Drive",
    "Dropbox",
    "Jira",
    "GitHub",
    "Outlook",
    "Microsoft Teams",
    "QuickBooks",
    "Xero",
    "Stripe",
    "Shopify",
    "Zendesk",
    "Okta",
)
ROLES = ("owner", "admin", "billing manager", "member", "guest", "auditor", "team lead")
REASONS = (
    "the workspace has reached its plan limit",
    "another admin is editing it",
    "the session has expired",
    "the linked integration revoked its token",
    "the file is larger than the upload limit",
    "the domain is not verified",
    "single sign-on is enforced for the team",
    "the card on file was declined",
    "the request was sent from an IP address outside the allow list",
    "the item is locked by a retention policy",
    "two-factor authentication was not completed",
    "the export is still running",
    "the time zone is not set",
    "the CSV file has a column without a header",
    "the API rate limit was exceeded",
)
MENUS = ("Settings", "Admin console", "Workspace settings", "Account menu", "Billing page", "Team settings")
SECTIONS = (
    "Before you start",
    "Steps",
    "On mobile",
    "Limits on each plan",
    "Troubleshooting",
    "Permissions",
    "Using the API",
    "Notifications",
    "Frequently asked questions",
    "What happens next",
)

_SENTENCES: tuple[Callable[[random.Random, dict[str, str]], str], ...] = (
    lambda r, w: (
        f"Only {_pick(r, ROLES)}s can {w['verb']} {w['a_object']} on the {_pick(r, PLANS)} plan; "
        "other roles see the option greyed out."
    ),
    lambda r, w: (
        f"Open {_pick(r, MENUS)} › {w['area']} › {w['Objects']} and choose {w['Verb']} from the menu "
        f"next to the {w['object']}."
    ),
    lambda r, w: (
        f"Changes reach the {_pick(r, PLATFORMS)} app within {r.randint(1, 30)} minutes; "
        "pull down to refresh if you do not see them."
    ),
    lambda r, w: (
        f"If the {w['object']} is linked to {_pick(r, INTEGRATIONS)}, disconnect it first under "
        "Settings › Integrations."
    ),
    lambda r, w: (
        f"Error {w['code']}-{r.randint(1000, 9999)} means the {w['object']} could not be {w['verbed']} "
        f"because {_pick(r, REASONS)}."
    ),
    lambda r, w: (
        f"The {_pick(r, PLANS)} plan allows up to {r.randint(2, 500)} {w['objects']} per workspace; "
        f"the {_pick(r, PLANS)} plan raises that to {r.randint(501, 20000)}."
    ),
    lambda r, w: (
        f"A {w['verbed']} {w['object']} keeps its history for {r.choice((7, 14, 30, 60, 90, 365))} days, "
        f"after which only an {_pick(r, ROLES)} can get it back."
    ),
    lambda r, w: (
        f"You can also {w['verb']} {w['objects']} through the API: send a POST request to "
        f"/v{r.randint(1, 4)}/{w['slug']}/{{id}}/{w['verb']} with an access token."
    ),
    lambda r, w: (
        f"Customers on {_pick(r, PLATFORMS)} version {r.randint(8, 17)}.{r.randint(0, 9)} or older "
        f"need to update before they can {w['verb']} {w['objects']}."
    ),
    lambda r, w: (
        f"We email every {_pick(r, ROLES)} when {w['a_object']} is {w['verbed']}; turn this off under "
        "Notifications › Email."
    ),
    lambda r, w: (
        f"Up to {r.randint(2, 50)} {w['objects']} can be {w['verbed']} at once: select them in the list "
        "and use the bulk actions bar."
    ),
    lambda r, w: (
        f"The audit log records who {w['verbed']} each {w['object']} and when, for "
        f"{r.choice((30, 90, 180, 400))} days on the {_pick(r, PLANS)} plan."
    ),
    lambda r, w: (
        f"Step {r.randint(1, 6)}: click {w['Verb']} {w['object'].title()}, check the preview and "
        f"confirm with the {r.choice(('blue', 'green', 'primary'))} button."
    ),
    lambda r, w: (
        f"When {_pick(r, INTEGRATIONS)} is connected, a {w['verbed']} {w['object']} appears there too, "
        f"usually within {r.randint(5, 120)} seconds."
    ),
    lambda r, w: (
        f"Still stuck? Send us the {w['object']} ID and the time of the attempt (with your time zone), "
        f"and mention code {w['code']}-{r.randint(1000, 9999)}."
    ),
)


def _pick(rng: random.Random, words: Sequence[T]) -> T:
    return words[rng.randrange(len(words))]


def _article(rng: random.Random) -> tuple[str, str]:
    """(folder, markdown) of one article: a title and 3–7 sections of 1–3 paragraphs."""
    area, obj = _pick(rng, AREAS), _pick(rng, OBJECTS)
    verb, verbed = _pick(rng, VERBS)
    plural = f"{obj}s"
    words = {
        "area": area,
        "object": obj,
        "objects": plural,
        "Objects": plural[:1].upper() + plural[1:],
        "a_object": f"{'an' if obj[0] in 'aeiou' else 'a'} {obj}",
        "verb": verb,
        "Verb": verb.capitalize(),
        "verbed": verbed,
        "slug": plural.replace(" ", "-").lower(),
        "code": "".join(part[0] for part in area.upper().split()) + area.upper().replace(" ", "")[1:3],
    }
    title = rng.choice(
        (
            f"How to {verb} {words['a_object']} in {area}",
            f"Why can't I {verb} {words['a_object']}? ({area})",
            f"{area}: {verb} {plural} in bulk",
            f"{verb.capitalize()} {plural} from the {_pick(rng, PLATFORMS)} app",
            f"{area} and {_pick(rng, INTEGRATIONS)}: {verb} {plural}",
        )
    )
    lines = [f"# {title}", ""]
    for section in rng.sample(SECTIONS, rng.randint(3, 7)):
        lines += [f"## {section}", ""]
        for _ in range(rng.randint(1, 3)):
            sentences = rng.sample(_SENTENCES, rng.randint(1, 3))
            lines += [" ".join(sentence(rng, words) for sentence in sentences), ""]
    return area.lower().replace(" ", "-"), "\n".join(lines)


def _chunks(path: Path, max_chars: int) -> list[Chunk]:
    """The file's chunks, as the ingest makes them."""
    return convert(
        path.read_bytes(),
        suffix=path.suffix.lower(),
        stem=path.stem,
        max_chars=max_chars,
        max_unpacked_bytes=DEFAULT_MAX_UNPACKED_BYTES,
    ).chunks


def write_help_centre(
    threads: Sequence[dict[str, Any]], directory: Path, *, chunks: int, max_chars: int, seed: int = 16
) -> tuple[list[Path], int]:
    """StackFAQ's answers (`bench_api.write_corpus`, in `directory/stackfaq`) plus synthetic
    articles, until one more article would pass `chunks` chunks. Returns the articles' paths,
    in order, and the chunks written in all."""
    write_corpus(threads, directory / "stackfaq")
    total = sum(len(_chunks(path, max_chars)) for path in (directory / "stackfaq").iterdir())
    rng = random.Random(seed)
    articles: list[Path] = []
    while True:
        folder, markdown = _article(rng)
        path = directory / folder / f"article-{len(articles):05d}.md"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(markdown, encoding="utf-8")
        count = len(_chunks(path, max_chars))
        if total + count > chunks:
            path.unlink()
            return articles, total
        total += count
        articles.append(path)


def edit_articles(articles: Sequence[Path], share: float, *, seed: int = 17) -> int:
    """Append a sentence to every 1/`share`-th article, as an editor's round of fixes would;
    returns how many were changed."""
    rng = random.Random(seed)
    step = max(1, round(1 / share))
    changed = articles[::step]
    for path in changed:
        note = f"Updated: {_pick(rng, ROLES)}s on the {_pick(rng, PLANS)} plan can now do this from {_pick(rng, PLATFORMS)}."
        path.write_text(path.read_text(encoding="utf-8") + f"\n{note}\n", encoding="utf-8")
    return len(changed)


def texts_of(paths: Sequence[Path], max_chars: int) -> list[str]:
    """What the ingest embeds for the chunks of `paths` (`embedding_text`)."""
    from knowledge.ingest.chunking import embedding_text

    return [embedding_text(chunk) for path in paths for chunk in _chunks(path, max_chars)]
