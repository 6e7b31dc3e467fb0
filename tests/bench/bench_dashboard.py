"""/admin at a million messages: the overview and the knowledge-gaps page of a real `supporthub
serve`, timed over HTTP on SQLite and PostgreSQL, each figure next to its floor.

The data: 1,000,000 messages over the last 365 days, a mid-size team's year (~2,700 messages a
day, more on weekdays and in working hours). A conversation is one to five turns of a customer
message and the bot's reply (`reply_to` the question, 0.3-6 s later): ~70 % answered with
citations, ~15 % declined, ~5 % handed to a person, ~10 % small talk. About a quarter of the
conversations open a case, where a person writes a few messages (some recent cases are still
waiting, most of those past the SLA); ~5 % of the bot's replies get a thumbs up or down.
Customers ask the 141 answerable questions of config/eval/sample-questions.jsonl and, where the
bot declines, one of 50 topics the sample help centre does not cover, each in five wordings,
with and without greetings and thanks — so the gaps page groups real paraphrases. Message ids
follow time, as a hub's do. The rows are bulk-loaded (SQLite: executemany with SQLAlchemy's own
type processing; PostgreSQL: COPY) into a schema made by the app's migrations, with every index
in place while loading, so the indexes grow as a hub's do; PostgreSQL is then VACUUM ANALYZEd,
as autovacuum would have done, and SQLite left as the app leaves it (no ANALYZE). Tables no
timed page reads (identities, case events, outbox, files, memories) stay empty.

The knowledge base is the sample help centre (config/knowledge), indexed while the rows are
made, so every knowledge gap was last seen before the index changed: the first gaps page
re-checks the typical question of each group it shows against the index (later loads reuse the
results). The server encodes the gaps page's questions in the background after start-up
(`Pages.keep_gaps_warm`); the pages are timed once it has logged that it is done, and the
warm-up is reported next to its floor.

Floors, measured in the same run on the same database: a bare `SELECT count(*)` of the
messages in the 30-day period (the rows the overview cannot avoid reading), an HTTP round trip
to /healthz, and the same model encoding the same questions in one call on one torch thread,
as the server runs it. Each query behind the pages is also timed alone, to name a slow one.
"""

from __future__ import annotations

import asyncio
import bisect
import gc
import itertools
import json
import math
import os
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from contextlib import ExitStack, closing, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any, Generic, TypeVar

import aiohttp
import asyncpg
from sqlalchemy import JSON, Table, create_engine, event, func, insert, select
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.sql.schema import ScalarElementColumnDefault

from core.admin.queries import gaps, satisfaction
from core.admin.queries import overview as queries
from core.admin.queries.periods import chosen_period
from core.handoff.hours import Sla
from core.settings import AnswerSettings, HandoffSettings
from core.store.case_tables import Case
from core.store.db import (
    Base as AppBase,
)
from core.store.db import (
    Contact,
    Conversation,
    Feedback,
    Message,
    libpq_url,
    make_engine,
    make_sessionmaker,
)
from knowledge.base import QUERY_SUB_BATCH
from knowledge.embedding.embedder import Embedder
from knowledge.settings import KnowledgeSettings
from knowledge.tables import Base as KnowledgeBase
from tests.bench.bench_api import wait_ready
from tests.ports import free_port
from tests.postgres import POSTGRES_ENV
from tests.schema_templates import migrate

ROOT = Path(__file__).resolve().parents[2]
KNOWLEDGE = ROOT / "config" / "knowledge"
QUESTIONS = ROOT / "config" / "eval" / "sample-questions.jsonl"
MESSAGES = 1_000_000
DAYS = 365
CONTACTS = 70_000
REQUESTS = 7
FULL_SCAN_REQUESTS = 3
"""A search for a word no message holds reads every message: seconds each, and no target to meet."""
TARGET_S = 1.0
BATCH = 10_000
TOKEN = "bench-dashboard-token"
POSTGRES_SERVER = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
BENCH_DATABASE = "bench_dashboard"
COMMON_WORD = "invoice"
ABSENT_WORD = "xylophonist"
"""In no message: the search reads every message of every conversation to say so."""

OUTCOMES = ("answered", "declined", "handoff", "other")
OUTCOME_WEIGHTS = (70, 15, 5, 10)
TURN_WEIGHTS = (35, 30, 20, 10, 5)
"""One to five turns per conversation."""
LATE_CASE = 0.17
"""Conversations that end in a case without a handover reply (the customer took the offer of a
person, or was frustrated): with the handovers, about a quarter of all conversations."""
UNANSWERED_CASES = 0.15
"""Cases of the last two days nobody from staff has answered yet: the open queue."""
FEEDBACK = 0.05
CHANNELS = ("web", "email", "slack", "telegram", "sms")
CHANNEL_WEIGHTS = (45, 20, 15, 12, 8)
HOUR_WEIGHTS = (
    0.15,
    0.1,
    0.1,
    0.1,
    0.15,
    0.25,
    0.4,
    0.6,
    0.85,
    1.0,
    1.0,
    1.0,
    0.9,
    1.0,
    1.0,
    1.0,
    0.95,
    0.8,
    0.6,
    0.45,
    0.35,
    0.3,
    0.25,
    0.2,
)
"""Customers start conversations mostly in (European) working hours, UTC."""
WEEKEND = 0.45

