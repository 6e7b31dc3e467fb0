"""The `supporthub` command as a user runs it: ingest, search, ask (and ask --explain), reindex.

In this process (`tests.cli_runner`), but for two runs of the installed `supporthub` in a process
of its own: an `ask` (the entry point, end to end, importing what it needs by itself) and an
`ingest` a serving process must count."""

from __future__ import annotations

import asyncio
import json
import os
import re
import socket
import subprocess
import sys
from collections.abc import Callable
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

from core.cli.server import create_app
from core.handoff.cases import CaseOpening, move_case
from core.messages import Address, InboundMessage, Reply
from core.ops.runtime import open_database
from core.pipeline.storage import Storage
from core.pipeline.turn_transactions import TurnResult
from core.settings import Settings
from core.store.case_tables import CaseState
from core.store.inbox import PendingMessage
from core.store.transactions import transactions_for
from knowledge.settings import KnowledgeSettings
from tests.cli_runner import supporthub
from tests.conftest import SAMPLE_KNOWLEDGE

SUPPORTHUB = str(Path(sys.executable).parent / "supporthub")


def run(*args: str, data_dir: Path, **extra_env: str) -> Result:
    """`supporthub ARGS…` in this process, on `data_dir`, logging from WARNING up."""
    return supporthub(
        *args, env={"SUPPORTHUB_DATA_DIR": str(data_dir), "SUPPORTHUB_LOG__LEVEL": "WARNING", **extra_env}
    )


def run_process(*args: str, data_dir: Path, **extra_env: str) -> subprocess.CompletedProcess[str]:
    """`supporthub ARGS…` as `run`, but the installed command in a process of its own."""
    env = {**os.environ, "SUPPORTHUB_DATA_DIR": str(data_dir), "SUPPORTHUB_LOG__LEVEL": "WARNING", **extra_env}
    return subprocess.run([SUPPORTHUB, *args], capture_output=True, text=True, timeout=300, env=env, check=False)


@pytest.mark.slow("the installed `supporthub` in a process of its own")
def test_ingest_search_ask_and_reindex(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "refunds.md").write_text(
        "# Refunds\n\n## Annual plans\n\nAnnual plans are refunded pro rata within 30 days of purchase. "
        "Write to billing with your invoice number.\n"
    )
    (docs / "errors.csv").write_text(
        "question,answer\nWhat is error QX-981?,QX-981 means your seat limit is reached.\n"
    )
    data = tmp_path / "data"

    first = run("ingest", str(docs), data_dir=data)
    assert first.exit_code == 0, first.stderr
    assert "added 2, changed 0, removed 0, unchanged 0" in first.stdout
    again = run("ingest", str(docs), data_dir=data)
    assert "added 0, changed 0, removed 0, unchanged 2" in again.stdout

    found = run("search", "QX-981", "--k", "1", "--json", data_dir=data)
    hits = json.loads(found.stdout)
    assert len(hits) == 1 and hits[0]["source"].endswith("errors.csv")
    assert {"source", "title", "section", "score", "text"} <= set(hits[0])

    # a process of its own: the installed entry point, end to end, loading the agent by itself
    asked = run_process("ask", "can I get a refund for my annual plan?", "--json", data_dir=data)
    assert asked.returncode == 0, asked.stderr
    reply = json.loads(asked.stdout)
    assert reply["handoff"] is False and "pro rata" in reply["text"]
    assert reply["citations"][0]["source"].endswith("refunds.md")

    paths = json.dumps([str(docs)])
    adopted = run("reindex", data_dir=data, SUPPORTHUB_KNOWLEDGE__PATHS=paths)
    assert "added 0, changed 0, removed 0, unchanged 2" in adopted.stdout, adopted.stderr
    (docs / "errors.csv").unlink()
    pruned = run("reindex", data_dir=data, SUPPORTHUB_KNOWLEDGE__PATHS=paths)
    assert "removed 1" in pruned.stdout, pruned.stderr
    gone = json.loads(run("search", "QX-981", "--json", data_dir=data).stdout)
    assert all(not hit["source"].endswith("errors.csv") for hit in gone)


def test_ingest_of_a_missing_path_is_a_usage_error(tmp_path: Path) -> None:
    result = run("ingest", str(tmp_path / "nope"), data_dir=tmp_path)
    assert result.exit_code == 2 and "does not exist" in result.stderr


def test_reindex_with_a_missing_folder_removes_nothing(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "hours.md").write_text("# Support hours\n\nMonday to Friday, 07:00-19:00 UTC.\n")
    data = tmp_path / "data"
    assert run("ingest", str(docs), data_dir=data).exit_code == 0
    moved = run("reindex", data_dir=data, SUPPORTHUB_KNOWLEDGE__PATHS=json.dumps([str(tmp_path / "elsewhere")]))
    assert moved.exit_code == 1 and "not found, nothing removed" in moved.stderr
    hits = json.loads(run("search", "when is support open?", "--json", data_dir=data).stdout)
    assert hits and hits[0]["source"].endswith("hours.md")


