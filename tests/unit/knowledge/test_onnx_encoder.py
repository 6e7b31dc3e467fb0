"""A serving process's model on ONNX Runtime gives PyTorch's vectors, is exported once, and
otherwise PyTorch runs it; a big indexing run stays on PyTorch, a small one on ONNX Runtime."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pytest
from sentence_transformers import SentenceTransformer

from knowledge.embedding import onnx_encoder
from knowledge.embedding.embedder import SMALL_RUN_TEXTS, Embedder, TorchEncoder, model_location
from knowledge.embedding.onnx_encoder import OnnxEncoder
from knowledge.settings import KnowledgeSettings

TEXTS = [
    "How do I reset my password?",
    "refund",
    # past the model's 256 tokens: truncated the way sentence-transformers truncates
    "Invoices are emailed to the billing contact on the first day of each month, and "
    "every past invoice can be downloaded from Settings, Billing. " * 30,
    "Zwei-Faktor-Authentifizierung lässt sich unter Sicherheit einschalten.",
]


def bundled() -> Path:
    return Path(model_location(KnowledgeSettings()))


def reference(folder: Path) -> np.ndarray:
    model = SentenceTransformer(str(folder), device="cpu")
    return model.encode(TEXTS, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False)


def copy_with_pooling(tmp_path: Path, mode: str) -> Path:
    folder = tmp_path / f"model-{mode}"
    shutil.copytree(bundled(), folder)
    config_file = folder / "1_Pooling" / "config.json"
    config = json.loads(config_file.read_text())
    config.update({key: key == mode for key in config if key.startswith("pooling_mode_")})
    config_file.write_text(json.dumps(config))
    return folder


def test_the_bundled_model_gives_pytorchs_vectors_in_any_batch(tmp_path: Path) -> None:
    embedder = Embedder.load(KnowledgeSettings(), serving=True, cache_dir=tmp_path)
    assert isinstance(embedder.model, OnnxEncoder)
    expected = reference(bundled())
    for batch_size in (1, 3, 64):
        assert np.abs(embedder.encode(TEXTS, batch_size=batch_size) - expected).max() < 1e-5
    assert list(tmp_path.glob("*.onnx"))  # exported once, kept


def test_cls_pooling_is_run_on_onnx_too(tmp_path: Path) -> None:
    folder = copy_with_pooling(tmp_path, "pooling_mode_cls_token")
    embedder = Embedder.load(KnowledgeSettings(model=str(folder)), serving=True, cache_dir=tmp_path / "cache")
    assert isinstance(embedder.model, OnnxEncoder)
    assert np.abs(embedder.encode(TEXTS) - reference(folder)).max() < 1e-5


def test_a_model_of_another_shape_runs_on_pytorch(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    folder = copy_with_pooling(tmp_path, "pooling_mode_max_tokens")
    caplog.set_level("INFO", logger="knowledge.embedding.embedder")
    embedder = Embedder.load(KnowledgeSettings(model=str(folder)), serving=True, cache_dir=tmp_path / "cache")
    assert isinstance(embedder.model, TorchEncoder)
    assert "pools by ['pooling_mode_max_tokens']" in caplog.text
    assert np.abs(embedder.encode(TEXTS) - reference(folder)).max() < 1e-6
    assert not (tmp_path / "cache").exists()


@pytest.mark.slow("two fresh Python processes, the first exporting the model in a third")
def test_a_serving_process_never_imports_torch_even_when_it_exports_the_model(tmp_path: Path) -> None:
    """What makes `serve` start seconds sooner and leaves torch's memory out of it: the first
    one exports the model in a child process, the next finds the export."""
    load = (
        f"from knowledge.embedding.embedder import Embedder; from knowledge.settings import KnowledgeSettings; "
        f"import sys; from pathlib import Path; "
        f"e = Embedder.load(KnowledgeSettings(), serving=True, cache_dir=Path({str(tmp_path)!r})); e.encode(['ready']); "
        f"print(type(e.model).__name__, 'torch' in sys.modules)"
    )
    first = subprocess.run([sys.executable, "-c", load], capture_output=True, text=True, check=True)
    assert first.stdout.split() == ["OnnxEncoder", "False"]
    assert len(list(tmp_path.glob("*.onnx"))) == 1
    again = subprocess.run([sys.executable, "-c", load], capture_output=True, text=True, check=True)
    assert again.stdout.split() == ["OnnxEncoder", "False"]


def test_bulk_indexing_runs_the_model_on_pytorch(tmp_path: Path) -> None:
    """Faster on long chunks (see knowledge.embedding.embedder._load_model); no export is made for it."""
    embedder = Embedder.load(KnowledgeSettings(), cache_dir=tmp_path)
    assert isinstance(embedder.model, TorchEncoder) and not list(tmp_path.iterdir())


def test_an_indexing_run_of_few_texts_loads_onnx_runtime_and_a_big_one_pytorch() -> None:
    """A pushed article's re-index need not import PyTorch (seconds) for a few chunks."""
    small = Embedder.load(KnowledgeSettings(), lazy=True)
    small.expect(SMALL_RUN_TEXTS - 1)
    assert isinstance(small.model, OnnxEncoder)
    big = Embedder.load(KnowledgeSettings(), lazy=True)
    big.expect(SMALL_RUN_TEXTS)
    assert isinstance(big.model, TorchEncoder)
    announced_late = Embedder.load(KnowledgeSettings(), lazy=True)
    assert isinstance(announced_late.model, OnnxEncoder)
    announced_late.expect(SMALL_RUN_TEXTS)  # the model is loaded already: it stays
    assert isinstance(announced_late.model, OnnxEncoder)


