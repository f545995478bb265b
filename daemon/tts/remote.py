"""TTS on another machine: an OpenAI-compatible POST {base_url}/audio/speech, streamed.

The body is OpenAI's (model, input, voice, response_format) and the reply audio is consumed as it
arrives: each piece of the HTTP body becomes an AudioChunk at once, so the box starts playing
while the server is still generating. pcm is 16-bit little-endian mono at the rate the server
states in X-Sample-Rate (else tts.remote.sample_rate); wav is the same behind a RIFF header.

`requests` (a core dependency) rather than the openai SDK: its read timeout is exactly the
per-chunk deadline wanted here (the longest wait for the next bytes), the SDK would retry on its
own, and iter_content(None) hands over each HTTP chunk as soon as it is received. The factory
wraps this backend in the espeak fallback, so a slow or down server still gives speech.
"""

from __future__ import annotations

import logging
import struct
import threading
from collections.abc import Iterator
from typing import Any

import numpy as np
import requests

from daemon.asr.remote import auth_headers
from daemon.audio.frames import AudioChunk
from daemon.config import Persona, RemoteTtsSettings
from daemon.errors import ErrorCode, StageError

__all__ = ["PcmDecoder", "RemoteSynthesizer", "voice_for"]

log = logging.getLogger(__name__)
RATE_HEADER = "X-Sample-Rate"


def voice_for(settings: RemoteTtsSettings, persona: Persona) -> str:
    """The configured voice, else the persona's ChatTTS speaker, else `seed-N` (N default 0)."""
    if settings.voice:
        return settings.voice
    chattts = persona.voice.chattts
    if chattts.speaker:
        return chattts.speaker
    return f"seed-{chattts.seed or 0}"


class PcmDecoder:
    """16-bit mono little-endian bytes -> float chunks; keeps an odd byte for the next piece.

    With `wav=True` the RIFF header is read first (its rate wins) and skipped.
    """

    def __init__(self, sample_rate: int, wav: bool = False) -> None:
        self.sample_rate = sample_rate
        self.header_pending = wav
        self.pending = b""

    def feed(self, data: bytes) -> AudioChunk | None:
        self.pending += data
        if self.header_pending and not self._read_header():
            return None
        usable = len(self.pending) - len(self.pending) % 2
        if not usable:
            return None
        block, self.pending = self.pending[:usable], self.pending[usable:]
        samples = np.frombuffer(block, dtype="<i2").astype(np.float32) / 32768.0
        return AudioChunk(samples, self.sample_rate)

    def _read_header(self) -> bool:
        """Skip RIFF/WAVE chunks up to `data`; False while more bytes are needed."""
        buf = self.pending
        if len(buf) >= 4 and buf[:4] != b"RIFF":
            raise StageError(ErrorCode.TTS_FAILED, "the server's wav has no RIFF header")
        pos = 12
        while len(buf) >= pos + 8:
            kind, size = buf[pos : pos + 4], struct.unpack("<I", buf[pos + 4 : pos + 8])[0]
            if kind == b"data":
                self.pending = buf[pos + 8 :]
                self.header_pending = False
                return True
            if len(buf) < pos + 8 + size:
                return False
            if kind == b"fmt ":
                self._check_format(buf[pos + 8 : pos + 8 + size])
            pos += 8 + size + size % 2
        return False

    def _check_format(self, fmt: bytes) -> None:
        tag, channels, rate = struct.unpack("<HHI", fmt[:8])
        bits = struct.unpack("<H", fmt[14:16])[0]
        if (tag, channels, bits) != (1, 1, 16):
            raise StageError(ErrorCode.TTS_FAILED, "the server's wav is not 16-bit mono PCM")
        self.sample_rate = rate


class RemoteSynthesizer:
    """One streamed HTTP request per sentence. One sentence at a time (the TTS worker thread);
    cancel() may come from another thread and closes the response being read."""

    name = "remote"

    def __init__(
        self, settings: RemoteTtsSettings, timeout_seconds: float, session: Any = None
    ) -> None:
        self.settings = settings
        self.url = settings.base_url.rstrip("/") + "/audio/speech"
        self.timeout = (settings.connect_seconds, timeout_seconds)  # read = per-chunk deadline
        self.http = session or requests.Session()
        self._current: requests.Response | None = None
        self._lock = threading.Lock()

    def synthesize(self, text: str, persona: Persona) -> Iterator[AudioChunk]:
        response = self._request(text, persona)
        try:
            yield from self._chunks(response)
        finally:
            with self._lock:
                self._current = None
            response.close()

    def cancel(self) -> None:
        """Barge-in: drop the stream, so the reading thread ends at once."""
        with self._lock:
            current, self._current = self._current, None
        if current is not None:
            current.close()

    def _request(self, text: str, persona: Persona) -> requests.Response:
        body = {
            "model": self.settings.model,
            "input": text,
            "voice": voice_for(self.settings, persona),
            "response_format": self.settings.response_format,
            "language": persona.language,  # an extension; OpenAI servers ignore it
        }
        headers = auth_headers(self.settings.api_key())
        try:
            response = self.http.post(
                self.url, json=body, headers=headers, timeout=self.timeout, stream=True
            )
        except requests.RequestException as exc:
            raise _stage_error(self.url, exc) from exc
        if response.status_code != 200:
            detail = response.text[:200]
            response.close()
            raise StageError(
                ErrorCode.TTS_FAILED, f"{self.url}: HTTP {response.status_code} {detail}"
            )
        with self._lock:
            self._current = response
        return response

    def _chunks(self, response: requests.Response) -> Iterator[AudioChunk]:
        rate = _stated_rate(response) or self.settings.sample_rate
        decoder = PcmDecoder(rate, wav=self.settings.response_format == "wav")
        try:
            for data in response.iter_content(chunk_size=None):
                chunk = decoder.feed(data)
                if chunk is not None:
                    yield chunk
        except (requests.RequestException, OSError, AttributeError, ValueError) as exc:
            if self._current is not response:
                return  # closed by cancel(): urllib3 reports a closed stream in several ways
            raise _stage_error(self.url, exc) from exc


def _stated_rate(response: requests.Response) -> int | None:
    try:
        rate = int(response.headers.get(RATE_HEADER, ""))
    except ValueError:
        return None
    return rate if rate > 0 else None


def _stage_error(url: str, exc: Exception) -> StageError:
    timed_out = isinstance(exc, requests.Timeout) or "timed out" in str(exc).lower()
    code = ErrorCode.TTS_TIMEOUT if timed_out else ErrorCode.TTS_FAILED
    return StageError(code, f"{url}: {type(exc).__name__}")
