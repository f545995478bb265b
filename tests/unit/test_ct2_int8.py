"""The int8 copy of a CTranslate2 model: what it writes, when it is remade, and bad files.

The real check is the slow test at the end: the packaged Whisper base, loaded from its int8 copy,
gives exactly what CTranslate2 gives when it quantizes the float16 file itself while loading,
at ~120 MB peak instead of ~300 MB (README, "A lean box").
"""

from __future__ import annotations

import logging
import shutil
import struct
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from daemon.models.ct2_int8 import (
    INT8_ID,
    STAMP,
    NotACt2Model,
    int8_folder,
    quantize_model_file,
    quantize_rows,
    read_header,
)
from daemon.models.whisper import loadable_folder, model_dir

F16, F32 = 4, 0


def _string(text: str) -> bytes:
    data = text.encode() + b"\0"
    return struct.pack("H", len(data)) + data


def _variable(name: str, value: np.ndarray, dtype_id: int) -> bytes:
    head = (
        _string(name) + struct.pack("B", value.ndim) + struct.pack("I" * value.ndim, *value.shape)
    )
    return head + struct.pack("B", dtype_id) + struct.pack("I", value.nbytes) + value.tobytes()


def tiny_model(folder: Path, seed: int = 0) -> dict[str, np.ndarray]:
    """A model.bin in CTranslate2's binary format (version 6): a linear weight, a convolution
    weight, a bias, a scalar flag, and an alias; with config and vocabulary files beside it."""
    rng = np.random.default_rng(seed)
    values = {
        "decoder/embeddings/weight": rng.standard_normal((5, 4)).astype(np.float16),
        "encoder/conv1/weight": rng.standard_normal((3, 2, 3)).astype(np.float16),
        "encoder/layer_0/linear_0/bias": rng.standard_normal(4).astype(np.float16),
        "decoder/scale_embeddings": np.array(1, dtype=np.int8),
    }
    types = {name: (INT8_ID if v.dtype == np.int8 else F16) for name, v in values.items()}
    body = struct.pack("I", 6) + _string("WhisperSpec") + struct.pack("I", 3)
    body += struct.pack("I", len(values))
    body += b"".join(_variable(name, v, types[name]) for name, v in values.items())
    body += struct.pack("I", 1) + _string("decoder/projection/weight")
    body += _string("decoder/embeddings/weight")
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "model.bin").write_bytes(body)
    (folder / "config.json").write_text("{}")
    (folder / "vocabulary.txt").write_text("a\nb\n")
    (folder / "voiced-manifest.json").write_text("{}")
    return values


def test_linear_weights_become_int8_with_scales_and_the_rest_is_kept(tmp_path: Path) -> None:
    values = tiny_model(tmp_path / "m")
    out = tmp_path / "out.bin"
    quantize_model_file(tmp_path / "m" / "model.bin", out)
    header = read_header(out)
    kinds = {v.name: (v.dtype_id, v.shape) for v in header.variables}
    assert kinds["decoder/embeddings/weight"] == (INT8_ID, (5, 4))
    assert kinds["decoder/embeddings/weight_scale"] == (F32, (5,))
    assert kinds["encoder/conv1/weight"] == (F16, (3, 2, 3))  # CTranslate2 keeps convs as floats
    assert kinds["encoder/layer_0/linear_0/bias"] == (F16, (4,))
    assert kinds["decoder/scale_embeddings"] == (INT8_ID, ())
    assert header.aliases == [("decoder/projection/weight", "decoder/embeddings/weight")]
    embedding = next(v for v in header.variables if v.name == "decoder/embeddings/weight")
    scale = next(v for v in header.variables if v.name.endswith("embeddings/weight_scale"))
    data = out.read_bytes()
    q = np.frombuffer(data[embedding.offset : embedding.offset + 20], np.int8).reshape(5, 4)
    s = np.frombuffer(data[scale.offset : scale.offset + 20], np.float32)
    original = values["decoder/embeddings/weight"].astype(np.float32)
    assert np.allclose(q / s[:, None], original, atol=float(np.max(0.5 / s)) + 1e-6)


