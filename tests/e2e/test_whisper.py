"""The real Whisper base model (from its PyPI wheels) on real voices: round trips with bounds.

Mandarin in a real human voice (gcin-voice speaker 3, never speaker 5), Mandarin and English as
the box itself speaks them (espeak-ng), and the real English recordings in alsa-utils. Error
rates are bounded, not golden: the bounds sit a margin above what was measured (figures in
scripts/bench asr).
"""

from __future__ import annotations

import io
import subprocess
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import soxr

from daemon.asr.whisper import WhisperDecoder, WhisperTranscriber
from daemon.config import WhisperSettings
from daemon.models.whisper import PACKAGED_BASE, packaged_is_complete
from daemon.synth.espeak import espeak_speech
from daemon.synth.gcin import mandarin_speech
from tests.conftest import REPO, run_voiced
from tests.fixtures.scoring import corpus_rate
from tests.fixtures.voices import (
    EN_REQUESTS,
    ZH_REQUESTS,
    alsa_recordings,
    padded,
    to_int16,
    transcribe,
)

pytestmark = pytest.mark.slow
RATE = 16000
ZH_SENTENCES = ZH_REQUESTS[:6]
EN_SENTENCES = list(EN_REQUESTS[:5])


@pytest.fixture(scope="session")
def whisper_models(models_dir: Path) -> Path:
    if not packaged_is_complete(PACKAGED_BASE, models_dir):
        pytest.fail(f"Whisper base missing in {models_dir}: run `voiced models fetch packaged`")
    return models_dir


@pytest.fixture(scope="module")
def zh(whisper_models: Path) -> WhisperTranscriber:
    return WhisperTranscriber(WhisperSettings(), whisper_models, ["小智"], "zh")


@pytest.fixture(scope="module")
def en(whisper_models: Path) -> WhisperTranscriber:
    return WhisperTranscriber(WhisperSettings(), whisper_models, ["Jarvis"], "en")


def round_trip(
    transcriber: WhisperTranscriber, texts: list[str], speak: Callable[[str], np.ndarray]
) -> list[tuple[str, str]]:
    return [(text, transcribe(transcriber, padded(speak(text)))) for text in texts]


def test_mandarin_in_a_real_voice_comes_back(zh: WhisperTranscriber) -> None:
    pairs = round_trip(zh, ZH_SENTENCES, lambda t: mandarin_speech(t, speaker=3))
    assert corpus_rate(pairs) <= 0.15, pairs
    assert all(h == h.strip() and "幾" not in h for _, h in pairs)  # simplified, tidy


def test_the_boxs_own_mandarin_voice_is_the_pinyin_one(zh: WhisperTranscriber) -> None:
    """espeak-ng's Mandarin: Whisper base understands cmn-latn-pinyin poorly, plain `cmn` worse."""
    texts = ZH_SENTENCES[:4]
    pinyin = round_trip(zh, texts, lambda t: espeak_speech(t, "cmn-latn-pinyin", rate=130))
    broken = [(t, transcribe(zh, padded(broken_cmn(t)))) for t in texts]
    assert corpus_rate(pinyin) < corpus_rate(broken), (pinyin, broken)
    assert corpus_rate(pinyin) <= 0.95, pinyin


def broken_cmn(text: str) -> np.ndarray:
    """Debian 12's plain `cmn` voice, straight from espeak-ng (the product never uses it)."""
    done = subprocess.run(
        ["espeak-ng", "-v", "cmn", "-s", "130", "--stdout", text], capture_output=True, check=True
    )
    samples, rate = sf.read(io.BytesIO(done.stdout), dtype="float32")
    return soxr.resample(samples, rate, RATE).astype(np.float32)


def test_english_as_the_box_speaks_it_comes_back(en: WhisperTranscriber) -> None:
    pairs = round_trip(en, EN_SENTENCES, lambda t: espeak_speech(t, "en-us"))
    pairs += round_trip(en, EN_SENTENCES, lambda t: espeak_speech(t, "en-gb", variant="f3"))
    assert corpus_rate(pairs, "word") <= 0.2, pairs


def test_real_english_recordings_come_back(en: WhisperTranscriber) -> None:
    pairs = [(text, transcribe(en, padded(audio))) for text, audio in alsa_recordings()]
    assert corpus_rate(pairs, "word") <= 0.25, pairs


def test_silence_and_room_noise_give_no_text(zh: WhisperTranscriber) -> None:
    quiet = np.random.default_rng(1).normal(0, 30, 2 * RATE).astype(np.int16)  # int16: as fed
    assert transcribe(zh, quiet) == ""
    assert transcribe(zh, np.zeros(800, dtype=np.int16)) == ""  # too short to be a word