def test_a_process_keeps_the_sessions_of_the_two_exports_it_used_last(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each export's session is loaded once and shared, but a process that loads exports from
    many folders (a test suite) does not keep them all."""
    opened: list[Path] = []

    def open_session(shape: object, path: Path) -> object:
        opened.append(path.parent)
        return object()

    monkeypatch.setattr(onnx_encoder, "_LOADED", OrderedDict())
    monkeypatch.setattr(OnnxEncoder, "_open", staticmethod(open_session))
    location = str(bundled())
    first, second, third = (tmp_path / name for name in ("first", "second", "third"))
    kept = OnnxEncoder.load(location, cache_dir=first)
    assert OnnxEncoder.load(location, cache_dir=first) is kept and opened == [first]
    OnnxEncoder.load(location, cache_dir=second)
    OnnxEncoder.load(location, cache_dir=first)  # used again: now the more recent of the two
    OnnxEncoder.load(location, cache_dir=third)
    assert opened == [first, second, third]
    assert OnnxEncoder.load(location, cache_dir=first) is kept  # still kept
    OnnxEncoder.load(location, cache_dir=second)  # let go when the third came: opened again
    assert opened == [first, second, third, second]
    assert len(onnx_encoder._LOADED) == onnx_encoder.LOADED_MAX


def test_indexing_in_one_process_loads_pytorchs_model_once(embedder: Embedder) -> None:
    """Every knowledge base a process opens to index (each command, each test) shares it."""
    again = Embedder.load(KnowledgeSettings())
    assert again.model is embedder.model


def test_texts_of_unlike_length_are_not_padded_to_each_other() -> None:
    """A micro-batch of short questions and one long message: the questions run together, the
    long one alone, instead of every question padded to its length."""
    groups = onnx_encoder.padded_groups([9, 45, 8, 10, 9, 11], max_size=64)
    assert sorted(map(sorted, groups)) == [[0, 2, 3, 4, 5], [1]]


def test_texts_of_one_length_share_passes_of_at_most_the_batch_size() -> None:
    groups = onnx_encoder.padded_groups([20] * 100, max_size=32)
    assert sorted(i for group in groups for i in group) == list(range(100))
    assert max(map(len, groups)) <= 32 and len(groups) == 4
    with pytest.raises(ValueError, match="at least one text"):
        onnx_encoder.padded_groups([20], max_size=0)


def test_grouped_texts_keep_their_order_and_vectors() -> None:
    embedder = Embedder.load(KnowledgeSettings(), serving=True)  # the user's cache, as `serve` loads it
    texts = [*TEXTS, "ok", "Where can I download last month's invoice as a PDF for our accountant?"]
    one_by_one = np.vstack([embedder.encode([text], batch_size=1) for text in texts])
    assert np.abs(embedder.encode(texts, batch_size=64) - one_by_one).max() < 1e-5


def test_a_model_the_export_process_cannot_run_is_reported_as_unsupported(tmp_path: Path) -> None:
    folder = copy_with_pooling(tmp_path, "pooling_mode_max_tokens")
    shape = onnx_encoder.ModelShape(folder, max_seq_length=256, pooling="mean", lowercase=True, pad_token="[PAD]")
    with pytest.raises(onnx_encoder.UnsupportedModel, match="pooling_mode_max_tokens"):
        onnx_encoder._export_in_child(shape, tmp_path / "model.onnx")
    assert not list(tmp_path.glob("*.onnx*"))


@pytest.mark.slow("a child process importing PyTorch")
def test_a_failed_export_says_why_and_leaves_no_file(tmp_path: Path) -> None:
    folder = copy_with_pooling(tmp_path, "pooling_mode_mean_tokens")
    for weights in folder.glob("*.safetensors"):
        weights.unlink()
    with pytest.raises(RuntimeError, match=r"the export process failed \(exit status 1\)") as failed:
        onnx_encoder._export_in_child(onnx_encoder.shape_of(str(folder)), tmp_path / "model.onnx")
    assert "Error" in str(failed.value)  # the child's own error, not only its exit status
    assert not list(tmp_path.glob("*.onnx*"))
