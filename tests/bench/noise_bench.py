"""Noise suppression: does cleaning the microphone help the wake word and the ASR?

White noise at 20, 10 and 5 dB SNR (below the active speech level) is mixed into clean speech,
and the mix goes raw or through each suppressor that `audio.noise_suppression` offers (WebRTC
NS, RNNoise, DeepFilterNet3), fed in 80 ms frames as the listener feeds it, then:
- ASR: Whisper base (the product's settings) on the first 16 everyday Mandarin requests spoken
  by gcin-voice speaker 3 (16: the grid has 12 cells and runs on a shared 2-core machine;
  speaker 5, the evaluation voice, is not used to pick this default): CER;
- wake word: 你好小智 in speaker 3's voice (syllable gaps varied) and "hey jarvis" in espeak-ng
  voices, each with a second of room before and after, streamed through the daemon's detector
  (the wake bench's helper): detection rate at the default threshold and the mean peak score;
- cost: CPU seconds per audio second of each suppressor.
A suppressor is worth turning on by default only if it helps both wake word and ASR.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any

import numpy as np

from daemon.asr.whisper import WhisperTranscriber
from daemon.audio.frames import FRAME_SAMPLES, SAMPLE_RATE
from daemon.audio.noise import SUPPRESSORS, NoiseSuppressor
from daemon.config import WakeSettings, WhisperSettings, default_models_dir
from daemon.synth.espeak import espeak_speech
from daemon.synth.gcin import mandarin_speech
from daemon.wake.openwakeword import OpenWakeWord, resolve_model
from tests.bench.asr_bench import SNRS, noisy
from tests.bench.wake_bench import _stream
from tests.fixtures.audio import AudioBuilder
from tests.fixtures.scoring import corpus_rate
from tests.fixtures.voices import ZH_REQUESTS, padded, to_int16, transcribe

SPEAKER = 3  # never the evaluation speaker 5
THRESHOLD = WakeSettings().threshold
WAKE_CLIPS = 12  # per phrase
ASR_REQUESTS = 16
EN_WAKE_VOICES = ("en-us", "en-gb+f3", "en-us+m3", "en+klatt")
WAKE_MODELS = {"你好小智": "你好小智", "hey jarvis": "hey_jarvis"}
CHOICES = ("raw", *SUPPRESSORS)


def cleaned(kind: str, audio: np.ndarray) -> np.ndarray:
    """`audio` (float32) through a fresh suppressor in 80 ms frames; raw when kind is raw."""
    if kind == "raw":
        return audio
    suppressor: NoiseSuppressor = SUPPRESSORS[kind]()
    samples = to_int16(audio)
    out = [
        suppressor.process(samples[i : i + FRAME_SAMPLES])
        for i in range(0, len(samples), FRAME_SAMPLES)
    ]
    return np.concatenate(out).astype(np.float32) / 32768.0


def wake_clips() -> dict[str, list[np.ndarray]]:
    rng = np.random.default_rng(20261201)
    room = np.zeros(SAMPLE_RATE, np.float32)
    zh = [
        mandarin_speech("你好小智", speaker=SPEAKER, rng=rng, jitter=0.3) for _ in range(WAKE_CLIPS)
    ]
    en = [
        espeak_speech("hey jarvis", EN_WAKE_VOICES[i % 4], rate=150 + 10 * (i // 4))
        for i in range(WAKE_CLIPS)
    ]
    return {
        phrase: [np.concatenate([room, clip, room]) for clip in clips]
        for phrase, clips in (("你好小智", zh), ("hey jarvis", en))
    }


def wake(kind: str, clips: dict[str, list[np.ndarray]], snr: float) -> dict[str, Any]:
    models = default_models_dir()
    result: dict[str, Any] = {}
    for phrase, spec in WAKE_MODELS.items():
        detector = OpenWakeWord(WakeSettings(model=spec), models)
        name = resolve_model(spec, models).stem
        peaks = []
        for i, clip in enumerate(clips[phrase]):
            _, scores = _stream(detector, name, cleaned(kind, noisy(clip, snr, seed=100 + i)))
            peaks.append(float(scores.max()))
        result[phrase] = {
            "detected": f"{sum(p >= THRESHOLD for p in peaks)}/{len(peaks)}",
            "mean_peak_score": round(float(np.mean(peaks)), 3),
        }
    return result


def asr(
    kind: str, transcriber: WhisperTranscriber, clean: list[tuple[str, np.ndarray]], snr: float
) -> float:
    pairs = [
        (text, cleaned(kind, noisy(audio, snr, seed=i))) for i, (text, audio) in enumerate(clean)
    ]
    heard = [(text, transcribe(transcriber, audio)) for text, audio in pairs]
    return round(corpus_rate(heard, "char"), 4)


def cost(kind: str) -> float:
    """CPU seconds per audio second (10 s of noisy speech-like audio)."""
    audio = noisy(padded(mandarin_speech("".join(ZH_REQUESTS[:4]), speaker=SPEAKER)), 10.0, seed=7)
    started = time.process_time()
    cleaned(kind, audio)
    return round((time.process_time() - started) / (len(audio) / SAMPLE_RATE), 4)


def run(audio: AudioBuilder) -> dict[str, object]:
    transcriber = WhisperTranscriber(WhisperSettings(), default_models_dir(), ["小智"], "zh")
    clean = [(t, padded(mandarin_speech(t, speaker=SPEAKER))) for t in ZH_REQUESTS[:ASR_REQUESTS]]
    clips = wake_clips()
    results: dict[str, object] = {
        "note": "shared 2-core machine: other engineers' jobs ran at the same time",
        "asr": f"whisper base, int8, {len(clean)} requests, gcin-voice speaker {SPEAKER}",
        "wake_threshold": THRESHOLD,
        "cpu_seconds_per_audio_second": {k: cost(k) for k in CHOICES if k != "raw"},
    }
    for snr in SNRS:
        cell: dict[str, object] = {}
        for kind in CHOICES:
            cell[kind] = {"wake": wake(kind, clips, snr)}
            print(
                json.dumps({snr: {kind: cell[kind]}}, ensure_ascii=False),
                file=sys.stderr,
                flush=True,
            )
            cell[kind]["mandarin_cer"] = asr(kind, transcriber, clean, snr)
            print(
                json.dumps({snr: {kind: cell[kind]}}, ensure_ascii=False),
                file=sys.stderr,
                flush=True,
            )
        results[f"snr_{snr:g}db"] = cell
    return results
