"""Wiring: the toolbox offered to the LLM, from voiced.yaml's tools section."""

from __future__ import annotations

from collections.abc import Callable

from daemon.config import ToolSettings
from daemon.intents.actions import Actions
from daemon.tools.base import Tool, Toolbox, ToolSource
from daemon.tools.local import local_tools


def make_toolbox(
    settings: ToolSettings, actions: Actions | None, language: Callable[[], str]
) -> Toolbox | None:
    """The local actions (if enabled) and every MCP server's tools; None when there are none."""
    tools: list[Tool] = []
    if settings.enabled and actions is not None:
        tools = local_tools(actions, language, settings.call_timeout_seconds)
    sources: list[ToolSource] = []
    if settings.mcp_servers:
        from daemon.tools.mcp import mcp_sources  # the SDK is imported only when one is used

        sources = list(mcp_sources(settings.mcp_servers))
    return Toolbox(tools, sources) if tools or sources else None
