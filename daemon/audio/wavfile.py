"""WAV files in place of the microphone and the speaker (tests, demos, batch runs)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np
import soundfile as sf

from daemon.audio.frames import (
    SAMPLE_RATE,
    AudioChunk,
    AudioFrame,
    Reframer,
    float_to_int16,
    resample,
    to_mono,
)


def read_wav_16k(path: Path) -> np.ndarray:
    """Any WAV (rate, channels, sample format) as 16 kHz mono int16."""
    data, rate = sf.read(str(path), dtype="float32", always_2d=False)
    return float_to_int16(resample(to_mono(data), rate, SAMPLE_RATE))


class WavFileSource:
    """Frames from a WAV file, then `tail_silence` seconds of silence (as a quiet room would give).

    With `realtime=True` frames are paced by the wall clock like a microphone; otherwise they are
    produced as fast as the listener takes them.
    """

    def __init__(self, path: Path, realtime: bool = False, tail_silence: float = 2.0) -> None:
        self.path = path
        self.realtime = realtime
        self._samples = np.concatenate(
            [read_wav_16k(path), np.zeros(int(tail_silence * SAMPLE_RATE), dtype=np.int16)]
        )
        self._closed = False

    async def frames(self) -> AsyncIterator[AudioFrame]:
        reframer = Reframer()
        loop = asyncio.get_running_loop()
        started = loop.time()
        for frame in reframer.push(self._samples):
            if self._closed:
                return
            if self.realtime:
                await asyncio.sleep(max(0.0, started + frame.end - loop.time()))
            yield frame

    async def close(self) -> None:
        self._closed = True


class WavFileSink:
    """Writes everything played, in order, to one 16-bit WAV file at `sample_rate`."""

    def __init__(self, path: Path, sample_rate: int = 16000) -> None:
        self.path = path
        self.sample_rate = sample_rate
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file = sf.SoundFile(
            str(path), mode="w", samplerate=sample_rate, channels=1, subtype="PCM_16"
        )
        self.seconds_written = 0.0

    async def play(self, chunk: AudioChunk) -> None:
        samples = resample(chunk.samples.astype(np.float32), chunk.sample_rate, self.sample_rate)
        self._file.write(samples)
        self._file.flush()
        self.seconds_written += len(samples) / self.sample_rate

    async def drain(self) -> None:
        return None

    async def close(self) -> None:
        if not self._file.closed:
            self._file.close()