def test_fast_final_leaves_nothing_to_decode_after_a_pause(
    zh: WhisperTranscriber, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Speech, then the silence that ends the turn: decoded while the silence was arriving."""
    calls: list[str] = []
    original = WhisperDecoder.decode

    def counted(self: WhisperDecoder, audio: np.ndarray, prompt: str):  # type: ignore[no-untyped-def]
        calls.append("fed" if not finishing else "finish")
        return original(self, audio, prompt)

    monkeypatch.setattr(WhisperDecoder, "decode", counted)
    finishing = False
    session = zh.start()
    samples = to_int16(padded(mandarin_speech("现在几点了"), tail=0.6))
    for start in range(0, len(samples), 1280):
        session.feed(samples[start : start + 1280])
    finishing = True
    text = session.finish().text
    assert "几点" in text
    assert calls == ["fed"]


def test_voiced_transcribe_with_the_zero_download_zh_profile(
    whisper_models: Path, tmp_path: Path
) -> None:
    wav = tmp_path / "request.wav"
    sf.write(str(wav), to_int16(padded(mandarin_speech("现在几点了"))), RATE, subtype="PCM_16")
    run = run_voiced(
        "transcribe",
        "--config",
        str(REPO / "config" / "voiced.yaml"),
        "--profile",
        "zero-download-zh",
        str(wav),
        env={"VOICED_MODELS_DIR": str(whisper_models)},
    )
    assert run.returncode == 0, run.stderr
    assert "几点" in run.stdout


def test_a_corrupt_whisper_model_stops_start_up_with_exit_78(
    whisper_models: Path, tmp_path: Path
) -> None:
    models = tmp_path / "models"
    for folder in ("openwakeword", "silero", "smart-turn"):
        (models / folder).parent.mkdir(parents=True, exist_ok=True)
        (models / folder).symlink_to(whisper_models / folder)
    base = models / "whisper" / "base"
    base.mkdir(parents=True)
    for name in ("config.json", "tokenizer.json", "vocabulary.txt", "voiced-manifest.json"):
        (base / name).symlink_to(whisper_models / "whisper" / "base" / name)
    (base / "model.bin").write_bytes(b"\0" * 1000)
    run = run_voiced(
        "check",
        "--config",
        str(REPO / "config" / "voiced.yaml"),
        "--profile",
        "zero-download-zh",
        env={"VOICED_MODELS_DIR": str(models)},
    )
    assert run.returncode == 78, run.stderr
    assert "model.bin" in run.stderr and "voiced models fetch packaged" in run.stderr
    assert "Traceback" not in run.stderr


def test_a_chinese_persona_with_pocketsphinx_is_refused_at_start_up(tmp_path: Path) -> None:
    profile = tmp_path / "zh-pocketsphinx.yaml"
    profile.write_text(
        f"persona: {REPO / 'config' / 'persona.yaml'}\nasr:\n  backend: pocketsphinx\n",
        encoding="utf-8",
    )
    run = run_voiced(
        "check", "--config", str(REPO / "config" / "voiced.yaml"), "--profile", str(profile)
    )
    assert run.returncode == 78, run.stderr
    assert "persona.yaml: language: persona '小智' speaks 'zh'" in run.stderr
    assert "only understands en" in run.stderr


def test_a_mandarin_turn_through_voiced_run(whisper_models: Path, tmp_path: Path) -> None:
    """The issue's "done": 现在几点了 in a real voice, answered locally in Mandarin."""
    from daemon.synth.__main__ import main as make_request

    request, reply = tmp_path / "request.wav", tmp_path / "reply.wav"
    wake = ["--wake", "你好小智", "--wake-voice", "cmn-latn-pinyin"]  # the profile's wake word
    assert make_request(["request", str(request), "--text", "现在几点了", *wake]) == 0
    run = run_voiced(
        *("run", "--config", str(REPO / "config" / "voiced.yaml")),
        *("--profile", "zero-download-zh", "--input", str(request), "--output", str(reply)),
        env={"VOICED_MODELS_DIR": str(whisper_models)},
    )
    assert run.returncode == 0, run.stderr
    [line] = run.turn_lines()
    assert "outcome=ok" in line and "source=intent:time" in line, line
    assert 'asr="现在几点了' in line and 'reply="现在是' in line, line
    assert sf.info(str(reply)).duration > 1.0
