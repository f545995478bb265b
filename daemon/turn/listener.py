"""The listener: one call per 80 ms frame, on its own worker, returning what was heard.

    frame ─► echo cancellation ─► pre-roll ─► quiet gate ─► wake word ─► self-trigger guard
                                     └──────► VAD + endpointer (+ the ASR fed) ─► event

`hear(frame, phase)` is the whole of it. The phase (from daemon.turn.phases) says what to listen
for and carries the objects to listen with; `hear` returns an event or None and never changes
the phase itself: the turn machine does, on the event loop, before the next frame is heard. So a
frame is always judged against the phase the machine was in when it was heard, and every model
here (wake, VAD, guard, echo canceller) is touched by this one thread only.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np

from daemon.audio.echo import EchoCanceller
from daemon.audio.frames import SAMPLE_RATE, AudioChunk, AudioFrame, PreRoll
from daemon.audio.noise import NoiseSuppressor
from daemon.config import EndpointSettings
from daemon.errors import ErrorCode, StageError
from daemon.turn.phases import FollowUp, Phase, Recording, Replying
from daemon.turn.recording import Recording as Listening
from daemon.vad.base import Vad
from daemon.vad.endpoint import HYSTERESIS, Decision
from daemon.vad.judge import TurnJudge
from daemon.wake.base import LatestScore, WakeDetector, WakeHit
from daemon.wake.gate import QuietGate
from daemon.wake.guard import SelfTriggerGuard

log = logging.getLogger(__name__)

PREROLL_KEEP_SECONDS = 1.0  # audio kept before the wake word fires (covers the whole phrase)
HEARD_SECONDS = 2.0  # audio before a fire handed to the wake check (daemon.wake.verify)
FOLLOW_UP_WAKE_WINDOW = 2.5  # seconds into a follow-up's speech in which the wake word restarts it


# --- what the listener reports ------------------------------------------------------------------


@dataclass(frozen=True)
class Woke:
    """A wake word a person said (not the box itself). `listening` is the new request's VAD and
    endpointer, already warmed; `lead_in` the audio after the wake phrase, for the ASR;
    `heard` the last HEARD_SECONDS before the fire (int16), for the second-stage wake check."""

    hit: WakeHit
    at: float
    listening: Listening
    lead_in: list[AudioFrame]
    heard: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int16))


@dataclass(frozen=True)
class SpeechBegan:
    """Speech with no wake word: in the follow-up window, or over the reply with AEC."""

    listening: Listening
    lead_in: list[AudioFrame]


@dataclass(frozen=True)
class RequestEnded:
    decision: Decision


@dataclass(frozen=True)
class WindowClosed:
    """The follow-up window passed in silence."""


Event = Woke | SpeechBegan | RequestEnded | WindowClosed


@dataclass(frozen=True)
class ListenSettings:
    endpoint: EndpointSettings
    vad_threshold: float = 0.5
    preroll_seconds: float = 0.3
    refractory_seconds: float = 2.0
    barge_in: bool = True
    deterministic: bool = False  # a file: wait for the ASR before each endpoint decision


class Listener:
    """Owns the listening models; every method runs on the listener worker."""

    def __init__(
        self,
        wake: WakeDetector,
        vad: Vad,
        settings: ListenSettings,
        *,
        gate: QuietGate | None = None,
        guard: SelfTriggerGuard | None = None,
        echo: EchoCanceller | None = None,
        judge: TurnJudge | None = None,
        denoise: NoiseSuppressor | None = None,
    ) -> None:
        self._wake = wake
        self._vad = vad
        self._judge = judge  # Smart Turn: does the request sound finished at a pause?
        self._gate = gate
        self._guard = guard
        self._echo = echo
        self._denoise = denoise  # after the echo canceller, which needs the raw microphone
        self.settings = settings
        self._preroll = PreRoll(max(PREROLL_KEEP_SECONDS, HEARD_SECONDS))
        self._last_wake = float("-inf")
        # The wake word's score of the last frame heard (None: not scored, e.g. a quiet room);
        # read by the turn machine once hear() has returned, for the console's meter.
        self.wake_score: float | None = None

    # --- the one call per frame -----------------------------------------------------------------

    def hear(self, frame: AudioFrame, phase: Phase) -> Event | None:
        for_wake = frame
        self.wake_score = None
        if self._echo is not None:
            frame, for_wake = self._echo.process(frame)
        if self._denoise is not None:
            denoised = AudioFrame(self._denoise.process(frame.samples), frame.start)
            if for_wake is frame:  # (not the linear wake path: that one is the wake's alone)
                for_wake = denoised
            frame = denoised
        if self._wake_listening(phase):
            self._preroll.append(frame)
            hit = self._detect(for_wake)
            if hit is not None and self._wake_allowed(hit, frame):
                return self._woke(hit, frame)
        return self._listen(frame, phase)

    def _listen(self, frame: AudioFrame, phase: Phase) -> Event | None:
        if isinstance(phase, Recording):
            fed = phase.utterance.feed(frame.samples)
            partial = phase.utterance.partial_after(fed if self.settings.deterministic else None)
            decision = self._feed(phase.listening, frame, partial)
            return None if decision is Decision.CONTINUE else RequestEnded(decision)
        if isinstance(phase, FollowUp) and frame.start >= phase.since:
            decision = self._feed(phase.listening, frame)
            if decision is Decision.NO_SPEECH:
                return WindowClosed()
            if phase.listening.endpointer.speech_started:
                return self._speech_began(phase.listening)
        if isinstance(phase, Replying) and phase.over_reply and frame.start >= phase.since:
            self._feed(phase.over_reply, frame)
            if phase.over_reply.endpointer.speech_started:
                return self._speech_began(phase.over_reply)
        return None

    def _speech_began(self, listening: Listening) -> SpeechBegan:
        # The endpointer was sure of the speech only after min_speech_seconds of it.
        keep = self.settings.preroll_seconds + self.settings.endpoint.min_speech_seconds
        lead_in = self._preroll.tail(keep)
        self._preroll.clear()
        return SpeechBegan(listening, lead_in)

    # --- wake word ------------------------------------------------------------------------------

    def _wake_listening(self, phase: Phase) -> bool:
        if isinstance(phase, Recording):  # only early in a follow-up: see TurnMachine
            endpointer = phase.listening.endpointer
            return (
                phase.from_follow_up
                and endpointer.elapsed - endpointer.speech_start <= FOLLOW_UP_WAKE_WINDOW
            )
        return not isinstance(phase, Replying) or self.settings.barge_in

    def _detect(self, frame: AudioFrame) -> WakeHit | None:
        """Score the frame, unless the room is quiet (then the model is not even run)."""
        try:
            gate = self._gate
            if gate is not None and (gate.quiet(frame.samples) or gate.hold(frame.samples)):
                return None
            hit = (gate or self._wake).process(frame.samples)
        except Exception as exc:
            raise StageError(ErrorCode.WAKE_FAILED, f"{type(exc).__name__}: {exc}") from exc
        scorer = self._wake if gate is None else gate.detector
        if isinstance(scorer, LatestScore):
            self.wake_score = scorer.latest
        return hit

    def _wake_allowed(self, hit: WakeHit, frame: AudioFrame) -> bool:
        if frame.end - self._last_wake < self.settings.refractory_seconds:
            return False
        if self._guard is not None:
            reason = self._guard.rejects(hit, frame.end)
            if reason is not None:
                log.debug("ignored a wake word (%.2f): %s", hit.score, reason)
                return False
        return True

    def _woke(self, hit: WakeHit, frame: AudioFrame) -> Woke:
        """A new request. The wake phrase itself must not reach the ASR: the request starts
        where the phrase's speech ended (found by the VAD in the pre-roll)."""
        self._last_wake = frame.end
        try:
            (self._gate or self._wake).reset()  # forget the phrase so it cannot fire again
        except Exception as exc:
            raise StageError(ErrorCode.WAKE_FAILED, f"{type(exc).__name__}: {exc}") from exc
        listening = self.new_listening(self.settings.endpoint)
        before = self._preroll.tail(HEARD_SECONDS)
        heard = np.concatenate([f.samples for f in before]) if before else np.zeros(0, np.int16)
        kept = self._preroll.tail(PREROLL_KEEP_SECONDS)
        self._preroll.clear()
        lead_in = self._after_phrase(listening, kept, frame.end)
        heard = heard[-round(HEARD_SECONDS * SAMPLE_RATE) :]
        return Woke(hit, frame.end, listening, lead_in, heard)

    def _after_phrase(
        self, listening: Listening, heard: list[AudioFrame], detected_at: float
    ) -> list[AudioFrame]:
        """The part of the pre-roll that follows the wake phrase (warming the new VAD on it)."""
        if not heard:
            return []
        samples = np.concatenate([f.samples for f in heard])
        start = heard[0].start
        probs = self._vad_run(listening, samples)
        cut = phrase_end(probs, self._vad.chunk_samples, self.settings.vad_threshold)
        if cut is None:  # no speech at all before the detection: keep the usual pre-roll
            cut = max(0, len(samples) - round(self.settings.preroll_seconds * SAMPLE_RATE))
        elif cut >= len(samples):  # speech ran on through the detection: keep nothing before
            return []
        return [AudioFrame(samples[cut:], start + cut / SAMPLE_RATE)]

    def _vad_run(self, listening: Listening, samples: np.ndarray) -> list[float]:
        try:
            return listening.warm_probabilities(samples)
        except Exception as exc:
            raise StageError(ErrorCode.VAD_FAILED, f"{type(exc).__name__}: {exc}") from exc

    # --- VAD ------------------------------------------------------------------------------------

    def new_listening(self, endpoint: EndpointSettings) -> Listening:
        try:
            return Listening(self._vad, endpoint, self.settings.vad_threshold, judge=self._judge)
        except Exception as exc:
            raise StageError(ErrorCode.VAD_FAILED, f"{type(exc).__name__}: {exc}") from exc

    def _feed(self, listening: Listening, frame: AudioFrame, partial: str = "") -> Decision:
        try:
            return listening.feed(frame, partial)
        except Exception as exc:
            raise StageError(ErrorCode.VAD_FAILED, f"{type(exc).__name__}: {exc}") from exc

    # --- what the box plays ---------------------------------------------------------------------

    def played(self, chunk: AudioChunk, start: float) -> None:
        """The box will be heard playing `chunk` from audio time `start` (from the sink)."""
        for listener in (self._guard, self._echo):
            if listener is not None:
                listener.played(chunk, start)

    def forget_phrase(self) -> None:
        """A new phase listens afresh (the pre-roll of an old one must not lead into it)."""
        self._preroll.clear()


def phrase_end(probs: list[float], chunk_samples: int, threshold: float) -> int | None:
    """Sample index where the last stretch of speech before a silence ends.

    Scanning back from the detection: skip any speech still going on (the request may have
    begun already), then the silence before it; the speech before that silence is the wake
    phrase. None if there was no speech at all; len(audio) if speech never paused."""
    silent = [p < threshold - HYSTERESIS for p in probs]
    if all(silent):
        return None
    i = len(silent)
    while i > 0 and not silent[i - 1]:  # speech running into the detection
        i -= 1
    tail_start = i
    while i > 0 and silent[i - 1]:  # the pause after the phrase
        i -= 1
    if i == 0:  # only silence before the speech at the end: that speech is the phrase
        return len(probs) * chunk_samples if tail_start < len(silent) else None
    return i * chunk_samples

