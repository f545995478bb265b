"""An in-process ASR model loaded at the first request instead of at start-up (asr.load:
first-request).

Until a person first speaks to the box its model takes no memory (pocketsphinx ~93 MB, Whisper
base int8 ~130 MB). The load runs on the ASR worker as the first audio of the request is fed,
so the listener never waits for it: the request's audio queues behind the load and is decoded
once the model is there. That one request's transcript is late by what the load takes beyond
the speech itself (scripts/bench latency: first_turn); later requests find the model loaded.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import numpy as np

from daemon.asr.base import Transcriber, Transcript, TranscriptionSession

log = logging.getLogger(__name__)


class LazyTranscriber:
    """A backend built by `load()` when its first session is fed. One ASR worker thread."""

    def __init__(self, name: str, load: Callable[[], Transcriber]) -> None:
        self.name = name
        self._load = load
        self._backend: Transcriber | None = None

    @property
    def loaded(self) -> bool:
        return self._backend is not None

    def backend(self) -> Transcriber:
        """The loaded backend (loads it now, on the calling ASR worker, if need be)."""
        if self._backend is None:
            started = time.monotonic()
            self._backend = self._load()
            log.info(
                "asr %s loaded at the first request in %.1f s",
                self.name,
                time.monotonic() - started,
            )
        return self._backend

    def start(self) -> TranscriptionSession:
        return _LazySession(self)


class _LazySession:
    """A session whose backend session starts with its first audio."""

    def __init__(self, owner: LazyTranscriber) -> None:
        self._owner = owner
        self._inner: TranscriptionSession | None = None

    @property
    def partial(self) -> str:
        """What a streaming backend has heard so far ("" before the load or when offline)."""
        return str(getattr(self._inner, "partial", "") or "")

    def feed(self, samples: np.ndarray) -> None:
        if self._inner is None:
            self._inner = self._owner.backend().start()
        self._inner.feed(samples)

    def finish(self) -> Transcript:
        if self._inner is None:  # no audio was fed: nothing to load for
            return Transcript("")
        return self._inner.finish()
