"""`voiced wake train` and `voiced wake record` through the real command: bad input gets one
line and a sysexits code with nothing left under the output name; a tiny training run gives a
model the daemon loads, identical for the same seed."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from daemon.config import WakeSettings
from daemon.synth.espeak import espeak_speech
from daemon.wake import make_wake_detector
from tests.conftest import Run, run_voiced

PHRASE = "你好小智"


def train(*args: str, timeout: float = 120) -> Run:
    return run_voiced("wake", "train", *args, timeout=timeout)


def takes(folder: Path, count: int, seconds: float = 1.5) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        speech = espeak_speech(PHRASE, "zh", rate=140 + 10 * i)
        pad = np.zeros(int(0.3 * 16000), np.float32)
        sf.write(folder / f"take-{i}.wav", np.concatenate([pad, speech, pad]), 16000)
    return folder


def assert_one_line(done: Run, code: int, *words: str) -> None:
    assert done.returncode == code, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("voiced: wake train: "), done.stderr
    assert all(w in lines[0] for w in words), lines[0]


BAD_OUTPUT = {
    "no such folder": ("missing/wake.onnx", "not a writable folder"),
    "a folder": (".", "is a folder"),
    "not .onnx": ("wake.tflite", "must end in .onnx"),
}


@pytest.mark.parametrize("case", sorted(BAD_OUTPUT))
def test_an_output_that_cannot_be_written_exits_73(case: str, tmp_path: Path) -> None:
    name, words = BAD_OUTPUT[case]
    out = tmp_path / name
    assert_one_line(train("--phrase", PHRASE, "--out", str(out)), 73, words)
    assert not (tmp_path / "missing").exists()


BAD_PHRASES = {
    "punctuation only": ("!!!", "no words"),
    "a syllable gcin-voice lacks": ("你好嗯", "cannot say"),  # 嗯 (ㄣ2) is not recorded
}


@pytest.mark.parametrize("case", sorted(BAD_PHRASES))
def test_a_phrase_the_synthesizers_cannot_say_exits_65(case: str, tmp_path: Path) -> None:
    phrase, words = BAD_PHRASES[case]
    out = tmp_path / "wake.onnx"
    assert_one_line(train("--phrase", phrase, "--out", str(out)), 65, words)
    assert not out.exists()


def _garbage(folder: Path) -> Path:
    takes(folder, 3)
    (folder / "take-9.wav").write_bytes(b"RIFF\x00\x00junk")
    return folder


def _silent(folder: Path) -> Path:
    takes(folder, 3)
    sf.write(folder / "take-9.wav", np.zeros(16000, np.float32), 16000)
    return folder


BAD_RECORDINGS = {
    "missing folder": (lambda d: d / "nowhere", 66, "not found"),
    "too few": (lambda d: takes(d / "few", 2), 65, "at least 3"),
    "unreadable file": (lambda d: _garbage(d / "garbage"), 65, "cannot read recording"),
    "silent take": (lambda d: _silent(d / "silent"), 65, "0.0 s of sound"),
}


@pytest.mark.parametrize("case", sorted(BAD_RECORDINGS))
def test_bad_recordings_get_one_line_and_leave_the_old_model(case: str, tmp_path: Path) -> None:
    make, code, words = BAD_RECORDINGS[case]
    out = tmp_path / "wake.onnx"
    out.write_bytes(b"previous model")
    done = train("--phrase", PHRASE, "--recordings", str(make(tmp_path)), "--out", str(out))
    assert_one_line(done, code, words)
    assert out.read_bytes() == b"previous model"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith("tmp")] == []


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_a_tiny_training_run_gives_a_model_the_daemon_loads(
    tmp_path: Path, models_dir: Path
) -> None:
    recordings = takes(tmp_path / "mine", 3)
    first, second = tmp_path / "a.onnx", tmp_path / "b.onnx"
    for out in (first, second):
        done = train(
            "--phrase", PHRASE, "--recordings", str(recordings), "--out", str(out),
            "--size", "tiny", "--seed", "7", timeout=600,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr[-2000:]
    assert "held-out evaluation" in done.stdout and "confusables fired" in done.stdout
    assert first.read_bytes() == second.read_bytes()  # seeded: the same model again
    detector = make_wake_detector(WakeSettings(model=[str(first), "hey_jarvis"]), models_dir)
    assert detector.name == "a+hey_jarvis_v0.1"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.onnx", "b.onnx", "mine"]


def test_record_writes_one_wav_per_take_and_asks_again_after_silence(tmp_path: Path) -> None:
    speech = espeak_speech(PHRASE, "zh", rate=150)
    take = np.zeros(2 * 16000, np.float32)
    take[8000 : 8000 + len(speech)] = speech[:24000]
    quiet = np.zeros(2 * 16000, np.float32)
    source = tmp_path / "mic.wav"
    sf.write(source, np.concatenate([take, quiet, take, take]), 16000, subtype="PCM_16")
    out = tmp_path / "takes"
    done = run_voiced(
        "wake", "record", "--phrase", PHRASE, "--count", "3", "--seconds", "2",
        "--input", str(source), "--out", str(out),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in out.iterdir()) == ["take-01.wav", "take-02.wav", "take-03.wav"]
    assert "heard nothing; once more" in done.stdout
    assert "voiced wake train --phrase" in done.stdout


def test_record_from_a_source_that_ends_too_soon_exits_66(tmp_path: Path) -> None:
    source = tmp_path / "short.wav"
    sf.write(source, np.zeros(16000, np.float32), 16000, subtype="PCM_16")
    done = run_voiced(
        "wake", "record", "--phrase", PHRASE, "--count", "3", "--input", str(source),
        "--out", str(tmp_path / "takes"),
    )  # fmt: skip
    assert done.returncode == 66
    assert done.stderr.strip().startswith("voiced: wake record: recorded 0 of 3")
