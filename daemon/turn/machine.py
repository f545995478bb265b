"""The turn state machine: wake word -> recording -> transcript -> reply -> speech -> follow-up.

The event loop owns the state. Models run in one single-thread executor per stage (wake and VAD
share the listener's), so the loop never stalls and each model is only touched by one thread.
Listening counts audio time; the later stages have wall-clock deadlines. Whatever fails, a turn
ends in IDLE (or FOLLOW_UP), after saying (or, if even speech fails, beeping) what went wrong.
The listener keeps hearing while the box talks, so a person can interrupt it (barge-in).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import itertools
import logging
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TypeVar

from daemon.asr.base import Transcriber, Transcript
from daemon.audio.base import AudioSink, AudioSource
from daemon.audio.clock import AudioClock, ClockedSink
from daemon.audio.earcons import end_earcon, error_earcon, wake_earcon
from daemon.audio.echo import EchoCanceller
from daemon.audio.frames import AudioChunk, AudioFrame, PreRoll
from daemon.config import EndpointSettings, Persona
from daemon.errors import ErrorCode, StageError
from daemon.llm.responder import Responder
from daemon.tts.base import Synthesizer
from daemon.turn.phrases import error_message, not_heard_message
from daemon.turn.record import TurnRecord
from daemon.turn.recording import Recording, Utterance
from daemon.turn.speaking import Speaker
from daemon.vad.base import Vad
from daemon.vad.endpoint import Decision
from daemon.wake.base import WakeDetector, WakeHit
from daemon.wake.gate import QuietGate
from daemon.wake.guard import SelfTriggerGuard

log = logging.getLogger(__name__)
T = TypeVar("T")


class State(StrEnum):
    """Where the assistant is in a turn.

    IDLE -> RECORDING            the wake word fired
    FOLLOW_UP -> RECORDING       someone spoke within the follow-up window (no wake word needed)
    FOLLOW_UP -> IDLE            the window passed in silence
    RECORDING -> TRANSCRIBING    the endpointer heard the request end (or hit the length cap)
    RECORDING -> IDLE            nobody spoke after the wake word
    TRANSCRIBING -> THINKING     a transcript exists (an empty one is answered "didn't catch that")
    THINKING -> SPEAKING         the first sentence of the reply is ready
    SPEAKING -> FOLLOW_UP        the reply has been played (IDLE when follow-ups are off)
    TRANSCRIBING/THINKING/SPEAKING -> RECORDING   barge-in: the wake word was said over it
    any -> IDLE                  after an error has been spoken (always, in a finally)
    """

    IDLE = "idle"
    RECORDING = "recording"
    TRANSCRIBING = "transcribing"
    THINKING = "thinking"
    SPEAKING = "speaking"
    FOLLOW_UP = "follow-up"


BUSY = (State.TRANSCRIBING, State.THINKING, State.SPEAKING)
FOLLOW_UP_WAKE = "follow-up"  # the wake_model of a turn that needed no wake word
FOLLOW_UP_WAKE_WINDOW = 2.5  # seconds into a follow-up's speech in which the wake word restarts it


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


@dataclass(frozen=True)
class TurnSettings:
    endpoint: EndpointSettings
    vad_threshold: float = 0.5
    preroll_seconds: float = 0.3
    refractory_seconds: float = 2.0
    asr_timeout: float = 10.0
    tts_timeout: float = 10.0
    reply_timeout: float = 120.0
    follow_up_seconds: float = 0.0
    echo_tail_seconds: float = 0.6
    barge_in: bool = True
    barge_in_on_speech: bool = False  # only meaningful with echo cancellation
    earcons: frozenset[str] = field(default_factory=frozenset)  # wake, end_of_recording, error


class Assistant:
    def __init__(
        self,
        stages: Stages,
        settings: TurnSettings,
        persona: Callable[[], Persona],
        on_turn_end: Callable[[TurnRecord], None] | None = None,
        on_state: Callable[[State], None] | None = None,
    ) -> None:
        self.stages = stages
        self.settings = settings
        self._persona = persona
        self._on_turn_end = on_turn_end
        self._on_state = on_state
        self.state = State.IDLE
        self.clock = AudioClock()
        self._ids = itertools.count(1)
        self._preroll = PreRoll(1.0)
        self._last_wake_end = float("-inf")
        self._heard = (0.0, time.monotonic())  # (audio time, wall time) of the latest frame
        self._play_cursor = 0.0  # audio time at which the next played audio will be heard
        self._realtime = True
        self._turn: TurnRecord | None = None
        self._recording: Recording | None = None
        self._utterance: Utterance | None = None
        self._follow_up_from = 0.0
        self._barge: Recording | None = None  # VAD over the reply (speech barge-in)
        self._respond_task: asyncio.Task[None] | None = None
        self._earcon_tasks: set[asyncio.Task[None]] = set()
        self._listen_exec = _single_thread("voiced-listen")
        self._asr_exec = _single_thread("voiced-asr")
        self._tts_exec = _single_thread("voiced-tts")
        self.speaker = self._speaker_for(stages.sink)

    def _speaker_for(self, sink: AudioSink) -> Speaker:
        return Speaker(
            self.stages.tts, sink, self._tts_exec, self.settings.tts_timeout, self._played
        )

    # --- state ---------------------------------------------------------------------------------

    def _set_state(self, new: State) -> None:
        if new is not self.state:
            turn = self._turn.turn_id if self._turn else "-"
            log.debug("turn %s: %s -> %s", turn, self.state, new)
            self.state = new
            if self._on_state is not None:
                self._on_state(new)

    @property
    def busy(self) -> bool:
        return self._respond_task is not None and not self._respond_task.done()

    async def _run(
        self, executor: concurrent.futures.Executor, fn: Callable[..., T], *args: object
    ) -> T:
        return await asyncio.get_running_loop().run_in_executor(executor, fn, *args)

    def audio_now(self) -> float:
        """Audio time now. Live: the latest frame's end plus the wall time since it arrived.
        From a file: the clock, which stands still while the turn works."""
        if not self._realtime:
            return self.clock.now
        heard_at, wall = self._heard
        return heard_at + max(0.0, time.monotonic() - wall)

    # --- listening -----------------------------------------------------------------------------

    async def listen(self, source: AudioSource) -> None:
        """Run turns on the source's audio until it ends; then finish the turn in flight.

        A source that is not real time (a file) drives an AudioClock: the reply then plays in
        audio time too, and the listener only reads on while the turn waits for audio to pass.
        """
        self._realtime = source.realtime
        if not source.realtime:
            self.speaker = self._speaker_for(ClockedSink(self.stages.sink, self.clock))
        async for frame in source.frames():
            self._heard = (frame.end, time.monotonic())
            self.clock.advance_to(frame.end)
            await self.on_frame(frame)
            if not source.realtime:
                await self._settle()
        await self._on_source_end()
        self.clock.run_free()  # the file ended: let whatever is left play out
        await self.wait_idle()

    async def _settle(self) -> None:
        """File mode: let the turn work until it ends or waits for audio time to pass."""
        while self.busy and not self.clock.has_waiters():
            self.clock.demand.clear()
            demand = asyncio.create_task(self.clock.demand.wait())
            assert self._respond_task is not None
            await asyncio.wait({self._respond_task, demand}, return_when=asyncio.FIRST_COMPLETED)
            demand.cancel()

    async def wait_idle(self) -> None:
        if self._respond_task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._respond_task
        if self._earcon_tasks:
            await asyncio.gather(*self._earcon_tasks, return_exceptions=True)

    async def on_frame(self, frame: AudioFrame) -> None:
        """One 80 ms frame. The wake detector hears every frame it listens to without gaps:
        its streaming features break on a missing frame."""
        if self.stages.echo is not None:
            frame = await self._run(self._listen_exec, self.stages.echo.process, frame)
        if self._wake_listening():
            self._preroll.append(frame)
            hit = await self._detect(frame)
            if hit is not None and self._wake_allowed(hit, frame):
                await self._on_wake(hit, frame)
                return
        if self.state is State.RECORDING:
            await self._record(frame)
        elif self.state is State.FOLLOW_UP:
            await self._follow_up(frame)
        elif self.state is State.SPEAKING and self._speech_barges_in():
            await self._listen_over_reply(frame)

    async def _detect(self, frame: AudioFrame) -> WakeHit | None:
        """Score the frame, unless the room is quiet (then the thread is not even woken)."""
        gate = self.stages.gate
        if gate is None:
            return await self._run(self._listen_exec, self.stages.wake.process, frame.samples)
        if gate.quiet(frame.samples) or gate.hold(frame.samples):
            return None
        return await self._run(self._listen_exec, gate.process, frame.samples)

    def _wake_listening(self) -> bool:
        if self.state is State.RECORDING:  # only early in a follow-up: see _on_wake
            turn, recording = self._turn, self._recording
            return (
                turn is not None
                and recording is not None
                and turn.wake_model == FOLLOW_UP_WAKE
                and recording.endpointer.elapsed - recording.endpointer.speech_start
                <= FOLLOW_UP_WAKE_WINDOW
            )
        return self.state not in BUSY or self.settings.barge_in

    async def _on_wake(self, hit: WakeHit, frame: AudioFrame) -> None:
        """Start a request. Over a reply, that is a barge-in; early in a follow-up that began
        with the wake word anyway ("hey jarvis ... what time is it"), the follow-up restarts
        as a wake-word request, so the pause after the wake word cannot end it."""
        self._last_wake_end = frame.end
        if self.busy:
            await self._interrupt()
        same_turn = None
        if self.state is State.RECORDING and self._utterance is not None and self._turn:
            self._discard(self._utterance)
            same_turn = self._turn.turn_id
        await self._start_recording(hit, turn_id=same_turn)

    def _speech_barges_in(self) -> bool:
        return self.settings.barge_in_on_speech and self.stages.echo is not None

    async def _listen_over_reply(self, frame: AudioFrame) -> None:
        """With echo cancellation, the VAD hears the person over the reply: speech interrupts."""
        if self._barge is None:
            self._barge = await self._run(
                self._listen_exec,
                Recording,
                self.stages.vad,
                self.settings.endpoint,
                self.settings.vad_threshold,
            )
        await self._run(self._listen_exec, self._barge.feed, frame)
        if self._barge.endpointer.speech_started:
            recording, self._barge = self._barge, None
            await self._interrupt()
            await self._start_recording(None, follow_up=recording)

    def _discard(self, utterance: Utterance) -> None:
        """Finish an utterance nobody will use (the decoder must be reset before the next)."""
        future = self._asr_exec.submit(utterance.session.finish)
        future.add_done_callback(lambda f: f.exception())  # nothing to report: discarded

    def _wake_allowed(self, hit: WakeHit, frame: AudioFrame) -> bool:
        if frame.end - self._last_wake_end < self.settings.refractory_seconds:
            return False
        guard = self.stages.guard
        if guard is not None and not guard.accepts(hit, frame.end):
            log.debug("ignored a wake word in the box's own voice (%.2f)", hit.score)
            return False
        return True

    async def _interrupt(self) -> None:
        """Barge-in: stop the reply (LLM, TTS and playback together) and listen again."""
        assert self._respond_task is not None
        stop_tts = getattr(self.stages.tts, "cancel", None)  # ChatTTS can stop mid-sentence
        if callable(stop_tts):
            stop_tts()
        self._respond_task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._respond_task

    async def _start_recording(
        self, hit: WakeHit | None, follow_up: Recording | None = None, turn_id: int | None = None
    ) -> None:
        """A new request: after the wake word, or in the follow-up window (whose recording,
        already hearing speech, carries on)."""
        self._turn = TurnRecord(
            turn_id or next(self._ids),
            hit.model if hit else FOLLOW_UP_WAKE,
            hit.score if hit else 0.0,
        )
        self._set_state(State.RECORDING)
        recording = follow_up
        if recording is None:
            recording = await self._run(
                self._listen_exec,
                Recording,
                self.stages.vad,
                self.settings.endpoint,
                self.settings.vad_threshold,
            )
        self._recording = recording
        session = await self._run(self._asr_exec, self.stages.asr.start)
        self._utterance = Utterance(session, self._asr_exec)
        if hit is not None:  # forget the phrase just heard, so it cannot fire again
            await self._run(self._listen_exec, (self.stages.gate or self.stages.wake).reset)
        preroll = self.settings.preroll_seconds
        if follow_up is not None:  # speech began before the endpointer was sure of it
            preroll += self.settings.endpoint.min_speech_seconds
        for frame in self._preroll.tail(preroll):
            self._utterance.feed(frame)
            if follow_up is None:
                await self._run(self._listen_exec, recording.warm, frame)
        self._preroll.clear()
        if hit is not None and "wake" in self.settings.earcons:
            self._earcon(wake_earcon())

    async def _record(self, frame: AudioFrame) -> None:
        assert self._recording is not None and self._utterance is not None
        self._utterance.feed(frame)
        partial = self._utterance.partial
        decision = await self._run(self._listen_exec, self._recording.feed, frame, partial)
        if decision is not Decision.CONTINUE:
            await self._end_recording(decision)

    async def _end_recording(self, decision: Decision) -> None:
        turn, recording, utterance = self._turn, self._recording, self._utterance
        assert turn is not None and recording is not None and utterance is not None
        self._recording, self._utterance = None, None
        endpointer = recording.endpointer
        turn.endpoint_at = TurnRecord.now()
        turn.endpoint = str(decision)
        turn.recording_seconds = endpointer.elapsed
        if endpointer.speech_started:
            turn.endpoint_delay = endpointer.elapsed - endpointer.last_speech_end
        if decision is Decision.NO_SPEECH:
            self._respond_task = asyncio.create_task(self._abandon(turn, utterance))
        else:
            self._set_state(State.TRANSCRIBING)
            self._respond_task = asyncio.create_task(self._respond(turn, utterance))

    async def _on_source_end(self) -> None:
        """The audio ended mid-recording: treat it as the end of the request."""
        if self.state is State.RECORDING and self._recording is not None:
            started = self._recording.endpointer.speech_started
            await self._end_recording(Decision.END_OF_SPEECH if started else Decision.NO_SPEECH)
        elif self.state is State.FOLLOW_UP:
            self._abandon_follow_up()
            self._set_state(State.IDLE)

    # --- follow-up -----------------------------------------------------------------------------

    async def _enter_follow_up(self) -> None:
        self._follow_up_from = self._play_cursor + self.settings.echo_tail_seconds
        endpoint = self.settings.endpoint.model_copy(
            update={"no_speech_timeout_seconds": self.settings.follow_up_seconds}
        )
        self._recording = await self._run(
            self._listen_exec, Recording, self.stages.vad, endpoint, self.settings.vad_threshold
        )
        self._set_state(State.FOLLOW_UP)

    async def _follow_up(self, frame: AudioFrame) -> None:
        """Feed the follow-up window: speech in it starts a request without the wake word."""
        if self._recording is None or frame.start < self._follow_up_from:
            return  # the box's own sound may still be in the room
        decision = await self._run(self._listen_exec, self._recording.feed, frame)
        if decision is Decision.NO_SPEECH:
            self._abandon_follow_up()
            self._set_state(State.IDLE)
        elif self._recording.endpointer.speech_started:
            await self._start_recording(None, follow_up=self._recording)

    def _abandon_follow_up(self) -> None:
        if self.state is State.FOLLOW_UP:
            self._recording = None

    # --- the reply -----------------------------------------------------------------------------

    async def _abandon(self, turn: TurnRecord, utterance: Utterance) -> None:
        turn.outcome = "no-speech"
        try:
            await self._finish_transcript(utterance)  # resets the decoder for the next turn
        except StageError:
            pass
        finally:
            self._end_turn(turn)

    async def _respond(self, turn: TurnRecord, utterance: Utterance) -> None:
        persona = self._persona()
        follow_up = False
        try:
            if "end_of_recording" in self.settings.earcons:
                await self.speaker.play(end_earcon())
            transcript = await self._finish_transcript(utterance)
            turn.transcript_at = TurnRecord.now()
            turn.asr_text = transcript.text
            if not transcript.text:
                turn.outcome = "not-heard"
                await self.speaker.say(turn, not_heard_message(persona.language), persona)
                return
            await self._reply(turn, transcript.text, persona)
            follow_up = turn.reply_source != "intent:stop"
        except asyncio.CancelledError:
            turn.outcome = "interrupted"
            raise
        except StageError as err:
            await self._fail(turn, err, persona)
        except TimeoutError:
            await self._fail(
                turn, StageError(ErrorCode.TTS_TIMEOUT, "reply took too long"), persona
            )
        except Exception:
            log.exception("turn %d: unexpected failure", turn.turn_id)
            turn.outcome = "internal-error"
            await self._beep()
        finally:
            self._end_turn(turn)
        if follow_up and self.settings.follow_up_seconds > 0 and self.state is State.IDLE:
            await self._enter_follow_up()

    async def _reply(self, turn: TurnRecord, text: str, persona: Persona) -> None:
        self._set_state(State.THINKING)
        turn.request_at = TurnRecord.now()
        reply = self.stages.responder.reply(text, persona)
        turn.reply_source = reply.source
        pieces = self._timed(turn, reply.pieces) if reply.from_llm else reply.pieces
        try:
            async with asyncio.timeout(self.settings.reply_timeout):
                await self.speaker.speak(turn, self._speaking(pieces), persona)
        finally:
            self.stages.responder.remember(text, reply, " ".join(turn.reply_text))

    async def _speaking(self, pieces: AsyncIterator[str]) -> AsyncIterator[str]:
        """THINKING until the first piece of the reply exists, SPEAKING from then on."""
        async for piece in pieces:
            self._set_state(State.SPEAKING)
            yield piece

    async def _finish_transcript(self, utterance: Utterance) -> Transcript:
        timeout = self.settings.asr_timeout
        try:
            async with asyncio.timeout(timeout):
                await asyncio.gather(*utterance.pending)
                return await self._run(self._asr_exec, utterance.session.finish)
        except StageError:
            raise
        except TimeoutError:
            raise StageError(ErrorCode.ASR_TIMEOUT, f"no transcript in {timeout:g} s") from None
        except Exception as exc:
            raise StageError(ErrorCode.ASR_FAILED, f"{type(exc).__name__}: {exc}") from exc

    async def _timed(self, turn: TurnRecord, pieces: AsyncIterator[str]) -> AsyncIterator[str]:
        async for piece in pieces:
            if turn.first_token_at is None:
                turn.first_token_at = TurnRecord.now()
            yield piece
        turn.last_token_at = TurnRecord.now()

    async def _fail(self, turn: TurnRecord, err: StageError, persona: Persona) -> None:
        """Say what went wrong; if speaking fails too, beep. Never raises (but for a barge-in)."""
        turn.outcome = str(err.code)
        log.warning("turn %d: %s: %s", turn.turn_id, err.code, err.detail)
        if err.code in (ErrorCode.TTS_FAILED, ErrorCode.TTS_TIMEOUT):
            await self._beep()
            return
        try:
            async with asyncio.timeout(self.settings.tts_timeout * 2):
                await self.speaker.say(turn, error_message(err.code, persona.language), persona)
        except Exception as exc:
            log.warning("turn %d: could not speak the error (%s); beeping", turn.turn_id, exc)
            await self._beep()

    async def _beep(self) -> None:
        """The error earcon: the last resort, so it plays even when earcons are switched off."""
        await self.speaker.play(error_earcon())

    def _earcon(self, chunk: AudioChunk) -> None:
        task = asyncio.create_task(self.speaker.play(chunk))
        self._earcon_tasks.add(task)
        task.add_done_callback(self._earcon_tasks.discard)

    def _played(self, chunk: AudioChunk) -> None:
        """The speaker is about to play `chunk`: schedule it in audio time, tell the guard."""
        start = max(self._play_cursor, self.audio_now())
        self._play_cursor = start + chunk.duration
        for listener in (self.stages.guard, self.stages.echo):
            if listener is not None:
                future = self._listen_exec.submit(listener.played, chunk, start)
                future.add_done_callback(_log_failure)

    def _end_turn(self, turn: TurnRecord) -> None:
        turn.ended_at = TurnRecord.now()
        self._barge = None
        if self._turn is turn:
            self._turn = None
            self._set_state(State.IDLE)
        log.info("%s", turn.summary())
        if self._on_turn_end is not None:
            self._on_turn_end(turn)

    async def say(self, text: str) -> None:
        """Speak outside a turn (the greeting)."""
        turn = TurnRecord(0)
        try:
            await self.speaker.say(turn, text, self._persona())
        except StageError as err:
            log.warning("could not speak %r: %s", text, err)

    async def close(self) -> None:
        if self.busy:
            assert self._respond_task is not None
            self._respond_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._respond_task
        for task in list(self._earcon_tasks):
            task.cancel()
        for executor in (self._listen_exec, self._asr_exec, self._tts_exec):
            executor.shutdown(wait=False, cancel_futures=True)


def _log_failure(future: concurrent.futures.Future[None]) -> None:
    if not future.cancelled() and future.exception() is not None:
        log.error("playback reference failed: %s", future.exception())


def _single_thread(name: str) -> concurrent.futures.ThreadPoolExecutor:
    return concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)
