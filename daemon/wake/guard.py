"""Keeps the box from waking itself up while still letting a person interrupt it.

A second wake detector listens to what the box plays (the reference), at the audio time it will
be heard. A detection on the microphone within `echo_tail` of the reference's own detection is
the box hearing itself (its reply said "Jarvis"); anything else is a person talking over the
reply, which is a barge-in. While the box plays, and for `echo_tail` after, the microphone's
threshold is also raised. With echo cancellation on, the microphone no longer carries the box's
voice, and the guard is not used.
"""

from __future__ import annotations

from collections import deque

from daemon.audio.frames import (
    FRAME_SAMPLES,
    SAMPLE_RATE,
    AudioChunk,
    Reframer,
    float_to_int16,
    resample,
)
from daemon.wake.base import WakeDetector, WakeHit


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
            self._reframer = Reframer(FRAME_SAMPLES, start)  # a new stretch of playback
            self._reference.reset()
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
        if not self.playing(at):
            return True
        if hit.score < self._threshold:
            return False
        return not any(-0.3 <= at - fired <= self._tail for fired in self._fired)
