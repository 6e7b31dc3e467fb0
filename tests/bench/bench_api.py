"""`/api/messages` throughput and latency against the physical floor of the path.

A real `supporthub serve` process over a ~2,000-chunk index built from StackFAQ; questions
are the StackFAQ paraphrases. Measured in one run, side by side:
- one client alone: p50/p95 latency;
- 50 concurrent clients: answered messages/s, p50/p95, errors;
- the same model batch-encoding the same questions (questions/s) — the floor of this path;
- a bare aiohttp handler under the same 50-client load (requests/s) — the HTTP floor;
- the server's resident memory with the model loaded.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from pathlib import Path
from typing import Any

import aiohttp
import psutil
from aiohttp import web

from knowledge.embedding.embedder import Embedder
from knowledge.settings import KnowledgeSettings
from tests.bench.bench_retrieval import percentile
from tests.ports import free_port

CONCURRENCY = 50
ROUNDS = 3
TARGET_CHUNKS = 2000


def write_corpus(threads: Sequence[dict[str, Any]], directory: Path) -> None:
    """One markdown file per answer, so 125 threads make a realistic ~2,000-chunk help centre."""
    directory.mkdir(parents=True, exist_ok=True)
    for i, thread in enumerate(threads):
        for j, answer in enumerate(a for a in thread["answer"] if a.strip()):
            (directory / f"thread-{i:03d}-{j}.md").write_text(
                f"# {thread['question'].strip()}\n\n{answer.strip()}\n", encoding="utf-8"
            )


async def drive(url: str, questions: Sequence[str], *, clients: int, payload: bool = True) -> dict[str, float]:
    """`clients` concurrent clients, each sending its share of `questions` one after another."""
    latencies: list[float] = []
    errors = 0
    queue: asyncio.Queue[str] = asyncio.Queue()
    for q in questions:
        queue.put_nowait(q)

    async def client(n: int, session: aiohttp.ClientSession) -> None:
        nonlocal errors
        while not queue.empty():
            text = queue.get_nowait()
            body = {"contact": f"bench-{n}", "text": text} if payload else {}
            start = time.perf_counter()
            try:
                async with session.post(url, json=body) as response:
                    await response.read()
                    if response.status != 200:
                        errors += 1
            except aiohttp.ClientError:
                errors += 1
            latencies.append(time.perf_counter() - start)

    connector = aiohttp.TCPConnector(limit=clients)
    async with aiohttp.ClientSession(connector=connector) as session:
        start = time.perf_counter()
        await asyncio.gather(*(client(n, session) for n in range(clients)))
        elapsed = time.perf_counter() - start
    return {
        "rate": len(questions) / elapsed,
        "p50_ms": percentile(latencies, 50) * 1000,
        "p95_ms": percentile(latencies, 95) * 1000,
        "errors": float(errors),
    }


async def bare_handler_rate(questions: Sequence[str]) -> dict[str, float]:
    async def handler(request: web.Request) -> web.Response:
        await request.read()
        return web.json_response({"reply": {"text": "ok", "citations": [], "handoff": False}})

    app = web.Application()
    app.router.add_post("/", handler)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        return await drive(f"http://127.0.0.1:{port}/", questions, clients=CONCURRENCY)
    finally:
        await runner.cleanup()


def batch_encode_rate(texts: Sequence[str]) -> float:
    """The floor: the faster of the model's two runtimes batch-encoding `texts` on every core.
    PyTorch encodes in one call, its operators on every core (how `reindex` runs it); ONNX
    Runtime as `serve` runs it, a single-threaded pass per core, the cores in parallel. Which
    wins depends on the texts (short questions: ONNX Runtime; 256-token chunks: PyTorch)."""
    torch, onnx = _runtimes()
    return max(_rate(torch, texts, parallel=1), _rate(onnx, texts, parallel=os.cpu_count() or 1))


def single_encode_ms(texts: Sequence[str]) -> float:
    """One question's raw encode: the faster of the two runtimes (set up as `batch_encode_rate`
    sets them up) encoding `texts` one at a time, the median in milliseconds of wall time."""
    return min(_single_ms(embedder, texts) for embedder in _runtimes())


@cache
def _runtimes() -> tuple[Embedder, Embedder]:
    """The model on PyTorch (as `reindex` runs it) and on ONNX Runtime (as `serve` does), loaded
    once for the floors a benchmark measures."""
    return Embedder.load(KnowledgeSettings()), Embedder.load(KnowledgeSettings(), serving=True)


def _single_ms(embedder: Embedder, texts: Sequence[str]) -> float:
    embedder.encode(list(texts[:8]))  # warm-up
    took = []
    for text in texts:
        start = time.perf_counter()
        embedder.encode([text])
        took.append((time.perf_counter() - start) * 1000)
    return statistics.median(took)


def _rate(embedder: Embedder, texts: Sequence[str], *, parallel: int) -> float:
    embedder.encode(list(texts[:64]))  # warm-up
    share = -(-len(texts) // parallel)
    parts = [list(texts[i : i + share]) for i in range(0, len(texts), share)]
    start = time.perf_counter()
    with ThreadPoolExecutor(parallel) as pool:
        list(pool.map(embedder.encode, parts))
    return len(texts) / (time.perf_counter() - start)


async def wait_ready(url: str, process: subprocess.Popen[bytes], timeout: float = 180.0) -> None:
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"server exited with {process.returncode}")
            try:
                async with session.get(url) as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.5)
    raise RuntimeError("server did not become ready")


def server_environment(root: Path, *, schedule: str = "[]") -> dict[str, str]:
    """A benchmark server's settings on `root` (`root/corpus` cut at 300 characters): the bot
    keeps every conversation and rate limits are off."""
    return {
        **os.environ,
        "SUPPORTHUB_DATA_DIR": str(root / "data"),
        "SUPPORTHUB_KNOWLEDGE__PATHS": json.dumps([str(root / "corpus")]),
        "SUPPORTHUB_KNOWLEDGE__CHUNK_MAX_CHARS": "300",
        "SUPPORTHUB_SCHEDULE": schedule,
        "SUPPORTHUB_LOG__LEVEL": "WARNING",
        # Each client is one long conversation of unrelated questions: keep it with the
        # bot so every message measures an answer (a handover would answer nothing).
        "SUPPORTHUB_HANDOFF__UNANSWERED_IN_ROW": "1000000",
        "SUPPORTHUB_HANDOFF__FRUSTRATED_IN_ROW": "1000000",
        "SUPPORTHUB_HANDOFF__KEYWORDS": "[]",
        # One contact sends hundreds of messages a minute: without this, the per-contact
        # limit would answer most of them 429 in a millisecond and the figures mean nothing.
        "SUPPORTHUB_LIMITS__PER_CONTACT": "",
        "SUPPORTHUB_LIMITS__PER_IP": "",
    }


def run(threads: Sequence[dict[str, Any]]) -> dict[str, float]:
    questions = [q for t in threads for q in t["queries"]]
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        write_corpus(threads, root / "corpus")
        port = free_port()
        env = server_environment(root)
        cli = [sys.executable, "-m", "core.cli.main"]
        subprocess.run([*cli, "reindex"], env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        server = subprocess.Popen([*cli, "serve", "--port", str(port)], env=env, stderr=subprocess.DEVNULL)
        try:
            base = f"http://127.0.0.1:{port}"
            asyncio.run(wait_ready(f"{base}/readyz", server))
            chunks = asyncio.run(_chunks(f"{base}/readyz"))
            url = f"{base}/api/messages"
            asyncio.run(drive(url, questions[:50], clients=1))  # warm-up
            alone = asyncio.run(drive(url, questions[:300], clients=1))
            asyncio.run(drive(url, questions[:300], clients=CONCURRENCY))  # warm-up under load
            rounds = [asyncio.run(drive(url, questions, clients=CONCURRENCY)) for _ in range(ROUNDS)]
            loaded = sorted(rounds, key=lambda r: r["rate"])[ROUNDS // 2]  # the median round
            rss_mb = psutil.Process(server.pid).memory_info().rss / 2**20
        finally:
            server.terminate()
            server.wait(timeout=30)
    encode_rate = batch_encode_rate(questions)
    bare = asyncio.run(bare_handler_rate(questions))
    return {
        "chunks": chunks,
        "alone_p50_ms": alone["p50_ms"],
        "alone_p95_ms": alone["p95_ms"],
        "loaded_rate": loaded["rate"],
        "loaded_p50_ms": loaded["p50_ms"],
        "loaded_p95_ms": loaded["p95_ms"],
        "loaded_errors": loaded["errors"],
        "encode_rate": encode_rate,
        "bare_rate": bare["rate"],
        "rss_mb": rss_mb,
    }


async def _chunks(url: str) -> float:
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        return float((await response.json())["chunks"])


def report(figures: dict[str, float]) -> str:
    ratio = figures["loaded_rate"] / figures["encode_rate"]
    rows = [
        ("index size (chunks)", f"{figures['chunks']:.0f}", ""),
        (
            "one client: p50 / p95",
            f"{figures['alone_p50_ms']:.1f} / {figures['alone_p95_ms']:.1f} ms",
            "target p50 <= 40 ms",
        ),
        (
            f"{CONCURRENCY} clients: answered/s",
            f"{figures['loaded_rate']:.0f}",
            f"median of {ROUNDS} rounds; errors {figures['loaded_errors']:.0f}",
        ),
        (
            f"{CONCURRENCY} clients: p50 / p95",
            f"{figures['loaded_p50_ms']:.0f} / {figures['loaded_p95_ms']:.0f} ms",
            "",
        ),
        ("raw batch encode of the same questions/s", f"{figures['encode_rate']:.0f}", ""),
        ("answered/s ÷ encode/s", f"{ratio:.0%}", "target >= 60 %"),
        (f"bare aiohttp handler, {CONCURRENCY} clients, req/s", f"{figures['bare_rate']:.0f}", ""),
        ("server resident memory", f"{figures['rss_mb']:.0f} MB", "target <= 800 MB"),
    ]
    width = max(len(r[0]) for r in rows)
    return "\n".join(f"{name:<{width}}  {value:>16}  {note}" for name, value, note in rows)
