"""A linear echo canceller for the wake word: the microphone minus an adaptive estimate of the
box's own voice, with no echo suppressor after it.

WebRTC's AEC3 (daemon/audio/echo.py) subtracts a linear echo estimate and then runs a residual
echo suppressor, which mutes every frequency band where it expects echo. That is right for the
recording the ASR hears, but while the box plays loudly it also mutes a person talking over it:
measured on the room rig at echo gain 1.0 with a perfectly aligned reference, "hey jarvis" said
over a reply scored >= 0.5 on AEC3's output at 6 of 21 positions, and on this filter's output at
15 of 21 (the misses are in the first ~1.5 s of the first reply, before the filter has adapted).
Smart speakers spot the wake word on the linear stage's output for this reason. It is an option
(audio.echo_cancellation.linear_wake): while the filter still adapts, the residue of the box's
own voice can itself score as a wake word (2 self-wakes in the first minute of the Chinese room
test), which AEC3's output never did.

The filter is a partitioned-block frequency-domain NLMS (overlap-save, constrained gradient):
`PARTITIONS` blocks of `BLOCK` samples cover an echo path of 240 ms, enough for the speaker's
latency and a room's reverberation on top of the playback timeline's alignment. livekit's AEC3
does not expose its linear output, so these few lines of numpy are ours.
"""

from __future__ import annotations

import numpy as np

BLOCK = 320  # samples (20 ms at 16 kHz); an 80 ms frame is four blocks
PARTITIONS = 12  # echo path covered: 12 x 20 ms = 240 ms
STEP = 0.5  # NLMS step: fast adaptation (~15 dB within 1.5 s of speech) that stays stable
SMOOTHING = 0.9  # of the reference's power per frequency bin
REGULARIZATION = 1e-3  # per sample: no division by ~0 while the box is silent


class LinearEchoCanceller:
    """Not thread-safe: the listener thread only. Works on int16 frames of any multiple of
    BLOCK samples; the adapted echo path is kept from one reply to the next."""

    def __init__(self, block: int = BLOCK, partitions: int = PARTITIONS, step: float = STEP):
        self._block = block
        self._step = step
        bins = block + 1
        self._weights = np.zeros((partitions, bins), dtype=np.complex128)
        self._history = np.zeros((partitions, bins), dtype=np.complex128)  # newest first
        self._previous = np.zeros(block)
        self._power = np.ones(bins)
        self._floor = REGULARIZATION * 2 * block
        self._idle_blocks = partitions  # blocks since the reference was last non-zero

    def process(self, reference: np.ndarray, microphone: np.ndarray) -> np.ndarray:
        """The microphone (int16) with the echo of `reference` (int16, the same instants)
        subtracted; the filter adapts on the way."""
        if self._idle(reference):  # nothing played within the echo path: nothing to remove
            return microphone.copy()
        ref = reference.astype(np.float64) / 32768.0
        mic = microphone.astype(np.float64) / 32768.0
        n = self._block
        out = np.empty_like(mic)
        for i in range(0, len(mic) - n + 1, n):
            out[i : i + n] = self._block_step(ref[i : i + n], mic[i : i + n])
        return np.clip(np.round(out * 32768.0), -32768, 32767).astype(np.int16)

    def _idle(self, reference: np.ndarray) -> bool:
        if reference.any():
            self._idle_blocks = 0
            return False
        was_idle = self._idle_blocks >= len(self._weights)
        self._idle_blocks += len(reference) // self._block
        if was_idle:  # the history holds silence only; the filter (the room) is kept
            self._previous[:] = 0.0
        return was_idle

    def _block_step(self, ref: np.ndarray, mic: np.ndarray) -> np.ndarray:
        n = self._block
        spectrum = np.fft.rfft(np.concatenate([self._previous, ref]))
        self._previous = ref
        self._history = np.roll(self._history, 1, axis=0)
        self._history[0] = spectrum
        echo = np.fft.irfft((self._weights * self._history).sum(axis=0))[n:]
        error = mic - echo
        self._adapt(np.fft.rfft(np.concatenate([np.zeros(n), error])))
        return error

    def _adapt(self, error_spectrum: np.ndarray) -> None:
        partitions = len(self._weights)
        power = (np.abs(self._history) ** 2).sum(axis=0) / partitions
        self._power = SMOOTHING * self._power + (1 - SMOOTHING) * power
        gradient = (
            np.conj(self._history) * error_spectrum / (partitions * self._power + self._floor)
        )
        taps = np.fft.irfft(gradient, axis=1)
        taps[:, self._block :] = 0.0  # the constraint: a linear (not circular) convolution
        self._weights += self._step * np.fft.rfft(taps, axis=1)
