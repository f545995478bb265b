"""Short synthesized sounds: the error earcon is what the box plays when even TTS has failed."""

from __future__ import annotations

import numpy as np

from daemon.audio.frames import AudioChunk

RATE = 16000


def _tone(freq: float, seconds: float, volume: float = 0.3) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    fade = np.minimum(1.0, np.minimum(t, seconds - t) / 0.01)  # 10 ms ramps: no clicks
    return (volume * np.sin(2 * np.pi * freq * t) * fade).astype(np.float32)


def error_earcon() -> AudioChunk:
    """Two falling tones: unmistakably 'that did not work', in any language."""
    gap = np.zeros(int(0.05 * RATE), dtype=np.float32)
    return AudioChunk(np.concatenate([_tone(660, 0.15), gap, _tone(440, 0.25)]), RATE)
