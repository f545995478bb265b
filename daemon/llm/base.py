"""The chat model interface."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Protocol, TypedDict


class Message(TypedDict):
    role: str  # "system" | "user" | "assistant"
    content: str


class ChatModel(Protocol):
    name: str

    def stream(
        self, messages: list[Message], *, temperature: float, max_tokens: int
    ) -> AsyncIterator[str]:
        """Reply text as it is generated. Failures are raised as StageError (llm-* codes).

        No deadlines here: daemon.llm.deadline enforces them over the whole stream.
        """
        ...
