"""One request being recorded: VAD + endpointer on the listener thread, ASR fed on its own."""

from __future__ import annotations

import asyncio
import concurrent.futures
from dataclasses import dataclass, field

from daemon.asr.base import TranscriptionSession
from daemon.audio.frames import AudioFrame, Reframer
from daemon.config import EndpointSettings
from daemon.vad.base import Vad
from daemon.vad.endpoint import Decision, Endpointer, hangover_for


class Recording:
    """VAD and endpointer for one request. Runs on the listener thread only."""

    def __init__(self, vad: Vad, endpoint: EndpointSettings, vad_threshold: float) -> None:
        self._vad = vad
        self._endpoint = endpoint
        self._chunker = Reframer(vad.chunk_samples)
        self.endpointer = Endpointer(endpoint, vad_threshold)
        vad.reset()

    def warm(self, frame: AudioFrame) -> None:
        """Pre-roll: primes the VAD's state without counting toward the endpoint."""
        for chunk in self._chunker.push(frame.samples):
            self._vad.probability(chunk.samples)

    def feed(self, frame: AudioFrame, partial: str = "") -> Decision:
        """`partial`: what a streaming ASR has heard so far, if anything (sets the hangover)."""
        decision = Decision.CONTINUE
        hangover = hangover_for(partial, self._endpoint)
        for chunk in self._chunker.push(frame.samples):
            prob = self._vad.probability(chunk.samples)
            decision = self.endpointer.process(chunk.duration, prob, hangover)
            if decision is not Decision.CONTINUE:
                break
        return decision


@dataclass
class Utterance:
    """The ASR side of a recording: feeds queued, in order, on the ASR thread."""

    session: TranscriptionSession
    executor: concurrent.futures.Executor
    pending: list[asyncio.Future[None]] = field(default_factory=list)

    @property
    def partial(self) -> str:
        """What a streaming backend has recognized so far ("" for offline ones)."""
        return str(getattr(self.session, "partial", ""))

    def feed(self, frame: AudioFrame) -> None:
        loop = asyncio.get_running_loop()
        self.pending.append(loop.run_in_executor(self.executor, self.session.feed, frame.samples))
