"""Learning from staff answers: a replay of a shop's customers, run with

    python -m tests.bench.bench_replay

Bitext's 27 intents with responses (tests/bench/datasets/bitext_replay.jsonl, see its
PROVENANCE.md), sorted by name, split by index mod 9:
- 0–2, covered (9): cancel_order, change_order, change_shipping_address, contact_human_agent,
  create_account, delete_account, payment_issue, place_order, recover_password. The help
  centre has one article each: the intent as its title, its 6 examples under "What people ask",
  then its answer.
- 3–6, learnable (12): check_cancellation_fee, check_invoice, check_payment_methods,
  check_refund_policy, delivery_options, delivery_period, edit_account, get_invoice,
  registration_problems, review, set_up_shipping_address, switch_account. No article; a staff
  member answers with the intent's answer.
- 7–8, out of scope (6): complaint, contact_customer_service, get_refund, newsletter_subscription,
  track_order, track_refund. No article; the staff member replies `NOT_HERE`.

All the questions (864 of Bitext), shuffled with `SEED`, are asked in that order in batches of `BATCH`, each
through the hub's offline answer path (`bench_judgement.answer_offline`). A question the bot
declines becomes a real case in the knowledge base's own SQLite database: the customer's message
(`Inbox.save`), `open_case`, the staff reply, `act_on_case(RESOLVE)`, which makes the suggestion.
After each batch the scripted reviewer takes every pending suggestion: personal data redacted;
then out of scope, kept for a person ("Always hand over", `suggestions.hand_over`); else linked
to the intent's approved answer when there is one, or approved; then one `kb.ingest([])`. Two
more replays in the same run: one whose reviewer only rejects what is out of scope (so it
teaches the bot nothing about it), and the baseline without any reviewer.

Answered right: the first citation is the intent's article, or a support team answer made from
(or linked with) a question of the intent. Per batch, of the in-scope questions (covered and
learnable): answered right, answered wrong, handed over; of the out-of-scope ones: declined.
"""

from __future__ import annotations

import asyncio
import json
import random
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import timedelta
from enum import StrEnum
from functools import partial
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.answering.offline_responder import OfflineResponder
from core.desk_port import CaseAction
from core.handoff.cases import CaseOpening, open_case
from core.handoff.desk_store import act_on_case, say
from core.handoff.policy import Rule
from core.messages import Address, Author, InboundMessage
from core.settings import AnswerSettings
from core.store import suggestions
from core.store.db import Conversation, Suggestion, SuggestionState
from core.store.inbox import Inbox
from core.store.transactions import Transactions, transactions_for
from knowledge.base import KnowledgeBase
from knowledge.embedding.embedder import Embedder
from knowledge.hits import Hit
from knowledge.ingest.files import source_name
from knowledge.settings import KnowledgeSettings
from tests.bench.bench_judgement import DATA, answer_offline, plain_title
from tests.bench.bench_retrieval import open_kb

SEED = 27
BATCH = 100
STAFF, REVIEWER = "Sam", "Lee"
NOT_HERE = "That isn't something we can help with here."
NO_PUSH: frozenset[str] = frozenset()
OPENING = CaseOpening(Rule.UNANSWERED.value, "1 question in a row the help centre could not answer.")


class Review(StrEnum):
    HAND_OVER = "hand over"
    """Out of scope: "Always hand over"."""
    REJECT = "reject"
    """Out of scope: rejected."""


class Scope(StrEnum):
    COVERED = "covered"
    LEARNABLE = "learnable"
    OUT = "out of scope"


@dataclass(frozen=True, slots=True)
class Intent:
    name: str
    scope: Scope
    answer: str
    examples: tuple[str, ...]

    def article(self) -> str:
        title = plain_title(self.name)
        examples = "\n".join(f"- {example}" for example in self.examples)
        return f"# {title}\n\nWhat people ask:\n\n{examples}\n\n{self.answer}\n"

    def reply(self) -> str:
        """What the staff member answers."""
        return NOT_HERE if self.scope is Scope.OUT else self.answer


def load(path: Path) -> tuple[list[Intent], list[tuple[str, Intent]]]:
    """The intents, split by index mod 9, and every question with its intent, shuffled. A set
    without answers (HWU64) gets one line per intent, as a person would write it in a hurry."""
    rows = sorted(
        (json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()), key=lambda r: r["intent"]
    )
    scopes = [Scope.COVERED] * 3 + [Scope.LEARNABLE] * 4 + [Scope.OUT] * 2
    intents = [
        Intent(
            row["intent"],
            scopes[i % 9],
            row.get("answer", f"{plain_title(row['intent'])}: here is how that works.").replace("\r\n", "\n"),
            tuple(row["examples"]),
        )
        for i, row in enumerate(rows)
    ]
    asked = [(question, intent) for intent, row in zip(intents, rows, strict=True) for question in row["questions"]]
    random.Random(SEED).shuffle(asked)
    return intents, asked


