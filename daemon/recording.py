"""One request being recorded: VAD + endpointer on the listener thread, ASR fed on its own."""

from __future__ import annotations

import asyncio
import concurrent.futures
from dataclasses import dataclass, field

from daemon.asr.base import TranscriptionSession
from daemon.audio.frames import AudioFrame, Reframer
from daemon.config import EndpointSettings
from daemon.vad.base import Vad
from daemon.vad.endpoint import Decision, Endpointer


class Recording:
    """VAD and endpointer for one request. Runs on the listener thread only."""

    def __init__(self, vad: Vad, endpoint: EndpointSettings, vad_threshold: float) -> None:
        self._vad = vad
        self._chunker = Reframer(vad.chunk_samples)
        self.endpointer = Endpointer(endpoint, vad_threshold)
        vad.reset()

    def warm(self, frame: AudioFrame) -> None:
        """Pre-roll: primes the VAD's state without counting toward the endpoint."""
        for chunk in self._chunker.push(frame.samples):
            self._vad.probability(chunk.samples)

    def feed(self, frame: AudioFrame) -> Decision:
        decision = Decision.CONTINUE
        for chunk in self._chunker.push(frame.samples):
            decision = self.endpointer.process(chunk.duration, self._vad.probability(chunk.samples))
            if decision is not Decision.CONTINUE:
                break
        return decision


@dataclass
class Utterance:
    """The ASR side of a recording: feeds queued, in order, on the ASR thread."""

    session: TranscriptionSession
    executor: concurrent.futures.Executor
    pending: list[asyncio.Future[None]] = field(default_factory=list)

    def feed(self, frame: AudioFrame) -> None:
        loop = asyncio.get_running_loop()
        self.pending.append(loop.run_in_executor(self.executor, self.session.feed, frame.samples))
