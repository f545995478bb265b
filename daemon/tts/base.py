"""The TTS interface."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol, runtime_checkable

from daemon.audio.frames import AudioChunk
from daemon.config import Persona


class Synthesizer(Protocol):
    """A voice. Backends that can stop mid-sentence also have `cancel()`, which the turn calls
    on a barge-in (from the event loop thread) so the TTS thread is free at once."""

    name: str

    def synthesize(self, text: str, persona: Persona) -> Iterator[AudioChunk]:
        """Audio for one sentence in the persona's voice, chunk by chunk, as it is produced.

        Blocking; called from the TTS worker thread. Failures raise StageError (tts-*).
        """
        ...


@runtime_checkable
class Cancellable(Protocol):
    """A backend that can stop mid-sentence: `cancel()` from any thread frees its worker."""

    def cancel(self) -> None: ...
