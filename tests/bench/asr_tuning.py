"""Whisper decoding options against Mandarin CER, on gcin-voice speaker 3 only.

Speaker 5 is the project's evaluation voice: nothing here reads it, so whatever this picks is
not tuned on it. Each variant decodes the 32 everyday requests clean and at 10 dB SNR (white
noise) the way the daemon feeds them (80 ms frames, fast final), and reports the CER and the
decode time per request (whole request, not real time: the latency bench is `scripts/bench asr`).

Variants: the product's default; beam 5; temperature fallback (0 -> 0.2 -> 0.4 -> 0.6 when a
text loops or is improbable); no conditioning on the earlier stretches; the prompt without the
persona's name, the name alone, and none at all; and two combinations.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any

import numpy as np

from daemon.asr.whisper import WhisperTranscriber
from daemon.config import WhisperSettings, default_models_dir
from daemon.synth.gcin import mandarin_speech
from tests.bench.asr_bench import noisy
from tests.fixtures.audio import AudioBuilder
from tests.fixtures.scoring import corpus_rate
from tests.fixtures.voices import ZH_REQUESTS, padded, transcribe

SPEAKER = 3  # never 5
NAME = "小智"
SIMPLIFIED_HINT = "以下是普通话的句子。"  # the prompt's tail, meant to keep Chinese simplified
SNR_DB = 10.0
DEFAULT = WhisperSettings()
# label -> (settings, prompt; None = the product's own prompt from the persona's name)
VARIANTS: dict[str, tuple[WhisperSettings, str | None]] = {
    "default (beam 1, t=0, conditioned, name+sentence prompt, window 10)": (DEFAULT, None),
    "prompt: name only": (DEFAULT, f"{NAME}。"),
    "beam 5": (WhisperSettings(beam_size=5), None),
    "temperature fallback 0/0.2/0.4/0.6": (
        WhisperSettings(temperatures=[0.0, 0.2, 0.4, 0.6]),
        None,
    ),
    "no condition_on_previous_text": (WhisperSettings(condition_on_previous_text=False), None),
    "prompt: sentence only (no name)": (DEFAULT, SIMPLIFIED_HINT),
    "prompt: none": (DEFAULT, ""),
    "prompt: none, beam 5": (WhisperSettings(beam_size=5), ""),
    "prompt: name only, window 30": (WhisperSettings(window_seconds=30.0), f"{NAME}。"),
}


def corpus(snr_db: float | None) -> list[tuple[str, np.ndarray]]:
    clean = [(t, padded(mandarin_speech(t, speaker=SPEAKER))) for t in ZH_REQUESTS]
    if snr_db is None:
        return clean
    return [(t, noisy(a, snr_db, seed=i)) for i, (t, a) in enumerate(clean)]


def score(transcriber: WhisperTranscriber, pairs: list[tuple[str, np.ndarray]]) -> dict[str, Any]:
    started = time.perf_counter()
    heard = [(text, transcribe(transcriber, audio)) for text, audio in pairs]
    seconds = time.perf_counter() - started
    return {
        "cer": round(corpus_rate(heard, "char"), 4),
        "decode_seconds_per_request": round(seconds / len(pairs), 3),
    }


def variant(settings: WhisperSettings, prompt: str | None, sets: dict[str, Any]) -> dict[str, Any]:
    transcriber = WhisperTranscriber(settings, default_models_dir(), [NAME], "zh")
    if prompt is not None:
        transcriber.prompt = prompt
    result: dict[str, Any] = {"prompt": transcriber.prompt}
    for label, pairs in sets.items():
        result[label] = score(transcriber, pairs)
    return result


def run(audio: AudioBuilder) -> dict[str, object]:
    sets = {"clean": corpus(None), f"snr_{SNR_DB:g}db": corpus(SNR_DB)}
    results: dict[str, object] = {
        "note": "shared 2-core machine: other engineers' jobs ran at the same time",
        "voice": f"gcin-voice speaker {SPEAKER}, {len(ZH_REQUESTS)} requests",
    }
    for label, (settings, prompt) in VARIANTS.items():
        results[label] = variant(settings, prompt, sets)
        print(json.dumps({label: results[label]}, ensure_ascii=False), file=sys.stderr, flush=True)
    return results