@settings(max_examples=200, deadline=None)
@given(
    arrays(
        np.float32,
        st.tuples(st.integers(1, 6), st.integers(1, 9)),
        # real weights; a tiny magnitude only hits the scale's float32 ceiling (like the converter)
        elements=st.floats(-1e4, 1e4, width=32).filter(lambda x: x == 0 or abs(x) > 1e-20),
    )
)
def test_quantized_rows_are_within_half_a_step_and_use_the_full_range(rows: np.ndarray) -> None:
    q, scale = quantize_rows(rows)
    assert q.dtype == np.int8 and scale.dtype == np.float32 and scale.shape == (rows.shape[0],)
    assert np.all(np.abs(q) <= 127)
    assert np.all(np.abs(q / scale[:, None] - rows) <= 0.5 / scale[:, None] + 1e-3)
    nonzero = np.abs(rows).max(axis=1) > 0
    assert np.all(np.abs(q[nonzero]).max(axis=1) == 127)
    assert np.all(scale[~nonzero] == 1.0)  # a row of zeros: scale 1, as CTranslate2 does


def test_the_copy_is_made_once_and_links_the_other_files(tmp_path: Path) -> None:
    tiny_model(tmp_path / "m")
    target = int8_folder(tmp_path / "m")
    assert target == tmp_path / "m" / "int8"
    assert (target / "config.json").resolve() == (tmp_path / "m" / "config.json").resolve()
    assert not (target / "voiced-manifest.json").exists()  # voiced's own files are not shared
    written = (target / "model.bin").stat().st_mtime_ns
    assert int8_folder(tmp_path / "m") == target
    assert (target / "model.bin").stat().st_mtime_ns == written


def test_a_changed_original_or_a_damaged_copy_is_made_again(tmp_path: Path) -> None:
    tiny_model(tmp_path / "m")
    target = int8_folder(tmp_path / "m")
    first = (target / "model.bin").read_bytes()
    tiny_model(tmp_path / "m", seed=1)  # a re-fetch wrote another model.bin
    assert (int8_folder(tmp_path / "m") / "model.bin").read_bytes() != first
    again = (target / "model.bin").read_bytes()
    (target / "model.bin").write_bytes(again[:-7])  # cut short
    assert (int8_folder(tmp_path / "m") / "model.bin").read_bytes() == again
    (target / STAMP).write_text("not json")
    assert (int8_folder(tmp_path / "m") / "model.bin").read_bytes() == again


@pytest.mark.parametrize(
    "content", [b"", b"\x06\x00\x00\x00", b"not a model at all", struct.pack("I", 2) + b"x" * 40]
)
def test_a_file_that_is_not_a_model_is_refused(tmp_path: Path, content: bytes) -> None:
    (tmp_path / "model.bin").write_bytes(content)
    with pytest.raises(NotACt2Model):
        int8_folder(tmp_path)
    assert not (tmp_path / "int8").exists()  # nothing written


def test_without_a_copy_the_float_model_loads_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "model.bin").write_bytes(b"garbage")
    with caplog.at_level(logging.WARNING, logger="daemon.models.whisper"):
        assert loadable_folder(tmp_path, "int8") == tmp_path
    assert "no int8 copy" in caplog.text
    assert loadable_folder(tmp_path, "float32") == tmp_path  # other compute types: the original


def test_a_models_folder_it_cannot_write_falls_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A read-only or full models folder: the float16 model loads (higher peak), never a failed
    start. (Root writes anywhere, so the refusal is the OSError a write raises.)"""
    tiny_model(tmp_path / "m")

    def refuse(source: Path, target: Path) -> None:
        raise OSError(30, "Read-only file system", str(target))

    monkeypatch.setattr("daemon.models.ct2_int8.quantize_model_file", refuse)
    assert loadable_folder(tmp_path / "m", "int8") == tmp_path / "m"


@pytest.mark.slow
def test_whisper_base_from_its_int8_copy_is_bit_identical(models_dir: Path, tmp_path: Path) -> None:
    ctranslate2 = pytest.importorskip("ctranslate2")
    source = tmp_path / "base"
    shutil.copytree(model_dir(models_dir, "base"), source, ignore=shutil.ignore_patterns("int8"))
    features = np.random.default_rng(0).standard_normal((1, 80, 3000)).astype(np.float32) * 0.5
    prompt = [[50258, 50260, 50359, 50363]]
    results = []
    for folder in (source, int8_folder(source)):
        model = ctranslate2.models.Whisper(str(folder), compute_type="int8", intra_threads=1)
        view = ctranslate2.StorageView.from_array(features)
        encoded = np.array(model.encode(view, to_cpu=True))
        out = model.generate(view, prompt, max_length=20, return_scores=True)[0]
        results.append((encoded, out.sequences_ids, out.scores))
    (enc_a, ids_a, score_a), (enc_b, ids_b, score_b) = results
    assert np.array_equal(enc_a, enc_b)
    assert ids_a == ids_b and score_a == score_b