GAP_TOPICS = """\
do you have a referral or affiliate program? | is there a referral program where i get a discount for inviting other companies | do you pay commission if i recommend brightdesk | how does your affiliate scheme work | can i earn credit by referring friends
can i make video calls with my team inside brightdesk | is there a video call feature | can we start a video meeting from a task | do you support video conferencing | how do i call a teammate on video
can i track expenses and upload receipts | where do i log expenses for a project | can i attach receipts and get reimbursed | is there expense tracking | how do i record a purchase against a project budget
how do i change the colour of a project | can projects have different colours | where do i set a project colour | change project color | can i colour code my projects
are you guys hiring? how do i apply for a job | do you have any open positions | where can i see jobs at brightdesk | i'd like to work for you, who do i contact | are there remote jobs at brightdesk
is there a built in AI assistant that writes tasks for me | can AI create my tasks automatically | do you have chatgpt built in | is there an ai that summarises my projects | can brightdesk write task descriptions with AI
can i change the font size in the app | the text is too small, can i make it bigger | how do i increase the font size | is there a zoom or text size setting | can i use a larger font
can i embed a whiteboard or a wiki page in a project | is there a whiteboard for brainstorming | do you have a wiki for team docs | can i draw diagrams on a whiteboard in brightdesk | where do i write team documentation
do you sell brightdesk stickers or t-shirts | is there brightdesk merch | can i buy a brightdesk hoodie | where can i get brightdesk stickers | do you have a merchandise shop
can i run payroll and pay salaries through brightdesk | does brightdesk do payroll | can we pay our staff from brightdesk | is there a payroll integration for salaries | can i send payslips from brightdesk
can brightdesk remind me to take a break every 25 minutes | is there a pomodoro timer | can i set break reminders | does the timer support pomodoro sessions | remind me to rest after 25 minutes of work
can i add my own welcome message to the invitation email | can i customise the invite email text | how do i write a personal note in the invitation | change the wording of the team invite email | can the invitation include a custom message
whos the ceo of brightdesk | who founded brightdesk | who runs the company | who is in charge of brightdesk | who are the founders
can i add emoji reactions to comments | how do i react to a comment with an emoji | is there a like button on comments | can teammates thumbs up my comment | do comments support reactions
when is version 5 coming out | what's on the roadmap for version 5 | release date for brightdesk 5 | is there a public roadmap | when will the next major version ship
is there a max number of characters for a task name | how long can a task title be | task names get cut off, what's the limit | maximum length of a task name | is there a character limit on task titles
is there an undo button after a bulk edit | i changed the due date on 40 tasks at once, can i undo it | how do i revert a bulk change | can i undo moving many tasks | undo last bulk action
can brightdesk work out overtime automatically | how do i calculate overtime hours for contractors | can i pay time and a half for hours over 32 | is there an overtime report | does time tracking handle overtime rules
can we charge a higher hourly rate for weekend work | can i set a different rate for weekends | weekend rates for billable hours | how do i bill saturday work at a premium | different hourly rate on sundays
is there a dark mode | how do i switch to a dark theme | can i turn on night mode | the app is too bright, is there a dark theme | dark mode on desktop
are you HIPAA compliant | will you sign a BAA for health data | can we store patient information in brightdesk | is brightdesk suitable for healthcare data under hipaa | do you have a business associate agreement
do you offer a student discount | is there a discount for students | can i get brightdesk cheaper as a student | education pricing for universities | do teachers get a discount
can i pay with paypal | do you accept paypal | is paypal a payment option | how do i switch my payment to paypal | can i pay the subscription through paypal
can i pay in bitcoin | do you accept crypto | can we pay with ethereum | is cryptocurrency accepted for payment | pay invoice in crypto
is there a zapier integration | can i connect brightdesk to zapier | do you work with zapier or make | how do i automate brightdesk with zapier | zapier triggers for new tasks
can i sync tasks with my outlook calendar | does brightdesk work with outlook | how do i see due dates in outlook | outlook calendar integration | connect brightdesk to microsoft outlook
can our data be stored in australia | do you have servers in australia | where is data hosted for australian customers | is there an australian data centre | data residency in australia
can i record my screen and attach it to a task | is there a screen recorder | can i add a loom style video to a task | record a video of my screen in brightdesk | screen capture for bug reports
do you have a reseller program | can we resell brightdesk to our clients | is there a partner program for agencies | how do i become a brightdesk partner | reseller pricing
can i mark team holidays and time off | is there a leave calendar | how do i show who is on vacation | can teammates book time off in brightdesk | public holidays in the team calendar
can i set wip limits on board columns | how do i limit the number of cards in a column | work in progress limit on kanban | can a column warn when it's too full | kanban wip limits
is there a burndown chart | how do i see a sprint burndown | do you have burn up charts | sprint velocity chart | where is the burndown report
can brightdesk remind us about team birthdays | birthday reminders for teammates | can i add birthdays to profiles | celebrate work anniversaries in brightdesk | does brightdesk send birthday notifications
can i buy brightdesk as a gift | do you sell gift subscriptions | can i pay for someone else's plan as a present | gift card for brightdesk | how do i gift a year of business
can we use our own domain and logo for client access | is white labelling available | can i remove the brightdesk branding | custom domain for our workspace | white label brightdesk for our agency
can i create tasks by forwarding an email | is there an email address that turns mails into tasks | forward emails to brightdesk | email to task | how do i turn an email into a task
can i import my projects from asana | how do i move from asana to brightdesk | asana import | migrate tasks from asana | is there an asana importer
can i chat with teammates in brightdesk | is there direct messaging | can i send a private message to a colleague | team chat inside brightdesk | do you have group chat
is there a mind map view | can i see my project as a mind map | mind mapping in brightdesk | brainstorm with a mind map | mind map layout for tasks
can i track okrs and goals | is there goal tracking | how do i set quarterly objectives | okr module | link tasks to company goals
do you have a lifetime deal | can i pay once instead of monthly | is there a lifetime licence | one time payment option | lifetime plan on appsumo
do you offer training courses or certification | is there a brightdesk certification | can our team get trained by you | online training for admins | brightdesk academy courses
can i visit your office | where are you located, can we meet in person | do you have an office i can come to | can we meet your team face to face | address of your headquarters for a visit
can i leave voice notes on tasks | record an audio message in a comment | voice memos in brightdesk | can i attach a voice recording | dictate a comment by voice
can i change the notification sound | custom sounds for alerts | how do i pick a different ping sound | mute just the sound but keep notifications | notification sound options
is there a tv dashboard mode for the office | can i show a board on a wall screen | kiosk mode for displays | full screen dashboard that refreshes itself | display project status on a tv
can i pay with apple pay | do you accept apple pay or google pay | pay the subscription from my phone wallet | apple pay at checkout | google pay support
can clients sign contracts in brightdesk | is there e-signature | can i get a document signed | docusign style signing | sign agreements inside a project
is there spell check in comments | can brightdesk correct my spelling | grammar check when writing tasks | spellchecker for descriptions | autocorrect in the editor
can i print qr codes for tasks | generate a qr code for a project | scan a qr code to open a task | qr labels for equipment tasks | does brightdesk make qr codes
can i set a budget in hours and get warned when we exceed it | budget alerts for projects | notify me when a project goes over budget | project budget tracking with alerts | overspend warning
do you have a desktop app for linux with offline mode | can i work offline on my laptop | offline mode for the desktop app | use brightdesk without internet on the computer | offline editing on desktop
can i create a public form that makes tasks | is there a request form for clients | intake forms that create tasks | web form to submit requests | form builder for new tasks
can i export a gantt chart to ms project | import from microsoft project | ms project compatibility | open mpp files in brightdesk | export timeline to ms project
do you have a status badge for our website | can i embed a project progress widget on my site | public progress page for clients | share a live project status page | embed a board on our website
"""

