"""The ASR interface: a session is fed audio while the person speaks and finished at endpoint.

Streaming backends decode as audio arrives, so the text is ready almost at once when the
endpointer fires; offline backends buffer in `feed` and decode in `finish`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

from daemon.errors import ErrorCode, StageError


@dataclass(frozen=True, slots=True)
class Transcript:
    text: str
    language: str | None = None


class TranscriptionSession(Protocol):
    def feed(self, samples: np.ndarray) -> None:
        """16 kHz mono int16 audio, in order. Called from one worker thread."""
        ...

    def finish(self) -> Transcript: ...


@runtime_checkable
class StreamingSession(Protocol):
    """A session that decodes as audio arrives and can say what it has heard so far."""

    @property
    def partial(self) -> str: ...


UNSURE_MARK = "…"  # a partial ending in this: speech heard whose words are not known (yet)


class Transcriber(Protocol):
    name: str

    def start(self) -> TranscriptionSession:
        """Begin one utterance. One session at a time."""
        ...


@contextlib.contextmanager
def stage_boundary(what: str) -> Iterator[None]:
    """The ASR stage boundary: any library failure becomes asr-failed, once."""
    try:
        yield
    except StageError:
        raise
    except Exception as exc:
        raise StageError(ErrorCode.ASR_FAILED, f"{what}: {type(exc).__name__}: {exc}") from exc
