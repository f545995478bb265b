"""ASR on another machine: an OpenAI-compatible POST {base_url}/audio/transcriptions.

Built for `voiced serve` on a household GPU box, but any server speaking the OpenAI audio API
(multipart: file, model, language, response_format=json) will do. The session buffers the
utterance in feed() and posts it as one 16 kHz WAV in finish().

Why `requests` and not the openai SDK's audio.transcriptions: requests is already a core
dependency, it is synchronous like the ASR worker thread that calls finish(), and its
(connect, read) timeout pair maps directly onto the two deadlines needed here: connect from
asr.remote.connect_seconds, and asr.timeout_seconds for the answer, which is one small JSON
object, so the wait for its first byte is the whole wait (the turn's own ASR deadline bounds the
rest). The SDK would add its own retries (which would stretch the turn's deadline) and a second
HTTP stack to configure.
"""

from __future__ import annotations

import io
import logging
import time
from typing import Any

import numpy as np
import requests
import soundfile as sf

from daemon.asr.base import Transcript, TranscriptionSession
from daemon.audio.frames import SAMPLE_RATE
from daemon.config import RemoteAsrSettings
from daemon.errors import ErrorCode, StageError

__all__ = ["RemoteTranscriber", "wav_bytes"]

log = logging.getLogger(__name__)
MAX_BUFFER_SECONDS = 120.0  # far above the endpointer's cap; bounds memory if it ever fails


def wav_bytes(samples: np.ndarray, rate: int = SAMPLE_RATE) -> bytes:
    """16-bit mono PCM WAV of int16 samples."""
    out = io.BytesIO()
    sf.write(out, np.asarray(samples, dtype=np.int16), rate, format="WAV", subtype="PCM_16")
    return out.getvalue()


def auth_headers(key: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"} if key else {}


class RemoteTranscriber:
    """Transcribes each utterance with one HTTP request to the configured server."""

    name = "remote"

    def __init__(
        self, settings: RemoteAsrSettings, timeout_seconds: float, session: Any = None
    ) -> None:
        self.settings = settings
        self.url = settings.base_url.rstrip("/") + "/audio/transcriptions"
        self.timeout = (settings.connect_seconds, timeout_seconds)
        self.http = session or requests.Session()

    def start(self) -> TranscriptionSession:
        return _Session(self)

    def post(self, samples: np.ndarray) -> Transcript:
        """One request; every failure becomes a StageError here, at the stage's boundary."""
        data = {"model": self.settings.model, "response_format": "json"}
        if self.settings.language:
            data["language"] = self.settings.language
        files = {"file": ("utterance.wav", wav_bytes(samples), "audio/wav")}
        started = time.monotonic()
        try:
            response = self.http.post(
                self.url,
                data=data,
                files=files,
                headers=auth_headers(self.settings.api_key()),
                timeout=self.timeout,
            )
        except requests.Timeout as exc:
            raise StageError(ErrorCode.ASR_TIMEOUT, f"{self.url}: {type(exc).__name__}") from exc
        except requests.RequestException as exc:
            raise StageError(ErrorCode.ASR_FAILED, f"{self.url}: {type(exc).__name__}") from exc
        log.debug("remote ASR: HTTP %s in %.3f s", response.status_code, _since(started))
        return _transcript(self.url, response)


def _since(started: float) -> float:
    return time.monotonic() - started


def _transcript(url: str, response: requests.Response) -> Transcript:
    if response.status_code != 200:
        raise StageError(
            ErrorCode.ASR_FAILED, f"{url}: HTTP {response.status_code} {_error_text(response)}"
        )
    try:
        body = response.json()
        text = body["text"]
    except (ValueError, KeyError, TypeError) as exc:
        raise StageError(ErrorCode.ASR_FAILED, f"{url}: not a transcription ({exc})") from exc
    if not isinstance(text, str):
        raise StageError(ErrorCode.ASR_FAILED, f"{url}: text is not a string")
    language = body.get("language") if isinstance(body.get("language"), str) else None
    return Transcript(text.strip(), language)


def _error_text(response: requests.Response) -> str:
    """The server's error message (OpenAI's {"error": {"message": ...}}), briefly."""
    try:
        error = response.json().get("error", {})
        message = error.get("message") if isinstance(error, dict) else error
        return str(message)[:200]
    except (ValueError, AttributeError):
        return response.text[:200]


class _Session:
    def __init__(self, owner: RemoteTranscriber) -> None:
        self.owner = owner
        self.blocks: list[np.ndarray] = []
        self.samples = 0

    def feed(self, samples: np.ndarray) -> None:
        if self.samples >= MAX_BUFFER_SECONDS * SAMPLE_RATE:
            return
        self.blocks.append(np.asarray(samples, dtype=np.int16).copy())
        self.samples += len(samples)

    def finish(self) -> Transcript:
        if not self.samples:
            return Transcript("")
        return self.owner.post(np.concatenate(self.blocks))
