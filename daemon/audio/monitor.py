"""The sink the box plays through, placing each chunk on the audio-time line.

Whatever plays through it (reply, earcon, error) is reported, with the audio time at which it
will be heard, to whoever must know what the box itself sounds like: the self-trigger guard and
the echo canceller. The speaker never calls back into the turn; the sink it plays to does this.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from daemon.audio.base import AudioSink
from daemon.audio.frames import AudioChunk

Heard = Callable[[AudioChunk, float], None]


class MonitoredSink:
    def __init__(self, inner: AudioSink, now: Callable[[], float], heard: Heard) -> None:
        self.inner = inner
        self._now = now
        self._heard = heard
        self.cursor = 0.0  # audio time at which the next played audio will be heard

    async def play(self, chunk: AudioChunk) -> None:
        start = max(self.cursor, self._now())
        self.cursor = start + chunk.duration
        self._heard(chunk, start)
        try:
            await self.inner.play(chunk)
        except asyncio.CancelledError:  # cut (a barge-in): the rest of it will not be heard
            self.cursor = max(start, self._now())
            raise

    async def drain(self) -> None:
        await self.inner.drain()

    async def close(self) -> None:
        await self.inner.close()
