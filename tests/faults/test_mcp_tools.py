"""MCP servers' tools through the real client: a tiny server built with the SDK, run as a stdio
subprocess and over streamable HTTP; the LLM is the local OpenAI-compatible test server.

A tool that raises, a server that hangs and a server that is down each end that call (or that
server's offer) with an error, and the reply still ends in the LLM's words within the deadline.
"""

from __future__ import annotations

import asyncio
import json
import socket
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("mcp")

from daemon.config import LlmEndpoint, LlmTimeouts, McpServerSettings  # noqa: E402
from daemon.llm.openai_chat import OpenAIChat  # noqa: E402
from daemon.llm.responder import Responder  # noqa: E402
from daemon.tools.base import Toolbox  # noqa: E402
from daemon.tools.mcp import McpServer  # noqa: E402
from tests.fixtures.fakes import PERSONA  # noqa: E402
from tests.fixtures.llm_server import LLMServer, Script  # noqa: E402

SERVER = Path(__file__).parents[1] / "fixtures" / "mcp_server.py"
# Each list and call starts the stdio server anew: seconds on a loaded 2-core machine.
TIMEOUTS = LlmTimeouts(connect_seconds=1.0, first_token_seconds=3.0, total_seconds=60.0)
STARTUP = 25.0
ALLOW = ["lights", "broken", "slow", "pid"]


def stdio(timeout: float = STARTUP, **extra: Any) -> McpServerSettings:
    return McpServerSettings(
        command=[sys.executable, "-P", str(SERVER)],  # -P: tests/fixtures/http.py is not http
        env={"MCP_TEST_STATE": "VOICED_TEST_MCP_STATE", "MCP_TEST_SLOW": "VOICED_TEST_MCP_SLOW"},
        allow=ALLOW,
        timeout_seconds=timeout,
        list_timeout_seconds=STARTUP,
        **extra,
    )


def hear(server: LLMServer, toolbox: Toolbox, max_rounds: int = 3) -> str:
    chat = OpenAIChat(LlmEndpoint(base_url=server.base_url, model="test-model"), TIMEOUTS)
    responder = Responder(chat, TIMEOUTS, PERSONA, tools=toolbox, tool_rounds=max_rounds)

    async def run() -> str:
        try:
            return "".join([p async for p in responder.reply("do it", PERSONA).pieces])
        finally:
            await toolbox.aclose()

    return asyncio.run(run())


def offered(server: LLMServer) -> set[str]:
    return {t["function"]["name"] for t in server.requests[0].get("tools", [])}


