"""Volume as a software gain on whatever the box plays, remembered across restarts.

Levels 0..10 as people say them; `UNITY_LEVEL` plays audio as synthesized, each step is 3 dB,
0 is silence. Above unity the samples are clipped to [-1, 1] rather than wrapped.
"""

from __future__ import annotations

import logging
from typing import Protocol

import numpy as np

from daemon.audio.base import AudioSink
from daemon.audio.frames import AudioChunk

log = logging.getLogger(__name__)

MAX_LEVEL = 10
UNITY_LEVEL = 7
DB_PER_STEP = 3.0
_KEY = "volume"


class Settings(Protocol):
    """Where the level is kept (daemon.intents.store.Store)."""

    def get_setting(self, key: str) -> str | None: ...

    def put_setting(self, key: str, value: str) -> None: ...


def gain_of(level: int) -> float:
    return 0.0 if level <= 0 else float(10 ** ((level - UNITY_LEVEL) * DB_PER_STEP / 20))


class Volume:
    def __init__(self, settings: Settings | None = None, default: int = UNITY_LEVEL) -> None:
        self._settings = settings
        stored = settings.get_setting(_KEY) if settings else None
        self.level = _clamp(int(stored) if stored and stored.isdigit() else default)

    @property
    def gain(self) -> float:
        return gain_of(self.level)

    def set(self, level: int) -> int:
        """Sets and remembers the level (clamped to 0..10); returns it."""
        self.level = _clamp(level)
        if self._settings is not None:
            self._settings.put_setting(_KEY, str(self.level))
        log.info("volume %d (gain %.2f)", self.level, self.gain)
        return self.level

    def step(self, steps: int) -> int:
        return self.set(self.level + steps)


def _clamp(level: int) -> int:
    return max(0, min(MAX_LEVEL, level))


class GainSink:
    """Plays through `inner` at the volume's gain, read per chunk: a change applies at once."""

    def __init__(self, inner: AudioSink, volume: Volume) -> None:
        self.inner = inner
        self.volume = volume

    async def play(self, chunk: AudioChunk) -> None:
        gain = self.volume.gain
        if gain != 1.0:
            samples = np.clip(chunk.samples.astype(np.float32) * gain, -1.0, 1.0)
            chunk = AudioChunk(samples, chunk.sample_rate)
        await self.inner.play(chunk)

    async def drain(self) -> None:
        await self.inner.drain()

    async def close(self) -> None:
        await self.inner.close()
