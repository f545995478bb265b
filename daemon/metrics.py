"""Per-turn timings and the one INFO line each turn leaves in the journal."""

from __future__ import annotations

import time
from dataclasses import dataclass, field


def _ms(start: float | None, end: float | None) -> str:
    return f"{(end - start) * 1000:.0f}" if start is not None and end is not None else "-"


def _quote(text: str | None, limit: int = 120) -> str:
    if text is None:
        return "-"
    text = text.replace('"', "'").replace("\n", " ")
    return '"' + (text if len(text) <= limit else text[: limit - 3] + "...") + '"'


@dataclass
class TurnRecord:
    """What happened in one turn. Wall-clock marks are time.monotonic() values."""

    turn_id: int
    wake_model: str = "-"
    wake_score: float = 0.0
    recording_seconds: float = 0.0  # audio time from wake to endpoint
    endpoint: str = "-"
    asr_text: str | None = None
    reply_source: str = "-"
    reply_text: list[str] = field(default_factory=list)
    outcome: str = "ok"
    endpoint_at: float | None = None  # the endpointer fired
    transcript_at: float | None = None
    request_at: float | None = None  # reply requested (LLM or intent)
    first_token_at: float | None = None
    last_token_at: float | None = None
    first_sentence_at: float | None = None
    first_audio_at: float | None = None  # first reply sample handed to the speaker
    tts_seconds: float = 0.0
    ended_at: float | None = None

    @staticmethod
    def now() -> float:
        return time.monotonic()

    def summary(self) -> str:
        spoken = " ".join(self.reply_text) if self.reply_text else None
        return (
            f"turn {self.turn_id} outcome={self.outcome} "
            f"wake={self.wake_model}:{self.wake_score:.2f} rec={self.recording_seconds:.2f}s "
            f"end={self.endpoint} asr={_quote(self.asr_text)} "
            f"asr_ms={_ms(self.endpoint_at, self.transcript_at)} source={self.reply_source} "
            f"llm_first_ms={_ms(self.request_at, self.first_token_at)} "
            f"llm_ms={_ms(self.request_at, self.last_token_at)} "
            f"tts_ms={self.tts_seconds * 1000:.0f} "
            f"v2v_ms={_ms(self.endpoint_at, self.first_audio_at)} reply={_quote(spoken)}"
        )
