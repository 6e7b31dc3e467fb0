"""Real traffic on `/api/messages`: many short conversations under the default rules.

50 concurrent clients; each asks 4 StackFAQ paraphrases in one conversation, then comes back
as a new contact. Everything is as shipped (escalation rules, rate limits per contact, mood,
memory) except that the API has a token, as a company's backend calling it for its customers
would: without one, every client on 127.0.0.1 would share the per-address limit. A message
the hub hands to a person answers 202 `with_staff`: counted apart, neither answered nor an
error. On SQLite and on PostgreSQL (a database of its own, when SUPPORTHUB_TEST_POSTGRES_URL
is set), in one run, next to the same model batch-encoding the same questions on every core
(the faster of its two runtimes, `bench_api.batch_encode_rate`) — the floor of this path:
whatever else the hub does per message is what the ratio loses.

Where the CPU goes: one more round runs under py-spy (sampling the server's threads from
outside, not blocking it), and every sample is put in the stage its innermost frame of ours or
of a library we call belongs to (`STAGES`). Each thread's own CPU time over that round (from
/proc), split in the proportions of that thread's samples, gives milliseconds per message by
stage: sample counts alone would also count a thread waiting for the GIL as busy.

Where the machine's CPU goes in the median round, per message: the server's, this process's
(the 50 clients: the load generator's) and the rest (PostgreSQL, the kernel; py-spy runs only
in the profiled round). Next to it, what a target leaves a message: two cores' seconds over
the rate the target asks for.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import aiohttp
import psutil

from tests.bench import traffic_budget
from tests.bench.bench_api import batch_encode_rate, single_encode_ms, wait_ready, write_corpus
from tests.bench.bench_retrieval import percentile
from tests.ports import free_port
from tests.postgres import POSTGRES_ENV

CLIENTS = 50
TURNS = 4
ROUNDS = 3
TOKEN = "bench-traffic-token"
PROFILE_RATE_HZ = 200
KEEP_PROFILES_ENV = "SUPPORTHUB_BENCH_PROFILES"
"""A folder to keep py-spy's raw profiles in (`<database>.profile`), for reading them stack by stack."""

STAGES: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "encode",
        (
            "/torch/",
            "/sentence_transformers/",
            "/transformers/",
            "/tokenizers/",
            "/onnxruntime/",
            "knowledge/embedding/onnx_encoder.py",
            "knowledge/embedding/embedder.py",
        ),
    ),
    (
        "storage",
        (
            "/sqlalchemy/",
            "/aiosqlite/",
            "/sqlite3/",
            "/asyncpg/",
            "core/store/",
            "core/pipeline/turn_transactions.py",
        ),
    ),
    ("search", ("knowledge/search/index.py", "knowledge/search/brute_force.py", "/bm25s/", "/chromadb/", "/scipy/")),
    ("rank", ("knowledge/",)),
    ("language", ("core/answering/language.py", "/lingua/")),
    ("mood", ("core/answering/sentiment.py", "core/answering/mood_languages.py")),
    ("actions", ("core/answering/actions/",)),
    ("decide", ("core/answering/", "core/turn_", "core/pipeline/turn_runner.py", "core/handoff/")),
    ("event loop", ("aiohttp/web.py",)),
    (
        "delivery",
        (
            "core/pipeline/",
            "core/messages.py",
            "core/channel",
            "core/log_context.py",
            "core/ops/",
            "/limits/",
            "channels/",
            "/aiohttp/",
            "/multidict/",
            "/yarl/",
            "/json/",
        ),
    ),
)
"""Stage of a sample: the first of these whose path fragments match a frame, looking from the
innermost frame outwards (a database call made by the turn is storage's; numpy called by the
ranking is the ranking's). "search" is the dense and lexical candidates, "rank" their fusion
and signals (and the spelling correction), "decide" the answer's choice and wording, the
escalation policy and memory; "delivery" the hub, the channel and HTTP. Under uvloop the
loop's own work (sockets, wake-ups, callbacks) has no Python frame below `run_app`: "event
loop"."""


def environment(root: Path, database_url: str) -> dict[str, str]:
    return {
        **os.environ,
        "SUPPORTHUB_DATA_DIR": str(root / "data"),
        "SUPPORTHUB_DATABASE_URL": database_url,
        "SUPPORTHUB_KNOWLEDGE__PATHS": json.dumps([str(root / "corpus")]),
        "SUPPORTHUB_KNOWLEDGE__CHUNK_MAX_CHARS": "300",
        "SUPPORTHUB_SCHEDULE": "[]",
        "SUPPORTHUB_LOG__LEVEL": "WARNING",
        "SUPPORTHUB_API__TOKEN": TOKEN,
    }


