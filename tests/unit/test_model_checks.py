"""Damaged model files (issue 15): a packaged file is checked against its pinned sha256 where it
is loaded, and a loaded model must answer known audio sensibly; otherwise ModelDamaged (exit 78)
names the file and the command that repairs it."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from daemon.config import WakeSettings
from daemon.errors import ConfigError
from daemon.models.errors import ModelDamaged, ModelMissing
from daemon.models.packaged import PACKAGED_ASSETS, asset_paths
from daemon.models.verify import (
    check_scores,
    check_vad,
    pinned_digest,
    speech_clip,
    verify_pinned,
)

FETCH = "voiced models fetch packaged"


def damaged_copy(models_dir: Path, into: Path, relative: str, how: str) -> Path:
    """A copy of the packaged models with one file damaged: a few flipped bytes or cut in half."""
    for asset in PACKAGED_ASSETS:
        for path in asset_paths(asset, models_dir):
            target = into / asset.folder / path.name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
    victim = into / relative
    data = bytearray(victim.read_bytes())
    if how == "flip":
        for i in range(len(data) // 3, len(data) // 3 + 64, 8):
            data[i] ^= 0xFF
    else:
        del data[len(data) // 2 :]
    victim.write_bytes(bytes(data))
    return into


# case -> (file, damage, what the message names)
DAMAGE = {
    "Silero, flipped bytes": ("silero/silero_vad.onnx", "flip", "Silero VAD model"),
    "Silero, truncated": ("silero/silero_vad.onnx", "cut", "Silero VAD model"),
    "embedding, flipped bytes": ("openwakeword/embedding_model.tflite", "flip",
                                 "openWakeWord feature model"),
    "melspectrogram, truncated": ("openwakeword/melspectrogram.tflite", "cut",
                                  "openWakeWord feature model"),
    "wake model, truncated": ("openwakeword/hey_jarvis_v0.1.tflite", "cut",
                              "wake word model hey_jarvis_v0.1"),
}  # fmt: skip


def load_everything(models: Path) -> None:
    from daemon.vad.silero import SileroVad
    from daemon.wake.openwakeword import OpenWakeWord

    SileroVad(models)
    OpenWakeWord(WakeSettings(), models)


@pytest.mark.parametrize("case", list(DAMAGE))
def test_a_damaged_packaged_file_is_named_with_its_fetch_command(
    models_dir: Path, tmp_path: Path, case: str
) -> None:
    relative, how, what = DAMAGE[case]
    models = damaged_copy(models_dir, tmp_path, relative, how)
    with pytest.raises(ModelDamaged) as info:
        load_everything(models)
    message = str(info.value)
    assert message.startswith(f"{what} at {models / relative} is damaged")
    assert message.endswith(f"fetch it again with: {FETCH}")
    assert isinstance(info.value, ModelMissing)  # the CLI's exit 78 path


@pytest.mark.slow
def test_intact_models_load_and_pass_their_checks(models_dir: Path) -> None:
    load_everything(models_dir)


@pytest.mark.slow
def test_a_custom_wake_model_that_does_not_run_is_named(models_dir: Path, tmp_path: Path) -> None:
    """Not pinned (a file of the user's own): the load itself is the check."""
    custom = tmp_path / "my_wake.tflite"
    data = (models_dir / "openwakeword" / "hey_jarvis_v0.1.tflite").read_bytes()
    custom.write_bytes(data[: len(data) // 2])
    from daemon.wake.openwakeword import OpenWakeWord

    with pytest.raises(ConfigError) as raised:  # exit 78, naming the file and what is wrong
        OpenWakeWord(WakeSettings(model=str(custom)), models_dir)
    assert str(custom) in str(raised.value) and "cannot be loaded" in str(raised.value)


def test_pinned_digest_knows_only_packaged_files(tmp_path: Path) -> None:
    assert pinned_digest(tmp_path / "silero" / "silero_vad.onnx") is not None
    assert pinned_digest(tmp_path / "elsewhere" / "silero_vad.onnx") is None
    assert pinned_digest(tmp_path / "my_wake.tflite") is None
    verify_pinned("a custom model", tmp_path / "my_wake.tflite")  # nothing pinned, no check


# --- the smoke checks with scripted models ------------------------------------------------------


class ScriptedVad:
    """Answers `speech` on loud chunks and `quiet` on silent ones."""

    def __init__(self, speech: float, quiet: float) -> None:
        self.speech, self.quiet, self.resets = speech, quiet, 0

    def probability(self, chunk: np.ndarray) -> float:
        return self.speech if np.abs(chunk).max() > 1000 else self.quiet

    def reset(self) -> None:
        self.resets += 1


@pytest.mark.parametrize(
    ("speech", "quiet", "words"),
    [
        (0.02, 0.01, "hears no speech"),  # the flipped-bytes Silero: every turn no-speech
        (0.99, 0.9, "hears speech in silence"),
        (float("nan"), 0.0, "hears no speech"),
    ],
)
def test_vad_smoke_check_refuses_a_wrong_vad(speech: float, quiet: float, words: str) -> None:
    vad = ScriptedVad(speech, quiet)
    with pytest.raises(ModelDamaged, match=words):
        check_vad("VAD", Path("vad.onnx"), vad.probability, 512, vad.reset)
    assert vad.resets >= 1  # the state of the check never reaches the first real chunk


def test_vad_smoke_check_passes_a_working_vad() -> None:
    vad = ScriptedVad(0.98, 0.01)
    check_vad("VAD", Path("vad.onnx"), vad.probability, 512, vad.reset)


def test_vad_that_raises_is_damaged() -> None:
    def broken(chunk: np.ndarray) -> float:
        raise RuntimeError("bad graph")

    with pytest.raises(ModelDamaged, match="inference fails: RuntimeError"):
        check_vad("VAD", Path("vad.onnx"), broken, 512, lambda: None)


@pytest.mark.parametrize("scores", [[], [0.1, 1.5], [0.2, float("nan")], [-0.1, 0.3]])
def test_wake_scores_must_be_probabilities(scores: list[float]) -> None:
    with pytest.raises(ModelDamaged, match="not probabilities"):
        check_scores("wake", Path("w.tflite"), scores, "replace w.tflite")


def test_the_check_clip_is_speech() -> None:
    clip = speech_clip()
    assert clip.dtype == np.int16 and 0.8 < len(clip) / 16000 < 3
    assert np.abs(clip).max() > 3000
