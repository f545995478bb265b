"""ONNX copies of openWakeWord's pretrained tflite classifiers (daemon/models/oww_onnx.py).

The copy is what a box listens with (no LiteRT in the process), so it must score exactly as the
original: checked here on real espeak speech for every pretrained model, including the windows
where hey_jarvis's second network decides. A damaged or stale copy is never used.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import numpy as np
import pytest

from daemon.models.oww_onnx import (
    DenseNetwork,
    NotConvertible,
    check_windows,
    onnx_copy,
    read_classifier,
    usable_copy,
    write_onnx_copy,
)
from daemon.wake.features import FeatureModels, load_model
from daemon.wake.openwakeword import PRETRAINED, make_pretrained_copies, resolve_model
from tests.fixtures.audio import AudioBuilder, read

pytestmark = pytest.mark.slow  # real feature models

PHRASES = {
    "hey_jarvis": "hey jarvis",
    "alexa": "alexa",
    "hey_mycroft": "hey mycroft",
    "ok_nabu": "okay nabu",
    "hey_rhasspy": "hey rhasspy",
}


@pytest.fixture
def folder(tmp_path: Path, models_dir: Path) -> Path:
    """A models dir holding copies of the fetched tflite files only (no ONNX copies yet)."""
    target = tmp_path / "openwakeword"
    target.mkdir()
    for path in (models_dir / "openwakeword").glob("*.tflite"):
        shutil.copy(path, target / path.name)
    return tmp_path


def features(folder: Path) -> FeatureModels:
    oww = folder / "openwakeword"
    return FeatureModels(oww / "melspectrogram.tflite", oww / "embedding_model.tflite")


def windows(embeddings: np.ndarray, frames: int = 16) -> np.ndarray:
    return np.stack([embeddings[s : s + frames] for s in range(len(embeddings) - frames + 1)])


def test_every_pretrained_copy_scores_as_litert_on_its_own_phrase(
    folder: Path, audio: AudioBuilder
) -> None:
    made = make_pretrained_copies(folder)
    assert sorted(p.name for p in made) == sorted(f"{n}.onnx" for n in PRETRAINED.values())
    extractor = features(folder)
    for spec, phrase in PHRASES.items():
        tflite = folder / "openwakeword" / f"{PRETRAINED[spec]}.tflite"
        speech = audio.speech(phrase, "en-us")
        clip = read(audio.concat(audio.silence(1.5), speech, audio.silence(1.0)))
        batch = windows(extractor.clip(clip).astype(np.float32))
        ours, theirs = load_model(onnx_copy(tflite)), load_model(tflite)
        mine = np.array([ours(w[None]).item() for w in batch])
        reference = np.array([theirs(w[None]).item() for w in batch])
        np.testing.assert_allclose(mine, reference, atol=1e-4, err_msg=spec)
        if spec == "hey_jarvis":
            assert reference.max() > 0.9  # the phrase is there: the second network decided


def test_hey_jarvis_has_a_second_network_behind_its_threshold(folder: Path) -> None:
    classifier = read_classifier(folder / "openwakeword" / "hey_jarvis_v0.1.tflite")
    assert classifier.second is not None
    threshold, network = classifier.second
    assert threshold == pytest.approx(0.5)
    assert [layer.weight.shape for layer in network.layers] == [(64, 1536), (64, 64), (1, 64)]
    # The windows the copy is checked on before it is written reach that network too.
    first = [forward(classifier.first, w.reshape(-1)) for w in check_windows(16, np.zeros((0, 96)))]
    assert 0.2 < np.mean(np.array(first) >= threshold) < 0.8


def forward(network: DenseNetwork, x: np.ndarray) -> float:
    """The dense network in plain numpy (an oracle independent of both runtimes)."""
    for layer in network.layers:
        x = layer.weight @ x + (layer.bias if layer.bias is not None else 0)
        if layer.norm is not None:
            gamma, beta, epsilon = layer.norm
            x = (x - x.mean()) / np.sqrt(x.var() + epsilon) * gamma + beta
        if layer.relu:
            x = np.maximum(x, 0)
    return float(1 / (1 + np.exp(-x[0])))


def test_copies_are_made_once(folder: Path) -> None:
    assert make_pretrained_copies(folder)
    assert make_pretrained_copies(folder) == []


def test_the_listening_box_resolves_pretrained_names_to_the_copy(folder: Path) -> None:
    tflite = folder / "openwakeword" / "hey_jarvis_v0.1.tflite"
    assert resolve_model("hey_jarvis", folder) == tflite  # not made yet: the original
    make_pretrained_copies(folder)
    assert resolve_model("hey_jarvis", folder) == onnx_copy(tflite)


@pytest.mark.parametrize("damage", ["flip a byte", "truncate", "stale stamp", "no stamp"])
def test_a_damaged_or_stale_copy_is_not_used(
    folder: Path, damage: str, caplog: pytest.LogCaptureFixture
) -> None:
    make_pretrained_copies(folder)
    tflite = folder / "openwakeword" / "hey_jarvis_v0.1.tflite"
    copy, stamp = onnx_copy(tflite), tflite.with_suffix(".onnx.json")
    data = bytearray(copy.read_bytes())
    if damage == "flip a byte":
        data[len(data) // 2] ^= 0xFF
        copy.write_bytes(bytes(data))
    elif damage == "truncate":
        copy.write_bytes(bytes(data[:1000]))
    elif damage == "stale stamp":
        stamp.write_text('{"from_sha256": "0", "sha256": "0"}\n')
    else:
        stamp.unlink()
    with caplog.at_level(logging.WARNING):
        assert usable_copy(tflite) is None
        assert resolve_model("hey_jarvis", folder) == tflite
    assert "voiced models fetch packaged" in caplog.text
    assert make_pretrained_copies(folder) == [copy]  # the fetch makes it again
    assert usable_copy(tflite) == copy


def test_a_graph_that_is_not_a_dense_classifier_is_left_alone(folder: Path) -> None:
    melspec = folder / "openwakeword" / "melspectrogram.tflite"
    with pytest.raises(NotConvertible):
        write_onnx_copy(melspec, np.zeros((8, 96), np.float32))
    assert not onnx_copy(melspec).exists()
    assert list((folder / "openwakeword").glob("*.part*")) == []


def test_a_platform_without_a_converter_keeps_the_tflite_files(
    folder: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """No onnx package (or no LiteRT) on the box: the fetch goes on, the tflite files serve."""
    import builtins

    real_import = builtins.__import__

    def no_onnx(name: str, *args: object, **kwargs: object) -> object:
        if name == "onnx" or name.startswith("onnx."):
            raise ImportError("No module named 'onnx'")
        return real_import(name, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(builtins, "__import__", no_onnx)
    with caplog.at_level(logging.WARNING):
        assert make_pretrained_copies(folder) == []
    assert "no ONNX copy" in caplog.text
    assert resolve_model("hey_jarvis", folder).suffix == ".tflite"
    assert list((folder / "openwakeword").glob("*.onnx*")) == []
