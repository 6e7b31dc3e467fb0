"""A sentence-transformers model run by ONNX Runtime instead of PyTorch.

The vectors are the same (within 2.5e-7 on 188 README paragraphs for the bundled model), but a
lone query takes half the time (measured on one thread: 9-12 ms against 22 ms p50), and the
whole forward pass runs in ONNX Runtime's C++ with the GIL released: PyTorch interleaves
every layer with Python glue that competes with the event loop for the GIL. A process that
loads the model this way never imports torch. Serving processes run it this way; bulk
indexing stays on PyTorch, faster on long chunks (`knowledge.embedding.embedder._load_model`).

Only models of the usual shape are run here — a local sentence-transformers folder with a
Hugging Face transformer, mean or CLS pooling, and optionally a Normalize module; anything
else stays on PyTorch (`knowledge.embedding.embedder`). The transformer is exported once with
`torch.onnx` into a cache folder, checked against PyTorch's own vectors before it is used, and
found again by a key over the model's files.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import subprocess
import sys
import threading
import warnings
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import onnxruntime
    from tokenizers import Tokenizer

log = logging.getLogger(__name__)

EXIT_UNSUPPORTED = 3
"""The export process's exit status for a model it cannot run (its stdout says why)."""
EXPORT_VERSION = 1
"""Part of the cache key: bump it when the exported graph or its inputs change."""
TRANSFORMER = "sentence_transformers.models.Transformer"
POOLING = "sentence_transformers.models.Pooling"
NORMALIZE = "sentence_transformers.models.Normalize"
POOLING_MODES = {"pooling_mode_mean_tokens": "mean", "pooling_mode_cls_token": "cls"}
EXPORT_TOLERANCE = 1e-4
"""Largest difference from PyTorch's vector, in any component, an export may show on the
probe texts; the bundled model's is below 2e-7."""
CALL_COST_TOKENS = 13
"""What one forward pass costs beyond its tokens, counted in padded tokens: ONNX Runtime runs
the graph's few hundred operators one after another, ~3 ms a pass on one thread of this 2-core
machine, against ~0.23 ms a token for short texts (`padded_groups`)."""
ATTENTION_TOKENS = 256
"""The length at which a token costs twice a short text's token (attention grows with the
square of a batch's length): measured 0.24 ms a token at 16 tokens, 0.34 at 128, 0.45 at 250."""
PROBE_TEXTS = (
    "How do I reset my password?",
    "Invoices are sent on the first day of each month. " * 40,  # longer than max_seq_length
)


class UnsupportedModel(Exception):
    """The model is not of a shape this module runs; the message says why."""


@dataclass(frozen=True, slots=True)
class ModelShape:
    """What a sentence-transformers folder says about running it."""

    folder: Path
    max_seq_length: int
    pooling: str
    """"mean" or "cls"."""
    lowercase: bool
    pad_token: str


def shape_of(location: str) -> ModelShape:
    """The model at `location`, if this module can run it; else UnsupportedModel."""
    folder = Path(location)
    modules_file = folder / "modules.json"
    if not modules_file.is_file():
        raise UnsupportedModel(f"{location} is not a local sentence-transformers folder")
    modules = json.loads(modules_file.read_text(encoding="utf-8"))
    types = [module["type"] for module in modules]
    if types[:2] != [TRANSFORMER, POOLING] or any(t != NORMALIZE for t in types[2:]):
        raise UnsupportedModel(f"{location} has modules {types}")
    if not (folder / "tokenizer.json").is_file():
        raise UnsupportedModel(f"{location} has no tokenizer.json (a fast tokenizer)")
    pooling = json.loads((folder / modules[1]["path"] / "config.json").read_text(encoding="utf-8"))
    modes = [POOLING_MODES.get(key, key) for key, on in pooling.items() if key.startswith("pooling_mode_") and on]
    if len(modes) != 1 or modes[0] not in POOLING_MODES.values():
        raise UnsupportedModel(f"{location} pools by {modes}")
    config = _json_or_empty(folder / "sentence_bert_config.json")
    tokenizer_config = _json_or_empty(folder / "tokenizer_config.json")
    pad_token = tokenizer_config.get("pad_token")
    if isinstance(pad_token, dict):
        pad_token = pad_token.get("content")
    if not isinstance(config.get("max_seq_length"), int) or not isinstance(pad_token, str):
        raise UnsupportedModel(f"{location} does not state its max_seq_length and pad token")
    return ModelShape(
        folder=folder,
        max_seq_length=config["max_seq_length"],
        pooling=modes[0],
        lowercase=bool(config.get("do_lower_case")),
        pad_token=pad_token,
    )


