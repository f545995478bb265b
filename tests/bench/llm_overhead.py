"""Our overhead between the final transcript and the first sentence handed to TTS.

A local OpenAI-compatible server streams at a fixed rate (first token after 200 ms, then 30
tokens/s) through the real client, deadline pump, chunker and state machine; audio, ASR and TTS
are scripted. The server's own first-sentence time is known from its schedule; what is left over
is ours (HTTP, SSE parsing, queues, chunking). Target: under 20 ms at p50 and p95.
"""

from __future__ import annotations

import statistics

from daemon.config import LlmEndpoint, LlmTimeouts
from daemon.llm.openai_chat import OpenAIChat
from tests.fixtures.fakes import Rig, ScriptedTts, Timeline, request
from tests.fixtures.llm_server import LLMServer, Script, split_tokens

REPLY = "Sure, here is a short answer for you. And a second sentence follows it here."
FIRST_TOKEN, RATE = 0.200, 30.0


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _server_first_sentence_seconds() -> float:
    tokens = split_tokens(REPLY)
    completing = next(i for i, tok in enumerate(tokens) if tok.rstrip().endswith("."))
    return FIRST_TOKEN + completing / RATE


def run(_audio: object, turns: int = 50) -> dict[str, object]:
    script = Script("stream", text=REPLY, first_token_delay=FIRST_TOKEN, token_interval=1 / RATE)
    timeouts = LlmTimeouts(connect_seconds=2, first_token_seconds=5, total_seconds=10)
    timeline = Timeline()
    for _ in range(turns):
        timeline.extend(request())
    with LLMServer(default=script) as server:
        chat = OpenAIChat(LlmEndpoint(base_url=server.base_url, model="bench"), timeouts)
        tts = ScriptedTts()
        rig = Rig(chat=chat, tts=tts, timeouts=timeouts).run(timeline)
    firsts = [
        t for t, text in zip(tts.called_at, tts.texts, strict=True) if text.startswith("Sure")
    ]
    raw = [(f - turn.transcript_at) * 1000 for f, turn in zip(firsts, rig.turns, strict=True)]
    server_ms = _server_first_sentence_seconds() * 1000
    overhead = [r - server_ms for r in raw]
    return {
        "turns": len(raw),
        "outcomes_ok": sum(1 for t in rig.turns if t.outcome == "ok"),
        "server_first_sentence_ms": round(server_ms, 1),
        "transcript_to_first_sentence_ms": {
            "p50": round(statistics.median(raw), 1),
            "p95": round(_percentile(raw, 0.95), 1),
        },
        "overhead_ms": {
            "p50": round(statistics.median(overhead), 1),
            "p95": round(_percentile(overhead, 0.95), 1),
            "target": 20,
        },
    }
