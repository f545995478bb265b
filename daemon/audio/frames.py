"""What flows through the listener: 16 kHz mono int16 frames stamped with audio time.

Time in the listener is audio time (seconds of samples seen since the source opened), never the
wall clock, so that feeding the same WAV file always produces the same transitions.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import soxr

SAMPLE_RATE = 16000
FRAME_SAMPLES = 1280  # 80 ms: what openWakeWord consumes


@dataclass(frozen=True, slots=True)
class AudioFrame:
    """A slice of 16 kHz mono int16 audio starting at `start` seconds of audio time."""

    samples: np.ndarray
    start: float

    @property
    def duration(self) -> float:
        return len(self.samples) / SAMPLE_RATE

    @property
    def end(self) -> float:
        return self.start + self.duration


@dataclass(frozen=True, slots=True)
class AudioChunk:
    """Synthesized or played audio: mono float32 in [-1, 1] at any sample rate."""

    samples: np.ndarray
    sample_rate: int

    @property
    def duration(self) -> float:
        return len(self.samples) / self.sample_rate


class Reframer:
    """Cuts a stream of arbitrarily sized int16 blocks into frames of exactly `size` samples."""

    def __init__(self, size: int = FRAME_SAMPLES, start: float = 0.0) -> None:
        self.size = size
        self._pending = np.zeros(0, dtype=np.int16)
        self._next_start = start

    def push(self, block: np.ndarray) -> Iterator[AudioFrame]:
        self._pending = np.concatenate([self._pending, block.astype(np.int16, copy=False)])
        while len(self._pending) >= self.size:
            samples, self._pending = self._pending[: self.size], self._pending[self.size :]
            frame = AudioFrame(samples, self._next_start)
            self._next_start += self.size / SAMPLE_RATE
            yield frame


class PreRoll:
    """Keeps the last `seconds` of frames so speech right after the wake word is not clipped."""

    def __init__(self, seconds: float) -> None:
        self._frames: deque[AudioFrame] = deque(
            maxlen=max(1, round(seconds * SAMPLE_RATE / FRAME_SAMPLES))
        )

    def append(self, frame: AudioFrame) -> None:
        self._frames.append(frame)

    def tail(self, seconds: float) -> list[AudioFrame]:
        """The most recent frames covering at least `seconds` (bounded by what is kept)."""
        count = min(len(self._frames), int(np.ceil(seconds * SAMPLE_RATE / FRAME_SAMPLES)))
        return list(self._frames)[len(self._frames) - count :] if count else []

    def clear(self) -> None:
        self._frames.clear()


def resample(samples: np.ndarray, from_rate: int, to_rate: int) -> np.ndarray:
    """Resample mono audio, keeping its dtype (int16 or float32)."""
    if from_rate == to_rate or len(samples) == 0:
        return samples
    return soxr.resample(samples, from_rate, to_rate)


def int16_to_float(samples: np.ndarray) -> np.ndarray:
    return samples.astype(np.float32) / 32768.0


def float_to_int16(samples: np.ndarray) -> np.ndarray:
    """Inverse of int16_to_float (exact round trip); clips out-of-range input."""
    return np.clip(np.round(samples * 32768.0), -32768, 32767).astype(np.int16)


def to_mono(block: np.ndarray) -> np.ndarray:
    """Average channels of an (n, channels) block; pass mono through."""
    if block.ndim == 1:
        return block
    return block.mean(axis=1).astype(block.dtype)
