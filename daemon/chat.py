"""A typed turn: text in, the reply out, through the daemon's own Responder (local intents, the
LLM with the persona, conversation memory). Used by `voiced chat` and the web console's chat box,
so a persona or an LLM can be tried without saying the wake word.
"""

from __future__ import annotations

import asyncio
import io
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import soundfile as sf

from daemon.audio.frames import AudioChunk, resample
from daemon.config import Persona
from daemon.errors import StageError
from daemon.llm.responder import Responder
from daemon.tts.base import Synthesizer
from daemon.tts.text import clean_for_speech
from daemon.turn.phrases import error_message

MAX_REQUEST_CHARS = 2000  # a typed request longer than this is cut (the LLM prompt is bounded)


@dataclass(frozen=True)
class TextTurn:
    """One typed exchange. `reply` is what the box says: the answer, or its error phrase."""

    request: str
    reply: str
    source: str  # "intent:time", "llm:<model>", "-" when the reply failed before any source
    outcome: str  # "ok" or an error code (llm-unreachable, llm-rejected ...)
    detail: str | None = None  # the error's detail (URL, the server's text) for a person
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.outcome == "ok"


class TextChat:
    """Answers typed requests; the persona is read at each request, so a reload applies."""

    def __init__(
        self,
        responder: Responder,
        persona: Callable[[], Persona],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._responder = responder
        self._persona = persona
        self._clock = clock
        self._lock = asyncio.Lock()  # one exchange at a time: memory is a conversation

    async def ask(self, text: str) -> TextTurn:
        request = " ".join(text.split())[:MAX_REQUEST_CHARS]
        async with self._lock:
            return await self._ask(request, self._persona())

    async def _ask(self, request: str, persona: Persona) -> TextTurn:
        started = self._clock()
        pieces: list[str] = []
        source = "-"
        try:
            reply = self._responder.reply(request, persona)
            source = reply.source
            async for piece in reply.pieces:
                pieces.append(piece)
        except StageError as err:
            said = "".join(pieces).strip()
            if said:
                self._responder.memory.remember(request, said)
            phrase = error_message(err.code, persona.language)
            return TextTurn(
                request,
                f"{said} {phrase}".strip(),
                source,
                str(err.code),
                err.detail,
                self._clock() - started,
            )
        said = "".join(pieces).strip()
        self._responder.remember(request, reply, said)
        return TextTurn(request, said, source, "ok", None, self._clock() - started)


def synthesize(tts: Synthesizer, text: str, persona: Persona) -> list[AudioChunk]:
    """The reply's audio (blocking: run it off the event loop)."""
    speakable = clean_for_speech(text)
    return list(tts.synthesize(speakable, persona)) if speakable else []


def to_wav(chunks: list[AudioChunk], sample_rate: int = 16000) -> bytes:
    """16-bit mono WAV bytes of `chunks` at `sample_rate` (what a browser plays)."""
    parts = [resample(c.samples.astype(np.float32), c.sample_rate, sample_rate) for c in chunks]
    samples = np.concatenate(parts) if parts else np.zeros(0, dtype=np.float32)
    out = io.BytesIO()
    sf.write(out, samples, sample_rate, format="WAV", subtype="PCM_16")
    return out.getvalue()
