"""Tool calls through the real client against the local OpenAI-compatible server.

Each server's way of streaming tool calls (vLLM, llama.cpp --jinja, Ollama) runs through the
same code: the call is joined, carried out, its result goes back to the LLM, and the person
hears the final words. Tools that raise or hang end in an error the LLM reads, within the
deadlines.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import pytest

from daemon.audio.gain import Volume
from daemon.config import LlmEndpoint, LlmTimeouts
from daemon.errors import ErrorCode, StageError
from daemon.intents.actions import Actions
from daemon.intents.ringer import Ringer
from daemon.intents.store import Store
from daemon.llm.openai_chat import OpenAIChat
from daemon.llm.responder import Responder
from daemon.tools.base import Tool, Toolbox
from daemon.tools.local import local_tools
from tests.fixtures.fakes import PERSONA
from tests.fixtures.llm_server import LLMServer, Script

TIMEOUTS = LlmTimeouts(connect_seconds=1.0, first_token_seconds=2.0, total_seconds=4.0)
FLAVORS = ["vllm", "llamacpp", "ollama"]
PASTA = ("set_timer", json.dumps({"seconds": 300, "name": "pasta"}))


def actions_in(tmp_path: Path) -> Actions:
    store = Store(tmp_path / "reminders.sqlite3")
    return Actions(Ringer(store, time.time, lambda: "en"), Volume(store))


def responder(server: LLMServer, toolbox: Toolbox, timeouts: LlmTimeouts = TIMEOUTS) -> Responder:
    chat = OpenAIChat(LlmEndpoint(base_url=server.base_url, model="test-model"), timeouts)
    return Responder(chat, timeouts, PERSONA, tools=toolbox)


async def spoken(reply_pieces: Any) -> str:
    return "".join([piece async for piece in reply_pieces])


def hear(server: LLMServer, toolbox: Toolbox, request: str) -> str:
    async def run() -> str:
        return await spoken(responder(server, toolbox).reply(request, PERSONA).pieces)

    return asyncio.run(run())


@pytest.mark.parametrize("flavor", FLAVORS)
def test_a_streamed_tool_call_is_carried_out_and_answered(tmp_path: Path, flavor: str) -> None:
    actions = actions_in(tmp_path)
    toolbox = Toolbox(local_tools(actions, lambda: "en", 1.0))
    scripts = [
        Script("tool_calls", calls=(PASTA,), flavor=flavor, preamble="Sure. "),
        Script("stream", text="Your pasta timer is running."),
    ]
    with LLMServer(scripts) as server:
        words = hear(server, toolbox, "time my pasta, five minutes")
    assert words == "Sure. Your pasta timer is running."
    (timer,) = actions.store.open()
    assert (timer.kind, timer.name, timer.seconds) == ("timer", "pasta", 300)
    offered = {tool["function"]["name"] for tool in server.requests[0]["tools"]}
    assert {"set_timer", "set_alarm", "cancel_timer", "list_timers", "set_volume"} <= offered
    assistant, result = server.requests[1]["messages"][-2:]
    (call,) = assistant["tool_calls"]
    assert json.loads(call["function"]["arguments"]) == {"seconds": 300, "name": "pasta"}
    assert result == {
        "role": "tool",
        "tool_call_id": call["id"],
        "content": "OK, pasta timer for 5 minutes.",
    }


@pytest.mark.parametrize("flavor", FLAVORS)
def test_parallel_calls_are_joined_per_index(tmp_path: Path, flavor: str) -> None:
    actions = actions_in(tmp_path)
    toolbox = Toolbox(local_tools(actions, lambda: "en", 1.0))
    calls = (PASTA, ("set_volume", json.dumps({"level": 4})))
    scripts = [Script("tool_calls", calls=calls, flavor=flavor), Script("stream", text="Done.")]
    with LLMServer(scripts) as server:
        assert hear(server, toolbox, "pasta timer and volume four") == "Done."
    results = [m["content"] for m in server.requests[1]["messages"] if m["role"] == "tool"]
    assert results == ["OK, pasta timer for 5 minutes.", "Volume 4."]
    assert actions.volume.level == 4


def failing_tools(timeout: float) -> Toolbox:
    async def explode(arguments: dict[str, Any]) -> str:
        raise RuntimeError("the bulb is on fire")

    async def hang(arguments: dict[str, Any]) -> str:
        await asyncio.sleep(3600)
        return "never"

    empty = {"type": "object", "properties": {}}
    return Toolbox(
        [
            Tool("explode", "Fails.", empty, explode, timeout),
            Tool("hang", "Hangs.", empty, hang, timeout),
        ]
    )


@pytest.mark.parametrize(
    ("tool", "error"),
    [
        ("explode", "error: explode failed (RuntimeError: the bulb is on fire)"),
        ("hang", "error: hang did not answer within 0.5 s"),
        ("nonexistent", "error: there is no tool named 'nonexistent'"),
    ],
)
def test_a_failing_tool_is_an_error_the_llm_reads(tool: str, error: str) -> None:
    scripts = [
        Script("tool_calls", calls=((tool, "{}"),)),
        Script("stream", text="Sorry, that did not work."),
    ]
    started = time.monotonic()
    with LLMServer(scripts) as server:
        assert hear(server, failing_tools(0.5), "do it") == "Sorry, that did not work."
    assert time.monotonic() - started < TIMEOUTS.total_seconds
    assert server.requests[1]["messages"][-1]["content"] == error


def test_bad_arguments_are_an_error_the_llm_reads(tmp_path: Path) -> None:
    toolbox = Toolbox(local_tools(actions_in(tmp_path), lambda: "en", 1.0))
    scripts = [
        Script("tool_calls", calls=(("set_timer", '{"seconds": "soon"'),)),
        Script("tool_calls", calls=(("set_alarm", '{"time": "25:99"}'),)),
        Script("stream", text="I could not set it."),
    ]
    with LLMServer(scripts) as server:
        assert hear(server, toolbox, "set a timer") == "I could not set it."
    first, second = (r["messages"][-1]["content"] for r in server.requests[1:])
    assert first.startswith("error: the arguments are not a JSON object")
    assert second == "error: time must be HH:MM on a 24-hour clock, e.g. 07:30"


def test_the_total_deadline_covers_the_tool_round_trip() -> None:
    timeouts = LlmTimeouts(connect_seconds=0.5, first_token_seconds=1.0, total_seconds=1.0)
    scripts = [Script("tool_calls", calls=(("hang", "{}"),)), Script("stream", text="late")]

    async def run(server: LLMServer) -> None:
        await spoken(responder(server, failing_tools(30.0), timeouts).reply("go", PERSONA).pieces)

    started = time.monotonic()
    with LLMServer(scripts) as server, pytest.raises(StageError) as failure:
        asyncio.run(run(server))
    assert failure.value.code == ErrorCode.LLM_TIMEOUT
    assert time.monotonic() - started < 1.6


def test_the_last_round_offers_no_tools(tmp_path: Path) -> None:
    toolbox = Toolbox(local_tools(actions_in(tmp_path), lambda: "en", 1.0))
    again = Script("tool_calls", calls=(("list_timers", "{}"),))
    with LLMServer([again] * 3, default=Script("stream", text="No timers.")) as server:
        assert hear(server, toolbox, "what timers") == "No timers."
    assert ["tools" in r for r in server.requests] == [True, True, True, False]


def test_a_slowly_streamed_tool_call_meets_the_first_token_deadline(tmp_path: Path) -> None:
    """Fragments every 0.4 s for longer than the first-token deadline: still one good call."""
    timeouts = LlmTimeouts(connect_seconds=1.0, first_token_seconds=1.0, total_seconds=6.0)
    arguments = json.dumps({"seconds": 60, "name": "a rather long name for a timer"})
    actions = actions_in(tmp_path)
    toolbox = Toolbox(local_tools(actions, lambda: "en", 1.0))
    scripts = [
        Script("tool_calls", calls=(("set_timer", arguments),), token_interval=0.4),
        Script("stream", text="Started."),
    ]

    async def run(server: LLMServer) -> str:
        return await spoken(responder(server, toolbox, timeouts).reply("go", PERSONA).pieces)

    with LLMServer(scripts) as server:
        assert asyncio.run(run(server)) == "Started."
    assert [r.name for r in actions.store.open()] == ["a rather long name for a timer"]