SMALL_TALK = (
    "hi",
    "hello?",
    "thanks!",
    "ok great, thank you",
    "perfect, that worked",
    "are you a bot?",
    "ok",
    "thank you so much",
    "got it",
    "cool",
)
HANDOFF_ASKS = (
    "can i talk to a human please",
    "this is not helping, i want a person",
    "speak to an agent",
    "I need a real person, this is urgent",
    "let me talk to someone from support",
    "you're useless, get me a human",
)
CASE_FOLLOW_UPS = (
    "any update?",
    "ok, thanks for looking into it",
    "my account email is the one I signed up with",
    "still waiting...",
    "here is the screenshot you asked for",
    "that fixed it, thanks",
)
STAFF_LINES = (
    "Hi, this is Sam from support. Let me look into this for you.",
    "Thanks for your patience. I've checked your account and found the problem.",
    "I've passed this on to our billing team; you'll hear from us today.",
    "Could you tell me which browser and version you're using?",
    "That's sorted now. Is there anything else I can help with?",
    "Good question. That's not possible yet, but I've added your vote to the feature request.",
)
OPENERS = ("",) * 8 + ("hi, ", "Hi! ", "hello, ", "Hey team - ", "Good morning. ", "Quick question: ")
CLOSERS = ("",) * 8 + (" thanks", " Thanks!", " thx", " Thanks in advance.", " cheers", "??")
ANSWER = (
    "Here's how to do it. Open Settings from the menu in the top right corner and choose the section "
    "named in the article below; the change applies to everyone in your workspace at once. Admins and "
    "owners can change it; members see it greyed out. If the option is missing, your plan may not include "
    "it: the article lists which plans do. "
)
DECLINE = (
    "I couldn't find that in our help centre, so I'd rather not guess. Would you like me to pass you to a "
    "person from our support team?"
)
HANDOVER = "I'm passing you to a colleague from support; they'll reply here as soon as they can."
CHAT = "You're welcome! Is there anything else I can help with?"
NAMES = (
    "Ana",
    "Ben",
    "Chloé",
    "Dev",
    "Eun-ji",
    "Femi",
    "Gita",
    "Hugo",
    "Ines",
    "Jon",
    "Kofi",
    "Lena",
    "Marek",
    "Nia",
    "Omar",
    "Priya",
    "Quinn",
    "Rosa",
    "Sven",
    "Tariq",
    "Uma",
    "Vik",
    "Wen",
    "Yara",
    "Zoe",
)


def gap_topics() -> list[list[str]]:
    return [[wording.strip() for wording in line.split("|")] for line in GAP_TOPICS.splitlines() if line.strip()]


