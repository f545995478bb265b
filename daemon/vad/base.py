"""The VAD interface."""

from __future__ import annotations

from typing import Protocol

import numpy as np


class Vad(Protocol):
    """Speech probability per fixed chunk of 16 kHz int16 audio. One caller thread."""

    chunk_samples: int

    def probability(self, samples: np.ndarray) -> float: ...

    def reset(self) -> None: ...
