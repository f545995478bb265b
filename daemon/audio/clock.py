"""Audio time, and playback that takes audio time when the input is a file.

With a live microphone, time passes by itself: the speaker plays in real time while the listener
keeps hearing. With a WAV file as the microphone, frames can be read as fast as the CPU allows, so
the listener and the speaker agree on time through an AudioClock: the listener advances it frame
by frame, and a ClockedSink plays each slice of a reply only when the clock reaches it. A file
then behaves like a room (the person can talk over the reply, a follow-up can come after it) and
gives the same result on any machine.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
from collections.abc import Iterator

import numpy as np

from daemon.audio.base import AudioSink
from daemon.audio.frames import FRAME_SAMPLES, SAMPLE_RATE, AudioChunk

SLICE_SECONDS = 0.04  # playback granularity: a barge-in stops the reply within one slice
# A device's buffer holds what plays next; the clock moves in whole frames, so a slice handed
# over only once the clock has reached it would come up to a frame late, and a speaker (the test
# room) would play a gap the timeline reported to the echo canceller does not have.
BUFFER_SECONDS = FRAME_SAMPLES / SAMPLE_RATE


class AudioClock:
    def __init__(self) -> None:
        self.now = 0.0
        self._waiters: list[tuple[float, int, asyncio.Future[None]]] = []
        self._order = itertools.count()
        self.demand = asyncio.Event()  # set whenever someone starts waiting for audio time
        self._free = False
        self._working = 0

    @contextlib.contextmanager
    def working(self) -> Iterator[None]:
        """Marks work that takes wall time (ASR, LLM, TTS). From a file, audio time must not
        pass while it runs, or how far the file got would depend on the machine's speed."""
        self._working += 1
        try:
            yield
        finally:
            self._working -= 1
            self.demand.set()

    @property
    def held(self) -> bool:
        return self._working > 0

    def advance_to(self, when: float) -> None:
        self.now = max(self.now, when)
        while self._waiters and self._waiters[0][0] <= self.now:
            _, _, future = heapq.heappop(self._waiters)
            if not future.done():
                future.set_result(None)

    def run_free(self) -> None:
        """The input has ended: nothing waits for audio time any more (the rest plays out)."""
        self._free = True
        for _, _, future in self._waiters:
            if not future.done():
                future.set_result(None)
        self._waiters.clear()

    def has_waiters(self) -> bool:
        return any(not future.done() for _, _, future in self._waiters)

    async def wait_until(self, when: float) -> None:
        if when <= self.now or self._free:
            return
        future = asyncio.get_running_loop().create_future()
        heapq.heappush(self._waiters, (when, next(self._order), future))
        self.demand.set()
        try:
            await future
        finally:
            if not future.done():
                future.cancel()


def slices(chunk: AudioChunk, seconds: float = SLICE_SECONDS) -> list[AudioChunk]:
    step = max(1, int(seconds * chunk.sample_rate))
    return [
        AudioChunk(chunk.samples[i : i + step], chunk.sample_rate)
        for i in range(0, len(chunk.samples), step)
    ]


class ClockedSink:
    """Hands each slice of audio to `inner` a frame before the moment it will be heard (as a
    device's buffer holds it), so what follows a slice without a pause plays without one."""

    def __init__(self, inner: AudioSink, clock: AudioClock) -> None:
        self.inner = inner
        self.clock = clock
        self.cursor = 0.0  # audio time at which the next slice starts

    async def play(self, chunk: AudioChunk) -> None:
        start = max(self.cursor, self.clock.now)
        for piece in slices(chunk):
            await self.clock.wait_until(start - BUFFER_SECONDS)
            await self.inner.play(piece)
            start += piece.duration
            self.cursor = start

    async def drain(self) -> None:
        await self.clock.wait_until(self.cursor)
        await self.inner.drain()

    async def close(self) -> None:
        await self.inner.close()


class SlicedSink:
    """Plays each chunk in 40 ms slices, so a cancelled play() stops within one slice; the
    cut ends on a short fade (played in the background: nobody waits for it), not a click."""

    def __init__(self, inner: AudioSink) -> None:
        self.inner = inner
        self._fades: set[asyncio.Task[None]] = set()

    async def play(self, chunk: AudioChunk) -> None:
        pieces = slices(chunk)
        for i, piece in enumerate(pieces):
            try:
                await self.inner.play(piece)
            except asyncio.CancelledError:
                if i + 1 < len(pieces):
                    self._fade(pieces[i + 1])
                raise

    def _fade(self, piece: AudioChunk) -> None:
        task = asyncio.create_task(self._play_quietly(fade_out(piece)))
        self._fades.add(task)
        task.add_done_callback(self._fades.discard)

    async def _play_quietly(self, chunk: AudioChunk) -> None:
        with contextlib.suppress(Exception):
            await self.inner.play(chunk)

    async def drain(self) -> None:
        await self.inner.drain()

    async def close(self) -> None:
        await self.inner.close()


def fade_out(chunk: AudioChunk, seconds: float = 0.02) -> AudioChunk:
    """The first `seconds` of `chunk` faded to silence: a cut-off reply ends without a click."""
    n = min(len(chunk.samples), int(seconds * chunk.sample_rate))
    ramp = np.linspace(1.0, 0.0, n, dtype=np.float32)
    return AudioChunk(chunk.samples[:n].astype(np.float32) * ramp, chunk.sample_rate)
