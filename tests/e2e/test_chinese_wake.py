"""The shipped 你好小智 wake word on real recorded Mandarin (gcin-voice speaker 3) and on
espeak-ng voices kept out of its training, and through the real `voiced run` command."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from daemon.config import WakeSettings
from daemon.synth.espeak import espeak_speech
from daemon.synth.gcin import mandarin_speech
from daemon.wake import make_wake_detector
from daemon.wake.train.corpus import ZH_HELD_OUT
from daemon.wake.train.voices import trim
from tests.conftest import REPO, run_voiced

pytestmark = pytest.mark.slow
RATE = 16000
HELD_OUT_VOICES = [("m3", 150), ("f5", 170), ("klatt2", 140), ("benjamin", 190)]


def _pad(speech: np.ndarray, lead: float = 1.5, tail: float = 1.5) -> np.ndarray:
    audio = np.concatenate([np.zeros(int(lead * RATE)), speech, np.zeros(int(tail * RATE))])
    return (np.clip(audio, -1, 1) * 32767).astype(np.int16)


def _hits(samples: np.ndarray, models_dir: Path, confirm: int = 1) -> list[tuple[float, str]]:
    settings = WakeSettings(model=["你好小智", "hey_jarvis"], confirm_frames=confirm)
    detector = make_wake_detector(settings, models_dir)
    hits: list[tuple[float, str]] = []
    for i in range(0, len(samples) - 1279, 1280):
        hit = detector.process(samples[i : i + 1280])
        end = (i + 1280) / RATE
        if hit and (not hits or end - hits[-1][0] >= 2.0):
            hits.append((end, hit.model))
    return hits


@pytest.mark.parametrize(("variant", "rate"), HELD_OUT_VOICES)
def test_fires_once_just_after_the_phrase_in_held_out_espeak_voices(
    variant: str, rate: int, models_dir: Path
) -> None:
    phrase = trim(espeak_speech("你好小智", "zh", rate=rate, variant=variant))
    [(at, model)] = _hits(_pad(phrase), models_dir)
    assert model == "ni_hao_xiao_zhi"
    assert 1.5 + len(phrase) / RATE - 0.3 <= at <= 1.5 + len(phrase) / RATE + 0.5


@pytest.mark.parametrize("gap", [0.06, 0.1, 0.14])
def test_fires_on_a_real_recorded_voice(gap: float, models_dir: Path) -> None:
    said = mandarin_speech("你好小智，现在几点了", gap_seconds=gap)
    hits = _hits(_pad(said), models_dir)
    assert [model for _, model in hits] == ["ni_hao_xiao_zhi"]


def _chinese_talk(seconds: float = 120.0) -> np.ndarray:
    """Over 90 s of held-out Chinese sentences (none says the phrase), taking turns between
    the real recorded voice (gcin speaker 3) and espeak-ng at several rates."""
    rng = np.random.default_rng(5)
    parts = []
    for i, sentence in enumerate(ZH_HELD_OUT.talk * 3):
        if i % 2:
            parts.append(mandarin_speech(sentence, gap_seconds=0.08, rng=rng, jitter=0.2))
        else:
            parts.append(espeak_speech(sentence, "zh", rate=150 + 5 * (i % 7)))
        parts.append(np.zeros(int(0.4 * RATE), np.float32))
    talk = np.concatenate(parts)
    assert len(talk) / RATE > 90
    return talk[: int(seconds * RATE)]


def test_no_wake_in_90_seconds_of_chinese_talk(models_dir: Path) -> None:
    assert _hits(_pad(_chinese_talk()), models_dir) == []


def _voiced_run(wav: Path, tmp_path: Path) -> list[str]:
    done = run_voiced(
        "run", "--config", str(REPO / "config" / "voiced.yaml"), "--profile", "zero-download-zh",
        "--input", str(wav), "--output", str(tmp_path / "reply.wav"), timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    return done.turn_lines()


def test_voiced_run_zero_download_zh_wakes_on_ni_hao_xiao_zhi(
    tmp_path: Path, models_dir: Path
) -> None:
    wav = tmp_path / "request.wav"
    request = mandarin_speech("你好小智，现在几点了", gap_seconds=0.08)
    sf.write(str(wav), _pad(request, 1.0, 2.0), RATE, subtype="PCM_16")
    [line] = _voiced_run(wav, tmp_path)
    assert "outcome=ok" in line and "wake=ni_hao_xiao_zhi:" in line, line
    assert "几点" in line


def test_voiced_run_zero_download_zh_ignores_chinese_talk(tmp_path: Path, models_dir: Path) -> None:
    wav = tmp_path / "talk.wav"
    sf.write(str(wav), _pad(_chinese_talk(95.0)), RATE, subtype="PCM_16")
    assert _voiced_run(wav, tmp_path) == []


# Held-out talk of the wake bench (seed and clip numbers of tests/bench/wake_bench.py) on which
# the first stage alone fires with the profile's confirm_frames 3: the second stage
# (wake.verify: whisper, on in this profile) must turn every one of those fires down. Through
# `voiced run` their check scores were -6.7 and -7.1 (threshold -5.86); most of the bench's
# other fires on talk score nearer, and where the fire falls moves the score by +-0.5.
FIRING_TALK = (166, 194)


def _talk_that_fires(models_dir: Path) -> tuple[np.ndarray, int]:
    """The clips one after another (a second of quiet between), and how often the first stage
    alone fires on them."""
    from daemon.wake.train.dataset import ClipMaker
    from tests.bench.wake_bench import SEED

    maker = ClipMaker("你好小智", SEED, held_out=True)
    gap = np.zeros(RATE, np.float32)
    talk = np.concatenate([part for i in FIRING_TALK for part in (maker.make("talk", i).audio,
                                                                   gap)])  # fmt: skip
    samples = (np.clip(talk, -1, 1) * 32767).astype(np.int16)
    fires = _hits(samples, models_dir, confirm=3)
    assert len(fires) >= 2, "the first stage no longer fires here: pick other clips"
    return samples, len(fires)


def test_voiced_run_zero_download_zh_turns_down_fires_on_talk(
    tmp_path: Path, models_dir: Path
) -> None:
    wav = tmp_path / "talk.wav"
    samples, fires = _talk_that_fires(models_dir)
    sf.write(str(wav), samples, RATE, subtype="PCM_16")
    done = run_voiced(
        "run", "--config", str(REPO / "config" / "voiced.yaml"), "--profile", "zero-download-zh",
        "--input", str(wav), "--output", str(tmp_path / "reply.wav"), timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.turn_lines() == [], done.stderr[-3000:]
    rejected = [line for line in done.stderr.splitlines() if "rejected by the check" in line]
    assert len(rejected) >= fires - 1, done.stderr[-3000:]  # the daemon's stream may differ by one
