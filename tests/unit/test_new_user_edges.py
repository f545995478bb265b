"""The rough edges a new user hit: the LLM's own error text, journald priorities, progress with
rate and ETA, 'fetch chattts' fetching only ChatTTS, readable stats and history, typed chat."""

from __future__ import annotations

import argparse
import asyncio
import io
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import httpx2 as httpx
import openai
import pytest
from hypothesis import given
from hypothesis import strategies as st

from daemon.chat import TextChat
from daemon.cli import fetch_plan
from daemon.config import LlmTimeouts, Persona
from daemon.errors import ErrorCode, StageError
from daemon.llm.base import Message
from daemon.llm.openai_chat import classify, public_url, server_text
from daemon.llm.responder import Responder
from daemon.logfmt import JournalFormatter, priority
from daemon.models.progress import Progress, plural
from daemon.tts.text import join_sentences
from daemon.turnlog import history_lines, read_turns, stats_table

URL = "http://127.0.0.1:11434/v1"


def status_error(status: int, body: object) -> openai.APIStatusError:
    request = httpx.Request("POST", URL + "/chat/completions")
    response = httpx.Response(status, request=request, json=body)
    return openai.APIStatusError("error", response=response, body=body)


SERVER_BODIES = {
    "openai": ({"error": {"message": "Incorrect API key provided"}}, "Incorrect API key provided"),
    "ollama": (
        {"error": {"message": 'model "qwen2.5" not found, try pulling it first'}},
        'model "qwen2.5" not found, try pulling it first',
    ),
    "plain error string": ({"error": "model not loaded"}, "model not loaded"),
    "fastapi detail": ({"detail": "Not Found"}, "Not Found"),
    "multi-line": ({"message": "line one\nline two\r\n"}, "line one line two"),
    "no message": ({"error": {"code": 7}}, ""),
    "not a mapping": ([1, 2], ""),
}


@pytest.mark.parametrize("case", SERVER_BODIES)
def test_server_text_from_every_error_shape(case: str) -> None:
    body, expected = SERVER_BODIES[case]
    assert server_text(body) == expected


def test_rejection_names_url_quotes_server_and_hides_the_key() -> None:
    key = "sk-abcdef123456"
    body = {"error": {"message": f"key {key} is not valid for model x"}}
    err = classify(status_error(401, body), URL, key)
    assert err.code is ErrorCode.LLM_UNAUTHORIZED
    assert err.detail == f"HTTP 401 from the LLM server at {URL}: key *** is not valid for model x"
    request = httpx.Request("POST", URL)
    down = classify(openai.APIConnectionError(request=request), URL)
    assert down.detail == f"cannot reach the LLM server at {URL}"


@given(st.text(max_size=2000))
def test_server_text_is_one_bounded_line(text: str) -> None:
    said = server_text({"error": {"message": text}})
    assert "\n" not in said and "\r" not in said and len(said) <= 200


def test_public_url_drops_credentials() -> None:
    assert public_url("http://user:pw@gpu.lan:8000/v1") == "http://gpu.lan:8000/v1"
    assert public_url(URL) == URL


def test_journal_lines_carry_syslog_priorities() -> None:
    assert [priority(level) for level in (10, 20, 30, 40, 50, 25, 5)] == [7, 6, 4, 3, 2, 6, 7]
    record = logging.LogRecord("daemon.x", logging.WARNING, "", 0, "LLM %s", ("down",), None)
    assert JournalFormatter("%(levelname)s %(name)s: %(message)s").format(record) == (
        "<4>WARNING daemon.x: LLM down"
    )


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_shows_rate_and_eta_on_a_terminal_and_tenths_in_a_log() -> None:
    now = [0.0]
    tty = FakeTerminal()
    bar = Progress("model.pt", 100_000_000, out=tty, clock=lambda: now[0])
    now[0] = 2.0
    bar.update(20_000_000)
    assert bar.line() == "model.pt: 20.0/100.0 MB  20%, 10.0 MB/s, ETA 0:08"
    bar.finish()
    assert tty.getvalue().endswith("ETA 0:08\x1b[K\n")
    log = io.StringIO()
    plain = Progress("big", 1000, out=log, clock=lambda: now[0])
    for _ in range(100):
        plain.update(10)
    assert len(log.getvalue().splitlines()) == 10
    assert plural(1, "file") == "1 file" and plural(3, "file") == "3 files"