def _json_or_empty(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def cache_key(shape: ModelShape) -> str:
    """Changes when any file of the model folder's top level changes (weights, configs,
    tokenizer), or the export does."""
    digest = hashlib.sha256(f"{EXPORT_VERSION}\n{shape.folder.resolve()}\n".encode())
    for path in sorted(shape.folder.iterdir()):
        if path.is_file():
            stat = path.stat()
            digest.update(f"{path.name}\t{stat.st_size}\t{stat.st_mtime_ns}\n".encode())
    return f"{shape.folder.name}-{digest.hexdigest()[:16]}"


_LOADED: OrderedDict[Path, OnnxEncoder] = OrderedDict()
"""A process loads each export once, for every knowledge base it opens (a test suite opens
hundreds): a session holds its weights in memory of its own, where PyTorch maps the weights
file (a session per test app grew the suite by ~130 MB a test, past 24 GB), and ONNX Runtime's
sessions are safe to share between threads. The most recently used `LOADED_MAX` are kept: a
process serves one model; tests that export into folders of their own would keep one each."""
LOADED_MAX = 2
_LOADED_LOCK = threading.Lock()


class OnnxEncoder:
    """Tokenizer (Hugging Face `tokenizers`, Rust) → transformer (ONNX Runtime) → pooling and
    normalisation (numpy). Safe to call from several threads at once."""

    runtime = "ONNX Runtime"

    def __init__(
        self, shape: ModelShape, session: onnxruntime.InferenceSession, tokenizer: Tokenizer, pad_id: int
    ) -> None:
        self._shape = shape
        self._pad_id = pad_id
        self._session = session
        self._inputs = [i.name for i in session.get_inputs()]
        self._tokenizer = tokenizer
        self.dim = int(session.get_outputs()[0].shape[-1])

    @classmethod
    def load(cls, location: str, *, cache_dir: Path) -> OnnxEncoder:
        """The model at `location`, exported into `cache_dir` the first time (seconds, with
        PyTorch: in a child process when this one has not imported it), then loaded from there; each forward pass on one thread. Raises
        UnsupportedModel for a model of another shape, or one whose export does not reproduce
        PyTorch's vectors."""
        shape = shape_of(location)
        path = cache_dir / f"{cache_key(shape)}.onnx"
        with _LOADED_LOCK:
            if (loaded := _LOADED.get(path)) is None:
                _LOADED[path] = loaded = cls._open(shape, path)
                while len(_LOADED) > LOADED_MAX:
                    _LOADED.popitem(last=False)
            _LOADED.move_to_end(path)
            return loaded

    @classmethod
    def _open(cls, shape: ModelShape, path: Path) -> OnnxEncoder:
        import onnxruntime

        tokenizer, pad_id = _tokenizer(shape)
        if not path.is_file():
            if "torch" in sys.modules:  # loaded already (an indexing run): exporting here costs nothing more
                _export(shape, path, tokenizer, pad_id, _session_options())
            else:
                _export_in_child(shape, path)
        session = onnxruntime.InferenceSession(str(path), _session_options(), providers=["CPUExecutionProvider"])
        log.info("embedding model running on ONNX Runtime from %s", path)
        return cls(shape, session, tokenizer, pad_id)

    def encode(self, texts: list[str], *, batch_size: int) -> np.ndarray:
        """Unit vectors (len(texts), dim), float32. The texts are tokenized first, then run in
        groups of like length (`padded_groups`), each padded only to its own longest."""
        if self._shape.lowercase:
            texts = [text.lower() for text in texts]
        tokens = [(e.ids, e.type_ids) for e in self._tokenizer.encode_batch(texts)]
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        for group in padded_groups([len(ids) for ids, _ in tokens], batch_size):
            out[group] = self._forward([tokens[i] for i in group])
        return out

    def _forward(self, tokens: list[tuple[list[int], list[int]]]) -> np.ndarray:
        feeds = _padded(tokens, self._pad_id)
        mask = feeds["attention_mask"]
        hidden = self._session.run(None, {name: feeds[name] for name in self._inputs})[0]
        if self._shape.pooling == "cls":
            pooled = hidden[:, 0]
        else:
            weights = mask[:, :, None].astype(np.float32)
            pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        vectors: np.ndarray = (pooled / np.clip(norms, 1e-12, None)).astype(np.float32)
        return vectors


def _tokenizer(shape: ModelShape) -> tuple[Tokenizer, int]:
    """The model's tokenizer, truncating as sentence-transformers does and padding nothing
    (`_padded` pads each forward pass), and its pad token's id."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(shape.folder / "tokenizer.json"))
    pad_id = tokenizer.token_to_id(shape.pad_token)
    if pad_id is None:
        raise UnsupportedModel(f"{shape.folder}'s pad token {shape.pad_token!r} is not in its vocabulary")
    tokenizer.enable_truncation(max_length=shape.max_seq_length)
    tokenizer.no_padding()  # a tokenizer.json may pad every text to a fixed length
    return tokenizer, pad_id


def _session_options() -> onnxruntime.SessionOptions:
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    # without its arena a batch's tensors go back to the system when it ends: with it, one
    # re-index batch of 64 long chunks kept 1.6 GB in a serving process for good
    options.enable_cpu_mem_arena = False
    options.log_severity_level = 3  # its warnings about unused initialisers are not ours to act on
    return options


def _export_in_child(shape: ModelShape, path: Path) -> None:
    """`_export` in a process of its own (this module run as a program), so that a process
    without PyTorch never imports it: the first `serve` of a new install otherwise kept PyTorch
    and the export's memory for as long as it ran: 1,178 MB against 637 MB on the sample."""
    log.info("exporting the embedding model to ONNX (once, in a child process): %s", path)
    done = subprocess.run(
        [sys.executable, "-m", __name__, str(shape.folder), str(path)],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, sys.path))},
        check=False,
    )
    if done.returncode == EXIT_UNSUPPORTED:
        raise UnsupportedModel(done.stdout.strip())
    if done.returncode != 0:
        said = "\n".join(done.stderr.strip().splitlines()[-20:])
        raise RuntimeError(f"the export process failed (exit status {done.returncode}): {said}")


