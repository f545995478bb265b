"""Per-turn timings: the one INFO line each turn leaves in the journal, and a JSON-lines file
that `voiced stats` summarizes."""

from __future__ import annotations

import copy
import json
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from enum import StrEnum
from pathlib import Path
from typing import Any

from daemon.errors import ErrorCode
from daemon.tts.text import join_sentences


class Outcome(StrEnum):
    """How a turn ended: the `outcome=` of its log line. Errors keep their stage's code."""

    OK = "ok"
    NO_SPEECH = "no-speech"  # the wake word (or a follow-up) and then nobody spoke
    NOT_HEARD = "not-heard"  # speech, but the ASR heard no words
    INTERRUPTED = "interrupted"  # a barge-in cut the reply
    INTERNAL_ERROR = "internal-error"  # a bug: logged with its traceback, beeped
    WAKE_FAILED = "wake-failed"
    VAD_FAILED = "vad-failed"
    ASR_FAILED = "asr-failed"
    ASR_TIMEOUT = "asr-timeout"
    LLM_NOT_CONFIGURED = "llm-not-configured"
    LLM_UNREACHABLE = "llm-unreachable"
    LLM_TIMEOUT = "llm-timeout"
    LLM_UNAUTHORIZED = "llm-unauthorized"
    LLM_REJECTED = "llm-rejected"
    LLM_FAILED = "llm-failed"
    TTS_FAILED = "tts-failed"
    TTS_TIMEOUT = "tts-timeout"
    PLAYBACK_FAILED = "playback-failed"
    AUDIO_DEVICE = "audio-device"
    MODEL_MISSING = "model-missing"

    @classmethod
    def of(cls, code: ErrorCode) -> Outcome:
        return cls(code.value)


def _ms(start: float | None, end: float | None) -> float | None:
    return round((end - start) * 1000, 1) if start is not None and end is not None else None


def _show(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"


def _quote(text: str | None, limit: int = 120) -> str:
    if text is None:
        return "-"
    text = text.replace('"', "'").replace("\n", " ")
    return '"' + (text if len(text) <= limit else text[: limit - 3] + "...") + '"'


@dataclass
class TurnRecord:
    """What happened in one turn. Wall-clock marks are time.monotonic() values."""

    turn_id: int
    wake_model: str = "-"  # or "follow-up" when no wake word was needed
    wake_score: float = 0.0
    recording_seconds: float = 0.0  # audio time from wake to endpoint
    endpoint_delay: float | None = None  # audio time from the end of speech to the endpoint
    endpoint: str = "-"
    asr_text: str | None = None
    reply_source: str = "-"  # "intent:time", "llm:<model>" (see daemon.llm.responder.Reply)
    reply_text: list[str] = field(default_factory=list)  # sentences as they were heard
    outcome: Outcome = Outcome.OK
    endpoint_at: float | None = None  # the endpointer fired
    transcript_at: float | None = None
    request_at: float | None = None  # reply requested (LLM or intent)
    first_token_at: float | None = None
    last_token_at: float | None = None
    first_sentence_at: float | None = None
    first_tts_chunk_at: float | None = None
    first_audio_at: float | None = None  # first reply sample handed to the speaker
    tts_seconds: float = 0.0
    ended_at: float | None = None
    # Where the marks come from: the wall clock live; audio time when the input is a file, so
    # the same file always gives the same timings (backends then take no audio time at all).
    clock: Callable[[], float] = field(default=time.monotonic, repr=False, compare=False)

    def mark(self) -> float:
        return self.clock()

    def timings(self) -> dict[str, float | None]:
        """Milliseconds. voice_to_voice: end of the person's speech -> first reply sample out."""
        after_endpoint = _ms(self.endpoint_at, self.first_audio_at)
        v2v = None
        if after_endpoint is not None and self.endpoint_delay is not None:
            v2v = round(self.endpoint_delay * 1000 + after_endpoint, 1)
        return {
            "endpoint_ms": None if self.endpoint_delay is None else self.endpoint_delay * 1000,
            "asr_final_ms": _ms(self.endpoint_at, self.transcript_at),
            "llm_first_token_ms": _ms(self.request_at, self.first_token_at),
            "llm_total_ms": _ms(self.request_at, self.last_token_at),
            "first_sentence_ms": _ms(self.endpoint_at, self.first_sentence_at),
            "tts_first_chunk_ms": _ms(self.endpoint_at, self.first_tts_chunk_at),
            "first_sample_ms": after_endpoint,
            "voice_to_voice_ms": v2v,
        }

    def summary(self) -> str:
        t = self.timings()
        spoken = join_sentences(self.reply_text) or None
        return (
            f"turn {self.turn_id} outcome={self.outcome} "
            f"wake={self.wake_model}:{self.wake_score:.2f} rec={self.recording_seconds:.2f}s "
            f"end={self.endpoint} asr={_quote(self.asr_text)} "
            f"asr_ms={_show(t['asr_final_ms'])} source={self.reply_source} "
            f"llm_first_ms={_show(t['llm_first_token_ms'])} llm_ms={_show(t['llm_total_ms'])} "
            f"tts_ms={self.tts_seconds * 1000:.0f} v2v_ms={_show(t['voice_to_voice_ms'])} "
            f"reply={_quote(spoken)}"
        )

    def to_json(self) -> dict[str, Any]:
        data = {
            f.name: copy.copy(getattr(self, f.name))
            for f in fields(self)
            if not f.name.endswith("_at") and f.name != "clock"
        }
        data["time"] = time.time()
        data["timings"] = self.timings()
        return data


class TurnLog:
    """Appends one JSON line per turn; rotates once past `max_bytes` (one old file kept)."""

    def __init__(self, path: Path, max_bytes: int = 5_000_000) -> None:
        self.path = path
        self._max = max_bytes

    def write(self, turn: TurnRecord) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.path.exists() and self.path.stat().st_size > self._max:
            self.path.replace(self.path.with_name(self.path.name + ".1"))
        with self.path.open("a", encoding="utf-8") as out:
            out.write(json.dumps(turn.to_json(), ensure_ascii=False) + "\n")


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def summarize(path: Path, last: int = 100) -> dict[str, Any]:
    """p50/p95 of each timing over the last `last` turns, and how the turns ended."""
    lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    turns = [json.loads(line) for line in lines[-last:] if line.strip()]
    outcomes: dict[str, int] = {}
    for turn in turns:
        outcomes[turn["outcome"]] = outcomes.get(turn["outcome"], 0) + 1
    timings: dict[str, dict[str, float | int]] = {}
    for name in turns[0]["timings"] if turns else []:
        values = [t["timings"][name] for t in turns if t["timings"].get(name) is not None]
        if values:
            timings[name] = {
                "p50": round(statistics.median(values), 1),
                "p95": round(_percentile(values, 0.95), 1),
                "n": len(values),
            }
    return {"turns": len(turns), "outcomes": outcomes, "timings_ms": timings}
