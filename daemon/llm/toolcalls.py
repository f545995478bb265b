"""Tool calls streamed by OpenAI-compatible servers, joined into whole calls.

Servers stream them differently: vLLM and llama.cpp (`--jinja`) send the id and name first and
then the arguments in fragments, each tagged with the call's index; Ollama sends each call whole
in one chunk, some versions without an index and with finish_reason "stop". Fragments are
joined per index; a fragment carrying a new id at an index already holding a named call starts
another call (Ollama numbering every call 0).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

MAX_ARGUMENT_CHARS = 16_000  # an LLM's arguments cross a trust boundary: bounded


@dataclass(frozen=True, slots=True)
class ToolCall:
    id: str
    name: str
    arguments: str  # JSON text as the model wrote it

    def parsed_arguments(self) -> dict[str, Any]:
        """The arguments as a dict; raises ValueError when they are not a JSON object."""
        value = json.loads(self.arguments or "{}")
        if not isinstance(value, dict):
            raise ValueError("arguments are not a JSON object")
        return value


@dataclass
class _Partial:
    id: str = ""
    name: str = ""
    arguments: list[str] = field(default_factory=list)
    size: int = 0


class ToolCallJoiner:
    def __init__(self) -> None:
        self._calls: list[_Partial] = []
        self._by_index: dict[int, _Partial] = {}

    def add(self, delta: Any) -> None:
        """One `choices[0].delta.tool_calls[i]` object (SDK model or dict-like)."""
        index = _get(delta, "index")
        call_id = _get(delta, "id") or ""
        function = _get(delta, "function")
        name = (_get(function, "name") or "") if function is not None else ""
        fragment = (_get(function, "arguments") or "") if function is not None else ""
        partial = self._slot(index, call_id)
        partial.id = partial.id or call_id
        partial.name = partial.name or name
        if partial.size + len(fragment) > MAX_ARGUMENT_CHARS:
            raise ValueError(f"tool call arguments longer than {MAX_ARGUMENT_CHARS} characters")
        partial.arguments.append(fragment)
        partial.size += len(fragment)

    def _slot(self, index: int | None, call_id: str) -> _Partial:
        key = -1 if index is None else int(index)
        current = self._by_index.get(key)
        if current is not None and call_id and current.id and current.id != call_id:
            current = None  # the index (or no index at all) reused for another call
        if current is None:
            current = _Partial()
            self._calls.append(current)
            self._by_index[key] = current
        return current

    def calls(self) -> list[ToolCall]:
        """Whole calls in the order they began; ids made up where a server sent none."""
        return [
            ToolCall(p.id or f"call_{n}", p.name, "".join(p.arguments))
            for n, p in enumerate(self._calls)
            if p.name
        ]


def _get(obj: Any, key: str) -> Any:
    if isinstance(obj, dict):
        return obj.get(key)
    return getattr(obj, key, None)