def answerable_questions() -> list[tuple[str, str]]:
    """(question, the help-centre file that answers it) from the sample evaluation set."""
    rows = [json.loads(line) for line in QUESTIONS.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [(row["question"], row["expected_source"]) for row in rows if row.get("expected_source")]


# -- the seeded year ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Seed:
    tables: tuple[tuple[Table, list[tuple[Any, ...]]], ...]
    """Rows in each table's column order, parents first."""

    def count(self, table: Table) -> int:
        return next(len(rows) for t, rows in self.tables if t is table)


def _table(model: type[AppBase]) -> Table:
    table = model.__table__
    assert isinstance(table, Table)
    return table


def _shape(table: Table) -> Callable[..., tuple[Any, ...]]:
    """A row of `table` from keyword values, in column order; the columns' scalar defaults fill the rest."""
    names = tuple(column.name for column in table.columns)
    defaults = tuple(
        column.default.arg if isinstance(column.default, ScalarElementColumnDefault) else None
        for column in table.columns
    )

    def row(**values: Any) -> tuple[Any, ...]:
        return tuple(map(values.get, names, defaults))

    return row


T = TypeVar("T")


class _Weighted(Generic[T]):
    """`random.choices` for one item, without its per-call set-up (a million calls)."""

    def __init__(self, items: Sequence[T], weights: Iterable[float]) -> None:
        self._items = list(items)
        self._cumulative = list(itertools.accumulate(weights))

    def pick(self, rng: random.Random) -> T:
        return self._items[bisect.bisect(self._cumulative, rng.random() * self._cumulative[-1])]


@dataclass(slots=True)  # not frozen: a frozen dataclass's __init__ costs 4x, a million times
class _Said:
    """A message before its id is known: ids follow time across the year, as a real hub's do."""

    at: float
    conversation_id: str
    channel: str
    author: str
    text: str
    reply_to: int | None = None
    """The index of the question in `_Year.said`."""
    outcome: str | None = None
    source: str | None = None
    frustration: float | None = None


class _Year:
    def __init__(self, anchor: datetime, rng: random.Random) -> None:
        self.anchor = anchor.timestamp()
        self.rng = rng
        self.said: list[_Said] = []
        self.thumbs: list[tuple[int, str, float]] = []
        self.conversations: list[tuple[Any, ...]] = []
        self.cases: list[tuple[Any, ...]] = []
        self._conversation = _shape(_table(Conversation))
        self._case = _shape(_table(Case))
        # A few gaps are asked often, most now and then (Zipf-like); answerable questions less skewed.
        topics = gap_topics()
        self._topics = _Weighted(topics, (1 / (rank + 1) ** 0.8 for rank in range(len(topics))))
        answerable = answerable_questions()
        self._answerable = _Weighted(answerable, (1 / (rank + 1) ** 0.5 for rank in range(len(answerable))))
        self._channels = _Weighted(CHANNELS, CHANNEL_WEIGHTS)
        self._turns = _Weighted(range(1, 6), TURN_WEIGHTS)
        self._outcomes = _Weighted(OUTCOMES, OUTCOME_WEIGHTS)

    def _start(self) -> float:
        """A conversation's first message: uniform over the year, thinned at night and on weekends."""
        while True:
            at = self.anchor - self.rng.random() * DAYS * 86_400
            when = time.gmtime(at)
            keep = HOUR_WEIGHTS[when.tm_hour] * (WEEKEND if when.tm_wday >= 5 else 1.0)
            if self.rng.random() < keep:
                return at

    def _asking(self, body: str) -> str:
        rng = self.rng
        if rng.random() < 0.4:
            body = body[0].upper() + body[1:]
        return rng.choice(OPENERS) + body + rng.choice(CLOSERS)

    def _question(self, outcome: str, turn: int) -> tuple[str, str | None]:
        rng = self.rng
        if outcome == "answered":
            question, source = self._answerable.pick(rng)
            return self._asking(question), source
        if outcome == "declined":
            return self._asking(rng.choice(self._topics.pick(rng))), None
        if outcome == "handoff":
            return rng.choice(HANDOFF_ASKS), None
        return rng.choice(SMALL_TALK if turn else SMALL_TALK[:2]), None

    def _say(self, said: _Said) -> int | None:
        """Keep a message written before the anchor; its index, or None when it is in the future."""
        if said.at >= self.anchor:
            return None
        self.said.append(said)
        return len(self.said) - 1

    def conversation(self) -> None:
        rng = self.rng
        conversation_id = uuid.UUID(int=rng.getrandbits(128)).hex
        channel = self._channels.pick(rng)
        started = at = self._start()
        last = started
        outcome = "other"
        handed_over = False
        for turn in range(self._turns.pick(rng)):
            outcome = self._outcomes.pick(rng)
            text, source = self._question(outcome, turn)
            frustration = rng.uniform(0.6, 0.95) if outcome == "handoff" else rng.uniform(0.0, 0.3)
            asked = self._say(_Said(at, conversation_id, channel, "customer", text, frustration=frustration))
            if asked is None:
                break
            replied_at = at + min(6.0, max(0.3, rng.lognormvariate(0.2, 0.6)))
            reply = self._say(
                _Said(replied_at, conversation_id, channel, "bot", "", reply_to=asked, outcome=outcome, source=source)
            )
            if reply is None:
                break
            last = replied_at
            if rng.random() < FEEDBACK:
                self._rate(reply, outcome, replied_at)
            if outcome == "handoff":
                handed_over = True
                break
            at = replied_at + rng.uniform(15, 600)
        state = "bot"
        if handed_over or rng.random() < LATE_CASE:
            rule = {"handoff": "human_request", "declined": "unanswered"}.get(outcome, "frustration")
            last, case_state = self._open_case(conversation_id, channel, rule=rule, opened=last + 1)
            state = {"waiting": "waiting", "human": "human", "closed": "closed"}.get(case_state, "bot")
        self.conversations.append(
            self._conversation(
                id=conversation_id,
                contact_id=_contact_id(rng.randrange(CONTACTS)),
                channel=channel,
                chat_id=f"{channel}-{len(self.conversations)}",
                thread_id="",
                state=state,
                summary_upto=0,
                created_at=_utc(started),
                updated_at=_utc(last),
            )
        )

    def _rate(self, reply: int, outcome: str, replied_at: float) -> None:
        happy = {"answered": 0.75, "declined": 0.2, "handoff": 0.3}.get(outcome, 0.6)
        rating = "up" if self.rng.random() < happy else "down"
        self.thumbs.append((reply, rating, min(replied_at + self.rng.uniform(5, 300), self.anchor - 1)))

    def _open_case(self, conversation_id: str, channel: str, *, rule: str, opened: float) -> tuple[float, str]:
        """A case and its messages: a few from the customer and from staff, the first staff reply
        minutes to hours after the opening. Its state follows what happened before the anchor.
        Returns the time of its last message and its state."""
        rng = self.rng
        at = opened + max(60.0, rng.lognormvariate(math.log(15 * 60), 1.0))
        last = opened
        staff_kept = 0
        unanswered = opened > self.anchor - 2 * 86_400 and rng.random() < UNANSWERED_CASES
        for n in range(0 if unanswered else rng.randint(1, 4)):
            if (
                n
                and self._say(
                    _Said(
                        at,
                        conversation_id,
                        channel,
                        "customer",
                        rng.choice(CASE_FOLLOW_UPS),
                        frustration=rng.uniform(0.0, 0.4),
                    )
                )
                is not None
            ):
                last = at
                at += rng.uniform(60, 1200)
            if self._say(_Said(at, conversation_id, channel, "staff", rng.choice(STAFF_LINES))) is None:
                break
            staff_kept += 1
            last = at
            at += rng.uniform(60, 1200)
        recent = opened > self.anchor - 86_400
        if staff_kept == 0:
            state, owner, closed = "waiting", None, None
        elif recent and rng.random() < 0.3:
            state, owner, closed = "human", f"U{rng.randrange(12):03d}", None
        else:
            state, owner = ("returned" if rng.random() < 0.2 else "closed"), f"U{rng.randrange(12):03d}"
            closed = _utc(min(last + 600, self.anchor - 1))
        self.cases.append(
            self._case(
                id=uuid.UUID(int=rng.getrandbits(128)).hex,
                conversation_id=conversation_id,
                state=state,
                rule=rule,
                reason="The customer asked for a person." if rule == "human_request" else "Seeded by the benchmark.",
                owner=owner,
                opened_at=_utc(opened),
                updated_at=_utc(last),
                closed_at=closed,
            )
        )
        return last, state


def _utc(at: float) -> datetime:
    return datetime.fromtimestamp(at, UTC)


def _contact_id(n: int) -> str:
    return f"{n:032x}"


def _citation(source: str) -> list[dict[str, Any]]:
    title = source.rsplit(".", 1)[0].replace("-", " ").capitalize()
    return [{"source": source, "title": title, "section": title, "score": 0.74}]


def _message_rows(year: _Year) -> tuple[list[tuple[Any, ...]], list[int]]:
    """The messages in time order with ids 1…n, and each message's id by its index in `year.said`."""
    row = _shape(_table(Message))
    order = sorted(range(len(year.said)), key=lambda i: year.said[i].at)
    ids = [0] * len(year.said)
    for rank, index in enumerate(order):
        ids[index] = rank + 1
    citations = {source: _citation(source) for source in {s.source for s in year.said if s.source}}
    rows = []
    for index in order:
        said = year.said[index]
        message_id = ids[index]
        if said.author == "customer":
            rows.append(
                row(
                    id=message_id,
                    conversation_id=said.conversation_id,
                    channel=said.channel,
                    external_id=f"{said.channel}-{message_id}",
                    author="customer",
                    text=said.text,
                    citations=[],
                    handoff=False,
                    status="answered",
                    intent="question",
                    polarity=0.1 - said.frustration if said.frustration is not None else None,
                    frustration=said.frustration,
                    declined=False,
                    created_at=_utc(said.at),
                )
            )
            continue
        text, cited = {
            "answered": (ANSWER, citations.get(said.source or "", [])),
            "declined": (DECLINE, []),
            "handoff": (HANDOVER, []),
            "other": (CHAT, []),
        }.get(said.outcome or "", (said.text, []))
        rows.append(
            row(
                id=message_id,
                conversation_id=said.conversation_id,
                channel=said.channel,
                author=said.author,
                text=text,
                citations=cited,
                handoff=said.outcome == "handoff",
                reply_to=ids[said.reply_to] if said.reply_to is not None else None,
                declined=said.outcome == "declined",
                created_at=_utc(said.at),
            )
        )
    return rows, ids


@contextmanager
def _without_gc() -> Iterator[None]:
    """Millions of new objects and no cycles among them: the cyclic collector would walk them all
    again and again (it halves the generation's time)."""
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def seed_rows(anchor: datetime, *, messages: int = MESSAGES, seed: int = 15) -> Seed:
    """A year of a support hub's rows ending at `anchor`: exactly `messages` messages."""
    with _without_gc():
        return _seed_rows(anchor, messages=messages, seed=seed)


def _seed_rows(anchor: datetime, *, messages: int, seed: int) -> Seed:
    year = _Year(anchor, random.Random(seed))
    while len(year.said) < messages:
        year.conversation()
    del year.said[messages:]  # the tail of the last conversation
    message_rows, ids = _message_rows(year)
    feedback = _shape(_table(Feedback))
    thumbs = [
        feedback(id=n + 1, message_id=ids[index], rating=rating, created_at=_utc(at), updated_at=_utc(at))
        for n, (index, rating, at) in enumerate(t for t in year.thumbs if t[0] < messages)
    ]
    contact = _shape(_table(Contact))
    contacts = [
        contact(
            id=_contact_id(n),
            display_name=f"{NAMES[n % len(NAMES)]} {n}",
            created_at=anchor - timedelta(days=DAYS + 30),
        )
        for n in range(CONTACTS)
    ]
    return Seed(
        (
            (_table(Contact), contacts),
            (_table(Conversation), year.conversations),
            (_table(Message), message_rows),
            (_table(Case), year.cases),
            (_table(Feedback), thumbs),
        )
    )


# -- loading --------------------------------------------------------------------------------------


def _batches(rows: Sequence[tuple[Any, ...]]) -> Iterator[Sequence[tuple[Any, ...]]]:
    for start in range(0, len(rows), BATCH):
        yield rows[start : start + BATCH]


def load_sqlite(path: Path, seed: Seed) -> None:
    """executemany in batches, each value through the column type's own SQLAlchemy processing
    (so a timestamp is stored exactly as the app stores it)."""
    dialect = sqlite_dialect.dialect()
    with closing(sqlite3.connect(path)) as db:
        # One transaction in a cache that holds the whole file: every index page is written once,
        # not once per batch (three indexes on messages are keyed by random conversation ids).
        db.execute("PRAGMA cache_size=-2000000")
        for table, rows in seed.tables:
            processors = [column.type.bind_processor(dialect) for column in table.columns]
            names = ", ".join(column.name for column in table.columns)
            sql = f"INSERT INTO {table.name} ({names}) VALUES ({', '.join('?' * len(processors))})"
            for batch in _batches(rows):
                db.executemany(
                    sql,
                    [
                        tuple(
                            value if process is None else process(value)
                            for process, value in zip(processors, row, strict=True)
                        )
                        for row in batch
                    ],
                )
        db.commit()


async def load_postgres(url: str, seed: Seed) -> None:
    """COPY per table, then the serial sequences moved past the seeded ids and VACUUM ANALYZE."""
    dsn = libpq_url(url)
    assert dsn is not None
    connection = await asyncpg.connect(dsn)
    try:
        # The rows are consistent by construction: no foreign-key trigger per row (pg_restore's way).
        await connection.execute("SET session_replication_role = replica")
        for table, rows in seed.tables:
            json_columns = {i for i, column in enumerate(table.columns) if isinstance(column.type, JSON)}
            records: Iterable[tuple[Any, ...]] = (
                rows
                if not json_columns
                else (
                    tuple(json.dumps(value) if i in json_columns else value for i, value in enumerate(row))
                    for row in rows
                )
            )
            await connection.copy_records_to_table(
                table.name, records=records, columns=[column.name for column in table.columns]
            )
        for table in (_table(Message), _table(Feedback)):
            await connection.execute(
                f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), (SELECT max(id) FROM {table.name}))"
            )
        await connection.execute("VACUUM ANALYZE")
    finally:
        await connection.close()