def _padded(tokens: list[tuple[list[int], list[int]]], pad_id: int) -> dict[str, np.ndarray]:
    """The model's three inputs for (ids, type ids) of several texts, padded to the longest."""
    length = max(1, *(len(ids) for ids, _ in tokens))  # a text of no tokens is one of padding
    feeds = {
        "input_ids": np.full((len(tokens), length), pad_id, dtype=np.int64),
        "attention_mask": np.zeros((len(tokens), length), dtype=np.int64),
        "token_type_ids": np.zeros((len(tokens), length), dtype=np.int64),
    }
    for row, (ids, type_ids) in enumerate(tokens):
        feeds["input_ids"][row, : len(ids)] = ids
        feeds["attention_mask"][row, : len(ids)] = 1
        feeds["token_type_ids"][row, : len(type_ids)] = type_ids
    return feeds


def padded_groups(lengths: list[int], max_size: int) -> list[list[int]]:
    """The indices of texts of these token `lengths`, in groups of at most `max_size` run as one
    forward pass each: the grouping of the texts sorted by length whose cost, `CALL_COST_TOKENS`
    a pass plus its padded tokens (each dearer as the pass grows long, `ATTENTION_TOKENS`), is
    least. One pass for all would pad a 6-token question to a 45-token one's length; one pass
    each would pay a pass's cost per text. Measured on the micro-batches 50 clients made in
    `serve` (1,438 questions in 144 batches): 6.4 ms of CPU a question in one pass per batch,
    5.1 ms grouped so, 6.1 ms with no pass shared by texts of unlike length."""
    if max_size < 1:
        raise ValueError(f"a forward pass takes at least one text, not {max_size}")
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    least = [0.0] + [float("inf")] * len(order)
    start = [0] * (len(order) + 1)
    for end in range(1, len(order) + 1):
        longest = lengths[order[end - 1]]
        per_text = longest * (1 + longest / ATTENTION_TOKENS)
        for first in range(max(0, end - max_size), end):
            cost = least[first] + CALL_COST_TOKENS + (end - first) * per_text
            if cost < least[end]:
                least[end], start[end] = cost, first
    groups = []
    end = len(order)
    while end > 0:
        groups.append(order[start[end] : end])
        end = start[end]
    return groups[::-1]


