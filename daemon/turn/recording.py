"""One request being recorded: VAD + endpointer on the listener thread, ASR fed on its own."""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
from dataclasses import dataclass, field

from daemon.asr.base import TranscriptionSession
from daemon.audio.frames import AudioFrame, Reframer
from daemon.config import EndpointSettings
from daemon.vad.base import Vad
from daemon.vad.endpoint import Decision, Endpointer, Verdict, hangover_for
from daemon.vad.judge import TurnAudio, TurnJudge

log = logging.getLogger(__name__)


class Recording:
    """VAD and endpointer for one request. Runs on the listener thread only.

    In smart-turn mode the end-of-turn judge runs here too, synchronously on the listener thread
    (never the event loop) and on the audio up to the current VAD chunk only, so a file always
    ends at the same sample.
    """

    def __init__(
        self,
        vad: Vad,
        endpoint: EndpointSettings,
        vad_threshold: float,
        judge: TurnJudge | None = None,
    ) -> None:
        self._vad = vad
        self._endpoint = endpoint
        self._chunker = Reframer(vad.chunk_samples)
        self._audio = TurnAudio()
        self._judge = judge
        self.endpointer = Endpointer(
            endpoint, vad_threshold, self._ask_judge if judge is not None else None
        )
        vad.reset()

    @property
    def verdict(self) -> Verdict | None:
        """The judge's latest answer in the current silence (None while speech goes on)."""
        return self.endpointer.verdict

    def warm(self, frame: AudioFrame) -> None:
        """Pre-roll: primes the VAD's state without counting toward the endpoint."""
        for chunk in self._chunker.push(frame.samples):
            self._audio.append(chunk.samples)
            self._vad.probability(chunk.samples)

    def feed(self, frame: AudioFrame, partial: str = "") -> Decision:
        """`partial`: what a streaming ASR has heard so far, if anything (sets the hangover)."""
        decision = Decision.CONTINUE
        hangover = None if self._endpoint.mode == "fixed" else hangover_for(partial, self._endpoint)
        for chunk in self._chunker.push(frame.samples):
            self._audio.append(chunk.samples)
            prob = self._vad.probability(chunk.samples)
            decision = self.endpointer.process(chunk.duration, prob, hangover)
            if decision is not Decision.CONTINUE:
                break
        return decision

    def _ask_judge(self) -> float:
        assert self._judge is not None
        try:
            return self._judge.probability(self._audio.samples())
        except Exception as exc:  # a broken judge must not end or hang the request
            log.warning("end-of-turn judge failed (%s); waiting for the silence instead", exc)
            return 0.0


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