async def copy_knowledge(index_database: Path, url: str) -> None:
    """knowledge's rows (documents, runs, the index version) from the indexed SQLite file into
    the seeded database, which serves with a copy of that index's data directory."""
    source = create_engine(f"sqlite:///{index_database}")
    try:
        with source.connect() as connection:
            tables = [
                (table, [dict(row._mapping) for row in connection.execute(select(table))])
                for table in KnowledgeBase.metadata.sorted_tables
            ]
    finally:
        source.dispose()
    engine = make_engine(url)
    try:
        async with engine.begin() as connection:
            for table, rows in tables:
                if rows:
                    await connection.execute(insert(table), rows)
    finally:
        await engine.dispose()


def load(url: str, seed: Seed) -> float:
    """Bulk-load the migrated database; the seconds it took."""
    started = time.perf_counter()
    database = make_url(url)
    if database.drivername.startswith("sqlite"):
        assert database.database is not None
        load_sqlite(Path(database.database), seed)
    else:
        asyncio.run(load_postgres(url, seed))
    return time.perf_counter() - started


# -- PostgreSQL -----------------------------------------------------------------------------------


def postgres_server() -> str:
    return os.environ.get(POSTGRES_ENV) or POSTGRES_SERVER


async def _admin_execute(sql: str) -> str:
    """Run `sql` on the server's own database; the server's version."""
    dsn = libpq_url(postgres_server())
    assert dsn is not None
    connection = await asyncpg.connect(dsn, timeout=5)
    try:
        await connection.execute(sql)
        return str(await connection.fetchval("SHOW server_version")).split()[0]
    finally:
        await connection.close()


def postgres_unavailable() -> str | None:
    """Why the PostgreSQL half cannot run, or None."""
    try:
        asyncio.run(_admin_execute("SELECT 1"))
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        return f"PostgreSQL skipped: {postgres_server()} is unreachable ({exc})"
    return None


@contextmanager
def postgres_database(name: str = BENCH_DATABASE) -> Iterator[tuple[str, str]]:
    """A fresh database `name`, dropped afterwards: (its URL, "PostgreSQL <version>")."""
    drop = f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'
    asyncio.run(_admin_execute(drop))
    version = asyncio.run(_admin_execute(f'CREATE DATABASE "{name}"'))
    try:
        url = make_url(postgres_server()).set(database=name).render_as_string(hide_password=False)
        yield url, f"PostgreSQL {version}"
    finally:
        asyncio.run(_admin_execute(drop))


# -- measuring ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Timing:
    median_s: float
    max_s: float
    runs: int

    @classmethod
    def of(cls, seconds: Sequence[float]) -> Timing:
        return cls(statistics.median(seconds), max(seconds), len(seconds))


@dataclass(frozen=True, slots=True)
class GapFigures:
    """What the 30-day gaps page showed (its JSON twin, read once after the timings)."""

    groups: int
    questions_grouped: int
    questions_total: int
    resolved: int


