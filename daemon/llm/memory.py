"""Conversation memory: the last few exchanges, within a token budget, forgotten when idle.

The system prompt is not stored here: it is always sent first, whatever the budget. What is
stored for the assistant is what was actually spoken (a reply cut short is remembered cut short).
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from daemon.llm.base import Message


def estimate_tokens(text: str) -> int:
    """A cheap, tokenizer-free estimate: ~1 token per CJK character, ~4 Latin characters per token.

    Good enough to keep a prompt inside a budget; it errs on the generous side for Chinese.
    """
    cjk = sum(1 for ch in text if "\u3000" <= ch <= "\u9fff" or "\uf900" <= ch <= "\uffef")
    return cjk + (len(text) - cjk + 3) // 4 + 4  # + per-message overhead


@dataclass(frozen=True, slots=True)
class Exchange:
    user: str
    assistant: str


class Memory:
    def __init__(
        self,
        max_turns: int,
        max_tokens: int,
        idle_reset_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._exchanges: deque[Exchange] = deque(maxlen=max(max_turns, 1))
        self._keep = max_turns
        self._max_tokens = max_tokens
        self._idle_reset = idle_reset_seconds
        self._clock = clock
        self._last_used = clock()

    def __len__(self) -> int:
        self._expire()
        return len(self._exchanges)

    def configure(self, max_turns: int, max_tokens: int, idle_reset_seconds: float) -> None:
        """Apply a reloaded persona's limits, keeping the newest exchanges that still fit."""
        self._exchanges = deque(
            list(self._exchanges)[-max_turns:] if max_turns else [], maxlen=max(max_turns, 1)
        )
        self._keep, self._max_tokens, self._idle_reset = max_turns, max_tokens, idle_reset_seconds

    def _expire(self) -> None:
        if self._clock() - self._last_used > self._idle_reset:
            self._exchanges.clear()

    def forget(self) -> None:
        self._exchanges.clear()

    def remember(self, user: str, assistant: str) -> None:
        self._expire()
        if self._keep > 0 and assistant.strip():
            self._exchanges.append(Exchange(user, assistant))
        self._last_used = self._clock()

    def messages(self, system_prompt: str, request: str) -> list[Message]:
        """System prompt, then as many recent exchanges as fit the budget, then the request."""
        self._expire()
        budget = self._max_tokens - estimate_tokens(system_prompt) - estimate_tokens(request)
        history: list[Message] = []
        for exchange in reversed(self._exchanges):
            cost = estimate_tokens(exchange.user) + estimate_tokens(exchange.assistant)
            if cost > budget:
                break
            budget -= cost
            history[:0] = [
                {"role": "user", "content": exchange.user},
                {"role": "assistant", "content": exchange.assistant},
            ]
        return [
            {"role": "system", "content": system_prompt},
            *history,
            {"role": "user", "content": request},
        ]
