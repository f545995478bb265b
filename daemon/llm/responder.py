"""Where a reply comes from: a local intent, else the chat model with the persona's prompt."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime

from daemon.config import LlmTimeouts, Persona
from daemon.errors import ErrorCode, StageError
from daemon.llm.base import ChatModel, Message
from daemon.llm.deadline import with_deadlines
from daemon.llm.intents import match_intent


@dataclass
class Reply:
    source: str  # "intent:time", "llm:<model>", ...
    pieces: AsyncIterator[str]  # text as it is produced; empty for a silent reply

    @property
    def from_llm(self) -> bool:
        return self.source.startswith("llm:")


async def _once(text: str | None) -> AsyncIterator[str]:
    if text:
        yield text


class Responder:
    def __init__(self, chat: ChatModel | None, timeouts: LlmTimeouts) -> None:
        self._chat = chat
        self._timeouts = timeouts

    def reply(self, request: str, persona: Persona, now: datetime | None = None) -> Reply:
        """The reply to `request`; raises StageError(llm-not-configured) with no LLM."""
        intent = match_intent(request, persona.language, now or datetime.now())
        if intent is not None:
            return Reply(f"intent:{intent.intent}", _once(intent.text))
        if self._chat is None:
            raise StageError(ErrorCode.LLM_NOT_CONFIGURED, "no LLM endpoint is configured")
        messages: list[Message] = [
            {"role": "system", "content": persona.system_prompt},
            {"role": "user", "content": request},
        ]
        tokens = self._chat.stream(
            messages, temperature=persona.llm.temperature, max_tokens=persona.llm.max_tokens
        )
        pieces = with_deadlines(
            tokens, self._timeouts.first_token_seconds, self._timeouts.total_seconds
        )
        return Reply(f"llm:{self._chat.name}", pieces)
