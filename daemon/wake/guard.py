"""Keeps the box from waking itself up while still letting a person interrupt it.

A second wake detector listens to what the box plays (the reference), at the audio time it will
be heard. A detection on the microphone within `echo_tail` of the reference's own detection is
the box hearing itself (its reply said "Jarvis"); anything else is a person talking over the
reply, which is a barge-in. While the box plays, and for `echo_tail` after, the microphone's
threshold is also raised (not with echo cancellation on: the microphone is then clean enough, but
the guard stays, because the canceller needs a moment to adapt at the start of each reply).
"""

from __future__ import annotations

from collections import deque

import numpy as np

from daemon.audio.frames import (
    FRAME_SAMPLES,
    SAMPLE_RATE,
    AudioChunk,
    Reframer,
    float_to_int16,
    resample,
)
from daemon.wake.base import WakeDetector, WakeHit

DETECTION_SPREAD = 1.0  # seconds between two detectors' firing on the same phrase, at most
WARM_UP_FRAMES = 19  # 1.5 s: openWakeWord's feature window, filled with silence


class SelfTriggerGuard:
    def __init__(
        self, reference: WakeDetector, threshold_while_playing: float, echo_tail: float
    ) -> None:
        self._reference = reference
        self._threshold = threshold_while_playing
        self._tail = echo_tail
        self._reframer: Reframer | None = None
        self._next_start = 0.0
        self._fired: deque[float] = deque(maxlen=64)  # audio times the reference fired
        self._playing_until = float("-inf")

    def played(self, chunk: AudioChunk, start: float) -> None:
        """Audio the box will be heard playing from audio time `start` (listener thread)."""
        samples = float_to_int16(resample(chunk.samples, chunk.sample_rate, SAMPLE_RATE))
        if self._reframer is None or abs(start - self._next_start) > 0.5:
            # A new stretch of playback. The reference detector is never reset (that would
            # blind it for a second): it hears the silence before the stretch instead, so it
            # is ready for a reply that begins with the wake word.
            lead = np.zeros(WARM_UP_FRAMES * FRAME_SAMPLES, dtype=np.int16)
            samples = np.concatenate([lead, samples])
            start -= len(lead) / SAMPLE_RATE
            self._reframer = Reframer(FRAME_SAMPLES, start)
        self._next_start = start + len(samples) / SAMPLE_RATE
        self._playing_until = max(self._playing_until, self._next_start)
        for frame in self._reframer.push(samples):
            if self._reference.process(frame.samples) is not None:
                self._fired.append(frame.end)

    def playing(self, at: float) -> bool:
        """The box is playing at audio time `at`, or its sound may still be in the room."""
        return at <= self._playing_until + self._tail

    def accepts(self, hit: WakeHit, at: float) -> bool:
        """Is a microphone detection at audio time `at` a person rather than the box itself?"""
        return self.rejects(hit, at) is None

    def rejects(self, hit: WakeHit, at: float) -> str | None:
        """Why a microphone detection at audio time `at` is not taken (None: it is)."""
        if not self.playing(at):
            return None
        if hit.score < self._threshold:
            return f"under {self._threshold:.2f} while the box plays"
        # The two detectors fire at different moments of the same phrase (one hears it clean,
        # the other with the room and delay): allow for that spread on top of the echo tail.
        window = self._tail + DETECTION_SPREAD
        if any(-DETECTION_SPREAD <= at - fired <= window for fired in self._fired):
            return "the box's own voice"
        return None
