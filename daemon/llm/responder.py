"""Where a reply comes from: a local intent, else the chat model with persona and memory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from daemon.config import LlmTimeouts, Persona
from daemon.errors import ErrorCode, StageError
from daemon.intents.actions import Actions
from daemon.llm.base import ChatModel
from daemon.llm.deadline import with_deadlines
from daemon.llm.intents import match_intent
from daemon.llm.memory import Memory
from daemon.tools.base import Toolbox
from daemon.tools.loop import ToolChatModel, reply_with_tools


class Source(StrEnum):
    """Where a reply comes from: the first half of its label ("intent:time", "llm:qwen")."""

    INTENT = "intent"
    LLM = "llm"


STOP = f"{Source.INTENT}:stop"
FORGET = f"{Source.INTENT}:forget"


@dataclass
class Reply:
    source: str  # "<Source>:<intent or model name>", as the turn line shows it
    pieces: AsyncIterator[str]  # text as it is produced; empty for a silent reply

    @property
    def kind(self) -> Source:
        return Source(self.source.partition(":")[0])

    @property
    def from_llm(self) -> bool:
        return self.kind is Source.LLM

    @property
    def ends_conversation(self) -> bool:
        """"Stop": no follow-up window after it."""
        return self.source == STOP


async def _once(text: str | None) -> AsyncIterator[str]:
    if text:
        yield text


class Responder:
    def __init__(
        self,
        chat: ChatModel | None,
        timeouts: LlmTimeouts,
        persona: Persona,
        actions: Actions | None = None,
        tools: Toolbox | None = None,
        tool_rounds: int = 3,
    ) -> None:
        self._chat = chat
        self._timeouts = timeouts
        self.actions = actions  # timers, alarms, volume (daemon.intents); None: not offered
        self.tools = tools  # offered to the LLM when the chat model takes tools
        self._tool_rounds = tool_rounds
        m = persona.memory
        self.memory = Memory(m.turns, m.max_tokens, m.idle_reset_seconds)

    def persona_changed(self, persona: Persona) -> None:
        m = persona.memory
        self.memory.configure(m.turns, m.max_tokens, m.idle_reset_seconds)

    def reply(self, request: str, persona: Persona, now: datetime | None = None) -> Reply:
        """The reply to `request`; raises StageError(llm-not-configured) with no LLM."""
        if self.actions is not None:
            done = self.actions.answer(request, persona.language)
            if done is not None:
                return Reply(f"intent:{done.intent}", _once(done.text))
        intent = match_intent(request, persona.language, now or datetime.now())
        if intent is not None:
            if intent.intent == "forget":
                self.memory.forget()
            return Reply(f"{Source.INTENT}:{intent.intent}", _once(intent.text))
        if self._chat is None:
            raise StageError(ErrorCode.LLM_NOT_CONFIGURED, "no LLM endpoint is configured")
        messages = self.memory.messages(persona.system_prompt, request)
        if self.tools and isinstance(self._chat, ToolChatModel):
            pieces = reply_with_tools(
                self._chat,
                [dict(m) for m in messages],
                self.tools,
                temperature=persona.llm.temperature,
                max_tokens=persona.llm.max_tokens,
                timeouts=self._timeouts,
                max_rounds=self._tool_rounds,
            )
            return Reply(f"llm:{self._chat.name}", pieces)
        tokens = self._chat.stream(
            messages, temperature=persona.llm.temperature, max_tokens=persona.llm.max_tokens
        )
        pieces = with_deadlines(
            tokens, self._timeouts.first_token_seconds, self._timeouts.total_seconds
        )
        return Reply(f"{Source.LLM}:{self._chat.name}", pieces)

    def remember(self, request: str, reply: Reply, spoken: str) -> None:
        """Record the exchange as it was actually heard (forget/stop are not conversation)."""
        if reply.source not in (FORGET, STOP):
            self.memory.remember(request, spoken)
