"""`make bench`: every benchmark in one run, on this machine, printed as tables.

    python -m tests.bench [STACKFAQ_DIR]

STACKFAQ_DIR defaults to ../shared/data/stackfaq beside the repository (see its
PROVENANCE.md); the data set is read from there and never copied into the repository.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

DEFAULT_STACKFAQ = Path(__file__).resolve().parents[3] / "shared" / "data" / "stackfaq"


def section(title: str) -> None:
    print(f"\n== {title} " + "=" * max(0, 76 - len(title)), flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.bench", description=__doc__.splitlines()[0])
    parser.add_argument(
        "stackfaq",
        nargs="?",
        type=Path,
        default=DEFAULT_STACKFAQ,
        help=f"folder holding stackExchange-FAQ.json (default: {DEFAULT_STACKFAQ})",
    )
    args = parser.parse_args()
    if not (args.stackfaq / "stackExchange-FAQ.json").is_file():
        print(
            f"StackFAQ is not at {args.stackfaq}: the benchmarks need it. Pass its folder: "
            "make bench BENCH_ARGS=/path/to/stackfaq",
            file=sys.stderr,
        )
        return 2
    logging.basicConfig(level=logging.WARNING)

    from tests.bench import (
        bench_action_phrasing,
        bench_answers,
        bench_api,
        bench_big_corpus,
        bench_centres,
        bench_cli_start,
        bench_copilot,
        bench_crawl,
        bench_dashboard,
        bench_inbox_queue,
        bench_inbox_streams,
        bench_judgement,
        bench_languages,
        bench_postgres_stall,
        bench_rehearsals,
        bench_reingest,
        bench_replay,
        bench_retrieval,
        bench_scale_out,
        bench_sentiment_languages,
        bench_traffic,
    )

    started = time.perf_counter()
    section("command line start-up: `supporthub --help`, `supporthub doctor --help` (CPU of the process)")
    print(bench_cli_start.report(bench_cli_start.run()))
    threads = bench_retrieval.load_threads(args.stackfaq)
    section("retrieval quality, ingest and search speed (StackFAQ)")
    bench_retrieval.print_report(bench_retrieval.run(args.stackfaq))
    section("re-ingest of unchanged documents")
    print(bench_reingest.report(bench_reingest.run(threads)))
    section("crawling a help-centre website: 2,000 local pages, then again unchanged")
    print(bench_crawl.report(bench_crawl.run()))
    section("answer or decline (offline responder; KB = half of the threads)")
    print(bench_answers.report(bench_answers.run(args.stackfaq)))
    section("answer or hand over against a plain cosine threshold (StackFAQ, HWU64, the sample)")
    print(bench_judgement.report(bench_judgement.run(args.stackfaq)))
    section("help centres nobody tuned on (a bike-share scheme's, a council's bins; 7 formats, 30 questions each)")
    print(bench_centres.report(bench_centres.run()))
    section("customers in other languages: the sample's questions in English, German and Spanish (offline)")
    print(bench_languages.report(bench_languages.run()))
    section("which action a message asks for, without an LLM (action phrasings, the sample's questions, Bitext)")
    print(bench_action_phrasing.report(bench_action_phrasing.run()))
    section("mood, people asked for, questions and small talk in each shipped language (held-out messages)")
    print(bench_sentiment_languages.report(bench_sentiment_languages.run()))
    section("learning from staff answers: Bitext's and HWU64's questions replayed, with and without a reviewer")
    print(bench_replay.report(bench_replay.run()))
    section("suggested replies on 20 handed-over cases of the sample help centre (the inbox's copilot, offline)")
    print(bench_copilot.report(bench_copilot.run()))
    section("rehearsals: `supporthub rehearse` on 50 rehearsals of three turns, offline")
    print(bench_rehearsals.report(bench_rehearsals.run()))
    section("/api/messages (a real `supporthub serve`)")
    print(bench_api.report(bench_api.run(threads)))
    section("/api/messages with 1,000 inbox pages open (real `supporthub serve`, 100 people with 10 each)")
    print(bench_inbox_streams.report(bench_inbox_streams.run(threads)))
    section("real traffic: 4-message conversations, default rules (SQLite and PostgreSQL)")
    traffic = bench_traffic.run(threads)
    print(bench_traffic.report(traffic))
    budget, kept_budget = bench_traffic.budget_report(traffic)
    print(budget)
    section("the inbox's queue at 100,000 cases: pages and searches (real `supporthub serve`, SQLite and PostgreSQL)")
    print(bench_inbox_queue.report(bench_inbox_queue.run()))
    section("several processes on one PostgreSQL (real `supporthub serve`, a Chroma server)")
    print(bench_scale_out.unavailable() or bench_scale_out.report(bench_scale_out.run()))
    section("PostgreSQL stalling for 5 s under Telegram traffic (a real `supporthub serve` through a proxy)")
    print(bench_postgres_stall.unavailable() or bench_postgres_stall.report(bench_postgres_stall.run()))
    section("a big help centre: ~50,000 chunks (real `supporthub serve`, a scheduled re-index under load)")
    print(bench_big_corpus.report(bench_big_corpus.run(threads)))
    section("/admin at a million messages (real `supporthub serve`, SQLite and PostgreSQL)")
    print(bench_dashboard.report(bench_dashboard.run()))  # last: it leaves this process on one torch thread
    print(f"\nall benchmarks: {time.perf_counter() - started:.0f} s")
    if not kept_budget:
        print("the traffic bench is over its budget (see its section)", file=sys.stderr)
    return 0 if kept_budget else 1


if __name__ == "__main__":
    sys.exit(main())
