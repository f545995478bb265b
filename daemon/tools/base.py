"""A tool the LLM may call, and the box of tools offered with each request."""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from daemon.llm.toolcalls import ToolCall

log = logging.getLogger(__name__)

MAX_RESULT_CHARS = 4000  # what goes back to the LLM from one call
_NAME = re.compile(r"[^A-Za-z0-9_-]")


def tool_name(name: str) -> str:
    """A name OpenAI-compatible servers accept (^[A-Za-z0-9_-]{1,64}$)."""
    return _NAME.sub("_", name)[:64] or "tool"


@dataclass(frozen=True)
class Tool:
    name: str
    description: str
    parameters: dict[str, Any]  # JSON Schema of the arguments object
    run: Callable[[dict[str, Any]], Awaitable[str]]
    timeout: float  # seconds for one call

    def schema(self) -> dict[str, Any]:
        return {
            "type": "function",
            "function": {
                "name": self.name,
                "description": self.description,
                "parameters": self.parameters,
            },
        }


class ToolSource(Protocol):
    """Tools found at run time (an MCP server): listed before the first request that needs them."""

    async def tools(self) -> list[Tool]: ...

    async def aclose(self) -> None:
        """Let go of what it holds open (at shutdown)."""
        ...


class ToolError(Exception):
    """A tool's own failure, with a message meant for the LLM."""


class Toolbox:
    def __init__(self, tools: Sequence[Tool] = (), sources: Sequence[ToolSource] = ()) -> None:
        self._fixed = list(tools)
        self._sources = list(sources)
        self._tools = {tool.name: tool for tool in self._fixed}

    async def refresh(self) -> None:
        """Asks each source for its tools (a source that fails offers none this time)."""
        found = list(self._fixed)
        for source in self._sources:
            found += await source.tools()
        self._tools = {tool.name: tool for tool in found}

    async def aclose(self) -> None:
        """Closes what the sources hold open (MCP connections); at shutdown."""
        for source in self._sources:
            await source.aclose()

    def schemas(self) -> list[dict[str, Any]]:
        return [tool.schema() for tool in self._tools.values()]

    def __bool__(self) -> bool:
        return bool(self._fixed or self._sources)

    async def call(self, call: ToolCall, budget: float | None = None) -> str:
        """Runs one call; every failure becomes an "error: ..." text the LLM can read."""
        started = time.monotonic()
        result = await self._call(call, budget)
        log.info(
            "tool %s -> %s (%.2f s)",
            call.name,
            _one_line(result, 80),
            time.monotonic() - started,
        )
        return result

    async def _call(self, call: ToolCall, budget: float | None) -> str:
        tool = self._tools.get(call.name)
        if tool is None:
            return f"error: there is no tool named {call.name[:64]!r}"
        try:
            arguments = call.parsed_arguments()
        except ValueError as exc:
            return f"error: the arguments are not a JSON object ({exc})"
        timeout = tool.timeout if budget is None else max(0.0, min(tool.timeout, budget))
        try:
            async with asyncio.timeout(timeout):
                return (await tool.run(arguments))[:MAX_RESULT_CHARS]
        except TimeoutError:
            return f"error: {tool.name} did not answer within {timeout:.1f} s"
        except ToolError as exc:
            return f"error: {_one_line(str(exc), 300)}"
        except Exception as exc:  # a tool must never end the turn: the LLM hears what failed
            log.warning("tool %s raised %s", tool.name, type(exc).__name__, exc_info=True)
            return f"error: {tool.name} failed ({type(exc).__name__}: {_one_line(str(exc), 200)})"


def _one_line(text: str, limit: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."
