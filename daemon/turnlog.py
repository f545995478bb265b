"""Reading the turn log (turns.jsonl, written by daemon.turn.record.TurnLog) for people:
`voiced stats` as a table, `voiced history`, and the web console's conversation and latency."""

from __future__ import annotations

import json
import time
from collections import deque
from pathlib import Path
from typing import Any

from daemon.tts.text import join_sentences

TIMING_LABELS = {
    "endpoint_ms": "endpoint wait",
    "asr_final_ms": "ASR final",
    "llm_first_token_ms": "LLM first token",
    "llm_total_ms": "LLM total",
    "first_sentence_ms": "first sentence",
    "tts_first_chunk_ms": "TTS first chunk",
    "first_sample_ms": "first sample",
    "voice_to_voice_ms": "voice to voice",
}
MAX_LINE_BYTES = 64_000  # a longer line is not one of ours


def read_turns(path: Path, last: int) -> list[dict[str, Any]]:
    """The last `last` turns, oldest first; unreadable lines are skipped, a missing file is []."""
    if last <= 0 or not path.exists():
        return []
    kept: deque[str] = deque(maxlen=last)
    with path.open(encoding="utf-8", errors="replace") as lines:
        for line in lines:
            if line.strip() and len(line) < MAX_LINE_BYTES:
                kept.append(line)
    turns = []
    for line in kept:
        try:
            turn = json.loads(line)
        except ValueError:
            continue
        if isinstance(turn, dict):
            turns.append(turn)
    return turns


def _ms(value: object) -> str:
    return f"{value:.0f}" if isinstance(value, int | float) else "-"


def stats_table(summary: dict[str, Any]) -> str:
    """daemon.turn.record.summarize()'s result as a table a person reads."""
    outcomes = summary.get("outcomes", {})
    counted = ", ".join(f"{name} {count}" for name, count in sorted(outcomes.items()))
    lines = [f"turns: {summary.get('turns', 0)}" + (f" ({counted})" if counted else "")]
    timings = summary.get("timings_ms", {})
    if not timings:
        lines.append("no timings yet (the turn log is empty)")
        return "\n".join(lines)
    lines.append(f"{'timing (ms)':<18}{'p50':>8}{'p95':>8}{'n':>6}")
    for key, label in TIMING_LABELS.items():
        if key in timings:
            row = timings[key]
            lines.append(f"{label:<18}{_ms(row['p50']):>8}{_ms(row['p95']):>8}{row['n']:>6}")
    return "\n".join(lines)


def _clip(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def history_lines(turns: list[dict[str, Any]], width: int = 60) -> list[str]:
    """One line per turn: when, outcome, voice-to-voice, what was asked and what was said."""
    lines = []
    for turn in turns:
        when = time.strftime("%m-%d %H:%M:%S", time.localtime(float(turn.get("time", 0))))
        v2v = _ms((turn.get("timings") or {}).get("voice_to_voice_ms"))
        asked = _clip(str(turn.get("asr_text") or "-"), width)
        said = _clip(join_sentences(list(turn.get("reply_text") or [])) or "-", width)
        lines.append(f"{when}  {turn.get('outcome', '?'):<16} v2v {v2v:>5} ms  {asked}  ->  {said}")
    return lines
