"""One request being recorded: VAD + endpointer on the listener thread, ASR on its own worker."""

from __future__ import annotations

import concurrent.futures
import logging

import numpy as np

from daemon.asr.base import StreamingSession, Transcript, TranscriptionSession
from daemon.audio.frames import AudioFrame, Reframer
from daemon.config import EndpointSettings
from daemon.vad.base import Vad
from daemon.vad.endpoint import Decision, Endpointer, Verdict, hangover_for
from daemon.vad.judge import TurnAudio, TurnJudge
from daemon.worker import Worker

log = logging.getLogger(__name__)

PRE_SPEECH_SECONDS = 0.5  # audio before the speech start that the judge hears (pipecat's default)


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
        self.warm_probabilities(frame.samples)

    def warm_probabilities(self, samples: np.ndarray) -> list[float]:
        """Primes the VAD like `warm`, and says what it heard, chunk by chunk."""
        heard = []
        for chunk in self._chunker.push(samples):
            self._audio.append(chunk.samples)  # the judge hears the pre-roll too
            heard.append(self._vad.probability(chunk.samples))
        return heard

    def feed(self, frame: AudioFrame, partial: str = "") -> Decision:
        """`partial`: what a streaming ASR has heard so far, if anything (sets the hangover;
        in smart-turn mode it is read with the judge's answer)."""
        decision = Decision.CONTINUE
        hangover = None if self._endpoint.mode == "fixed" else hangover_for(partial, self._endpoint)
        for chunk in self._chunker.push(frame.samples):
            self._audio.append(chunk.samples)
            prob = self._vad.probability(chunk.samples)
            decision = self.endpointer.process(chunk.duration, prob, hangover, partial)
            if decision is not Decision.CONTINUE:
                break
        return decision

    def _ask_judge(self) -> float:
        """P(complete) for the turn from just before its speech began (as pipecat feeds Smart
        Turn: `PRE_SPEECH_SECONDS` before the speech start, not the wake phrase in the pre-roll)."""
        assert self._judge is not None
        since = self.endpointer.elapsed - self.endpointer.speech_start + PRE_SPEECH_SECONDS
        try:
            return self._judge.probability(self._audio.samples(since))
        except Exception as exc:  # a broken judge must not end or hang the request
            log.warning("end-of-turn judge failed (%s); waiting for the silence instead", exc)
            return 0.0


class Utterance:
    """The ASR side of a request: frames fed in order on the ASR worker, then finished once.

    The listener feeds it; the reply finishes it. From a file the listener waits for each feed
    (`partial_after`), so the endpointer sees exactly the text of the audio up to that frame and
    the same file always ends at the same sample. Live, it never waits: it reads whatever the
    ASR has heard so far."""

    def __init__(self, session: TranscriptionSession, worker: Worker) -> None:
        self.session = session
        self._worker = worker
        self._last: concurrent.futures.Future[None] | None = None
        self._error: BaseException | None = None
        self._streaming = isinstance(session, StreamingSession)

    def feed(self, samples: np.ndarray) -> concurrent.futures.Future[None]:
        """Queue audio for the ASR (listener thread; waits if the ASR is far behind)."""
        future = self._worker.submit(self._feed, samples)
        self._last = future
        return future

    def _feed(self, samples: np.ndarray) -> None:
        if self._error is None:  # after a failure, finish() reports it; nothing more to decode
            try:
                self.session.feed(samples)
            except Exception as exc:
                self._error = exc

    def partial_after(self, fed: concurrent.futures.Future[None] | None) -> str:
        """What a streaming ASR has heard; with `fed`, once that feed is done ("" offline)."""
        if not self._streaming:
            return ""
        if fed is not None:
            fed.result()
        return str(self.session.partial)  # type: ignore[attr-defined]

    async def finish(self) -> Transcript:
        """The final transcript (after every queued feed); raises what feeding raised."""
        transcript = await self._worker.run(self.session.finish)
        if self._error is not None:
            raise self._error
        return transcript

    def discard(self) -> None:
        """Nobody will use this utterance: finish it in the background (the decoder must be
        reset before the next one); its result and errors are dropped."""
        future = self._worker.submit(self.session.finish, block=False)
        future.add_done_callback(lambda f: f.cancelled() or f.exception())