@dataclass
class Round:
    answered: int
    with_staff: int
    errors: int
    seconds: float
    latencies: list[float]
    cpu_ms: dict[str, float] = field(default_factory=dict)
    """CPU milliseconds per message: the server's, the load generator's, the rest of the machine's."""

    @property
    def rate(self) -> float:
        return self.answered / self.seconds

    def figures(self) -> dict[str, float]:
        return {
            "rate": self.rate,
            "p50_ms": percentile(self.latencies, 50) * 1000,
            "p95_ms": percentile(self.latencies, 95) * 1000,
            "answered": float(self.answered),
            "with_staff": float(self.with_staff),
            "errors": float(self.errors),
        }


async def traffic(url: str, questions: Sequence[str], *, clients: int, label: str) -> Round:
    """`clients` concurrent clients working through `questions` as conversations of TURNS
    messages, each conversation a new contact."""
    conversations = iter(range(0, len(questions), TURNS))
    result = Round(0, 0, 0, 0.0, [])
    headers = {"Authorization": f"Bearer {TOKEN}"}

    async def client(http: aiohttp.ClientSession) -> None:
        for first in conversations:
            contact = f"{label}-{first}"
            for text in questions[first : first + TURNS]:
                started = time.perf_counter()
                try:
                    async with http.post(url, json={"contact": contact, "text": text}, headers=headers) as response:
                        body = await response.json()
                except (aiohttp.ClientError, TimeoutError, json.JSONDecodeError):
                    result.errors += 1
                    continue
                if response.status == 200:
                    result.answered += 1
                    result.latencies.append(time.perf_counter() - started)
                elif response.status == 202 and body.get("status") == "with_staff":
                    result.with_staff += 1
                else:
                    result.errors += 1

    connector = aiohttp.TCPConnector(limit=clients)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=60)) as http:
        started = time.perf_counter()
        await asyncio.gather(*(client(http) for _ in range(clients)))
        result.seconds = time.perf_counter() - started
    return result


def stage_of(stack: Sequence[str]) -> str:
    for frame in reversed(stack):
        for stage, fragments in STAGES:
            if any(fragment in frame for fragment in fragments):
                return stage
    return "other"


IDLE_LEAVES = ("selectors.py:", "concurrent/futures/thread.py:81", "threading.py:", "queue.py:")
"""Leaf frames of a thread waiting for work (py-spy counts some of these waits as active)."""
THREAD = re.compile(r"thread \((\d+)\)")


@dataclass
class Profile:
    """Samples per (thread id, stage) from py-spy's raw output (`--threads`)."""

    samples: dict[int, Counter[str]]

    @classmethod
    def parse(cls, raw: str) -> Profile:
        samples: dict[int, Counter[str]] = {}
        for line in raw.splitlines():
            stack, _, count = line.rpartition(" ")
            frames = stack.split(";")
            thread = THREAD.match(frames[0])
            if thread is None or not count.isdigit() or any(idle in frames[-1] for idle in IDLE_LEAVES):
                continue
            samples.setdefault(int(thread.group(1)), Counter())[stage_of(frames[1:])] += int(count)
        return cls(samples)

    def cpu_by_stage(self, cpu_by_thread: dict[int, float]) -> dict[str, float]:
        """Each thread's own CPU seconds, split by where its samples fell; CPU of threads py-spy
        saw no Python in (torch's own, say) is "native threads"."""
        out: dict[str, float] = {}
        for thread, seconds in cpu_by_thread.items():
            stages = self.samples.get(thread)
            if not stages:
                out["native threads"] = out.get("native threads", 0.0) + seconds
                continue
            total = sum(stages.values())
            for stage, n in stages.items():
                out[stage] = out.get(stage, 0.0) + seconds * n / total
        return out


def busy_cpu_s() -> float:
    """CPU seconds the machine's cores have spent busy so far."""
    times = psutil.cpu_times()
    return float(times.user + times.nice + times.system + times.irq + times.softirq)


def cpu_shared(server_pid: int, play: Callable[[], Round]) -> Round:
    """`play` a round, with the CPU it took from the server, this process and the rest of the
    machine, per message."""
    server = psutil.Process(server_pid)

    def server_s() -> float:
        times = server.cpu_times()
        return float(times.user + times.system + times.children_user + times.children_system)

    before = (server_s(), time.process_time(), busy_cpu_s())
    played = play()
    used_server, used_load, used_machine = (
        after - start for after, start in zip((server_s(), time.process_time(), busy_cpu_s()), before, strict=True)
    )
    messages = max(1, played.answered + played.with_staff)
    played.cpu_ms = {
        "server": used_server / messages * 1000,
        "load generator": used_load / messages * 1000,
        "rest": max(0.0, used_machine - used_server - used_load) / messages * 1000,
    }
    return played


