"""Acoustic echo cancellation: the microphone, minus what the box itself is playing.

WebRTC's audio processing module (AEC3, as maintained in the livekit wheel) takes what the box
plays as the reference (process_reverse_stream) and removes its echo from the microphone
(process_stream), 10 ms at a time. The reference is kept on the same audio-time line as the
microphone, so each microphone frame is cleaned with what was being played at that moment; the
module estimates the remaining acoustic delay itself. With AEC on, the person can talk over the
box: the wake word (and, if enabled, plain speech) interrupts it, and its own voice cannot wake it.

With `linear_wake`, the wake word hears a second, linear-only cancellation of the same frame
(aec_linear.py): AEC3's echo suppressor mutes a person talking over a loud reply, which the
recording can afford and the wake word cannot; but the residue of a filter still adapting can
itself sound like a wake word, hence an option.
"""

from __future__ import annotations

from collections import deque
from typing import NamedTuple

import numpy as np

from daemon.audio.aec_linear import LinearEchoCanceller
from daemon.audio.frames import SAMPLE_RATE, AudioChunk, AudioFrame, float_to_int16, resample
from daemon.audio.noise import webrtc_processing

APM_SAMPLES = SAMPLE_RATE // 100  # the module works in 10 ms frames


class PlaybackTimeline:
    """What the speaker plays, placed on the audio-time line (16 kHz int16), for a while."""

    def __init__(self, keep_seconds: float = 30.0) -> None:
        self._segments: deque[tuple[int, np.ndarray]] = deque()
        self._keep = int(keep_seconds * SAMPLE_RATE)

    def add(self, chunk: AudioChunk, start: float) -> None:
        samples = float_to_int16(resample(chunk.samples, chunk.sample_rate, SAMPLE_RATE))
        self._segments.append((round(start * SAMPLE_RATE), samples))

    def _ends(self, index: int) -> int:
        start, samples = self._segments[index]
        return start + len(samples)

    def take(self, start: float, count: int) -> np.ndarray:
        """The samples heard in [start, start + count); silence where nothing was played."""
        first = round(start * SAMPLE_RATE)
        out = np.zeros(count, dtype=np.int16)
        for seg_start, samples in self._segments:
            lo, hi = max(first, seg_start), min(first + count, seg_start + len(samples))
            if lo < hi:
                out[lo - first : hi - first] = samples[lo - seg_start : hi - seg_start]
        while self._segments and self._ends(0) < first - self._keep:
            self._segments.popleft()
        return out


class Cleaned(NamedTuple):
    """One microphone frame without the box's voice: `frame` through AEC3 (echo suppressed:
    for the VAD and the ASR), `for_wake` through the linear canceller only (a person talking
    over the box is kept: for the wake word)."""

    frame: AudioFrame
    for_wake: AudioFrame


class EchoCanceller:
    """Cleans 80 ms microphone frames; runs on the listener thread only."""

    def __init__(
        self, delay_ms: int = 100, noise_suppression: bool = False, linear_wake: bool = False
    ) -> None:
        # the WebRTC audio processing module, prebuilt in livekit's wheel
        self._rtc, self._apm = webrtc_processing(True, noise_suppression)
        self._apm.set_stream_delay_ms(delay_ms)
        self._linear = LinearEchoCanceller() if linear_wake else None
        self.timeline = PlaybackTimeline()

    def played(self, chunk: AudioChunk, start: float) -> None:
        self.timeline.add(chunk, start)

    def process(self, frame: AudioFrame) -> Cleaned:
        reference = self.timeline.take(frame.start, len(frame.samples))
        cleaned = self._suppressed(reference, frame)
        if self._linear is None:
            return Cleaned(cleaned, cleaned)
        for_wake = AudioFrame(self._linear.process(reference, frame.samples), frame.start)
        return Cleaned(cleaned, for_wake)

    def _suppressed(self, reference: np.ndarray, frame: AudioFrame) -> AudioFrame:
        cleaned = np.empty_like(frame.samples)
        for i in range(0, len(frame.samples) - APM_SAMPLES + 1, APM_SAMPLES):
            far = self._frame(reference[i : i + APM_SAMPLES])
            self._apm.process_reverse_stream(far)
            near = self._frame(frame.samples[i : i + APM_SAMPLES])
            self._apm.process_stream(near)
            cleaned[i : i + APM_SAMPLES] = np.frombuffer(near.data, dtype=np.int16)
        return AudioFrame(cleaned, frame.start)

    def _frame(self, samples: np.ndarray):  # -> rtc.AudioFrame
        return self._rtc.AudioFrame(
            np.ascontiguousarray(samples, dtype=np.int16).tobytes(), SAMPLE_RATE, 1, APM_SAMPLES
        )
