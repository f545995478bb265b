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
    """The last few seconds of int16 audio, as float32 on demand (bounded memory)."""

    def __init__(self, seconds: float = JUDGE_WINDOW_SECONDS) -> None:
        self._capacity = int(seconds * SAMPLE_RATE)
        self._buffer = np.zeros(0, dtype=np.int16)

    def append(self, samples: np.ndarray) -> None:
        joined = np.concatenate([self._buffer, samples.astype(np.int16, copy=False)])
        self._buffer = joined[-self._capacity :]

    def samples(self) -> np.ndarray:
        return self._buffer.astype(np.float32) / 32768.0


def make_judge(models_dir: Path, threads: int = 1) -> TurnJudge:
    """Smart Turn v3.2 (raises ModelMissing when its file is not fetched)."""
    from daemon.vad.smart_turn import SmartTurn

    return SmartTurn(models_dir, threads)
