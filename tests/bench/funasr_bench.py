"""FunASR backend cost: load time, memory, real-time factor, and endpoint -> final text.

Runs the product's FunasrTranscriber, fed 80 ms frames as the turn machine feeds it, on 3 s and
10 s of Chinese speech (espeak-ng). Offline models decode everything at the endpoint, so their
latency is the whole decode; the streaming model decodes each 600 ms chunk while the person
speaks, so at the endpoint only the last partial chunk is left (its whole-utterance decode is
reported next to it for comparison).

Here that means the TINY models the tests build (width 32, random weights): their figures show
the backend's own overhead, not what the real models cost. Real models found in the default
models_dir (after `voiced models fetch funasr`) are measured too, labelled "real".
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from daemon.asr.base import TranscriptionSession
from daemon.asr.funasr import (
    STREAM_CHUNK_SAMPLES,
    STREAM_OPTIONS,
    FunasrTranscriber,
    check_model,
    import_funasr,
    load_model,
    model_dir,
    needed_models,
    to_float,
)
from daemon.audio.frames import FRAME_SAMPLES, SAMPLE_RATE
from daemon.config import FunasrSettings, default_models_dir
from daemon.models.errors import ModelMissing
from tests.fixtures import funasr_models
from tests.fixtures.audio import AudioBuilder, read

TEXT = (
    "你好，今天天气怎么样？请把客厅的灯打开，再放一首轻松的音乐。明天早上七点叫醒我，别忘了买牛奶。"
)
LENGTHS = (3.0, 10.0)
REPEATS = 7  # medians (and minimums: a shared machine's neighbours add outliers)
SHAPES = {  # label -> settings
    "paraformer-zh+ct-punc": FunasrSettings(model="paraformer-zh"),
    "paraformer-zh-streaming+ct-punc": FunasrSettings(model="paraformer-zh-streaming"),
    "sensevoice-small": FunasrSettings(model="sensevoice-small"),
}


def rss_mb() -> float:
    """Resident memory of this process (VmRSS), in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def utterance(audio: AudioBuilder, seconds: float) -> np.ndarray:
    """`seconds` of speech: the text spoken (repeated as needed) and cut to length."""
    speech = read(audio.speech(TEXT, "cmn-latn-pinyin"))
    repeats = int(np.ceil(seconds * SAMPLE_RATE / len(speech)))
    return np.tile(speech, repeats)[: int(seconds * SAMPLE_RATE)]


def _feed(session: TranscriptionSession, samples: np.ndarray) -> None:
    for start in range(0, len(samples), FRAME_SAMPLES):
        session.feed(samples[start : start + FRAME_SAMPLES])


def _median(measure: Callable[[], float]) -> float:
    return round(statistics.median(measure() for _ in range(REPEATS)), 4)


def _timed_turn(transcriber: FunasrTranscriber, samples: np.ndarray) -> tuple[float, float]:
    """(seconds spent in feed() while the person speaks, seconds from endpoint to text)."""
    session = transcriber.start()
    started = time.perf_counter()
    _feed(session, samples)
    fed = time.perf_counter()
    session.finish()
    return fed - started, time.perf_counter() - fed


def _latency(transcriber: FunasrTranscriber, samples: np.ndarray) -> dict[str, float]:
    seconds = len(samples) / SAMPLE_RATE
    runs = [_timed_turn(transcriber, samples) for _ in range(REPEATS)]
    during = statistics.median(r[0] for r in runs)
    endpoint = statistics.median(r[1] for r in runs)
    return {
        "audio_seconds": seconds,
        "compute_during_speech_seconds": round(during, 4),
        "endpoint_to_text_seconds": round(endpoint, 4),
        "endpoint_to_text_min_seconds": round(min(r[1] for r in runs), 4),  # on a busy machine
        "realtime_factor": round((during + endpoint) / seconds, 4),
    }


def _whole_utterance(folder: Path, settings: FunasrSettings, samples: np.ndarray) -> float:
    """The streaming model decoding the utterance in one final call (its offline cost)."""
    model = load_model(folder, settings)
    audio = to_float(samples)

    def once() -> float:
        started = time.perf_counter()
        model.generate(input=audio, cache={}, is_final=True, **STREAM_OPTIONS)
        return time.perf_counter() - started

    return _median(once)


def measure(
    label: str, kind: str, models: Path, settings: FunasrSettings, clips: dict[str, np.ndarray]
) -> dict[str, Any]:
    """Load one shape through the product's backend, then time its turns on each clip."""
    before = rss_mb()
    started = time.perf_counter()
    transcriber = FunasrTranscriber(settings, models, ["Jarvis"])
    result: dict[str, Any] = {
        "model": label,
        "kind": kind,
        "device": settings.device,
        "threads": settings.threads,
        "load_seconds_incl_warmup": round(time.perf_counter() - started, 3),
        "rss_mb_after_load": rss_mb(),
        "rss_mb_added_by_load": round(rss_mb() - before, 1),
    }
    for name, samples in clips.items():
        result[name] = _latency(transcriber, samples)
        if settings.model == "paraformer-zh-streaming":
            folder = model_dir(models, settings.model)
            result[name]["offline_full_decode_seconds"] = _whole_utterance(
                folder, settings, samples
            )
            result[name]["chunk_seconds"] = STREAM_CHUNK_SAMPLES / SAMPLE_RATE
    return result


def _available(models: Path, settings: FunasrSettings) -> bool:
    """Whether the real models this shape needs are in `models` (checked, not loaded)."""
    try:
        for name in needed_models(settings):
            check_model(model_dir(models, name), name)
    except ModelMissing:
        return False
    return True


def run(audio: AudioBuilder) -> dict[str, object]:
    clips = {f"{s:g}s": utterance(audio, s) for s in LENGTHS}
    rss_start = rss_mb()
    started = time.perf_counter()
    import_funasr()  # its cost, measured once

    results: dict[str, object] = {
        "note": "tiny = the tests' random-weight models (width 32): backend overhead only",
        "funasr": metadata.version("funasr"),
        "torch": metadata.version("torch"),
        "rss_mb_before_import": rss_start,
        "import_seconds": round(time.perf_counter() - started, 2),
        "rss_mb_after_import": rss_mb(),
    }
    with tempfile.TemporaryDirectory(prefix="voiced-funasr-bench-") as tmp:
        tiny = Path(tmp)
        funasr_models.build(tiny)
        for label, settings in SHAPES.items():
            results[f"tiny/{label}"] = measure(label, "tiny", tiny, settings, clips)
    real = default_models_dir()
    for label, settings in SHAPES.items():
        if _available(real, settings):
            results[f"real/{label}"] = measure(label, "real", real, settings, clips)
    return results