def test_documents_ingested_by_hand_are_kept_by_a_reindex_that_says_so_until_pruned(tmp_path: Path) -> None:
    """The trap a new user fell into: `supporthub ingest mydocs/` then `make run` (which runs
    `supporthub reindex`) silently removed the documents just ingested."""
    configured, mine = tmp_path / "help", tmp_path / "mydocs"
    configured.mkdir()
    mine.mkdir()
    (configured / "hours.md").write_text("# Support hours\n\nMonday to Friday, 07:00-19:00 UTC.\n")
    (mine / "loyalty.md").write_text("# Loyalty points\n\nEvery order earns one point per euro spent.\n")
    data = tmp_path / "data"
    paths = json.dumps([str(configured)])
    assert run("reindex", data_dir=data, SUPPORTHUB_KNOWLEDGE__PATHS=paths).exit_code == 0
    assert run("ingest", str(mine), data_dir=data).exit_code == 0

    kept = run("reindex", data_dir=data, SUPPORTHUB_KNOWLEDGE__PATHS=paths)
    assert kept.exit_code == 0 and "removed 0" in kept.stdout, kept.stderr
    assert "kept 1 document(s) ingested by hand" in kept.stderr and "mydocs/loyalty.md" in kept.stderr
    assert "supporthub reindex --prune" in kept.stderr
    hits = json.loads(run("search", "loyalty points per euro", "--json", data_dir=data).stdout)
    assert hits[0]["source"] == "mydocs/loyalty.md"

    pruned = run("reindex", "--prune", data_dir=data, SUPPORTHUB_KNOWLEDGE__PATHS=paths)
    assert "removed 1" in pruned.stdout, pruned.stderr
    hits = json.loads(run("search", "loyalty points per euro", "--json", data_dir=data).stdout)
    assert all(hit["source"] != "mydocs/loyalty.md" for hit in hits)


def test_a_reindex_that_would_remove_most_of_the_index_stops_until_forced(tmp_path: Path) -> None:
    docs, other = tmp_path / "docs", tmp_path / "other"
    docs.mkdir()
    other.mkdir()
    for name in ("hours", "refunds", "shipping"):
        (docs / f"{name}.md").write_text(f"# {name.title()}\n\nWhat to know about {name}.\n")
    (other / "warranty.md").write_text("# Warranty\n\nTwo years on every device.\n")
    data = tmp_path / "data"
    assert run("reindex", data_dir=data, SUPPORTHUB_KNOWLEDGE__PATHS=json.dumps([str(docs)])).exit_code == 0

    wrong = run("reindex", data_dir=data, SUPPORTHUB_KNOWLEDGE__PATHS=json.dumps([str(other)]))
    assert wrong.exit_code == 1
    assert "would remove 3 of the 3 indexed documents (100%" in wrong.stderr and "nothing was changed" in wrong.stderr
    hits = json.loads(run("search", "what to know about shipping", "--json", data_dir=data).stdout)
    assert hits[0]["source"].endswith("shipping.md")

    forced = run("reindex", "--force", data_dir=data, SUPPORTHUB_KNOWLEDGE__PATHS=json.dumps([str(other)]))
    assert "added 1, changed 0, removed 3" in forced.stdout, forced.stderr


def test_forget_erases_a_contact_found_by_a_verified_email(tmp_path: Path) -> None:
    async def seed() -> None:
        settings = Settings(data_dir=tmp_path)
        async with open_database(settings) as (engine, sessionmaker):
            transactions = transactions_for(engine, sessionmaker)
            storage = Storage.on(transactions)
            for n, text in enumerate(["my name is Zoe", "my order number is BD-99812"]):
                await storage.inbox.save(
                    InboundMessage(Address("api", "crm-7"), f"m{n}", "crm-7", text, verified_email="zoe@example.com"),
                    lease=timedelta(seconds=0),
                )
            await transactions.close()

    asyncio.run(seed())
    refused = run("forget", "email:nobody@example.com", "--yes", data_dir=tmp_path)
    assert refused.exit_code == 1 and "no contact matches 'email:nobody@example.com'" in refused.stderr
    erased = run("forget", "email:zoe@example.com", "--yes", data_dir=tmp_path)
    assert erased.exit_code == 0, erased.stderr
    assert "1 conversations, 2 messages, 0 facts, 2 identities" in erased.stdout
    again = run("forget", "api:crm-7", "--yes", data_dir=tmp_path)
    assert again.exit_code == 1


