"""The turn machine: reads like the diagram in daemon.turn.phases.

The event loop owns the phase. Each frame goes to the listener worker once
(`Listener.hear(frame, phase)`) and comes back as an event or nothing; the machine acts on the
event before the next frame is heard. Replies run as tasks (daemon.turn.reply) and only ever
change the phase of their own turn, so a late reply cannot undo a newer request.

Time: listening counts audio time. From a file (not real time) an AudioClock drives the reply
too: it plays in audio time, the turn's timings are audio time, and audio time stands still
while a backend works, so the same file always gives the same turns.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import itertools
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Protocol

import numpy as np

from daemon.asr.base import Transcriber
from daemon.audio.base import AudioSink, AudioSource
from daemon.audio.clock import AudioClock, ClockedSink, SlicedSink
from daemon.audio.earcons import wake_earcon
from daemon.audio.echo import EchoCanceller
from daemon.audio.frames import AudioChunk, AudioFrame, int16_to_float
from daemon.audio.monitor import MonitoredSink
from daemon.audio.noise import NoiseSuppressor
from daemon.config import Deadlines, EndpointSettings, Persona
from daemon.errors import ErrorCode, StageError
from daemon.intents.bell import ring_until_stopped
from daemon.intents.commands import is_stop_ringing
from daemon.llm.responder import Responder
from daemon.tts.base import Synthesizer
from daemon.turn.listener import (
    Event,
    Listener,
    ListenSettings,
    RequestEnded,
    SpeechBegan,
    WindowClosed,
    Woke,
)
from daemon.turn.phases import (
    FOLLOW_UP_WAKE,
    RING_WAKE,
    FollowUp,
    Idle,
    Phase,
    Recording,
    Replying,
    State,
    check_transition,
)
from daemon.turn.record import Outcome, TurnRecord
from daemon.turn.recording import Recording as Listening
from daemon.turn.recording import Utterance
from daemon.turn.reply import ReplyPipeline, Step
from daemon.turn.speaking import Speaker
from daemon.vad.base import Vad
from daemon.vad.endpoint import Decision
from daemon.vad.judge import TurnJudge
from daemon.wake.base import WakeCheck, WakeDetector, WakeHit
from daemon.wake.gate import QuietGate
from daemon.wake.guard import SelfTriggerGuard
from daemon.worker import Worker

log = logging.getLogger(__name__)

WAKE_CHECK_TIMEOUT = 3.0  # seconds; a check that takes longer lets the wake word through
LISTENER_FAILURE_REPEAT = 60.0  # seconds of audio before the same listener failure is spoken again
__all__ = ["FOLLOW_UP_WAKE", "Assistant", "Stages", "State", "TurnSettings"]


@dataclass
class Stages:
    """The backends one turn runs through; built by the service's factories (the test seam)."""

    wake: WakeDetector
    vad: Vad
    asr: Transcriber
    responder: Responder
    tts: Synthesizer
    sink: AudioSink
    guard: SelfTriggerGuard | None = None  # None: no barge-in protection (or AEC does it)
    echo: EchoCanceller | None = None  # cleans the microphone of the box's own voice
    gate: QuietGate | None = None  # skips wake inference in a quiet room (wraps `wake`)
    judge: TurnJudge | None = None  # endpoint.mode smart-turn: the end-of-turn model
    denoise: NoiseSuppressor | None = None  # audio.noise_suppression, after the echo canceller
    wake_check: WakeCheck | None = None  # wake.verify: confirms a fire on the ASR worker


@dataclass(frozen=True)
class TurnSettings:
    endpoint: EndpointSettings
    deadlines: Deadlines = field(default_factory=Deadlines)
    vad_threshold: float = 0.5
    preroll_seconds: float = 0.3
    refractory_seconds: float = 2.0
    follow_up_seconds: float = 0.0
    echo_tail_seconds: float = 0.6
    barge_in: bool = True
    barge_in_on_speech: bool = False  # only meaningful with echo cancellation
    earcons: frozenset[str] = field(default_factory=frozenset)  # wake, end_of_recording, error


@dataclass(frozen=True)
class StageWorkers:
    """One thread per model family, owned by whoever outlives the Assistant (the Daemon), so
    anything else that uses the models (the web console) queues on the same threads."""

    listen: Worker  # wake word, VAD, self-trigger guard, echo canceller
    asr: Worker
    tts: Worker

    @classmethod
    def create(cls) -> StageWorkers:
        return cls(
            Worker("voiced-listen", max_queue=256),
            Worker("voiced-asr", max_queue=256),
            Worker("voiced-tts", max_queue=8),
        )

    def close(self) -> None:
        for worker in (self.listen, self.asr, self.tts):
            worker.close()


