"""Which runtime computes the shared wake features: one runtime for everything when it can.

A box whose wake classifiers are all ONNX (你好小智) takes the ONNX feature models and never
loads LiteRT (-11 MB, scripts/bench memory); a tflite classifier (hey_jarvis) needs LiteRT
anyway, and both runtimes together would cost ~10 MB more than LiteRT alone.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from daemon.models.errors import ModelMissing
from daemon.wake.openwakeword import shared_features_paths


def models(tmp_path: Path, *names: str) -> Path:
    folder = tmp_path / "openwakeword"
    folder.mkdir()
    for name in names:
        (folder / name).write_bytes(b"x")
    return tmp_path


BOTH = (
    "melspectrogram.tflite",
    "embedding_model.tflite",
    "melspectrogram.onnx",
    "embedding_model.onnx",
)


@pytest.mark.parametrize(
    ("classifiers", "files", "suffix"),
    [
        (["xiaozhi.onnx"], BOTH, ".onnx"),
        (["a.onnx", "b.onnx"], BOTH, ".onnx"),
        (["hey_jarvis.tflite"], BOTH, ".tflite"),
        (["xiaozhi.onnx", "hey_jarvis.tflite"], BOTH, ".tflite"),
        (["xiaozhi.onnx"], BOTH[:3], ".tflite"),  # half the ONNX pair: a box fetched before
        (["xiaozhi.onnx"], BOTH[:2], ".tflite"),
    ],
)
def test_the_feature_runtime_follows_the_classifiers(
    tmp_path: Path, classifiers: list[str], files: tuple[str, ...], suffix: str
) -> None:
    melspec, embedding = shared_features_paths(
        models(tmp_path, *files), [Path(c) for c in classifiers]
    )
    assert (melspec.suffix, embedding.suffix) == (suffix, suffix)
    assert melspec.name.startswith("melspectrogram") and embedding.name.startswith("embedding")


def test_missing_tflite_features_name_the_fetch_command(tmp_path: Path) -> None:
    with pytest.raises(ModelMissing, match="voiced models fetch"):
        shared_features_paths(models(tmp_path, "melspectrogram.onnx"), [Path("x.tflite")])
