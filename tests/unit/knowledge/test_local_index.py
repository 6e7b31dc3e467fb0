"""The local index is swapped as one immutable snapshot: a reader holding one never sees
records, vectors and headings of two different versions."""

from __future__ import annotations

import dataclasses
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from knowledge.search.index import ChunkRecord, IndexSnapshot, LocalIndex

DIM = 4
MAX_REBUILDS = 5000


def version(tag: str, count: int) -> tuple[list[ChunkRecord], np.ndarray, np.ndarray]:
    """`count` chunks whose text, vectors and heading vectors all name version `tag`: vectors
    of version "a" point along the first axis, those of "b" along the second."""
    records = [
        ChunkRecord(f"{tag}-{i}", f"{tag}.md", "Title", f"Section {i}", f"version {tag} chunk {i}")
        for i in range(count)
    ]
    axis = np.zeros(DIM, dtype=np.float32)
    axis["ab".index(tag)] = 1.0
    return records, np.tile(axis, (count, 1)), np.tile(axis, (count, 1))


def assert_one_version(snapshot: IndexSnapshot) -> str:
    """Every part of `snapshot` belongs to the same version; returns its tag."""
    tags = {record.chunk_id.split("-")[0] for record in snapshot.records}
    assert len(tags) == 1, tags
    [tag] = tags
    assert snapshot.vectors is not None and snapshot.headings is not None
    assert len(snapshot.vectors) == len(snapshot.headings) == len(snapshot.records) == {"a": 3, "b": 5}[tag]
    axis = "ab".index(tag)
    assert np.all(snapshot.vectors[:, axis] == 1.0) and np.all(snapshot.headings[:, axis] == 1.0)
    for record, score in snapshot.search_dense(np.eye(DIM, dtype=np.float32)[axis], 10):
        assert record.chunk_id.startswith(tag) and score == 1.0
    ids = [f"{other}-{i}" for other in "ab" for i in range(5)]
    assert {cid.split("-")[0] for cid in snapshot.vectors_for(ids)} == {tag}
    assert all(vector[axis] == 1.0 for vector in snapshot.vectors_for(ids).values())
    own = {record.chunk_id for record in snapshot.records}
    assert {cid for cid in ids if snapshot.heading_vector(cid) is not None} == own
    assert all(record.chunk_id.startswith(tag) for record, _ in snapshot.search("version chunk", 10))
    return tag


def test_a_snapshot_taken_before_a_rebuild_stays_whole_and_unchanged(tmp_path: Path) -> None:
    index = LocalIndex(tmp_path / "bm25")
    index.rebuild(*version("a", 3))
    before = index.snapshot
    index.rebuild(*version("b", 5))
    assert assert_one_version(before) == "a"
    assert assert_one_version(index.snapshot) == "b"
    assert before.vectors is not None and not before.vectors.flags.writeable
    with pytest.raises(dataclasses.FrozenInstanceError):
        before.records = ()  # type: ignore[misc]  # asserting that the frozen dataclass refuses


@pytest.fixture
def fine_grained_switching() -> Iterator[None]:
    """Let threads switch far more often than every 5 ms, so readers meet the writer mid-swap."""
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(interval)


@pytest.mark.usefixtures("fine_grained_switching")
def test_concurrent_readers_never_see_two_versions_at_once(tmp_path: Path) -> None:
    """One thread rebuilds, alternating two versions, until both readers have met both; one
    reader uses the writer's index, another a second `LocalIndex` on the same directory that
    refreshes (another process). Before snapshots, such a reader failed within 60 rebuilds:
    `vectors_for` indexed the old vectors with the new version's rows (IndexError); and a
    version deleted while the other process loaded it left that process without headings."""
    writer, other_process = LocalIndex(tmp_path / "bm25"), LocalIndex(tmp_path / "bm25")
    writer.rebuild(*version("a", 3))
    done = threading.Event()
    seen: dict[str, set[str]] = {"writer": set(), "other process": set()}
    failures: list[BaseException] = []

    def read(name: str, index: LocalIndex, refresh: bool) -> None:
        try:
            while not done.is_set():
                if refresh:
                    index.refresh()
                if index.snapshot.records:
                    seen[name].add(assert_one_version(index.snapshot))
        except BaseException as exc:  # noqa: BLE001 — handed to the test's thread
            failures.append(exc)

    readers = [
        threading.Thread(target=read, args=("writer", writer, False)),
        threading.Thread(target=read, args=("other process", other_process, True)),
    ]
    for reader in readers:
        reader.start()
    try:
        for i in range(MAX_REBUILDS):
            writer.rebuild(*version("ab"[i % 2], 3 + 2 * (i % 2)))
            if failures or (i >= 60 and all(tags == {"a", "b"} for tags in seen.values())):
                break
    finally:
        done.set()
        for reader in readers:
            reader.join()
    assert not failures, failures[0]
    assert seen == {"writer": {"a", "b"}, "other process": {"a", "b"}}


def test_another_process_loads_a_version_with_the_word_counts_it_was_built_with(tmp_path: Path) -> None:
    """Rare words weigh more in a query; the counts a version stores are the ones a reader gets,
    and a version published before they were stored has them counted when it loads."""
    writer, reader = LocalIndex(tmp_path / "bm25"), LocalIndex(tmp_path / "bm25")
    records, vectors, headings = version("a", 3)
    records[0] = dataclasses.replace(records[0], text="Refunds take 30 days")
    writer.rebuild(records, vectors, headings)
    assert reader.refresh()
    counts = dict(reader.snapshot.document_frequency)
    assert counts == dict(writer.snapshot.document_frequency)
    assert (counts["refunds"], counts["version"], counts["title"]) == (1, 2, 3)
    writer.rebuild(records, vectors, headings)
    [stored] = (tmp_path / "bm25").glob("v-*/document_frequency.json")
    stored.write_text('{"refunds": 7}')  # what the reader gets is what the version stored
    assert reader.refresh()
    assert dict(reader.snapshot.document_frequency) == {"refunds": 7}
    writer.rebuild(records, vectors, headings)
    [stored] = (tmp_path / "bm25").glob("v-*/document_frequency.json")
    stored.unlink()
    assert reader.refresh()
    assert dict(reader.snapshot.document_frequency) == counts