FrameTap = Callable[[np.ndarray, float | None], None]  # samples, wake score (None: not scored)


class RemotePipeline(Protocol):
    """Where requests go instead of the box's own ASR, LLM and TTS: Home Assistant's Assist
    pipeline, through the Wyoming satellite (daemon.wyoming.satellite.Satellite)."""

    def hear(self, frame: AudioFrame) -> None:
        """Every microphone frame (streamed while a request runs; never blocks)."""

    async def wake(self, name: str, preroll: Sequence[AudioFrame] = ()) -> bool:
        """A person said the wake word: start a request there (False: nobody to send it to)."""
        ...

    async def speech_started(self, preroll: Sequence[AudioFrame] = ()) -> bool:
        """Speech in the follow-up window after its reply: a new request there."""
        ...

    @property
    def follow_up_open(self) -> bool:
        """Its reply has been heard: the box listens for speech without the wake word."""
        ...


class Assistant:
    def __init__(
        self,
        stages: Stages,
        settings: TurnSettings,
        persona: Callable[[], Persona],
        on_turn_end: Callable[[TurnRecord], None] | None = None,
        on_state: Callable[[State], None] | None = None,
        workers: StageWorkers | None = None,
        on_frame: FrameTap | None = None,
    ) -> None:
        self.stages = stages
        self.settings = settings
        self._persona = persona
        self._on_turn_end = on_turn_end
        self._on_state = on_state
        self.phase: Phase = Idle()
        self.clock = AudioClock()
        self._realtime = True
        self._ids = itertools.count(1)
        self._heard = (0.0, time.monotonic())  # (audio time, wall time) of the latest frame
        self._failures_spoken: dict[ErrorCode, float] = {}
        self._background: set[asyncio.Task[None]] = set()
        actions = stages.responder.actions
        self._ringer = actions.ringer if actions is not None else None
        self._bell: asyncio.Task[None] | None = None
        self._check: tuple[TurnRecord, asyncio.Task[bool]] | None = None  # the fire being checked
        self._own_workers = workers is None
        self.workers = workers or StageWorkers.create()
        self._listen_worker = self.workers.listen
        self._asr_worker = self.workers.asr
        self._tts_worker = self.workers.tts
        self._on_frame = on_frame  # e.g. the web console's microphone level
        self.remote: RemotePipeline | None = None  # set: requests go to Home Assistant
        self.listener = self._make_listener(deterministic=False)
        self._wire_output(stages.sink)

    def _make_listener(self, deterministic: bool) -> Listener:
        s, st = self.settings, self.stages
        listen = ListenSettings(
            endpoint=s.endpoint,
            vad_threshold=s.vad_threshold,
            preroll_seconds=s.preroll_seconds,
            refractory_seconds=s.refractory_seconds,
            barge_in=s.barge_in,
            deterministic=deterministic,
        )
        return Listener(
            st.wake,
            st.vad,
            listen,
            gate=st.gate,
            guard=st.guard,
            echo=st.echo,
            judge=st.judge,
            denoise=st.denoise,
        )

    def _wire_output(self, sink: AudioSink) -> None:
        """Speaker -> monitored sink (tells the listener, a chunk ahead, what the box will
        play) -> 40 ms slices (a barge-in stops within one) -> device."""
        self.sink = MonitoredSink(SlicedSink(sink), self.audio_now, self._playing)
        self.speaker = Speaker(
            self.stages.tts,
            self.sink,
            self._tts_worker,
            self.settings.deadlines.tts_chunk,
            self.clock.working,
        )
        self.replies = ReplyPipeline(
            self.stages.responder,
            self.speaker,
            self.stages.tts,
            self.settings.deadlines,
            self._persona,
            self.clock.working,
            end_earcon="end_of_recording" in self.settings.earcons,
        )

    # --- time -----------------------------------------------------------------------------------

    def audio_now(self) -> float:
        """Audio time now. Live: the latest frame's end plus the wall time since it arrived.
        From a file: the clock, which stands still while the turn works."""
        if not self._realtime:
            return self.clock.now
        heard_at, wall = self._heard
        return heard_at + max(0.0, time.monotonic() - wall)

    def _new_turn(self, hit: WakeHit | None, turn_id: int | None = None) -> TurnRecord:
        clock = time.monotonic if self._realtime else self.audio_now
        model, score = (hit.model, hit.score) if hit else (FOLLOW_UP_WAKE, 0.0)
        number = next(self._ids) if turn_id is None else turn_id
        return TurnRecord(number, model, score, clock=clock)

    # --- phases ---------------------------------------------------------------------------------

    @property
    def state(self) -> State:
        return self.phase.state

    def _set_phase(self, new: Phase) -> None:
        old = self.phase
        if new.state is not old.state or isinstance(new, Recording):
            check_transition(old.state, new.state)
        self.phase = new
        if new.state is not old.state:
            turn = _turn_id(new) or _turn_id(old) or "-"
            log.debug("turn %s: %s -> %s", turn, old.state, new.state)
            if self._on_state is not None:
                self._on_state(new.state)

    def _replying(self, turn: TurnRecord) -> Replying | None:
        """The phase, if it is still the reply of `turn`."""
        phase = self.phase
        return phase if isinstance(phase, Replying) and phase.turn is turn else None

    def _work(self) -> set[asyncio.Task[object]]:
        """What is running beside the listener: the reply, the bell."""
        tasks: set[asyncio.Task[object]] = (
            {self.phase.task} if isinstance(self.phase, Replying) else set()
        )
        if self._bell is not None:
            tasks.add(self._bell)
        if self._check is not None:
            tasks.add(self._check[1])
        return {task for task in tasks if not task.done()}

    @property
    def busy(self) -> bool:
        return bool(self._work())

    # --- listening ------------------------------------------------------------------------------

    async def listen(self, source: AudioSource) -> None:
        """Run turns on the source's audio until it ends; then finish the turn in flight."""
        self._realtime = source.realtime
        if not source.realtime:  # a file: the reply plays in audio time, decisions repeatable
            self.listener = self._make_listener(deterministic=True)
            self._wire_output(ClockedSink(self.stages.sink, self.clock))
        async for frame in source.frames():
            self._heard = (frame.end, time.monotonic())
            self.clock.advance_to(frame.end)
            await self.on_frame(frame)
            if not source.realtime:
                await self._settle()
        await self._on_source_end()
        self.clock.run_free()  # the file ended: let whatever is left play out
        if self._ringer is not None and self._ringer.is_ringing:
            self._ringer.stop_ringing(why="input ended")
        await self.wait_idle()
        if isinstance(self.phase, FollowUp):  # a window opened by the last reply: nobody is left
            self._set_phase(Idle())

    async def on_frame(self, frame: AudioFrame) -> None:
        phase = self.phase
        try:
            event = await self._listen_worker.run(self.listener.hear, frame, phase)
        except StageError as err:
            await self._listener_failed(err, frame)
            return
        if self.remote is not None:
            self.remote.hear(frame)
        if event is not None:
            await self._on_event(event, phase)
        if self._on_frame is not None:
            self._on_frame(frame.samples, self.listener.wake_score)
        if self._ringer is not None:
            await self._tend_bell()
        if self.remote is not None:
            await self._remote_follow_up()

    async def _on_event(self, event: Event, heard_in: Phase) -> None:
        if isinstance(event, Woke) and self.remote is not None:
            hit = event.hit
            log.info("wake word %s (%.2f): request to Home Assistant", hit.model, hit.score)
            await self.remote.wake(event.hit.model, event.lead_in)
        elif isinstance(event, Woke):
            await self._woke(event)
        elif isinstance(event, SpeechBegan) and self.remote is not None:
            self._set_phase(Idle())  # the request is Home Assistant's now
            await self.remote.speech_started(event.lead_in)
        elif isinstance(event, SpeechBegan):
            await self._interrupt()
            turn = self._new_turn(None)
            if isinstance(heard_in, FollowUp) and heard_in.ring:
                turn.wake_model = RING_WAKE
            await self._start_request(turn, event.listening, event.lead_in)
        elif isinstance(event, RequestEnded) and isinstance(heard_in, Recording):
            if heard_in is self.phase:
                await self._end_recording(heard_in, event.decision)
        elif isinstance(event, WindowClosed) and heard_in is self.phase:
            self._set_phase(Idle())

    async def _settle(self) -> None:
        """From a file: let the turn work until it ends or only waits for audio time to pass."""
        while (work := self._work()) and (self.clock.held or not self.clock.has_waiters()):
            self.clock.demand.clear()
            demand = asyncio.create_task(self.clock.demand.wait())
            await asyncio.wait({*work, demand}, return_when=asyncio.FIRST_COMPLETED)
            demand.cancel()

    async def wait_idle(self) -> None:
        phase = self.phase
        if isinstance(phase, Replying):
            with contextlib.suppress(asyncio.CancelledError):
                await phase.task
        if self._bell is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._bell
        if self._background:
            await asyncio.gather(*self._background, return_exceptions=True)

    async def _on_source_end(self) -> None:
        """The audio ended: a request being recorded ends here; a follow-up window closes."""
        phase = self.phase
        if isinstance(phase, Recording):
            started = phase.listening.endpointer.speech_started
            await self._end_recording(
                phase, Decision.END_OF_SPEECH if started else Decision.NO_SPEECH
            )
        elif isinstance(phase, FollowUp):
            self._set_phase(Idle())

    # --- a request ------------------------------------------------------------------------------

    async def _woke(self, event: Woke) -> None:
        """Start a request. Over a reply that is a barge-in; early in a follow-up that began
        with the wake word anyway ("hey jarvis ... what time is it"), the follow-up restarts
        as a wake-word request, so the pause after the wake word cannot end it."""
        turn_id = None
        self._silence_bell()
        phase = self.phase
        if isinstance(phase, Recording):
            phase.utterance.discard()
            turn_id = phase.turn.turn_id
        await self._interrupt()
        turn = self._new_turn(event.hit, turn_id)
        await self._start_request(turn, event.listening, event.lead_in)
        if not isinstance(self.phase, Recording):
            return
        check = self.stages.wake_check
        if check is not None and check.applies(event.hit.model) and len(event.heard):
            task = asyncio.create_task(self._check_wake(turn, event, check))
            self._check = (turn, task)
        elif "wake" in self.settings.earcons:
            self._in_background(self.speaker.play(wake_earcon()))

    async def _check_wake(self, turn: TurnRecord, event: Woke, check: WakeCheck) -> bool:
        """The second stage (wake.verify) on the audio before the fire, on the ASR worker while
        the request records (nothing is lost). A rejected fire ends the recording silently; a
        check that fails or takes too long lets the wake word through (never deaf). The wake
        earcon waits for the answer, so a rejected fire makes no sound at all."""
        audio = int16_to_float(event.heard)
        try:
            verdict = await asyncio.wait_for(
                self._asr_worker.run(check.check, audio, event.hit.model), WAKE_CHECK_TIMEOUT
            )
        except Exception as exc:
            why = "took too long" if isinstance(exc, TimeoutError) else f"{type(exc).__name__}"
            log.warning("turn %d: wake check %s (%s); taking the wake word", turn.turn_id, why, exc)
            accepted = True
        else:
            accepted = verdict.accepted
            if accepted:
                log.debug("turn %d: wake check score %.2f", turn.turn_id, verdict.score)
        phase = self.phase
        ours = isinstance(phase, Recording) and phase.turn is turn
        if not accepted:
            log.info(
                "turn %d: wake word %s (%.2f) rejected by the check: score %.2f < %.2f, heard %r",
                turn.turn_id, event.hit.model, event.hit.score, verdict.score, check.threshold,
                verdict.heard,
            )  # fmt: skip
            if ours:
                assert isinstance(phase, Recording)
                self._set_phase(Idle())
                self._in_background(_drop(phase.utterance))
        elif ours and "wake" in self.settings.earcons:
            self._in_background(self.speaker.play(wake_earcon()))
        return accepted

    async def _wake_confirmed(self, turn: TurnRecord) -> bool:
        """The recording of `turn` ends: wait for its wake check, if one is still running."""
        if self._check is None or self._check[0] is not turn:
            return True
        task = self._check[1]
        self._check = None
        return await task

    async def _start_request(
        self, turn: TurnRecord, listening: Listening, lead_in: list[AudioFrame]
    ) -> None:
        try:
            session = await self._asr_worker.run(self.stages.asr.start)
        except Exception as exc:
            err = StageError(ErrorCode.ASR_FAILED, f"{type(exc).__name__}: {exc}")
            self._reply(turn, lambda step: self._fail(turn, err, step), step=State.SPEAKING)
            return
        utterance = Utterance(session, self._asr_worker)
        for frame in lead_in:
            utterance.feed(frame.samples)
        self._set_phase(Recording(turn, listening, utterance))

    async def _end_recording(self, phase: Recording, decision: Decision) -> None:
        turn, endpointer = phase.turn, phase.listening.endpointer
        if not await self._wake_confirmed(turn):
            return  # rejected: the check has ended the recording
        turn.endpoint_at = turn.mark()
        turn.endpoint = str(decision)
        turn.recording_seconds = endpointer.elapsed
        if endpointer.speech_started:
            turn.endpoint_delay = endpointer.elapsed - endpointer.last_speech_end
        if decision is Decision.NO_SPEECH:
            phase.utterance.discard()
            turn.outcome = Outcome.NO_SPEECH
            self._set_phase(Idle())
            self._finish_turn(turn)
            return
        if turn.wake_model == RING_WAKE:
            self._reply(turn, lambda step: self._stop_ring_if_asked(turn, phase.utterance))
            return
        over_reply = None
        if self.settings.barge_in_on_speech and self.stages.echo is not None:
            over_reply = await self._new_listening(self.settings.endpoint)
        self._reply(
            turn, lambda step: self.replies.answer(turn, phase.utterance, step), over_reply
        )

    async def _remote_follow_up(self) -> None:
        """Satellite mode: once Home Assistant's reply has been played, speech without the wake
        word is the next request (the same window as after a reply of our own)."""
        assert self.remote is not None
        if isinstance(self.phase, Idle) and self.remote.follow_up_open:
            seconds = max(self.settings.follow_up_seconds, 1.0)
            endpoint = self.settings.endpoint.model_copy(
                update={"no_speech_timeout_seconds": seconds}
            )
            listening = await self._new_listening(endpoint)
            since = self.sink.cursor + self.settings.echo_tail_seconds
            self._set_phase(FollowUp(listening, since))

    async def _new_listening(self, endpoint: EndpointSettings) -> Listening:
        return await self._listen_worker.run(self.listener.new_listening, endpoint)

    # --- the reply ------------------------------------------------------------------------------

    def _reply(
        self,
        turn: TurnRecord,
        work: Callable[[Step], Awaitable[bool]],
        over_reply: Listening | None = None,
        step: State = State.TRANSCRIBING,
    ) -> None:
        """Run `work` (a reply) as the task of a new Replying phase."""
        task = asyncio.create_task(self._run_reply(turn, work))
        self._set_phase(Replying(turn, task, step, over_reply))

    async def _run_reply(self, turn: TurnRecord, work: Callable[[Step], Awaitable[bool]]) -> None:
        def step(new: State) -> None:
            if (phase := self._replying(turn)) is not None and phase.step is not new:
                since = phase.since
                if new is State.SPEAKING:  # speech over the reply counts once AEC has adapted
                    since = self.audio_now() + self.settings.echo_tail_seconds
                self._set_phase(replace(phase, step=new, since=since))

        try:
            follow_up = await work(step)
        except asyncio.CancelledError:
            turn.outcome = Outcome.INTERRUPTED
            self._finish_turn(turn)
            raise
        self._finish_turn(turn)
        if self._replying(turn) is not None:
            await self._after_reply(follow_up)

    async def _after_reply(self, follow_up: bool) -> None:
        seconds = self.settings.follow_up_seconds
        if not (follow_up and seconds > 0):
            self._set_phase(Idle())
            return
        endpoint = self.settings.endpoint.model_copy(update={"no_speech_timeout_seconds": seconds})
        listening = await self._new_listening(endpoint)
        since = self.sink.cursor + self.settings.echo_tail_seconds  # its own sound may linger
        if isinstance(self.phase, Replying) and self.phase.task is asyncio.current_task():
            self._set_phase(FollowUp(listening, since))

    async def _fail(self, turn: TurnRecord, err: StageError, step: Step) -> bool:
        await self.replies.fail(turn, err, self._persona(), step)
        return True

    async def _interrupt(self) -> None:
        """Barge-in: stop the reply (LLM, TTS and playback together)."""
        phase = self.phase
        if not isinstance(phase, Replying) or phase.task.done():
            return
        self.replies.stop_voice()
        phase.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await phase.task

    async def _listener_failed(self, err: StageError, frame: AudioFrame) -> None:
        """The wake word or VAD model failed on a frame: end a request being recorded with the
        error; otherwise say it (once a minute at most) and keep listening."""
        log.error("listener: %s: %s", err.code, err.detail)
        phase = self.phase
        if isinstance(phase, Recording):
            phase.utterance.discard()
            turn = phase.turn
            self._reply(turn, lambda step: self._fail(turn, err, step), step=State.SPEAKING)
            return
        last = self._failures_spoken.get(err.code, float("-inf"))
        if isinstance(phase, Replying) or frame.end - last < LISTENER_FAILURE_REPEAT:
            return
        self._failures_spoken[err.code] = frame.end
        turn = self._new_turn(None)
        turn.wake_model = "-"
        self._reply(turn, lambda step: self._fail(turn, err, step), step=State.SPEAKING)

    # --- timers and alarms ring -----------------------------------------------------------------

    async def _tend_bell(self) -> None:
        """Start ringing what has come due (when no request or reply is in the way); while it
        rings, keep a ring window open so "stop" works without the wake word."""
        assert self._ringer is not None
        self._ringer.due()
        phase = self.phase
        if not self._ringer.is_ringing or isinstance(phase, Recording | Replying):
            return
        if self._bell is None or self._bell.done():
            self._bell = asyncio.create_task(self._ring())
        since = self.sink.cursor  # only between rounds: the bell's own words are not a request
        if isinstance(phase, FollowUp) and phase.ring:
            if since > phase.since:
                self._set_phase(replace(phase, since=since))
            return
        endpoint = self.settings.endpoint.model_copy(
            update={"no_speech_timeout_seconds": self._ringer.settings.max_ringing_seconds}
        )
        self._set_phase(FollowUp(await self._new_listening(endpoint), since, ring=True))

    async def _ring(self) -> None:
        assert self._ringer is not None
        persona = self._persona()

        async def say(text: str) -> None:
            await self.speaker.say(self._new_turn(None, turn_id=0), text, persona)

        async def pause(seconds: float) -> None:
            if self._realtime:
                await asyncio.sleep(seconds)
            else:
                await self.clock.wait_until(self.clock.now + seconds)

        with contextlib.suppress(StageError):
            await ring_until_stopped(self._ringer, self.speaker.play, say, pause)
        if isinstance(self.phase, FollowUp) and self.phase.ring:
            self._set_phase(Idle())

    def _silence_bell(self) -> None:
        """A person is talking (a wake word): the bell waits; it rings on after the turn if
        nobody stopped it."""
        if self._bell is not None and not self._bell.done():
            self._bell.cancel()

    async def _stop_ring_if_asked(self, turn: TurnRecord, utterance: Utterance) -> bool:
        """Speech in a ring window: "stop" / 停 stops the ring; anything else is not answered."""
        assert self._ringer is not None
        try:
            text = (await utterance.finish()).text
        except Exception as exc:
            text = ""
            log.warning("turn %d: ring window transcript failed: %s", turn.turn_id, exc)
        turn.asr_text = text
        if text and is_stop_ringing(text):
            self._ringer.stop_ringing()
            turn.reply_source = "intent:stop"
        else:
            turn.outcome = Outcome.NOT_HEARD
        return False

    # --- what the box plays ---------------------------------------------------------------------

    def _playing(self, chunk: AudioChunk, start: float) -> None:
        """The sink will play `chunk` from audio time `start`: the guard and AEC must know."""
        if self.stages.guard is None and self.stages.echo is None:
            return
        future = self._listen_worker.submit(self.listener.played, chunk, start, block=False)
        future.add_done_callback(_log_failure)

    def _in_background(self, playing: Awaitable[None]) -> None:
        async def run() -> None:
            await playing

        task = asyncio.create_task(run())
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def _finish_turn(self, turn: TurnRecord) -> None:
        turn.ended_at = turn.mark()
        log.info("%s", turn.summary())
        if self._on_turn_end is not None:
            self._on_turn_end(turn)

    async def say(self, text: str) -> None:
        """Speak outside a turn (the greeting)."""
        try:
            await self.speaker.say(self._new_turn(None, turn_id=0), text, self._persona())
        except StageError as err:
            log.warning("could not speak %r: %s", text, err)

    async def close(self) -> None:
        await self._interrupt()
        self._silence_bell()
        if self._check is not None:
            self._check[1].cancel()
        for task in list(self._background):
            task.cancel()
        if self._own_workers:
            self.workers.close()


def _turn_id(phase: Phase) -> int | None:
    return phase.turn.turn_id if isinstance(phase, Recording | Replying) else None


async def _drop(utterance: Utterance) -> None:
    """Finish an utterance nobody will answer (the decoder resets), waited for like the other
    background work, so the process never exits with the ASR thread inside the model."""
    with contextlib.suppress(Exception):
        await utterance.finish()


def _log_failure(future: concurrent.futures.Future[None]) -> None:
    if not future.cancelled() and future.exception() is not None:
        log.error("playback reference failed: %s", future.exception())
