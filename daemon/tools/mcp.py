"""The tools of MCP servers (the official `mcp` SDK), offered to the LLM.

Each server is a stdio command or a streamable HTTP URL (e.g. Home Assistant's MCP server, so the
LLM can switch the lights). Its tools are listed when a reply first needs them, filtered by
the allow-list and named `server__tool`. Every list and every call opens its own short
The connection stays open between calls (a stdio server is started once), owned by its own task
(daemon.tools.connection); a call that fails or runs past its deadline closes it, so a server
that is down or slow costs that one call an error the LLM reads, never the turn. A server that
failed to list is asked again only after RETRY_SECONDS, so a dead one does not add its deadline
to every reply.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from contextlib import AbstractAsyncContextManager, AsyncExitStack
from functools import partial
from typing import Any

from daemon.config import McpServerSettings
from daemon.tools.base import Tool, ToolError, tool_name
from daemon.tools.connection import Connection

log = logging.getLogger(__name__)

RETRY_SECONDS = 30.0
RELIST_SECONDS = 300.0
NO_SDK = "MCP servers need the mcp package: pip install 'voiced[mcp]'"


def _headers(settings: McpServerSettings) -> dict[str, str]:
    """HTTP headers from the environment; Authorization values without a scheme get Bearer."""
    headers = {}
    for header, variable in settings.headers_env.items():
        value = os.environ.get(variable)
        if value is None:
            log.warning("MCP header %s: $%s is not set", header, variable)
            continue
        bearer = header.lower() == "authorization" and " " not in value
        headers[header] = f"Bearer {value}" if bearer else value
    return headers


def _env(settings: McpServerSettings) -> dict[str, str]:
    return {name: os.environ[ours] for name, ours in settings.env.items() if ours in os.environ}


def _result_text(result: Any) -> str:
    parts = [getattr(block, "text", None) or f"[{block.type}]" for block in result.content]
    text = "\n".join(parts) or "(no output)"
    if result.is_error:
        raise ToolError(text)
    return text


class McpServer:
    """One configured server as a ToolSource (daemon.tools.base)."""

    def __init__(self, name: str, settings: McpServerSettings) -> None:
        self.name = name
        self.settings = settings
        self._tools: list[Tool] = []
        self._listed_at: float | None = None
        self._failed_at: float | None = None
        self._connection = Connection(name, self._client)

    async def aclose(self) -> None:
        await self._connection.aclose()

    def _client(self, stack: AsyncExitStack) -> AbstractAsyncContextManager[Any]:
        try:
            import httpx2
            from mcp import Client, StdioServerParameters
            from mcp.client.streamable_http import streamable_http_client
        except ImportError as exc:
            raise ToolError(NO_SDK) from exc
        s = self.settings
        if s.command:
            command, *args = s.command
            return Client(StdioServerParameters(command=command, args=args, env=_env(s) or None))
        assert s.url is not None  # the config allows exactly one of command and url
        http = httpx2.AsyncClient(headers=_headers(s), timeout=s.timeout_seconds)
        stack.push_async_callback(http.aclose)
        return Client(streamable_http_client(s.url, http_client=http))

    async def tools(self) -> list[Tool]:
        now = time.monotonic()
        fresh = self._listed_at is not None and now - self._listed_at < RELIST_SECONDS
        resting = self._failed_at is not None and now - self._failed_at < RETRY_SECONDS
        if fresh or resting:
            return self._tools
        try:
            async with asyncio.timeout(self.settings.list_timeout_seconds):
                listed = await self._list()
        except Exception as exc:  # down, slow, or not an MCP server: no tools from it now
            self._failed_at = now
            log.warning("MCP server %s: cannot list tools (%s)", self.name, _why(exc))
            return self._tools
        self._tools, self._listed_at, self._failed_at = listed, now, None
        log.info("MCP server %s offers %s", self.name, ", ".join(t.name for t in listed) or "none")
        return listed

    async def _list(self) -> list[Tool]:
        result = await self._connection.run(lambda client: client.list_tools())
        allow = self.settings.allow
        return [
            Tool(
                tool_name(f"{self.name}__{t.name}"),
                (t.description or t.name)[:1000],
                t.input_schema or {"type": "object", "properties": {}},
                partial(self._call, t.name),
                self.settings.timeout_seconds,
            )
            for t in result.tools
            if allow is None or t.name in allow
        ]

    async def _call(self, tool: str, arguments: dict[str, Any]) -> str:
        """One call on the open connection (the Toolbox puts the deadline around it)."""
        try:
            result = await self._connection.run(lambda client: client.call_tool(tool, arguments))
        except ToolError:
            raise
        except Exception as exc:
            raise ToolError(f"MCP server {self.name}: {_why(exc)}") from exc
        return _result_text(result)


def _why(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "no answer in time"
    if isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        return _why(exc.exceptions[0])
    return f"{type(exc).__name__}: {exc}"[:200]


def mcp_sources(servers: dict[str, McpServerSettings]) -> list[McpServer]:
    return [McpServer(name, settings) for name, settings in servers.items()]