def quiet_transformers() -> None:
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()  # type: ignore[no-untyped-call]  # else a "Loading weights" bar in every server log


def _export(
    shape: ModelShape, path: Path, tokenizer: Tokenizer, pad_id: int, options: onnxruntime.SessionOptions
) -> None:
    """Export the transformer to `path` (atomically), after checking that ONNX Runtime then
    gives PyTorch's sentence-transformers vectors for PROBE_TEXTS."""
    import inspect

    import onnxruntime
    import torch
    from sentence_transformers import SentenceTransformer
    from transformers import AutoModel

    quiet_transformers()
    model = AutoModel.from_pretrained(str(shape.folder)).eval()
    names = ["input_ids", "attention_mask"]
    if "token_type_ids" in inspect.signature(model.forward).parameters:
        names.append("token_type_ids")

    class LastHiddenState(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
            hidden: torch.Tensor = self.model(**dict(zip(names, inputs, strict=True))).last_hidden_state
            return hidden

    feeds = _padded(
        [(e.ids, e.type_ids) for e in tokenizer.encode_batch(["a sample", "a longer sample sentence"])], pad_id
    )
    sample = tuple(torch.from_numpy(feeds[name]) for name in names)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f"{path.name}.{os.getpid()}.partial")
    log.info("exporting the embedding model to ONNX (once): %s", path)
    try:
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the tracer's notes on Python conditionals
            torch.onnx.export(
                LastHiddenState(),
                sample,
                str(partial),
                input_names=names,
                output_names=["last_hidden_state"],
                opset_version=17,
                dynamo=False,
                dynamic_axes={name: {0: "batch", 1: "tokens"} for name in [*names, "last_hidden_state"]},
            )
        session = onnxruntime.InferenceSession(str(partial), options, providers=["CPUExecutionProvider"])
        exported = OnnxEncoder(shape, session, tokenizer, pad_id).encode(list(PROBE_TEXTS), batch_size=len(PROBE_TEXTS))
        reference = SentenceTransformer(str(shape.folder), device="cpu").encode(
            list(PROBE_TEXTS), normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
        )
        difference = float(np.abs(exported - reference).max())
        if difference > EXPORT_TOLERANCE:
            raise UnsupportedModel(f"its ONNX export differs from PyTorch by {difference:.2g}")
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)


def _main(folder: str, path: str) -> int:
    """`python -m knowledge.embedding.onnx_encoder FOLDER PATH`: export the model in FOLDER to
    PATH (`_export_in_child`)."""
    logging.basicConfig(level=logging.WARNING)
    try:
        shape = shape_of(folder)
        tokenizer, pad_id = _tokenizer(shape)
        _export(shape, Path(path), tokenizer, pad_id, _session_options())
    except UnsupportedModel as exc:
        print(exc)  # the reason, on stdout: stderr may hold the libraries' warnings
        return EXIT_UNSUPPORTED
    return 0


if __name__ == "__main__":
    sys.exit(_main(*sys.argv[1:]))