@dataclass(slots=True)
class Batch:
    """One batch's outcomes, and what the review after it did."""

    in_scope: int = 0
    right: int = 0
    wrong: int = 0
    out_of_scope: int = 0
    out_declined: int = 0
    cases: int = 0
    suggested: int = 0
    approved: int = 0
    linked: int = 0
    kept: int = 0
    """Out of scope, kept for a person (or rejected, by the rejecting reviewer)."""


class Replay:
    """One hub: its help centre and database, its staff member and its reviewer."""

    def __init__(self, kb: KnowledgeBase, transactions: Transactions, review: Review | None) -> None:
        self.kb, self.transactions, self.review = kb, transactions, review
        self.inbox = Inbox(transactions)
        self.settings = AnswerSettings()
        self.responder = OfflineResponder(self.settings, floor=lambda: kb.paraphrase_floor)
        self.intent_of: dict[str, str] = {}
        """Source cited → the intent it answers (articles, approved answers)."""
        self.answer_of: dict[str, tuple[str, str]] = {}
        """Intent → its approved answer's source and section, for the next questions to link to."""
        self.asked_in: dict[str, Intent] = {}
        """Conversation → the intent of the question asked in it."""

    async def open(self, folder: Path, intents: Sequence[Intent]) -> None:
        folder.mkdir(parents=True)
        for intent in intents:
            if intent.scope is Scope.COVERED:
                path = folder / f"{intent.name}.md"
                path.write_text(intent.article(), encoding="utf-8")
                self.intent_of[source_name(path, [folder])] = intent.name
        await self.kb.ingest([folder], trigger="bench")

    async def search(self, query: str) -> list[Hit]:
        return await self.kb.search(query, self.settings.top_k)

    async def ask(self, number: int, question: str, intent: Intent, batch: Batch) -> None:
        answered, cited = await answer_offline(question, self.search, self.responder)
        right = answered and cited is not None and self.intent_of.get(cited) == intent.name
        if intent.scope is Scope.OUT:
            batch.out_of_scope += 1
            batch.out_declined += not answered
        else:
            batch.in_scope += 1
            batch.right += right
            batch.wrong += answered and not right
        if not answered:
            batch.cases += 1
            batch.suggested += await self.hand_over(number, question, intent)

    async def hand_over(self, number: int, question: str, intent: Intent) -> bool:
        """The declined question as a case the staff member answers and resolves; whether that
        made a suggestion."""
        customer = f"customer-{number}"
        message = InboundMessage(Address("api", customer), f"m{number}", customer, question)
        receipt = await self.inbox.save(message, lease=timedelta(minutes=1))
        self.asked_in[receipt.conversation_id] = intent
        run = self.transactions.run
        case_id = await run(
            partial(open_case, conversation_id=receipt.conversation_id, message_id=receipt.message_id, opening=OPENING)
        )
        await run(partial(_staff_reply, conversation_id=receipt.conversation_id, text=intent.reply()))
        await run(
            partial(act_on_case, case_id=case_id, action=CaseAction.RESOLVE, actor=STAFF, push=NO_PUSH, survey=False)
        )
        return await run(partial(_suggested, conversation_id=receipt.conversation_id))

    async def review_pending(self, batch: Batch) -> None:
        run, collection = self.transactions.run, self.kb.dense.collection_name
        pending = await run(partial(suggestions.listed, states=[SuggestionState.PENDING], limit=BATCH))
        for view in sorted(pending, key=lambda v: v.id):
            intent = self.asked_in[view.conversation_id or ""]
            if view.personal_data:
                await run(partial(suggestions.redact_all, suggestion_id=view.id))
            if intent.scope is Scope.OUT:
                if self.review is Review.HAND_OVER:
                    await run(
                        partial(suggestions.hand_over, suggestion_id=view.id, actor=REVIEWER, collection=collection)
                    )
                else:
                    await run(partial(suggestions.reject, suggestion_id=view.id, actor=REVIEWER))
                batch.kept += 1
                continue
            target = self.answer_of.get(intent.name)
            live = await run(partial(_go_live, suggestion_id=view.id, target=target, collection=collection))
            if target is None:
                self.answer_of[intent.name], self.intent_of[live[0]] = live, intent.name
                batch.approved += 1
            else:
                batch.linked += 1
        await self.kb.ingest([], trigger="replay")


def _staff_reply(session: Session, *, conversation_id: str, text: str) -> int:
    conversation = session.get(Conversation, conversation_id)
    assert conversation is not None
    return say(session, conversation, author=Author.STAFF, text=text, push=NO_PUSH, sender=STAFF)


def _suggested(session: Session, *, conversation_id: str) -> bool:
    return session.scalar(select(Suggestion.id).where(Suggestion.conversation_id == conversation_id)) is not None


def _go_live(
    session: Session, *, suggestion_id: int, target: tuple[str, str] | None, collection: str
) -> tuple[str, str]:
    """Link the question to `target` (an approved answer's source and section); without one,
    approve it: the new answer's source and section."""
    if target is not None:
        source, section = target
        suggestions.link(session, suggestion_id, source=source, section=section, actor=REVIEWER, collection=collection)
        return target
    source = suggestions.approve(session, suggestion_id, actor=REVIEWER, collection=collection)
    approved = session.get_one(Suggestion, suggestion_id).section
    assert approved is not None
    return source, approved


