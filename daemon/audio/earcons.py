"""Short synthesized sounds: wake (listening), end of recording (got it), error (that failed).

Generated, not shipped: no files to lose, and each is a few milliseconds of numpy at start-up.
The error earcon is also what the box plays when even speech synthesis has failed.
"""

from __future__ import annotations

import numpy as np

from daemon.audio.frames import AudioChunk

RATE = 16000


def _tone(freq: float, seconds: float, volume: float = 0.3) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    fade = np.minimum(1.0, np.minimum(t, seconds - t) / 0.01)  # 10 ms ramps: no clicks
    return (volume * np.sin(2 * np.pi * freq * t) * fade).astype(np.float32)


def _gap(seconds: float) -> np.ndarray:
    return np.zeros(int(seconds * RATE), dtype=np.float32)


def wake_earcon() -> AudioChunk:
    """Two rising notes: 'I'm listening'."""
    return AudioChunk(np.concatenate([_tone(660, 0.06, 0.2), _tone(880, 0.08, 0.2)]), RATE)


def end_earcon() -> AudioChunk:
    """One short low note: 'got it'."""
    return AudioChunk(_tone(520, 0.07, 0.15), RATE)


def error_earcon() -> AudioChunk:
    """Two falling tones: unmistakably 'that did not work', in any language."""
    return AudioChunk(np.concatenate([_tone(660, 0.15), _gap(0.05), _tone(440, 0.25)]), RATE)


def ring_earcon() -> AudioChunk:
    """Three pairs of quick high beeps: a timer or alarm is ringing (repeated with its label)."""
    pair = [_tone(988, 0.09, 0.3), _gap(0.05), _tone(988, 0.09, 0.3), _gap(0.25)]
    return AudioChunk(np.concatenate(pair * 3), RATE)
