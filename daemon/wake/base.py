"""The wake word interface."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np


@dataclass(frozen=True, slots=True)
class WakeHit:
    model: str
    score: float


class WakeDetector(Protocol):
    """Scores audio in multiples of 80 ms (1280 int16 samples at 16 kHz): one frame, or a few at
    once (one hit for all of them). Not thread-safe: one caller thread."""

    name: str

    def process(self, samples: np.ndarray) -> WakeHit | None:
        """The best model's hit if any model reached its threshold on this frame."""
        ...

    def reset(self) -> None:
        """Forget buffered audio and scores (after a detection, or after playback)."""
        ...


@runtime_checkable
class LatestScore(Protocol):
    """A detector that tells the best score of its last process() call (for a live meter)."""

    latest: float


@runtime_checkable
class PeakScore(Protocol):
    """A detector that remembers its best score (so a file with no wake word can say how close
    it came)."""

    peak: WakeHit
    threshold: float


@runtime_checkable
class SharesModels(Protocol):
    """A detector that can make another one for the same wake words on the same models (one
    copy in memory), with its own state and threshold. Both must be called from one thread."""

    def sibling(self, threshold: float) -> WakeDetector: ...


@dataclass(frozen=True)
class CheckVerdict:
    """A second-stage check's answer on one fire: `score` against its threshold, and what it
    heard there (for the log)."""

    accepted: bool
    score: float
    heard: str = ""


class WakeCheck(Protocol):
    """A second stage that confirms a fire on the audio before it (daemon.wake.verify). Slow
    (a model run): called on the ASR worker, never the event loop or the listener."""

    threshold: float

    def applies(self, wake_model: str) -> bool:
        """Whether fires of this wake model are checked at all."""
        ...

    def check(self, audio: np.ndarray, wake_model: str) -> CheckVerdict:
        """`audio`: float32 16 kHz, the seconds before the fire."""
        ...