def thread_cpu(pid: int) -> dict[int, float]:
    """CPU seconds of each of `pid`'s threads so far (Linux: /proc/PID/task)."""
    hertz = os.sysconf("SC_CLK_TCK")
    out = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # the thread ended meanwhile
            continue
        out[int(task.name)] = (int(fields[11]) + int(fields[12])) / hertz
    return out


def py_spy() -> str | None:
    found = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    return found if Path(found).exists() else None


@contextmanager
def profiled(pid: int, output: Path) -> Iterator[None]:
    """py-spy sampling `pid`'s threads (without pausing it) while the block runs."""
    executable = py_spy()
    if executable is None:
        yield
        return
    recorder = subprocess.Popen(
        [
            executable,
            "record",
            "--pid",
            str(pid),
            "--rate",
            str(PROFILE_RATE_HZ),
            "--nonblocking",
            "--full-filenames",
            "--threads",
            "--format",
            "raw",
            "--output",
            str(output),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(1.0)  # attached
    try:
        yield
    finally:
        recorder.send_signal(signal.SIGINT)  # py-spy writes its output and exits
        recorder.wait(timeout=60)


def measure(root: Path, database_url: str, questions: Sequence[str], label: str) -> dict[str, Any]:
    env = environment(root, database_url)
    cli = [sys.executable, "-m", "core.cli.main"]
    subprocess.run(
        [*cli, "reindex", "--no-progress"], env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    port = free_port()
    server = subprocess.Popen([*cli, "serve", "--port", str(port)], env=env, stderr=subprocess.DEVNULL)
    try:
        base = f"http://127.0.0.1:{port}"
        asyncio.run(wait_ready(f"{base}/readyz", server))
        url = f"{base}/api/messages"
        asyncio.run(traffic(url, questions[:40], clients=1, label=f"{label}-warm"))
        alone = asyncio.run(traffic(url, questions[:200], clients=1, label=f"{label}-alone"))
        asyncio.run(traffic(url, questions[:400], clients=CLIENTS, label=f"{label}-warm-load"))
        rounds = [
            cpu_shared(
                server.pid, partial(asyncio.run, traffic(url, questions, clients=CLIENTS, label=f"{label}-r{n}"))
            )
            for n in range(ROUNDS)
        ]
        loaded = sorted(rounds, key=lambda r: r.rate)[ROUNDS // 2]
        rss_mb = psutil.Process(server.pid).memory_info().rss / 2**20
        profile = root / f"{label}.profile"
        with profiled(server.pid, profile):
            before = thread_cpu(server.pid)
            during = asyncio.run(traffic(url, questions, clients=CLIENTS, label=f"{label}-profiled"))
            after = thread_cpu(server.pid)
        used = {thread: seconds - before.get(thread, 0.0) for thread, seconds in after.items()}
        messages = during.answered + during.with_staff
        stages = Profile.parse(profile.read_text(encoding="utf-8")).cpu_by_stage(used) if profile.exists() else {}
        if profile.exists() and (keep := os.environ.get(KEEP_PROFILES_ENV)):
            shutil.copy(profile, Path(keep) / profile.name)
    finally:
        server.terminate()
        server.wait(timeout=30)
    return {
        "alone": alone.figures(),
        "loaded": loaded.figures(),
        "loaded_cpu_ms": loaded.cpu_ms,
        "profiled_rate": during.rate,
        "rss_mb": rss_mb,
        "cpu_ms": sum(used.values()) / messages * 1000,
        "stages_ms": {stage: seconds / messages * 1000 for stage, seconds in stages.items()},
    }


@contextmanager
def sqlite_url(root: Path) -> Iterator[str]:
    """The embedded default (`data_dir/supporthub.db`)."""
    yield ""


def run(threads: Sequence[dict[str, Any]]) -> dict[str, Any]:
    questions = [q for t in threads for q in t["queries"]]
    random.Random(16).shuffle(questions)
    out: dict[str, Any] = {"questions": len(questions)}
    databases: list[tuple[str, Any]] = [("SQLite", sqlite_url)]
    if os.environ.get(POSTGRES_ENV):
        from tests.postgres import own_postgres_database

        databases.append(("PostgreSQL", lambda _root: own_postgres_database("the PostgreSQL traffic benchmark")))
    for name, database in databases:
        with tempfile.TemporaryDirectory() as tmp, database(Path(tmp)) as database_url:
            root = Path(tmp)
            write_corpus(threads, root / "corpus")
            out[name] = measure(root, database_url, questions, name.lower())
        print(f"  {name}: {out[name]['loaded']['rate']:.0f} answered/s", flush=True)
    out["encode_rate"] = batch_encode_rate(questions)
    out["single_encode_ms"] = single_encode_ms(questions[:200])
    if py_spy() is None:
        out["profile_note"] = "py-spy is not installed: no breakdown by stage"
    return out


def report(figures: dict[str, Any]) -> str:
    encode = figures["encode_rate"]
    rows: list[tuple[str, str, str]] = [
        ("raw batch encode of the same questions", f"{encode:.0f}/s", "the floor (the faster runtime)"),
    ]
    single = figures.get("single_encode_ms")
    if single is not None:
        rows.append(("raw encode of one question", f"{single:.1f} ms", "median, the faster runtime"))
    targets = {"SQLite": 0.60, "PostgreSQL": 0.50}
    for name, target in targets.items():
        if name not in figures:
            rows.append((name, "skipped", f"set {POSTGRES_ENV} to run it"))
            continue
        f = figures[name]
        loaded, alone = f["loaded"], f["alone"]
        rows += [
            (
                f"{name}: {CLIENTS} clients, answered/s",
                f"{loaded['rate']:.0f}",
                f"{loaded['rate'] / encode:.0%} of raw encode (target >= {target:.0%}); median of {ROUNDS} rounds",
            ),
            (
                f"{name}: {CLIENTS} clients, p50 / p95",
                f"{loaded['p50_ms']:.0f} / {loaded['p95_ms']:.0f} ms",
                f"with staff {loaded['with_staff']:.0f}, errors {loaded['errors']:.0f} of "
                f"{figures['questions']} messages",
            ),
            (
                f"{name}: one client, p50 / p95",
                f"{alone['p50_ms']:.1f} / {alone['p95_ms']:.1f} ms",
                "target p50 <= 1.5 x one question's raw encode"
                + (f" ({1.5 * single:.1f} ms): {alone['p50_ms'] / single:.2f} x" if single is not None else ""),
            ),
            (f"{name}: serve resident memory", f"{f['rss_mb']:.0f} MB", "after the rounds (target <= 700 MB)"),
            (
                f"{name}: server CPU per message",
                f"{f['cpu_ms']:.1f} ms",
                f"profiled round: {f['profiled_rate']:.0f} answered/s",
            ),
        ]
        machine = f["loaded_cpu_ms"]
        rows.append(
            (
                f"{name}: machine CPU per message",
                f"{sum(machine.values()):.1f} ms",
                f"server {machine['server']:.1f}, load generator {machine['load generator']:.1f}, the rest "
                f"(PostgreSQL, the kernel) {machine['rest']:.1f} ms; median round. At the target, two cores "
                f"leave {2000 / (target * encode):.1f} ms a message",
            )
        )
        outside = sum(ms for stage, ms in f["stages_ms"].items() if stage != "encode")
        rows.append((f"{name}: of which outside the encoder", f"{outside:.1f} ms", "by stage:"))
        for stage, ms in sorted(f["stages_ms"].items(), key=lambda item: -item[1]):
            rows.append((f"  {stage}", f"{ms:.1f} ms", ""))
    if "profile_note" in figures:
        rows.append(("profile", "", figures["profile_note"]))
    width = max(len(r[0]) for r in rows)
    return "\n".join(f"{name:<{width}}  {value:>16}  {note}" for name, value, note in rows)


def budget_report(figures: dict[str, Any]) -> tuple[str, bool]:
    """The run's budgeted figures beside `traffic_budget.json`'s, and whether they keep to it."""
    now = traffic_budget.figures_of(figures)
    budget = traffic_budget.load()
    rows = [f"budget (tests/bench/traffic_budget.json, recorded {budget['recorded']}):"]
    for database, measured in now.items():
        for name, value in measured.items():
            recorded = budget.get(database, {}).get(name)
            beside = "not recorded" if recorded is None else f"recorded {recorded:.3g}"
            rows.append(f"  {database} {name}: {value:.3g} ({beside})")
    over = traffic_budget.over_budget(now, budget)
    drop = f"{traffic_budget.ALLOWED_DROP:.0%}"
    rows += [f"  OVER BUDGET by more than {drop}: {line}" for line in over] or [f"  within {drop} of the budget"]
    return "\n".join(rows), not over


def _main(argv: Sequence[str]) -> int:
    from tests.bench.__main__ import DEFAULT_STACKFAQ
    from tests.bench.bench_retrieval import load_threads

    record = "--record" in argv
    paths = [arg for arg in argv if arg != "--record"]
    figures = run(load_threads(Path(paths[0]) if paths else DEFAULT_STACKFAQ))
    print(report(figures))
    if record:
        traffic_budget.record(
            traffic_budget.figures_of(figures),
            note=f"{time.strftime('%Y-%m-%d')} (floor {figures['encode_rate']:.0f}/s)",
        )
        print(f"recorded in {traffic_budget.BUDGET_FILE}")
        return 0
    text, kept = budget_report(figures)
    print(text)
    return 0 if kept else 1


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
