"""The TTS interface."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

from daemon.audio.frames import AudioChunk
from daemon.config import Persona


class Synthesizer(Protocol):
    name: str

    def synthesize(self, text: str, persona: Persona) -> Iterator[AudioChunk]:
        """Audio for one sentence in the persona's voice, chunk by chunk, as it is produced.

        Blocking; called from the TTS worker thread. Failures raise StageError (tts-*).
        """
        ...
