"""Uploaded audio -> 16 kHz mono int16, or a clear reason why not (BadAudio)."""

from __future__ import annotations

import io
import struct

import numpy as np
import soundfile as sf

from daemon.audio.frames import SAMPLE_RATE, resample

__all__ = ["MAX_RATE", "MIN_RATE", "BadAudio", "decode_audio"]

MIN_RATE, MAX_RATE = 8000, 96000
_STREAMING_SIZES = (0, 0xFFFFFFFF)  # writers that did not know the length


class BadAudio(ValueError):
    """The upload cannot be transcribed; `code` names the problem for the JSON error."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def decode_audio(data: bytes, max_seconds: float) -> np.ndarray:
    """Checked and decoded audio; BadAudio for empty, not audio, truncated, odd rate, too long."""
    if not data:
        raise BadAudio("empty_audio", "the file is empty")
    if data[:4] == b"RIFF":
        _check_riff(data)
    try:
        info = sf.info(io.BytesIO(data))
    except (sf.LibsndfileError, RuntimeError, TypeError) as exc:
        raise BadAudio("not_audio", f"not a readable audio file ({exc})") from None
    if not MIN_RATE <= info.samplerate <= MAX_RATE:
        raise BadAudio(
            "bad_sample_rate",
            f"sample rate {info.samplerate} Hz is not supported ({MIN_RATE}-{MAX_RATE} Hz)",
        )
    if info.frames / info.samplerate > max_seconds:
        raise BadAudio(
            "audio_too_long",
            f"{info.frames / info.samplerate:.1f} s of audio; the limit is {max_seconds:g} s",
        )
    return _read(data, info.samplerate)


def _read(data: bytes, rate: int) -> np.ndarray:
    try:
        samples, _ = sf.read(io.BytesIO(data), dtype="int16", always_2d=True)
    except (sf.LibsndfileError, RuntimeError) as exc:
        raise BadAudio("not_audio", f"the audio cannot be decoded ({exc})") from None
    mono = samples.mean(axis=1).astype(np.int16) if samples.shape[1] > 1 else samples[:, 0]
    if rate != SAMPLE_RATE:
        mono = resample(mono, rate, SAMPLE_RATE)
    return np.ascontiguousarray(mono, dtype=np.int16)


def _check_riff(data: bytes) -> None:
    """A WAV whose data chunk promises more bytes than the upload has was cut off in transit;
    libsndfile would quietly decode the part that came, so it is checked here."""
    if len(data) < 12 or data[8:12] != b"WAVE":
        raise BadAudio("not_audio", "a RIFF file that is not WAVE")
    pos = 12
    while pos + 8 <= len(data):
        kind, size = data[pos : pos + 4], struct.unpack("<I", data[pos + 4 : pos + 8])[0]
        if kind == b"data":
            if size not in _STREAMING_SIZES and pos + 8 + size > len(data):
                have = len(data) - pos - 8
                raise BadAudio("truncated_audio", f"truncated WAV: {have} of {size} data bytes")
            return
        pos += 8 + size + size % 2
    raise BadAudio("truncated_audio", "truncated WAV: no data chunk")
