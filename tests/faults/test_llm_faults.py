"""Faults injected by a real local OpenAI-compatible server into whole turns.

The daemon's real client (OpenAIChat, the openai SDK, real HTTP on 127.0.0.1) runs inside the real
state machine; audio, ASR and TTS are scripted. For each fault: the turn ends within its deadline
(+/-20%), an error is spoken, and the next turn (the server's normal reply) succeeds.
"""

from __future__ import annotations

import logging

import pytest

from daemon.config import LlmEndpoint, LlmTimeouts
from daemon.errors import ErrorCode
from daemon.llm.openai_chat import OpenAIChat
from tests.fixtures.fakes import Rig, TimedChat, request
from tests.fixtures.llm_server import LLMServer, Script

TIMEOUTS = LlmTimeouts(connect_seconds=1.0, first_token_seconds=1.5, total_seconds=3.0)
NORMAL = "All good again."
SECRET = "sk-never-log-me-4242"

# scripts for the first turn, expected outcome, seconds from request to end of turn
CASES: dict[str, tuple[list[Script], str, float]] = {
    "normal": ([Script("stream", text="Hello there. How can I help?")], "ok", 0.0),
    "hang-on-connect": ([Script("hang_on_connect")], ErrorCode.LLM_TIMEOUT, 1.5),
    "headers-then-silence": ([Script("headers_then_silence")], ErrorCode.LLM_TIMEOUT, 1.5),
    "token-every-5s": ([Script("slow_tokens", token_interval=5.0)], ErrorCode.LLM_TIMEOUT, 3.0),
    "http-500-then-ok": ([Script("status", status=500)], "ok", 0.25),
    "http-500-twice": ([Script("status", status=500)] * 2, ErrorCode.LLM_FAILED, 0.25),
    "http-503-twice": ([Script("status", status=503)] * 2, ErrorCode.LLM_FAILED, 0.25),
    "http-401": ([Script("status", status=401)], ErrorCode.LLM_UNAUTHORIZED, 0.0),
    "http-404": ([Script("status", status=404)], ErrorCode.LLM_REJECTED, 0.0),
    "reset-mid-stream": ([Script("reset_mid_stream")], ErrorCode.LLM_UNREACHABLE, 0.0),
    "malformed-sse": ([Script("malformed_sse")], ErrorCode.LLM_FAILED, 0.0),
}


def chat_for(server: LLMServer, monkeypatch: pytest.MonkeyPatch) -> TimedChat:
    monkeypatch.setenv("VOICED_FAULT_KEY", SECRET)
    endpoint = LlmEndpoint(base_url=server.base_url, model="m", api_key_env="VOICED_FAULT_KEY")
    return TimedChat(OpenAIChat(endpoint, TIMEOUTS))


def wall(rig: Rig, turn: int = 0) -> tuple[float, float | None, float]:
    """Wall-clock seconds of turn `turn`: (request sent, first piece, turn ended)."""
    chat = rig.chat
    assert isinstance(chat, TimedChat)
    call = chat.calls[turn]
    return call["requested"], call.get("first_piece"), rig.ended_wall[turn]


def two_turns(scripts: list[Script], monkeypatch: pytest.MonkeyPatch) -> tuple[Rig, LLMServer]:
    with LLMServer(list(scripts), default=Script("stream", text=NORMAL)) as server:
        rig = Rig(chat=chat_for(server, monkeypatch), timeouts=TIMEOUTS)
        rig.run(request().silence(1).extend(request()))
    return rig, server


@pytest.mark.parametrize("case", CASES)
def test_fault_ends_the_turn_in_time_with_speech_and_the_next_turn_works(
    case: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    scripts, outcome, seconds = CASES[case]
    caplog.set_level(logging.DEBUG)
    rig, server = two_turns(scripts, monkeypatch)
    first, second = rig.turns
    assert first.outcome == outcome
    requested, _, ended = wall(rig)
    took = ended - requested
    assert seconds * 0.8 - 0.05 <= took <= seconds * 1.2 + 0.3, f"{case} took {took:.2f} s"
    assert first.reply_text, "something must be said"
    if outcome != "ok":
        assert "language model" in " ".join(first.reply_text)
    assert second.outcome == "ok" and second.reply_text == [NORMAL]
    retried = outcome == "ok" and scripts[0].kind == "status"
    assert server.served == [s.kind for s in scripts] + ["stream"] * (1 + retried)
    assert SECRET not in caplog.text


def test_partial_reply_is_kept_before_the_error_message(monkeypatch: pytest.MonkeyPatch) -> None:
    rig, _ = two_turns(
        [Script("reset_mid_stream", text="Hello there. How can I help?")], monkeypatch
    )
    spoken = rig.turns[0].reply_text
    assert spoken[0] == "Hello there." and "can't reach my language model" in spoken[-1]


def test_429_with_retry_after_inside_the_deadline_is_retried(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rig, server = two_turns([Script("status", status=429, retry_after=0.6)], monkeypatch)
    first = rig.turns[0]
    assert first.outcome == "ok" and first.reply_text == [NORMAL]
    requested, first_piece, _ = wall(rig)
    assert first_piece is not None and 0.6 <= first_piece - requested < 1.2
    assert server.served[:2] == ["status", "stream"]


def test_429_asking_for_longer_than_the_deadline_fails_at_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rig, server = two_turns([Script("status", status=429, retry_after=30)], monkeypatch)
    first = rig.turns[0]
    assert first.outcome == ErrorCode.LLM_FAILED
    requested, _, ended = wall(rig)
    assert ended - requested < 0.5
    assert server.served[:2] == ["status", "stream"]  # the stream is the second turn's


def test_connection_refused_is_unreachable(monkeypatch: pytest.MonkeyPatch) -> None:
    endpoint = LlmEndpoint(base_url="http://127.0.0.1:9/v1", model="m")
    rig = Rig(chat=TimedChat(OpenAIChat(endpoint, TIMEOUTS)), timeouts=TIMEOUTS).run(request())
    turn = rig.turns[0]
    requested, _, ended = wall(rig)
    assert turn.outcome == ErrorCode.LLM_UNREACHABLE
    assert ended - requested < 1.0  # one quick retry, then the spoken error
    assert "can't reach my language model" in " ".join(turn.reply_text)
