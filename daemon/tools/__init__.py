"""Actions the LLM can take: OpenAI-style tools from the local actions and from MCP servers.

base.py   Tool, Toolbox (schemas for the request; one call with a deadline, errors as text)
local.py  timers, alarms and volume as tools (the same code as the local intents)
mcp.py    the tools of MCP servers (the official SDK), allow-listed, each call bounded
loop.py   one reply: stream, run the tools the model asked for, send results, speak the end
"""
