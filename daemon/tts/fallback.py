"""A synthesizer that never leaves a turn silent: the main voice, else espeak-ng.

The primary (ChatTTS) runs on its own worker thread and each of its chunks is awaited with a
deadline, so a slow or stuck model cannot hold the turn: when it raises, misses the deadline, or
had no model at start-up, the same text is spoken by the fallback. A timed-out call is asked to
stop (`cancel()`, if the primary has one); while it is still running, later sentences go straight
to the fallback instead of queueing behind it. A failure is logged once, with its code, when it
starts, and once more when the primary works again, not once per sentence.

If the primary fails after some of a sentence was already played, the fallback speaks the whole
sentence: repeating a few words is better than losing the rest of them. If the fallback fails
too, StageError(TTS_FAILED) reaches the turn, which plays its earcon.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import logging
import queue
import threading
from collections.abc import Iterator
from dataclasses import dataclass

from daemon.audio.frames import AudioChunk
from daemon.config import Persona
from daemon.errors import ErrorCode, StageError
from daemon.tts.base import Cancellable, Synthesizer
from daemon.worker import Worker

log = logging.getLogger(__name__)
QUEUE_CHUNKS = 8  # chunks the primary may run ahead of playback
PUT_POLL = 0.1  # how often a blocked worker checks whether its sentence was abandoned


@dataclass(frozen=True)
class Unavailable:
    """Why the primary could not even be started (for example its model is missing)."""

    code: ErrorCode
    detail: str


_DONE, _CANCELLED = object(), object()


class _Job:
    """One sentence of the primary, produced on the worker thread into a bounded queue."""

    def __init__(self, primary: Synthesizer, text: str, persona: Persona) -> None:
        self.primary, self.text, self.persona = primary, text, persona
        self.items: queue.Queue[object] = queue.Queue(QUEUE_CHUNKS)
        self.cancelled = threading.Event()
        self.finished = False  # the primary is done with this sentence (worker side)
        self.completed = False  # every chunk of it was taken (consumer side)

    def run(self) -> None:
        try:
            for chunk in self.primary.synthesize(self.text, self.persona):
                if self.cancelled.is_set() or not self._put(chunk):
                    return
            self.finished = True
            self._put(_DONE)
        except Exception as exc:
            self.finished = True
            self._put(exc)

    def _put(self, item: object) -> bool:
        while not self.cancelled.is_set():
            try:
                self.items.put(item, timeout=PUT_POLL)
                return True
            except queue.Full:
                continue
        return False

    def next(self, deadline: float) -> AudioChunk | None:
        """The next chunk; None at the end or once cancelled; StageError on failure or after
        `deadline` s without a chunk."""
        if self.cancelled.is_set():
            return None
        try:
            item = self.items.get(timeout=deadline)
        except queue.Empty:
            raise StageError(ErrorCode.TTS_TIMEOUT, f"no audio in {deadline:g} s") from None
        if item is _DONE:
            self.completed = True
            return None
        if item is _CANCELLED:
            return None
        if isinstance(item, StageError):
            raise item
        if isinstance(item, Exception):
            raise StageError(ErrorCode.TTS_FAILED, f"{type(item).__name__}: {item}") from item
        assert isinstance(item, AudioChunk)
        return item

    def cancel(self) -> None:
        """Stop producing; interrupt the primary if it is still generating this sentence."""
        if self.cancelled.is_set():
            return
        self.cancelled.set()
        with contextlib.suppress(queue.Full):  # wakes a consumer waiting for the next chunk
            self.items.put_nowait(_CANCELLED)
        if not self.finished and isinstance(self.primary, Cancellable):
            self.primary.cancel()


class FallbackSynthesizer:
    """`primary` with `fallback` behind it; `primary` None means it could not be started."""

    def __init__(
        self,
        primary: Synthesizer | None,
        fallback: Synthesizer,
        deadline: float,
        unavailable: Unavailable | None = None,
    ) -> None:
        self.primary = primary
        self.fallback = fallback
        self.deadline = deadline
        self.name = f"{primary.name if primary else 'none'}|{fallback.name}"
        self.unavailable = unavailable if primary is None else None  # for `voiced check`
        self._job: _Job | None = None  # the primary's latest sentence
        self._running: concurrent.futures.Future[None] | None = None  # ... on the worker
        # A daemon thread: a primary stuck in native code must not keep the process from exiting.
        self._worker = Worker("voiced-tts-primary", max_queue=1) if primary else None
        self._failing: StageError | None = None
        self._fallback_sentences = 0
        if primary is None:
            self.unavailable = unavailable or Unavailable(ErrorCode.MODEL_MISSING, "no primary")
            log.error(
                "TTS %s: %s; every sentence will be spoken by %s",
                self.unavailable.code,
                self.unavailable.detail,
                fallback.name,
            )

    @property
    def busy(self) -> bool:
        """A timed-out primary call is still running on the worker."""
        return self._running is not None and not self._running.done()

    def synthesize(self, text: str, persona: Persona) -> Iterator[AudioChunk]:
        if self.primary is None:
            yield from self._speak_fallback(text, persona, None)
            return
        if self.busy:
            log.debug("TTS %s still busy with an abandoned sentence", self.primary.name)
            yield from self._speak_fallback(text, persona, None)
            return
        assert self._worker is not None
        job = self._job = _Job(self.primary, text, persona)
        self._running = self._worker.submit(job.run, block=False)
        try:
            while (chunk := job.next(self.deadline)) is not None:
                yield chunk
        except StageError as err:
            job.cancel()
            self._report(err)
            yield from self._speak_fallback(text, persona, err)
            return
        finally:
            job.cancel()  # no-op when it finished; stops it when the turn abandoned us
        if job.completed:
            self._recovered()

    def cancel(self) -> None:
        """Stop the sentence in progress (barge-in): the primary is interrupted and a call
        waiting for its next chunk ends at once, with no fallback speech."""
        if self._job is not None:
            self._job.cancel()

    def _speak_fallback(
        self, text: str, persona: Persona, cause: StageError | None
    ) -> Iterator[AudioChunk]:
        self._fallback_sentences += 1
        try:
            yield from self.fallback.synthesize(text, persona)
        except Exception as exc:
            why = f"{cause.code}: {cause.detail}; " if cause else ""
            raise StageError(
                ErrorCode.TTS_FAILED, f"{why}fallback {self.fallback.name} failed too: {exc}"
            ) from exc

    def _report(self, err: StageError) -> None:
        assert self.primary is not None
        if self._failing is None:
            log.warning(
                "TTS %s %s: %s; speaking with %s until it works again",
                self.primary.name,
                err.code,
                err.detail,
                self.fallback.name,
            )
            self._failing = err
            self._fallback_sentences = 0
        else:
            log.debug("TTS %s %s again: %s", self.primary.name, err.code, err.detail)

    def _recovered(self) -> None:
        if self._failing is not None:
            assert self.primary is not None
            log.info(
                "TTS %s works again (%d sentences were spoken by %s)",
                self.primary.name,
                self._fallback_sentences,
                self.fallback.name,
            )
            self._failing = None