def test_cases_lists_open_cases_with_age_and_owner(tmp_path: Path) -> None:
    async def seed() -> None:
        settings = Settings(data_dir=tmp_path)
        async with open_database(settings) as (engine, sessionmaker):
            transactions = transactions_for(engine, sessionmaker)
            storage = Storage.on(transactions)
            for contact in ("kim", "lee"):
                address = Address("api", contact)
                receipt = await storage.inbox.save(
                    InboundMessage(address, f"m-{contact}", contact, "a human please"), lease=timedelta(seconds=30)
                )
                pending = PendingMessage(receipt.message_id, receipt.conversation_id, "a human please", address)
                finished = await storage.turns.finish(
                    pending,
                    TurnResult(
                        signals=None,
                        reply=Reply("A person will follow up.", handoff=True),
                        escalation=CaseOpening("human_request", "The customer asked for a person."),
                    ),
                    push=False,
                )
                assert finished is not None and finished.case_id is not None
                if contact == "lee":
                    await transactions.run(
                        partial(move_case, case_id=finished.case_id, to=CaseState.HUMAN, actor="U0SAM")
                    )
            await transactions.close()

    assert "no open cases" in run("cases", data_dir=tmp_path).stdout
    asyncio.run(seed())
    listed = run("cases", data_dir=tmp_path)
    assert listed.exit_code == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert lines[0].split()[:5] == ["case", "state", "age", "owner", "channel"]
    assert "waiting" in lines[1] and "0 min" in lines[1] and "The customer asked for a person." in lines[1]
    assert "human" in lines[2] and "U0SAM" in lines[2]
    as_json = json.loads(run("cases", "--json", data_dir=tmp_path).stdout)
    assert [(c["state"], c["owner"]) for c in as_json] == [("waiting", None), ("human", "U0SAM")]


def explain(question: str, *, data_dir: Path, database: Path) -> Result:
    """`supporthub ask --explain` over the sample help centre indexed in `data_dir`."""
    return run(
        "ask",
        "--explain",
        question,
        data_dir=data_dir,
        SUPPORTHUB_DATABASE_URL=f"sqlite+aiosqlite:///{database}",
        SUPPORTHUB_KNOWLEDGE__PATHS=json.dumps([str(SAMPLE_KNOWLEDGE)]),
    )


def test_ask_explain_shows_the_misspelt_question_searched_corrected_and_why_it_was_answered(
    indexed_data_dir: Path, tmp_path: Path
) -> None:
    asked = explain("is our data encryptd", data_dir=indexed_data_dir, database=tmp_path / "hub.db")
    assert asked.exit_code == 0, asked.stderr
    assert "AES-256" in asked.stdout and "security.md" in asked.stdout
    lines = asked.stderr.splitlines()
    assert "question: is our data encryptd" in lines and "  searched as: is our data encrypted" in lines, lines
    assert "bar: match 0.55, answer.min_match" in lines, lines
    decision = [line for line in lines if line.startswith("  answer: score")]
    assert len(decision) == 1 and "coverage" in decision[0] and "security.md › Encryption" in decision[0], lines
    assert any(
        re.match(r"  hit: match 0\.\d\d  document 0\.\d\d  \S*security\.md › Encryption$", line) for line in lines
    ), lines


def test_ask_explain_shows_the_docs_example_each_question_alone(indexed_data_dir: Path, tmp_path: Path) -> None:
    """docs/answering.md's example: the introduction is not searched with the question after it,
    and the second question is searched alone (it points back to nothing)."""
    message = "hi, I'm Dana. is our data encryptd? and can i pay by paypal"
    asked = explain(message, data_dir=indexed_data_dir, database=tmp_path / "hub.db")
    assert asked.exit_code == 0, asked.stderr
    lines = asked.stderr.splitlines()
    assert [line for line in lines if line.startswith("question: ")] == [
        "question: is our data encryptd?",
        "question: can i pay by paypal",
    ], lines
    assert "  searched as: is our data encrypted?" in lines, lines
    decisions = [line for line in lines if line.startswith(("  answer: ", "  decline: "))]
    assert [line.split(":")[0].strip() for line in decisions] == ["answer", "decline"], lines
    assert decisions[0].endswith("security.md › Encryption"), lines
    assert decisions[1].endswith("billing-and-invoices.md › Payment methods"), lines
    assert "AES-256" in asked.stdout and "“can i pay by paypal”" in asked.stdout