def test_fetch_chattts_alone_never_plans_funasr(tmp_path: Path) -> None:
    config = Path(__file__).resolve().parents[2] / "config" / "voiced.yaml"
    args = argparse.Namespace(
        what=["chattts"], names=None, models_dir=str(tmp_path), config=str(config), profile=None
    )
    assert fetch_plan(args) == (tmp_path, {"chattts": []})


def test_sentences_join_without_spaces_between_chinese() -> None:
    assert join_sentences(["你好。", "现在几点？"]) == "你好。现在几点？"
    assert join_sentences(["Hello.", "How are you?"]) == "Hello. How are you?"
    assert join_sentences(["OK.", "好的。", ""]) == "OK. 好的。"


def test_stats_table_and_history_read_like_a_report(tmp_path: Path) -> None:
    summary = {
        "turns": 3,
        "outcomes": {"ok": 2, "llm-timeout": 1},
        "timings_ms": {"voice_to_voice_ms": {"p50": 812.4, "p95": 1500.0, "n": 2}},
    }
    table = stats_table(summary).splitlines()
    assert table[0] == "turns: 3 (llm-timeout 1, ok 2)"
    assert table[2].split() == ["voice", "to", "voice", "812", "1500", "2"]
    log = tmp_path / "turns.jsonl"
    log.write_text(
        '{"time": 0, "outcome": "ok", "asr_text": "现在几点", "reply_text": ["现在是。", "好。"],'
        ' "timings": {"voice_to_voice_ms": 640.2}}\n{broken\n'
    )
    [line] = history_lines(read_turns(log, 10))
    assert "现在几点  ->  现在是。好。" in line and "v2v   640 ms" in line
    assert read_turns(tmp_path / "absent.jsonl", 5) == []


class ScriptedChat:
    name = "m"

    def __init__(self, fail_after: int | None = None) -> None:
        self.seen: list[list[Message]] = []
        self._fail_after = fail_after

    async def stream(
        self, messages: list[Message], *, temperature: float, max_tokens: int
    ) -> AsyncIterator[str]:
        self.seen.append(messages)
        for n, piece in enumerate(["Sure, ", "here."]):
            if self._fail_after is not None and n >= self._fail_after:
                raise StageError(ErrorCode.LLM_UNREACHABLE, f"cannot reach the LLM server at {URL}")
            yield piece


PERSONA = Persona(name="小智", language="zh", system_prompt="你是小智。")


def test_typed_chat_remembers_and_answers_intents_in_mandarin() -> None:
    chat_model = ScriptedChat()
    chat = TextChat(Responder(chat_model, LlmTimeouts(), PERSONA), lambda: PERSONA)

    async def go() -> list[str]:
        return [(await chat.ask(text)).reply for text in ("讲个笑话", "现在几点", "再来一个")]

    first, time_reply, _ = asyncio.run(go())
    assert first == "Sure, here." and time_reply.startswith("现在是")
    assert {"role": "assistant", "content": "Sure, here."} in chat_model.seen[1]
    assert len(chat_model.seen) == 2, "the time is a local intent"


def test_typed_chat_keeps_what_was_said_before_a_failure() -> None:
    chat = TextChat(Responder(ScriptedChat(fail_after=1), LlmTimeouts(), PERSONA), lambda: PERSONA)
    turn = asyncio.run(chat.ask("讲个笑话"))
    assert turn.outcome == "llm-unreachable" and URL in (turn.detail or "")
    assert turn.reply == "Sure, 我现在连不上语言模型。"