def test_a_stdio_server_switches_the_light(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    state = tmp_path / "light.json"
    monkeypatch.setenv("VOICED_TEST_MCP_STATE", str(state))
    call = ("home__lights", json.dumps({"room": "kitchen", "on": True}))
    scripts = [Script("tool_calls", calls=(call,)), Script("stream", text="The light is on.")]
    with LLMServer(scripts) as llm:
        assert hear(llm, Toolbox(sources=[McpServer("home", stdio())])) == "The light is on."
    assert offered(llm) == {"home__lights", "home__broken", "home__slow", "home__pid"}  # no secret
    assert llm.requests[1]["messages"][-1]["content"] == "The kitchen light is on."
    assert json.loads(state.read_text()) == {"room": "kitchen", "on": True}
    schema = next(t for t in llm.requests[0]["tools"] if t["function"]["name"] == "home__lights")
    assert set(schema["function"]["parameters"]["properties"]) == {"room", "on"}


def test_a_tool_that_raises_is_an_error_the_llm_reads() -> None:
    scripts = [
        Script("tool_calls", calls=(("home__broken", "{}"),)),
        Script("stream", text="Sorry."),
    ]
    with LLMServer(scripts) as llm:
        assert hear(llm, Toolbox(sources=[McpServer("home", stdio())])) == "Sorry."
    assert llm.requests[1]["messages"][-1]["content"] == "error: Error executing tool broken"


def test_a_hanging_server_ends_the_call_at_its_deadline() -> None:
    scripts = [Script("tool_calls", calls=(("home__slow", "{}"),)), Script("stream", text="Slow.")]
    started = time.monotonic()
    with LLMServer(scripts) as llm:
        assert hear(llm, Toolbox(sources=[McpServer("home", stdio(timeout=4.0))])) == "Slow."
    took = time.monotonic() - started
    assert (
        llm.requests[1]["messages"][-1]["content"]
        == "error: home__slow did not answer within 4.0 s"
    )
    assert took < TIMEOUTS.total_seconds


def test_the_connection_is_kept_and_renewed_after_a_hang() -> None:
    pid, slow = ("home__pid", "{}"), ("home__slow", "{}")
    scripts = [Script("tool_calls", calls=(pid,)), Script("tool_calls", calls=(pid,))]
    scripts += [Script("tool_calls", calls=(slow,)), Script("tool_calls", calls=(pid,))]
    with LLMServer([*scripts, Script("stream", text="Done.")]) as llm:
        # 10 s: a call's deadline, and also enough to start the server again on a busy machine
        assert hear(llm, Toolbox(sources=[McpServer("home", stdio(timeout=10.0))]), 4) == "Done."
    results = [r["messages"][-1]["content"] for r in llm.requests[1:]]
    first, second, hung, third = results
    assert first == second  # one server process for both calls
    assert hung.startswith("error: home__slow did not answer")
    assert third.isdigit() and third != first  # the hung server was replaced


@pytest.mark.parametrize(
    "settings",
    [
        McpServerSettings(command=[sys.executable, "-c", "pass"], timeout_seconds=3.0),
        McpServerSettings(command=["/nonexistent/mcp-server"], timeout_seconds=3.0),
        McpServerSettings(url="http://127.0.0.1:9/mcp", timeout_seconds=3.0),
    ],
    ids=["exits-at-once", "no-such-program", "nothing-listening"],
)
def test_a_server_that_is_down_offers_nothing_and_the_reply_goes_on(
    settings: McpServerSettings, caplog: pytest.LogCaptureFixture
) -> None:
    with LLMServer([Script("stream", text="I can't reach the house.")]) as llm:
        assert (
            hear(llm, Toolbox(sources=[McpServer("home", settings)])) == "I can't reach the house."
        )
    assert "tools" not in llm.requests[0]
    assert "MCP server home: cannot list tools" in caplog.text


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def http_server() -> Iterator[tuple[str, list[str]]]:
    """The same MCP server over streamable HTTP (uvicorn in a thread); records Authorization."""
    import uvicorn

    sys.path.insert(0, str(SERVER.parent))
    try:
        from mcp_server import server  # type: ignore[import-not-found]
    finally:
        sys.path.pop(0)
    app, seen = server.streamable_http_app(), []

    async def recording(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            seen.append(dict(scope["headers"]).get(b"authorization", b"").decode())
        await app(scope, receive, send)

    port = free_port()
    config = uvicorn.Config(
        recording, host="127.0.0.1", port=port, log_level="warning", lifespan="on"
    )
    web = uvicorn.Server(config)
    thread = threading.Thread(target=web.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not web.started and time.monotonic() < deadline:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}/mcp", seen
    web.should_exit = True
    thread.join(5)


def test_a_streamable_http_server_with_a_key_from_the_environment(
    http_server: tuple[str, list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, seen = http_server
    monkeypatch.setenv("VOICED_TEST_MCP_KEY", "k-123")
    settings = McpServerSettings(
        url=url, headers_env={"Authorization": "VOICED_TEST_MCP_KEY"}, allow=["lights"]
    )
    call = ("house__lights", json.dumps({"room": "hall", "on": False}))
    scripts = [Script("tool_calls", calls=(call,)), Script("stream", text="Hall light off.")]
    with LLMServer(scripts) as llm:
        assert hear(llm, Toolbox(sources=[McpServer("house", settings)])) == "Hall light off."
    assert offered(llm) == {"house__lights"}
    assert llm.requests[1]["messages"][-1]["content"] == "The hall light is off."
    assert seen and all(value == "Bearer k-123" for value in seen)
