"""Skips wake word inference while the room is quiet: most of an always-on box's life.

openWakeWord costs ~0.02 CPU-seconds per second of audio whatever it hears. A frame far below the
room's noise floor cannot hold a wake word, so it is not scored; the last second of skipped
frames is kept and replayed into the detector when sound returns, so its streaming features lead
into the speech as if nothing had been skipped. After any sound the gate stays open a while, to
cover the detector's lag behind the end of a phrase.

When there is sound, frames are scored in pairs (160 ms in one call): openWakeWord computes its
features for both at once and the listener thread is woken half as often, for at most 80 ms more
detection latency.
"""

from __future__ import annotations

from collections import deque

import numpy as np

from daemon.audio.frames import FRAME_SAMPLES, SAMPLE_RATE
from daemon.wake.base import WakeDetector, WakeHit

ABSOLUTE_FLOOR = 10.0  # int16 RMS (-70 dBFS): quieter than any microphone's own noise
ABOVE_FLOOR = 2.0  # 6 dB over the tracked noise floor counts as sound
FLOOR_RISE = 1.002  # per frame: the floor follows a rising noise level within seconds
REPLAY_SECONDS = 1.0
HOLD_OPEN_SECONDS = 2.0


class QuietGate:
    """Wraps a wake detector. `quiet()` runs on the event loop (a few microseconds);
    `process()` on the listener thread, only for frames that are not quiet."""

    def __init__(self, detector: WakeDetector) -> None:
        self.detector = detector
        self.name = detector.name
        self._floor = float("inf")
        self._skipped: deque[np.ndarray] = deque(
            maxlen=round(REPLAY_SECONDS * SAMPLE_RATE / FRAME_SAMPLES)
        )
        self._open_frames = 0
        self._held: np.ndarray | None = None
        self.skipped_frames = 0

    def quiet(self, samples: np.ndarray) -> bool:
        """True (and the frame is kept for replay) if the frame need not be scored."""
        rms = float(np.sqrt(np.mean(samples.astype(np.float32) ** 2)))
        self._floor = min(self._floor * FLOOR_RISE, max(rms, 1.0))
        if rms > max(ABSOLUTE_FLOOR, self._floor * ABOVE_FLOOR):
            self._open_frames = round(HOLD_OPEN_SECONDS * SAMPLE_RATE / FRAME_SAMPLES)
            return False
        if self._open_frames > 0:
            self._open_frames -= 1
            return False
        if self._held is not None:  # a frame waiting for its pair: score it alone now
            self._skipped.append(self._held)
            self._held = None
        self._skipped.append(samples)
        self.skipped_frames += 1
        return True

    def hold(self, samples: np.ndarray) -> bool:
        """True if the frame is kept to be scored with the next one (event loop, cheap)."""
        if self._held is None:
            self._held = samples
            return True
        return False

    def process(self, samples: np.ndarray) -> WakeHit | None:
        while self._skipped:  # what was skipped leads into this frame
            self.detector.process(self._skipped.popleft())
        held, self._held = self._held, None
        pair = samples if held is None else np.concatenate([held, samples])
        return self.detector.process(pair)

    def reset(self) -> None:
        self._skipped.clear()
        self._held = None
        self.detector.reset()