def test_ask_explain_shows_a_decline_and_leaves_real_words_uncorrected(indexed_data_dir: Path, tmp_path: Path) -> None:
    asked = explain("do you sell stickers or t-shirts?", data_dir=indexed_data_dir, database=tmp_path / "hub.db")
    assert asked.exit_code == 0, asked.stderr
    lines = asked.stderr.splitlines()
    assert "question: do you sell stickers or t-shirts?" in lines, lines
    assert any(line.startswith("  decline: score") for line in lines), lines
    assert "searched as:" not in asked.stderr


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("my name is Zoe and I'm on the Pro plan", "memory: the message tells the customer's name and plan and asks"),
        ("what's my plan?", "memory: the message asks back the customer's plan; answered from memory"),
        ("hello!", "small talk: a greeting; answered as such, nothing quoted"),
    ],
)
def test_ask_explain_says_which_path_answered_a_message_nothing_was_searched_for(
    indexed_data_dir: Path, tmp_path: Path, message: str, expected: str
) -> None:
    asked = explain(message, data_dir=indexed_data_dir, database=tmp_path / "hub.db")
    assert asked.exit_code == 0, asked.stderr
    explained = [line for line in asked.stderr.splitlines() if not line.startswith("{")]
    assert len(explained) == 1 and explained[0].startswith(expected), explained


def test_eval_calibrate_learns_the_bar_every_command_then_uses(indexed_data_dir: Path, tmp_path: Path) -> None:
    database = tmp_path / "hub.db"
    env = {
        "SUPPORTHUB_DATABASE_URL": f"sqlite+aiosqlite:///{database}",
        "SUPPORTHUB_KNOWLEDGE__PATHS": json.dumps([str(SAMPLE_KNOWLEDGE)]),
    }
    lines = (SAMPLE_KNOWLEDGE.parent / "eval" / "sample-questions.jsonl").read_text(encoding="utf-8").splitlines()
    labelled = tmp_path / "ours.jsonl"
    labelled.write_text("\n".join(lines[:40]) + "\n", encoding="utf-8")
    few = tmp_path / "few.jsonl"
    few.write_text("\n".join(lines[:5]) + "\n", encoding="utf-8")

    refused = run("eval", "--calibrate", str(few), data_dir=indexed_data_dir, **env)
    assert refused.exit_code == 2 and "at least 20 are needed" in refused.stderr, refused.stderr
    assert (
        "bar: match 0.55, answer.min_match"
        in explain("is our data encryptd", data_dir=indexed_data_dir, database=database).stderr
    )

    calibrated = run("eval", "--calibrate", str(labelled), data_dir=indexed_data_dir, **env)
    assert calibrated.exit_code == 0, calibrated.stderr
    learned = re.search(
        r"calibrated: answer bar (\d\.\d\d), learned from (\d+) labelled questions in ours\.jsonl", calibrated.stdout
    )
    assert learned is not None, calibrated.stdout
    bar = learned.group(1)
    assert f"offline responder (top_k 5, bar {bar})" in calibrated.stdout
    shares = re.search(r"answerable: declined\s+([\d.]+)", calibrated.stdout)
    assert shares is not None and float(shares.group(1)) <= 0.05, calibrated.stdout  # 95 % answered

    lines_shown = explain("is our data encryptd", data_dir=indexed_data_dir, database=database).stderr.splitlines()
    assert any(
        line.startswith(f"bar: match {bar}, learned from {learned.group(2)} labelled questions in ours.jsonl")
        for line in lines_shown
    ), lines_shown


def test_serve_on_a_port_in_use_says_so_in_one_line_and_exits_2(tmp_path: Path) -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        result = run("serve", "--port", str(port), data_dir=tmp_path)
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert f"127.0.0.1:{port}" in lines[0] and "--port" in lines[0] and "SUPPORTHUB_SERVER__PORT" in lines[0]
    assert "supporthub ready" not in result.stderr and "Traceback" not in result.stderr


@pytest.mark.slow("a second process ingests while the hub serves")
async def test_readiness_counts_the_chunks_of_an_ingest_from_the_command_line_at_once(
    aiohttp_client: Callable[..., Any], tmp_path: Path
) -> None:
    docs, more = tmp_path / "docs", tmp_path / "more"
    docs.mkdir()
    more.mkdir()
    (docs / "refunds.md").write_text("# Refunds\n\nWe refund any plan within 30 days.\n", encoding="utf-8")
    (more / "exports.md").write_text("# Exports\n\nOpen Settings > Export and choose CSV.\n", encoding="utf-8")
    data_dir = tmp_path / "data"
    assert (await asyncio.to_thread(run, "ingest", str(docs), data_dir=data_dir)).exit_code == 0
    client = await aiohttp_client(create_app(Settings(data_dir=data_dir, knowledge=KnowledgeSettings(paths=[docs]))))
    before = (await (await client.get("/readyz")).json())["chunks"]

    # a process of its own: the index written by another process than the one serving it
    ingested = await asyncio.to_thread(run_process, "ingest", str(more), data_dir=data_dir)

    assert ingested.returncode == 0, ingested.stderr
    assert (await (await client.get("/readyz")).json())["chunks"] == before + 1