@dataclass(frozen=True, slots=True)
class DatabaseFigures:
    name: str
    load_s: float
    measure_s: float
    """The time its measurements took, server start-up included."""
    messages_in_period: int
    """All messages of the 30-day period."""
    count_floor: Timing
    queries: tuple[tuple[str, Timing], ...]
    """Each query behind the 30-day overview and gaps page alone, in this process."""
    volume_plan: tuple[str, ...]
    http_floor: Timing
    pages: tuple[tuple[str, Timing], ...]
    ready_s: float
    warm_s: float
    """From the server's start until it had encoded the gaps page's questions in the background."""
    gaps_first_s: float
    """The first gaps page after the warm-up: its groups' typical questions re-checked against the index."""
    questions_encoded: int
    encode_floor_s: float
    """The same questions encoded alone in this process."""
    gaps: GapFigures

    @property
    def volume_uses_index(self) -> bool:
        return any(VOLUME_INDEX in line for line in self.volume_plan)


@dataclass(frozen=True, slots=True)
class Result:
    messages: int
    conversations: int
    cases: int
    feedback: int
    generate_s: float
    index_s: float
    """From the start until the rows were loaded and the index built (side by side)."""
    total_s: float
    load_average: tuple[float, float]
    """The machine's 1-minute load average before and after: above its cores, other work shared them."""
    databases: tuple[DatabaseFigures, ...]
    skipped: tuple[str, ...]


VOLUME_INDEX = "ix_messages_author_created"
Query = Callable[[AsyncSession, queries.Period], Awaitable[object]]


def _overview_queries() -> dict[str, Query]:
    sla = Sla.of(HandoffSettings())

    async def open_cases(session: AsyncSession, period: queries.Period) -> object:
        return await queries.open_cases(session, now=period.until, sla=sla)

    async def resolution(session: AsyncSession, period: queries.Period) -> object:
        return await satisfaction.resolution(session, period, bar=AnswerSettings().min_match)

    async def surveys(session: AsyncSession, period: queries.Period) -> object:
        return await satisfaction.satisfaction(session, period, now=period.until)

    return {
        "queries.volume": queries.volume,
        "queries.outcomes": queries.outcomes,
        "queries.outcomes_by_day": queries.outcomes_by_day,
        "queries.helpfulness": queries.helpfulness,
        "queries.first_response": queries.first_response,
        "queries.open_cases": open_cases,
        "satisfaction.satisfaction": surveys,
        "satisfaction.satisfaction_by_staff": satisfaction.satisfaction_by_staff,
        "satisfaction.resolution": resolution,
        "gaps.unanswered_questions": gaps.unanswered_questions,
    }


def period_30d() -> queries.Period:
    """The overview's 30 days as the page chooses them now."""
    return chosen_period({"period": "30d"}, channels=[], now=datetime.now(UTC)).period


async def _timed(call: Callable[[], Awaitable[object]], runs: int) -> Timing:
    seconds = []
    for _ in range(runs):
        started = time.perf_counter()
        await call()
        seconds.append(time.perf_counter() - started)
    return Timing.of(seconds)


@dataclass(frozen=True, slots=True)
class InProcess:
    messages: int
    count_floor: Timing
    queries: tuple[tuple[str, Timing], ...]
    volume_plan: tuple[str, ...]


async def in_process(url: str) -> InProcess:
    """The floor, each query alone and the volume query's plan, through the app's own engine."""
    period = period_30d()
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    count = (
        select(func.count())
        .select_from(Message)
        .where(
            Message.author.in_(("customer", "bot", "staff")),
            Message.created_at >= period.since,
            Message.created_at < period.until,
        )
    )

    async def counted() -> int:
        async with sessions() as session:
            return int(await session.scalar(count) or 0)

    def alone(query: Query) -> Callable[[], Awaitable[object]]:
        async def call() -> object:
            async with sessions() as session:
                return await query(session, period)

        return call

    try:
        messages = await counted()
        floor = await _timed(counted, REQUESTS)
        timings = tuple([(name, await _timed(alone(query), REQUESTS)) for name, query in _overview_queries().items()])
        plan = await volume_plan(engine, period)
    finally:
        await engine.dispose()
    return InProcess(messages, floor, timings, plan)


async def volume_plan(engine: AsyncEngine, period: queries.Period) -> tuple[str, ...]:
    """EXPLAIN (SQLite: EXPLAIN QUERY PLAN) of exactly the statement `queries.volume` sends."""
    sent: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool) -> None:
        sent.append((statement, parameters))

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        async with make_sessionmaker(engine)() as session:
            await queries.volume(session, period)
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)
    statement, parameters = next((s, p) for s, p in reversed(sent) if s.lstrip().upper().startswith("SELECT"))
    explain = "EXPLAIN QUERY PLAN " if engine.dialect.name == "sqlite" else "EXPLAIN "
    async with engine.connect() as connection:
        rows = (await connection.exec_driver_sql(explain + statement, parameters)).all()
    return tuple(str(row[-1]) for row in rows)  # SQLite: (id, parent, notused, detail); PostgreSQL: the line


async def gap_questions(url: str) -> list[str]:
    """The questions the 30-day gaps page groups, as it encodes them."""
    engine = make_engine(url)
    try:
        async with make_sessionmaker(engine)() as session:
            found = await gaps.unanswered_questions(session, period_30d())
    finally:
        await engine.dispose()
    return [gaps.asked(question.text) for question in found.questions]


def encode_seconds(embedder: Embedder, texts: Sequence[str]) -> float:
    """`texts` encoded in one call with the query batch size, as the server encodes them."""
    embedder.encode(texts[:64], batch_size=QUERY_SUB_BATCH)  # warm-up
    started = time.perf_counter()
    embedder.encode(texts, batch_size=QUERY_SUB_BATCH)
    return time.perf_counter() - started


# -- the real server ------------------------------------------------------------------------------


def hub_environment(data_dir: Path, url: str) -> dict[str, str]:
    """The default log level (INFO, an access line per request): the warm-up is read from the log."""
    return {
        **os.environ,
        "SUPPORTHUB_DATA_DIR": str(data_dir),
        "SUPPORTHUB_DATABASE_URL": url,
        "SUPPORTHUB_KNOWLEDGE__PATHS": json.dumps([str(KNOWLEDGE)]),
        "SUPPORTHUB_SCHEDULE": "[]",
        "SUPPORTHUB_LOG__LEVEL": "INFO",
        "SUPPORTHUB_ADMIN__TOKEN": TOKEN,
    }


def start_indexing(data_dir: Path, log: Path) -> subprocess.Popen[bytes]:
    """`supporthub reindex` of the sample help centre into its own SQLite file, in the background."""
    data_dir.mkdir(parents=True)
    url = f"sqlite+aiosqlite:///{data_dir / 'supporthub.db'}"
    with log.open("wb") as output:
        return subprocess.Popen(
            [sys.executable, "-m", "core.cli.main", "reindex"],
            env=hub_environment(data_dir, url),
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=output,
        )


