"""The last step before the speaker: the same loudness for every sentence, no clipping, no clicks.

Synthesizers differ in level (ChatTTS varies from voice to voice and sentence to sentence; its
espeak-ng fallback is much louder), and audio that starts or stops mid-waveform clicks. Each
sentence gets:

- one gain, measured on its first GAIN_WINDOW seconds of speech (streamed audio cannot wait for
  the end of the sentence), bringing active speech to TARGET_RMS;
- a soft limiter above LIMIT, so no sample ever reaches full scale (CEILING at most);
- a short fade-in at its start and fade-out at its end, and the same at a real break inside it
  (a change of sample rate, or a step no waveform makes: the fallback voice taking over mid
  sentence). Joins between streamed pieces of one waveform are left alone: a fade there would
  dip the volume several times a second.

Every step is per sample once the gain is known, and the last few milliseconds of each chunk are
held back until the next one shows whether a fade-out is due, so the result does not depend on
how the audio was cut into chunks: streamed output equals the whole sentence polished at once.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import numpy as np

from daemon.audio.frames import AudioChunk
from daemon.config import Persona
from daemon.tts.base import Synthesizer

TARGET_RMS = 0.1  # -20 dBFS for active speech: peaks of -6..-3 dBFS
GAIN_RANGE = (0.1, 10.0)  # at most +-20 dB: silence and noise are not blown up
GAIN_WINDOW = 0.5  # seconds measured for the gain (ChatTTS's first streamed chunk)
LIMIT = 0.9  # above this the limiter bends the waveform smoothly towards CEILING
CEILING = 0.98  # never reached exactly: full scale (1.0) is never reached at all
FADE_IN = 0.005
FADE_OUT = 0.010
STEP = 0.25  # a jump between two samples bigger than this (and than the waveform's own
STEP_RATIO = 8.0  # movement times this) is a break, not a join


def speech_gain(samples: np.ndarray, rate: int) -> float:
    """Gain that brings the active part (20 ms blocks within 30 dB of the loudest) to TARGET_RMS."""
    block = max(1, rate // 50)
    usable = len(samples) // block * block
    if usable == 0:
        blocks = np.asarray([np.sqrt(np.mean(samples**2))]) if len(samples) else np.zeros(1)
    else:
        blocks = np.sqrt(np.mean(samples[:usable].reshape(-1, block) ** 2, axis=1))
    loudest = float(blocks.max())
    if loudest < 1e-4:
        return 1.0
    active = blocks[blocks >= loudest * 10 ** (-30 / 20)]
    level = float(np.sqrt(np.mean(active**2)))
    return float(np.clip(TARGET_RMS / level, *GAIN_RANGE))


def soft_limit(samples: np.ndarray) -> np.ndarray:
    """Identity below LIMIT; above it a tanh knee that approaches CEILING (slope 1 at LIMIT)."""
    out = samples.astype(np.float32, copy=True)
    over = np.abs(out) > LIMIT
    if over.any():
        room = CEILING - LIMIT
        excess = (np.abs(out[over]) - LIMIT) / room
        out[over] = np.sign(out[over]) * (LIMIT + room * np.tanh(excess))
    return out


def _ramp(length: int) -> np.ndarray:
    """Half-cosine from 0 to 1 over `length` samples (exclusive of the 1)."""
    return (0.5 - 0.5 * np.cos(np.pi * np.arange(length) / max(length, 1))).astype(np.float32)


class _Segment:
    """Audio at one rate with no break in it: gain, fades, limiter, a held-back tail."""

    def __init__(self, rate: int) -> None:
        self.rate = rate
        self.gain: float | None = None
        self.position = 0  # samples of this segment already given a fade-in envelope
        self.pending = np.zeros(0, dtype=np.float32)  # raw, waiting for the gain
        self.tail = np.zeros(0, dtype=np.float32)  # gained, waiting to know if it is the end
        self.fade_in = max(1, round(FADE_IN * rate))
        self.fade_out = max(1, round(FADE_OUT * rate))

    @property
    def last(self) -> float | None:
        """The latest sample seen (raw scale), to tell a join from a break."""
        if len(self.pending):
            return float(self.pending[-1])
        if len(self.tail):
            return float(self.tail[-1]) / (self.gain or 1.0)
        return None

    def push(self, samples: np.ndarray) -> np.ndarray:
        self.pending = np.concatenate([self.pending, samples.astype(np.float32)])
        if self.gain is None:
            if len(self.pending) < GAIN_WINDOW * self.rate:
                return np.zeros(0, dtype=np.float32)
            self.gain = speech_gain(self.pending[: int(GAIN_WINDOW * self.rate)], self.rate)
        return self._release(final=False)

    def finish(self) -> np.ndarray:
        if self.gain is None:
            self.gain = speech_gain(self.pending, self.rate)
        return self._release(final=True)

    def _release(self, final: bool) -> np.ndarray:
        assert self.gain is not None
        fresh, self.pending = self.pending * self.gain, np.zeros(0, dtype=np.float32)
        start = self.position
        if start < self.fade_in:
            n = min(self.fade_in - start, len(fresh))
            fresh[:n] *= _ramp(self.fade_in)[start : start + n]
        self.position += len(fresh)
        ready = np.concatenate([self.tail, fresh])
        if final:
            n = min(self.fade_out, len(ready))
            ready[len(ready) - n :] *= _ramp(self.fade_out)[::-1][self.fade_out - n :]
            self.tail = np.zeros(0, dtype=np.float32)
            return soft_limit(ready)
        keep = min(self.fade_out, len(ready))
        self.tail = ready[len(ready) - keep :]
        return soft_limit(ready[: len(ready) - keep])


def _is_break(segment: _Segment, chunk: AudioChunk) -> bool:
    last = segment.last
    if chunk.sample_rate != segment.rate:
        return True
    if last is None or not len(chunk.samples):
        return False
    step = abs(float(chunk.samples[0]) - last)
    motion = float(np.mean(np.abs(np.diff(chunk.samples[:64])))) if len(chunk.samples) > 1 else 0
    return step > STEP and step > STEP_RATIO * motion


def polish(chunks: Iterable[AudioChunk]) -> Iterator[AudioChunk]:
    """One sentence's chunks, levelled, limited and faded; chunking does not change the result."""
    segment: _Segment | None = None
    for chunk in chunks:
        if segment is not None and _is_break(segment, chunk):
            yield from _emit(segment.finish(), segment.rate)
            segment = None
        if segment is None:
            segment = _Segment(chunk.sample_rate)
        yield from _emit(segment.push(chunk.samples), segment.rate)
    if segment is not None:
        yield from _emit(segment.finish(), segment.rate)


def _emit(samples: np.ndarray, rate: int) -> Iterator[AudioChunk]:
    if len(samples):
        yield AudioChunk(samples, rate)


class PolishedSynthesizer:
    """Any synthesizer with polish() applied to each sentence it speaks."""

    def __init__(self, inner: Synthesizer) -> None:
        self.inner = inner
        self.name = inner.name

    def synthesize(self, text: str, persona: Persona) -> Iterator[AudioChunk]:
        yield from polish(self.inner.synthesize(text, persona))  # lazy, like every synthesizer

    def cancel(self) -> None:
        """Passed on to the wrapped synthesizer, if it can stop mid-sentence."""
        stop = getattr(self.inner, "cancel", None)
        if callable(stop):
            stop()
