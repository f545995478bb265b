"""What the console needs from the daemon (ConsoleBackend), and the daemon's implementation.

The console never touches the turn machine: it reads state and turns from the EventHub (fed by
a ConsoleTap), and asks the backend for a reply to typed text or to a recording. DaemonConsole
answers through the daemon's own Responder (intents, LLM, persona, memory), TTS and ASR.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol, TypeVar

import numpy as np

from daemon.asr.base import Transcriber
from daemon.chat import TextChat, synthesize, to_wav
from daemon.config import Persona, Settings
from daemon.doctor import Check
from daemon.llm.responder import Responder
from daemon.tts.base import Synthesizer
from daemon.web.hub import EventHub
from daemon.web.persona import PersonaStore

T = TypeVar("T")
Runner = Callable[[Callable[..., T]], Awaitable[T]]


@dataclass
class ConsoleTurn:
    """One console exchange; `audio` is the reply as WAV (played in the browser)."""

    id: int
    request: str
    reply: str
    source: str
    outcome: str
    detail: str | None = None
    seconds: float = 0.0
    via: str = "chat"  # "chat" (typed) or "talk" (push-to-talk)
    audio: bytes | None = field(default=None, repr=False)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("audio")
        data["audio_url"] = f"/api/audio/{self.id}" if self.audio else None
        return data


class ConsoleBackend(Protocol):
    hub: EventHub
    persona: PersonaStore

    def summary(self) -> dict[str, Any]:
        """Persona name and language, backends, LLM endpoint (URL and model, never a key)."""
        ...

    def turn_log(self) -> Path | None:
        """The turn log (turns.jsonl) for the conversation and latency, if there is one."""
        ...

    async def chat(self, text: str) -> ConsoleTurn: ...

    async def talk(self, samples: np.ndarray) -> ConsoleTurn:
        """16 kHz mono int16 from the browser's microphone, answered like a spoken request."""
        ...

    async def health(self) -> list[Check]: ...


async def _in_thread(fn: Callable[..., T]) -> T:
    return await asyncio.to_thread(fn)


class DaemonConsole:
    """ConsoleBackend over the daemon's stages. `run_tts` and `run_asr` run a blocking call
    where the model may run (the turn machine's TTS and ASR workers, so a model is never used
    by two threads at once); by default a fresh thread, which only suits the tests and chat."""

    def __init__(
        self,
        settings: Settings,
        responder: Responder,
        tts: Synthesizer,
        asr: Transcriber,
        persona: Callable[[], Persona],
        reload_persona: Callable[[], bool],
        hub: EventHub,
        turn_log: Path | None = None,
        run_tts: Runner[Any] = _in_thread,
        run_asr: Runner[Any] = _in_thread,
    ) -> None:
        self.settings = settings
        self.hub = hub
        self.persona = PersonaStore(settings.persona_path, reload_persona, settings.daemon.asr)
        self._persona = persona
        self._chat = TextChat(responder, persona)
        self._tts, self._asr = tts, asr
        self._run_tts, self._run_asr = run_tts, run_asr
        self._turn_log = turn_log
        self._ids = itertools.count(1)

    def summary(self) -> dict[str, Any]:
        from daemon.llm.openai_chat import public_url

        d, persona = self.settings.daemon, self._persona()
        endpoint = d.llm.endpoint()
        return {
            "persona": {"name": persona.name, "language": persona.language},
            "asr": d.asr.funasr.model if d.asr.backend == "funasr" else d.asr.backend,
            "tts": d.tts.backend,
            "wake": persona.wake_word or d.wake.model,
            "llm": (
                {"model": endpoint.model, "url": public_url(endpoint.base_url)}
                if endpoint
                else None
            ),
        }

    def turn_log(self) -> Path | None:
        return self._turn_log

    async def chat(self, text: str, via: str = "chat") -> ConsoleTurn:
        turn = await self._chat.ask(text)
        persona = self._persona()
        chunks = await self._run_tts(lambda: synthesize(self._tts, turn.reply, persona))
        result = ConsoleTurn(
            next(self._ids),
            turn.request,
            turn.reply,
            turn.source,
            turn.outcome,
            turn.detail,
            round(turn.seconds, 3),
            via,
            to_wav(chunks) if chunks else None,
        )
        self.hub.publish("console-turn", result.to_json())
        return result

    async def talk(self, samples: np.ndarray) -> ConsoleTurn:
        def transcribe() -> str:
            session = self._asr.start()
            session.feed(samples)
            return session.finish().text

        text = await self._run_asr(transcribe)
        if not text.strip():
            from daemon.turn.phrases import not_heard_message

            reply = not_heard_message(self._persona().language)
            return ConsoleTurn(next(self._ids), "", reply, "-", "not-heard", via="talk")
        return await self.chat(text, via="talk")

    async def health(self) -> list[Check]:
        from daemon.doctor import check_espeak, check_llm, check_space

        d = self.settings.daemon
        llm = await asyncio.to_thread(check_llm, d.llm.endpoint(), d.llm.timeouts)
        checks = [
            Check("ok", "models", f"loaded ({self.summary()['asr']}, {d.tts.backend})"),
            llm,
            await asyncio.to_thread(check_espeak, self.settings),
            check_space("disk (models)", self.settings.models_dir()),
        ]
        if self._turn_log is not None:
            checks.append(check_space("disk (state)", self._turn_log.parent))
        return checks
