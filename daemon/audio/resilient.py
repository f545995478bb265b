"""A microphone that comes back: reopen on device errors and stalls, with backoff and jitter.

The device is closed and PortAudio re-initialised on every reopen (a fresh source object per try),
because a USB microphone that was unplugged often only reappears to a new PortAudio instance.
Audio time keeps counting across reopens so the listener's timers stay monotonic.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import AsyncIterator, Callable

from daemon.audio.base import AudioSource
from daemon.audio.frames import AudioFrame
from daemon.errors import ErrorCode, StageError

log = logging.getLogger(__name__)

FIRST_DELAY, MAX_DELAY = 0.5, 30.0


class Backoff:
    """0.5 s doubling to 30 s, each wait jittered by +/-20% so many boxes do not retry in step."""

    def __init__(self, rng: random.Random | None = None) -> None:
        self._rng = rng or random.Random()
        self._next = FIRST_DELAY

    def reset(self) -> None:
        self._next = FIRST_DELAY

    def next_wait(self) -> float:
        wait = self._next * self._rng.uniform(0.8, 1.2)
        self._next = min(self._next * 2, MAX_DELAY)
        return wait


class ResilientSource:
    realtime = True

    def __init__(
        self,
        open_source: Callable[[], AudioSource],
        status: Callable[[str], None] = lambda _: None,
        stall_seconds: float = 1.0,
        backoff: Backoff | None = None,
    ) -> None:
        self._open = open_source
        self._status = status
        self._stall = stall_seconds
        self._backoff = backoff or Backoff()
        self._closed = asyncio.Event()
        self._current: AudioSource | None = None
        self._failing = False
        self._ever_heard = False  # a microphone that never delivered was not "lost"
        self.reopens = 0

    async def frames(self) -> AsyncIterator[AudioFrame]:
        offset = 0.0
        while not self._closed.is_set():
            end = offset
            try:
                async for frame in self._one_source():
                    end = offset + frame.end
                    yield AudioFrame(frame.samples, offset + frame.start)
                if self._closed.is_set():
                    return
                raise StageError(ErrorCode.AUDIO_DEVICE, "the microphone stream ended")
            except (StageError, OSError) as err:
                if self._closed.is_set():
                    return
                await self._wait_before_retry(err)
            finally:
                offset = end

    async def _one_source(self) -> AsyncIterator[AudioFrame]:
        """Frames from one freshly opened source; a stall raises like a device error."""
        source = self._open()
        self._current = source
        try:
            iterator = aiter(source.frames())
            while True:
                try:
                    async with asyncio.timeout(self._stall + 0.5):  # backstop for any source
                        frame = await anext(iterator)
                except StopAsyncIteration:
                    return
                except TimeoutError:
                    raise StageError(ErrorCode.AUDIO_DEVICE, "no audio for too long") from None
                if self._failing:
                    self._failing = False
                    self._backoff.reset()
                    log.info("microphone is back" if self._ever_heard else "microphone is open")
                self._ever_heard = True
                self._status("listening")
                yield frame
        finally:
            self._current = None
            with contextlib.suppress(Exception):
                await source.close()

    async def _wait_before_retry(self, err: Exception) -> None:
        wait = self._backoff.next_wait()
        self.reopens += 1
        self._failing = True
        what = "microphone lost" if self._ever_heard else "no microphone yet"
        log.warning("%s (%s); retrying in %.1f s", what, err, wait)
        self._status(f"{what}, retrying in {wait:.0f} s")
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(wait):
                await self._closed.wait()

    async def close(self) -> None:
        self._closed.set()
        if self._current is not None:
            await self._current.close()
