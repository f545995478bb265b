"""The end-of-turn judge's interface and the audio it judges."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

import numpy as np

from daemon.audio.frames import SAMPLE_RATE

JUDGE_WINDOW_SECONDS = 8  # Smart Turn hears the last 8 s


class TurnJudge(Protocol):
    """P(the turn is complete) for float32 16 kHz audio of the turn so far."""

    def probability(self, audio: np.ndarray) -> float: ...


class TurnAudio:
    """The last few seconds of int16 audio, as float32 on demand (bounded memory).

    A buffer of twice the window: appends write in place and the newest window is moved to the
    front only when the buffer fills, so each sample is copied about twice in all.
    """

    def __init__(self, seconds: float = JUDGE_WINDOW_SECONDS) -> None:
        self._capacity = int(seconds * SAMPLE_RATE)
        self._buffer = np.zeros(2 * self._capacity, dtype=np.int16)
        self._end = 0

    def append(self, samples: np.ndarray) -> None:
        samples = samples[-self._capacity :]
        if self._end + len(samples) > len(self._buffer):
            keep = self._buffer[max(0, self._end - self._capacity) : self._end].copy()
            self._buffer[: len(keep)] = keep
            self._end = len(keep)
        self._buffer[self._end : self._end + len(samples)] = samples
        self._end += len(samples)

    def samples(self, seconds: float | None = None) -> np.ndarray:
        """The newest `seconds` (all that is kept when None) as float32 in [-1, 1]."""
        keep = self._capacity
        if seconds is not None:
            keep = min(keep, round(seconds * SAMPLE_RATE))
        newest = self._buffer[max(0, self._end - keep) : self._end]
        return newest.astype(np.float32) / 32768.0


def make_judge(models_dir: Path, threads: int = 1) -> TurnJudge:
    """Smart Turn v3.2 (raises ModelMissing when its file is not fetched)."""
    from daemon.vad.smart_turn import SmartTurn

    return SmartTurn(models_dir, threads)
