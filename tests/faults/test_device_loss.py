"""A microphone that fails and comes back, 50 times: listening again within 2 s each time,
with the real backoff policy, and nothing (threads, tasks, file descriptors) left behind."""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
from collections.abc import AsyncIterator

import numpy as np
import pytest

from daemon.audio.frames import FRAME_SAMPLES, AudioFrame
from daemon.audio.resilient import ResilientSource
from daemon.errors import ErrorCode, StageError

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]
CYCLES = 50


class FlakyMicrophone:
    """Present or unplugged on cue; each open returns a new source object, as PortAudio does."""

    def __init__(self) -> None:
        self.present = True
        self.opens = 0

    def open(self) -> FlakySource:
        self.opens += 1
        return FlakySource(self)


class FlakySource:
    realtime = True

    def __init__(self, mic: FlakyMicrophone) -> None:
        self._mic = mic
        self._closed = False

    async def frames(self) -> AsyncIterator[AudioFrame]:
        if not self._mic.present:
            raise StageError(ErrorCode.AUDIO_DEVICE, "no such device")
        i = 0
        while not self._closed:
            await asyncio.sleep(0.01)
            if not self._mic.present:
                raise StageError(ErrorCode.AUDIO_DEVICE, "device unplugged")
            yield AudioFrame(np.zeros(FRAME_SAMPLES, dtype=np.int16), i * 0.08)
            i += 1

    async def close(self) -> None:
        self._closed = True


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_fifty_losses_and_returns() -> None:
    async def scenario() -> tuple[list[float], list[float], int]:
        mic = FlakyMicrophone()
        statuses: list[str] = []
        source = ResilientSource(mic.open, statuses.append)
        got: list[float] = []  # arrival times of frames
        starts: list[float] = []  # audio time of each frame: must never go backwards

        async def listen() -> None:
            async for frame in source.frames():
                got.append(time.monotonic())
                starts.append(frame.start)

        listener = asyncio.create_task(listen())
        recoveries = []
        for _ in range(CYCLES):
            await asyncio.sleep(0.05)
            mic.present = False
            await asyncio.sleep(0.3)
            mic.present = True
            returned = time.monotonic()
            while not got or got[-1] < returned:
                await asyncio.sleep(0.01)
                assert time.monotonic() - returned < 5, "never came back"
            recoveries.append(got[-1] - returned)
        await source.close()
        await asyncio.wait_for(listener, 2)
        assert statuses.count("listening") >= 1 and any("microphone lost" in s for s in statuses)
        assert all(b > a for a, b in zip(starts, starts[1:], strict=False))
        return recoveries, starts, len(asyncio.all_tasks()) - 1

    threads, fds = threading.active_count(), open_fds()
    recoveries, _, tasks_left = asyncio.run(scenario())
    assert len(recoveries) == CYCLES
    assert max(recoveries) < 2.0, f"slowest recovery {max(recoveries):.2f} s"
    assert tasks_left == 0
    assert threading.active_count() <= threads
    assert open_fds() <= fds


def test_a_microphone_that_never_existed_is_not_called_lost(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def scenario() -> list[str]:
        mic = FlakyMicrophone()
        mic.present = False
        statuses: list[str] = []
        source = ResilientSource(mic.open, statuses.append)
        listener = asyncio.create_task(anext(aiter(source.frames())))
        await asyncio.sleep(0.3)
        mic.present = True
        await asyncio.wait_for(listener, 5)
        await source.close()
        return statuses

    caplog.set_level(logging.INFO)
    statuses = asyncio.run(scenario())
    assert statuses[0].startswith("no microphone yet, retrying in")
    assert not any("lost" in s for s in statuses)
    assert "microphone is open" in caplog.text and "microphone is back" not in caplog.text
