"""Second-stage wake check, measured (daemon/wake/verify.py): every detection of 你好小智 (the
held-out positives and every false accept on the wake bench's cached zh and en talk) is cut to
[fire - 2.0 s, fire + 0.3 s], decoded by the project's Whisper base (int8, language zh, beam 1),
once without a prompt and once with the prompt "你好小智", and accepted only if its pinyin holds
"xiao zhi". Reported: detection and false accepts per hour with and without the check, the
pinyin each positive decoded to (how near forms were chosen), and the decode time p50/p95.

The talk's audio is not cached (only its embeddings): the clips that fired are made again from
their index (ClipMaker is seeded per clip), and their length is checked against the cache.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import numpy as np

from daemon.asr.whisper import WhisperDecoder, load_model
from daemon.config import WakeSettings, WhisperSettings, default_models_dir
from daemon.models.whisper import model_dir
from daemon.wake.classifier import WakeClassifier, sustained
from daemon.wake.openwakeword import OpenWakeWord, resolve_model, shared_features
from daemon.wake.train.dataset import ClipMaker, Embedded
from daemon.wake.train.evaluate import DETECT_AFTER, clip_scores, firings
from daemon.wake.verify import says_wake_phrase, syllables, wake_window
from tests.fixtures.audio import AudioBuilder
from tests.bench.wake_bench import CONFIRM, SEED, THRESHOLD, _stream, held_out_talk

PHRASE, PINYIN, SPEC = "你好小智", "xiao zhi", "ni_hao_xiao_zhi"
PROMPTS = {"no_prompt": "", "prompt_phrase": "你好小智"}


class Checker:
    """Whisper base as the zh profile loads it (beam 1), timing every decode."""

    def __init__(self) -> None:
        settings = WhisperSettings(model="base", beam_size=1, language="zh")
        folder = model_dir(default_models_dir(), "base")
        self.decoder = WhisperDecoder(load_model(folder, "base", settings), settings, "zh")
        self.seconds: list[float] = []
        self.decoder.decode(np.zeros(16000, np.float32), "")  # warm-up, not timed

    def texts(self, window: np.ndarray) -> dict[str, str]:
        out = {}
        for name, prompt in PROMPTS.items():
            started = time.perf_counter()
            out[name] = self.decoder.decode(window.astype(np.float32), prompt).text
            self.seconds.append(time.perf_counter() - started)
        return out


def positives(checker: Checker, count: int) -> dict[str, Any]:
    detector = OpenWakeWord(WakeSettings(model=PHRASE, confirm_frames=1), default_models_dir())
    maker = ClipMaker(PHRASE, SEED, held_out=True)
    detected = Counter[str]()
    forms = {name: Counter[str]() for name in PROMPTS}
    for i in range(count):
        clip = maker.make("positive", i)
        assert clip.phrase is not None
        times, scores = _stream(detector, SPEC, clip.audio)
        start, end = clip.phrase
        hits = [t for t in firings(times, sustained(scores, CONFIRM), THRESHOLD)
                if start <= t <= end + DETECT_AFTER]  # fmt: skip
        if not hits:
            continue
        detected["model"] += 1
        texts = checker.texts(wake_window(clip.audio, hits[0]))
        for name, text in texts.items():
            heard = " ".join(syllables(text))
            forms[name][_tail(heard)] += 1
            detected[name] += says_wake_phrase(text, PINYIN)
    return {
        "positives": count,
        "detection_rate": {k: round(v / count, 4) for k, v in detected.items()},
        "last_two_syllables_heard": {k: dict(v.most_common(12)) for k, v in forms.items()},
    }


def _tail(heard: str) -> str:
    """The two syllables after "hao" (where 小智 should be), or the last two."""
    words = heard.split()
    if "hao" in words:
        at = words.index("hao") + 1
        return " ".join(words[at : at + 2]) or "(nothing after hao)"
    return " ".join(words[-2:]) or "(empty)"


def _talk_with_index(phrase: str, hours: float) -> Iterator[tuple[int, Embedded]]:
    """The cached talk clips with the ClipMaker index each was made from (held_out_talk skips
    every fourth index)."""
    items = held_out_talk(phrase, hours, shared_features(default_models_dir()))
    indexes = (i for i in range(1, 10**7) if i % 4)
    yield from zip(indexes, items, strict=False)


def false_accepts(checker: Checker, hours: float) -> dict[str, Any]:
    classifier = WakeClassifier.load(resolve_model(PHRASE, default_models_dir()))
    out: dict[str, Any] = {}
    for language, phrase in (("zh", PHRASE), ("en", "hey jarvis")):
        maker = ClipMaker(phrase, SEED, held_out=True)
        seconds, fired = 0.0, Counter[str]()
        texts: list[dict[str, str]] = []
        for index, item in _talk_with_index(phrase, hours):
            seconds += item.seconds
            times, scores = clip_scores(item, classifier.frames, classifier.score_windows)
            fires = firings(times, sustained(scores, CONFIRM), THRESHOLD)
            if not fires:
                continue
            audio = maker.make("talk", index).audio
            assert abs(len(audio) / 16000 - item.seconds) < 1e-3, "talk cache does not match"
            for t in fires:
                fired["model"] += 1
                decoded = checker.texts(wake_window(audio, t))
                texts.append(decoded)
                for name, text in decoded.items():
                    fired[name] += says_wake_phrase(text, PINYIN)
        per_hour = 3600 / seconds
        out[language] = {
            "hours": round(seconds / 3600, 3),
            "false_accepts": dict(fired),
            "per_hour": {k: round(v * per_hour, 2) for k, v in fired.items()},
            "texts_sample": texts[:8],
        }
    return out


def run_check(positive_count: int = 100, hours: float = 1.0) -> dict[str, Any]:
    checker = Checker()
    started = time.monotonic()
    result: dict[str, Any] = {
        "check": f"Whisper base int8 zh beam 1 on [fire-2.0 s, fire+0.3 s]; pinyin holds {PINYIN!r}",
        "detection": positives(checker, positive_count),
        "false_accepts_per_hour_talk": false_accepts(checker, hours),
    }
    ms = np.array(checker.seconds) * 1000
    result["decode_ms"] = {
        "decodes": len(ms),
        "p50": round(float(np.percentile(ms, 50))),
        "p95": round(float(np.percentile(ms, 95))),
        "threads": WhisperSettings().threads,
        "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
        "bench_minutes": round((time.monotonic() - started) / 60, 1),
    }
    result["added_latency_after_fire_ms"] = "300 (the window's tail) + the decode time above"
    return result


def run(audio: AudioBuilder) -> dict[str, Any]:
    """`scripts/bench wake-verify`: the check alone (also part of `scripts/bench wake`)."""
    return run_check()
