"""The two audio interfaces: where frames come from and where speech goes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Protocol

from daemon.audio.frames import AudioChunk, AudioFrame


class AudioSource(Protocol):
    """Yields 80 ms frames of 16 kHz mono int16 audio until the source ends or is closed.

    `realtime` is False for sources that can be read faster than real time (a WAV file in test
    mode): the listener then waits for each turn to finish before it reads on, so that processing
    a file gives the same result however fast the machine is.
    """

    realtime: bool

    def frames(self) -> AsyncIterator[AudioFrame]: ...

    async def close(self) -> None: ...


class AudioSink(Protocol):
    """Plays chunks in order. `play` returns when the chunk is handed to the device."""

    async def play(self, chunk: AudioChunk) -> None: ...

    async def drain(self) -> None:
        """Wait until everything handed over has been heard (or written)."""
        ...

    async def close(self) -> None: ...


class NullSink:
    """Discards audio: for `voiced check`, which loads everything but plays nothing."""

    async def play(self, chunk: AudioChunk) -> None:
        return None

    async def drain(self) -> None:
        return None

    async def close(self) -> None:
        return None