def _finished(process: subprocess.Popen[bytes], log: Path, what: str) -> None:
    if process.wait() != 0:
        raise RuntimeError(f"{what} exited with {process.returncode}:\n{log.read_text(errors='replace')[-2000:]}")


@dataclass(frozen=True, slots=True)
class Server:
    base: str
    ready_s: float
    """From the process's start until /readyz answered 200."""
    warm_s: float
    """From the process's start until it logged the gaps page's questions encoded (`Pages.keep_gaps_warm`)."""


WARMED = "unanswered questions encoded for the knowledge gaps page"
WARM_UP_TIMEOUT_S = 180.0


@contextmanager
def serving(data_dir: Path, url: str, log: Path) -> Iterator[Server]:
    """`supporthub serve` on a free port, ready, and done encoding the gaps page's questions in
    the background: nothing else runs while the pages are timed."""
    port = free_port()
    started = time.perf_counter()
    with log.open("wb") as output:
        server = subprocess.Popen(
            [sys.executable, "-m", "core.cli.main", "serve", "--port", str(port)],
            env=hub_environment(data_dir, url),
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=output,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        try:
            asyncio.run(wait_ready(f"{base}/readyz", server))
            ready = time.perf_counter()
            _wait_for_line(log, WARMED, server)
        except RuntimeError as exc:
            raise RuntimeError(f"{exc}:\n{log.read_text(errors='replace')[-2000:]}") from exc
        yield Server(base, ready - started, time.perf_counter() - started)
    finally:
        server.terminate()
        server.wait(timeout=30)


def _wait_for_line(log: Path, text: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + WARM_UP_TIMEOUT_S
    while text not in log.read_text(errors="replace"):
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"the server did not log {text!r} within {WARM_UP_TIMEOUT_S:.0f} s")
        time.sleep(0.1)


async def _get(session: aiohttp.ClientSession, path: str) -> bytes:
    async with session.get(path) as response:
        body = await response.read()
        if response.status != 200:
            raise RuntimeError(f"GET {path} answered {response.status}: {body[:500]!r}")
        return body


@dataclass(frozen=True, slots=True)
class OverHttp:
    http_floor: Timing
    pages: tuple[tuple[str, Timing], ...]
    gaps_first_s: float
    gaps: GapFigures


PAGES = ("/admin?period=today", "/admin?period=7d", "/admin?period=30d")
GAPS = "/admin/gaps?period=30d"
GAP_RELOADS = f"{GAPS} (reloads)"
SEARCHES = (f"/admin/conversations?q={COMMON_WORD}", f"/admin/conversations?q={ABSENT_WORD}")


async def over_http(base: str) -> OverHttp:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with aiohttp.ClientSession(base, headers=headers) as session:

        def get(path: str) -> Callable[[], Awaitable[object]]:
            return lambda: _get(session, path)

        floor = await _timed(get("/healthz"), REQUESTS)
        pages = [(path, await _timed(get(path), REQUESTS)) for path in PAGES]
        started = time.perf_counter()
        await _get(session, GAPS)
        first = time.perf_counter() - started
        pages.append((GAP_RELOADS, await _timed(get(GAPS), REQUESTS)))
        pages.append((SEARCHES[0], await _timed(get(SEARCHES[0]), REQUESTS)))
        pages.append((SEARCHES[1], await _timed(get(SEARCHES[1]), FULL_SCAN_REQUESTS)))
        shown = json.loads(await _get(session, GAPS.replace("/admin/gaps", "/admin/api/gaps")))
    return OverHttp(
        floor,
        tuple(pages),
        first,
        GapFigures(len(shown["gaps"]), shown["questions_grouped"], shown["questions_total"], shown["resolved"]),
    )


def measure(target: Target, *, load_s: float, embedder: Embedder) -> DatabaseFigures:
    started = time.perf_counter()
    log = target.data_dir.parent / f"{target.data_dir.name}-serve.log"
    with serving(target.data_dir, target.url, log) as server:
        http = asyncio.run(over_http(server.base))
    texts = asyncio.run(gap_questions(target.url))
    encode_s = encode_seconds(embedder, texts)  # soon after the server's, in case other work shares the machine
    local = asyncio.run(in_process(target.url))
    return DatabaseFigures(
        name=target.name,
        load_s=load_s,
        measure_s=time.perf_counter() - started,
        messages_in_period=local.messages,
        count_floor=local.count_floor,
        queries=local.queries,
        volume_plan=local.volume_plan,
        http_floor=http.http_floor,
        pages=http.pages,
        ready_s=server.ready_s,
        warm_s=server.warm_s,
        gaps_first_s=http.gaps_first_s,
        questions_encoded=len(texts),
        encode_floor_s=encode_s,
        gaps=http.gaps,
    )


@dataclass(frozen=True, slots=True)
class Target:
    name: str
    url: str
    data_dir: Path
    """Where its server keeps the copied index."""


@dataclass(frozen=True, slots=True)
class Seeded:
    messages: int
    conversations: int
    cases: int
    feedback: int
    generate_s: float
    load_s: tuple[float, ...]
    """Per target, in order."""


def seed_targets(targets: Sequence[Target], anchor: datetime) -> Seeded:
    """One year of rows, generated once, migrated into and loaded into every target."""
    started = time.perf_counter()
    seed = seed_rows(anchor, messages=MESSAGES)
    generate_s = time.perf_counter() - started
    gc.freeze()  # the seed's millions of objects hold no cycles: keep the collector off them
    try:
        loads = []
        for target in targets:
            asyncio.run(migrate(target.url))
            loads.append(load(target.url, seed))
    finally:
        gc.unfreeze()
    return Seeded(
        messages=seed.count(_table(Message)),
        conversations=seed.count(_table(Conversation)),
        cases=seed.count(_table(Case)),
        feedback=seed.count(_table(Feedback)),
        generate_s=generate_s,
        load_s=tuple(loads),
    )


def run() -> Result:
    load_before = os.getloadavg()[0]
    started = time.perf_counter()
    anchor = datetime.now(UTC)
    skipped = postgres_unavailable()
    with TemporaryDirectory(prefix="bench-dashboard-") as tmp, ExitStack() as stack:
        root = Path(tmp)
        index_dir, index_log = root / "index", root / "reindex.log"
        indexing = start_indexing(index_dir, index_log)
        try:
            (root / "sqlite").mkdir()
            sqlite_url = f"sqlite+aiosqlite:///{root / 'sqlite' / 'supporthub.db'}"
            targets = [Target("SQLite", sqlite_url, root / "sqlite-data")]
            if skipped is None:
                url, name = stack.enter_context(postgres_database())
                targets.append(Target(name, url, root / "postgres-data"))
            seeded = seed_targets(targets, anchor)
        except BaseException:
            indexing.kill()
            raise
        _finished(indexing, index_log, "supporthub reindex")
        index_s = time.perf_counter() - started
        for target in targets:
            shutil.copytree(index_dir, target.data_dir, ignore=shutil.ignore_patterns("supporthub.db*"))
            asyncio.run(copy_knowledge(index_dir / "supporthub.db", target.url))
        embedder = Embedder.load(KnowledgeSettings(), serving=True)  # as `serve` runs it
        figures = tuple(
            measure(target, load_s=load_s, embedder=embedder)
            for target, load_s in zip(targets, seeded.load_s, strict=True)
        )
    return Result(
        messages=seeded.messages,
        conversations=seeded.conversations,
        cases=seeded.cases,
        feedback=seeded.feedback,
        generate_s=seeded.generate_s,
        index_s=index_s,
        total_s=time.perf_counter() - started,
        load_average=(load_before, os.getloadavg()[0]),
        databases=figures,
        skipped=(skipped,) if skipped else (),
    )


# -- the report -----------------------------------------------------------------------------------


def _time(seconds: float) -> str:
    if seconds >= 1:
        return f"{seconds:.2f} s"
    return f"{seconds * 1000:.1f} ms" if seconds < 0.01 else f"{seconds * 1000:.0f} ms"


def _spread(timing: Timing) -> str:
    return f"{_time(timing.median_s)} / {_time(timing.max_s)}"


def _target(timing: Timing) -> str:
    return f"{_spread(timing)} {'✓' if timing.max_s < TARGET_S else '✗'}"


Row = tuple[str, list[str], str]
"""A label, a cell per database, a note."""


def _head(result: Result) -> list[str]:
    dbs = result.databases
    plans = "; ".join(
        f"{db.name} uses index {VOLUME_INDEX} ✓" if db.volume_uses_index else f"{db.name}: FULL SCAN ✗" for db in dbs
    )
    return [
        (
            f"{result.messages:,} messages over the last {DAYS} days (a mid-size team's year, "
            f"~{result.messages / DAYS:,.0f} a day): {result.conversations:,} conversations, {result.cases:,} cases, "
            f"{result.feedback:,} thumbs up/down; generated in {result.generate_s:.0f} s; the sample help centre "
            "(config/knowledge) indexed alongside"
        ),
        (
            f"this section took {result.total_s:.0f} s: seeding and indexing {result.index_s:.0f} s, then measuring "
            + ", ".join(f"{db.name} {db.measure_s:.0f} s" for db in dbs)
            + f"; load average (1 min) before / after: {result.load_average[0]:.1f} / {result.load_average[1]:.1f} "
            f"on {os.cpu_count()} cores"
        ),
        f"the overview's volume query, 30 days: {plans} (plans below)",
        *result.skipped,
    ]


def _rows(dbs: Sequence[DatabaseFigures]) -> list[Row]:
    def page(label: str) -> list[Timing]:
        return [dict(db.pages)[label] for db in dbs]

    def runs(label: str) -> int:
        return page(label)[0].runs

    rows: list[Row] = [
        ("bulk load (not a figure)", [f"{db.load_s:.0f} s" for db in dbs], ""),
        ("messages in the 30-day period", [f"{db.messages_in_period:,}" for db in dbs], ""),
        (
            "floor: SELECT count(*) of them, median",
            [_time(db.count_floor.median_s) for db in dbs],
            "what the overview reads at least",
        ),
        ("floor: GET /healthz, median", [_time(db.http_floor.median_s) for db in dbs], "an HTTP round trip"),
    ]
    rows += [
        (f"GET {path}, median / max of {runs(path)}", [_target(t) for t in page(path)], "target: max < 1 s")
        for path in PAGES
    ]
    rows += [
        (
            "  30-day overview ÷ count(*) floor",
            [f"{t.median_s / db.count_floor.median_s:.0f}×" for t, db in zip(page(PAGES[-1]), dbs, strict=True)],
            "",
        ),
        (
            "server start: ready / gaps page warm, after",
            [f"{db.ready_s:.1f} s / {db.warm_s:.1f} s" for db in dbs],
            "warm: the 30 days' latest questions encoded",
        ),
        (
            "  floor: encode them alone, one call",
            [f"{_time(db.encode_floor_s)} ({db.questions_encoded:,})" for db in dbs],
            "same model, one torch thread, as served",
        ),
        (
            f"GET {GAPS}, first load",
            [_target(Timing(db.gaps_first_s, db.gaps_first_s, 1)) for db in dbs],
            "re-checks each group against the index",
        ),
        (
            f"GET {GAPS}, reloads, median / max of {runs(GAP_RELOADS)}",
            [_target(t) for t in page(GAP_RELOADS)],
            "target: max < 1 s",
        ),
        (
            "  groups shown / questions grouped / in period",
            [f"{db.gaps.groups} / {db.gaps.questions_grouped:,} / {db.gaps.questions_total:,}" for db in dbs],
            "groups left out as answered now: " + ", ".join(str(db.gaps.resolved) for db in dbs),
        ),
        (
            f"GET {SEARCHES[0]}, median / max of {runs(SEARCHES[0])}",
            [_spread(t) for t in page(SEARCHES[0])],
            "newest first, stops at 51 matches",
        ),
        (
            f"GET {SEARCHES[1]}, median / max of {runs(SEARCHES[1])}",
            [_spread(t) for t in page(SEARCHES[1])],
            "in no message: reads every message",
        ),
        (f"each query alone, 30 days, median of {REQUESTS}:", ["" for _ in dbs], "in this process, after the pages"),
    ]
    rows += [
        (f"  {name}", [_time(dict(db.queries)[name].median_s) for db in dbs], "")
        for name, _ in (dbs[0].queries if dbs else ())
    ]
    return rows


def report(result: Result) -> str:
    dbs = result.databases
    rows = _rows(dbs)
    width = max(len(label) for label, _, _ in rows)
    cell = max([len(c) for _, cells, _ in rows for c in cells] + [len(db.name) for db in dbs])
    lines = [*_head(result), "", (" " * width + "  " + "  ".join(f"{db.name:<{cell}}" for db in dbs)).rstrip()]
    lines += [
        (f"{label:<{width}}  " + "  ".join(f"{c:<{cell}}" for c in cells) + f"  {note}").rstrip()
        for label, cells, note in rows
    ]
    for db in dbs:
        explain = "EXPLAIN QUERY PLAN" if db.name == "SQLite" else "EXPLAIN"
        lines += ["", f"{explain} of the volume query ({db.name}):", *(f"  {line}" for line in db.volume_plan)]
    return "\n".join(lines)
