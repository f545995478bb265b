"""Audio across the wire: any PCM a client sends -> our 16 kHz mono int16; our synthesized
float audio -> 16-bit mono audio-chunk events of a few hundred milliseconds."""

from __future__ import annotations

import numpy as np
from wyoming.audio import AudioChunk as WireChunk
from wyoming.audio import AudioChunkConverter, AudioFormat

from daemon.audio.frames import SAMPLE_RATE, AudioChunk, float_to_int16, resample

__all__ = ["BadAudio", "Incoming", "check_format", "wire_chunks"]

RATES = range(8000, 96001)
WIDTHS = (1, 2, 4)
CHANNELS = (1, 2)
SAMPLES_PER_CHUNK = 1024  # as the Wyoming TTS servers send


class BadAudio(ValueError):
    """Audio whose format or length makes no sense."""


def _number(data: dict, key: str, allowed: range | tuple[int, ...]) -> int:
    value = data.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or value not in allowed:
        raise BadAudio(f"audio {key} {value!r} is not supported")
    return value


def check_format(data: dict) -> AudioFormat:
    """rate, width and channels of an audio-start or audio-chunk, checked."""
    return AudioFormat(
        rate=_number(data, "rate", RATES),
        width=_number(data, "width", WIDTHS),
        channels=_number(data, "channels", CHANNELS),
    )


class Incoming:
    """One client stream converted to 16 kHz mono int16 (the converter keeps resampling state)."""

    def __init__(self) -> None:
        self._converter = AudioChunkConverter(rate=SAMPLE_RATE, width=2, channels=1)
        self.seconds = 0.0

    def convert(self, data: dict, payload: bytes | None) -> np.ndarray:
        form = check_format(data)
        audio = payload or b""
        if len(audio) % (form.width * form.channels):
            raise BadAudio("the audio payload is not a whole number of samples")
        chunk = WireChunk(form.rate, form.width, form.channels, audio)
        self.seconds += chunk.seconds
        converted = self._converter.convert(chunk).audio
        return np.frombuffer(converted, dtype="<i2").astype(np.int16)


def wire_chunks(chunk: AudioChunk, rate: int) -> list[WireChunk]:
    """Synthesized audio as 16-bit mono events at `rate` (a fallback voice may use another)."""
    samples = resample(chunk.samples.astype(np.float32), chunk.sample_rate, rate)
    pcm = float_to_int16(samples).astype("<i2").tobytes()
    step = SAMPLES_PER_CHUNK * 2
    return [WireChunk(rate, 2, 1, pcm[at : at + step]) for at in range(0, len(pcm), step)]