async def replay(root: Path, embedder: Embedder, data: Path, *, review: Review | None) -> list[Batch]:
    intents, asked = load(data)
    kb, engine = await open_kb(root, embedder)
    transactions = transactions_for(engine, kb.ingestor.sessionmaker)
    hub = Replay(kb, transactions, review)
    await hub.open(root / "docs", intents)
    batches = []
    starts = range(0, len(asked), BATCH)
    for n, start in enumerate(starts, 1):
        print(f"replay ({review or 'no reviewer'}): batch {n}/{len(starts)}", file=sys.stderr)
        batch = Batch()
        for number, (question, intent) in enumerate(asked[start : start + BATCH], start):
            await hub.ask(number, question, intent, batch)
        if review is not None:
            await hub.review_pending(batch)
        batches.append(batch)
    await transactions.close()
    await kb.aclose()
    await engine.dispose()
    return batches


SETS = {"Bitext": "bitext_replay.jsonl", "HWU64": "hwu64.jsonl"}
"""Bitext, with its own answers; HWU64 (a home assistant's users, 64 intents) as a second set the
review rules were never looked at on, its answers one line each."""


def run() -> dict[str, dict[str, list[Batch]]]:
    embedder = Embedder.load(KnowledgeSettings())
    out: dict[str, dict[str, list[Batch]]] = {}
    for data_set, file_name in SETS.items():
        out[data_set] = {}
        for name, review in (("reviewer", Review.HAND_OVER), ("rejecting", Review.REJECT), ("baseline", None)):
            with tempfile.TemporaryDirectory() as tmp:
                out[data_set][name] = asyncio.run(replay(Path(tmp), embedder, DATA / file_name, review=review))
    return out


def _total(batches: Sequence[Batch]) -> Batch:
    return Batch(*(sum(getattr(batch, field.name) for batch in batches) for field in fields(Batch)))


def _shares(batch: Batch) -> tuple[float, float, float, float]:
    """Answered right, answered wrong, handed over (of in scope); declined (of out of scope)."""
    n_in, n_out = max(batch.in_scope, 1), max(batch.out_of_scope, 1)
    handed = batch.in_scope - batch.right - batch.wrong
    return batch.right / n_in, batch.wrong / n_in, handed / n_in, batch.out_declined / n_out


def _row(label: str, ours: Batch, base: Batch) -> str:
    mine, theirs = (" ".join(f"{share:7.1%}" for share in _shares(batch)) for batch in (ours, base))
    review = f"{ours.cases:5} {ours.suggested:4} {ours.approved:4} {ours.linked:4} {ours.kept:4}"
    return f"{label:9} {ours.in_scope:>4}/{ours.out_of_scope:<4} | {mine} {review} | {theirs}"


def _change(first: Batch, last: Batch) -> str:
    names = ("right", "wrong", "handed over", "out of scope declined")
    return ", ".join(
        f"{name} {a:.1%} → {b:.1%}" for name, a, b in zip(names, _shares(first), _shares(last), strict=True)
    )


def report(out: dict[str, dict[str, list[Batch]]]) -> str:
    return "\n\n".join(f"{data_set}\n{_report(runs)}" for data_set, runs in out.items())


def _report(out: dict[str, list[Batch]]) -> str:
    reviewed, baseline = out["reviewer"], out["baseline"]
    shares = " ".join(f"{name:>7}" for name in ("right", "wrong", "handed", "out dcl"))
    review = f"{'cases':>5} {'sugg':>4} {'appr':>4} {'link':>4} {'kept':>4}"
    lines = [
        "in scope: answered right, answered wrong, handed over; out of scope: declined. With the reviewer, "
        "also the batch's cases, the suggestions they made, and the review: approved, linked, kept for a person",
        f"{'':19} | {'with the reviewer':<56} | without (baseline)",
        f"{'batch':9} {'in/out':^9} | {shares} {review} | {shares}",
    ]
    for n, (ours, base) in enumerate(zip(reviewed, baseline, strict=True), 1):
        lines.append(_row(str(n), ours, base))
    lines.append(_row(f"2–{len(reviewed)}", _total(reviewed[1:]), _total(baseline[1:])))
    lines.append(_row("all", _total(reviewed), _total(baseline)))
    lines.append(f"first → last batch, with the reviewer: {_change(reviewed[0], reviewed[-1])}")
    lines.append(f"                     without:           {_change(baseline[0], baseline[-1])}")
    right, _, _, declined = _shares(_total(out["rejecting"][1:]))
    lines.append(
        f"a reviewer who rejects what is out of scope rather than keep it for a person, batches 2–{len(reviewed)}: "
        f"right {right:.1%}, out of scope declined {declined:.1%}"
    )
    return "\n".join(lines)


if __name__ == "__main__":
    print(report(run()))
