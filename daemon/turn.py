"""The turn state machine: wake word -> recording -> transcript -> reply -> speech -> idle.

The event loop owns the state. Models run in one single-thread executor per stage (wake and VAD
share the listener's), so the loop never stalls and each model is only touched by one thread.
Listening counts audio time; the later stages have wall-clock deadlines. Whatever fails, a turn
ends in IDLE, after saying (or, if even speech fails, beeping) what went wrong.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import itertools
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TypeVar

from daemon.asr.base import Transcriber, Transcript, TranscriptionSession
from daemon.audio.base import AudioSink, AudioSource
from daemon.audio.earcons import error_earcon
from daemon.audio.frames import AudioChunk, AudioFrame, PreRoll, Reframer
from daemon.config import EndpointSettings, Persona
from daemon.errors import ErrorCode, StageError
from daemon.llm.responder import Responder
from daemon.messages import error_message, not_heard_message
from daemon.metrics import TurnRecord
from daemon.tts.base import Synthesizer
from daemon.tts.chunker import SentenceChunker
from daemon.tts.text import CodeFenceFilter, clean_for_speech
from daemon.vad.base import Vad
from daemon.vad.endpoint import Decision, Endpointer
from daemon.wake.base import WakeDetector, WakeHit

log = logging.getLogger(__name__)
T = TypeVar("T")
AUDIO_QUEUE_CHUNKS = 16  # synthesized audio waiting for the speaker


class State(StrEnum):
    """Where the assistant is in a turn.

    IDLE -> RECORDING            the wake word fired
    RECORDING -> TRANSCRIBING    the endpointer heard the request end (or hit the length cap)
    RECORDING -> IDLE            nobody spoke after the wake word
    TRANSCRIBING -> THINKING     a transcript exists (an empty one is answered "didn't catch that")
    THINKING -> SPEAKING         the first sentence of the reply is ready
    SPEAKING -> IDLE             the reply has been played
    any -> IDLE                  after an error has been spoken (always, in a finally)
    """

    IDLE = "idle"
    RECORDING = "recording"
    TRANSCRIBING = "transcribing"
    THINKING = "thinking"
    SPEAKING = "speaking"


@dataclass
class Stages:
    """The backends one turn runs through; built by the service's factories (the test seam)."""

    wake: WakeDetector
    vad: Vad
    asr: Transcriber
    responder: Responder
    tts: Synthesizer
    sink: AudioSink


@dataclass(frozen=True)
class TurnSettings:
    endpoint: EndpointSettings
    vad_threshold: float = 0.5
    preroll_seconds: float = 0.3
    refractory_seconds: float = 2.0
    asr_timeout: float = 10.0
    tts_timeout: float = 10.0
    reply_timeout: float = 120.0


class Recording:
    """One request being recorded: VAD and endpointer run here, on the listener thread."""

    def __init__(self, vad: Vad, settings: TurnSettings) -> None:
        self._vad = vad
        self._chunker = Reframer(vad.chunk_samples)
        self.endpointer = Endpointer(settings.endpoint, settings.vad_threshold)
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
class _Utterance:
    """The ASR side of a recording: feeds queued on the ASR thread, in order."""

    session: TranscriptionSession
    pending: list[asyncio.Future[None]] = field(default_factory=list)


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
        self._ids = itertools.count(1)
        self._preroll = PreRoll(1.0)
        self._last_wake_end = float("-inf")
        self._turn: TurnRecord | None = None
        self._recording: Recording | None = None
        self._utterance: _Utterance | None = None
        self._respond_task: asyncio.Task[None] | None = None
        self._listen_exec = _single_thread("voiced-listen")
        self._asr_exec = _single_thread("voiced-asr")
        self._tts_exec = _single_thread("voiced-tts")

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

    # --- listening -----------------------------------------------------------------------------

    async def listen(self, source: AudioSource) -> None:
        """Run turns on the source's audio until it ends; then finish the turn in flight."""
        async for frame in source.frames():
            await self.on_frame(frame)
            if not source.realtime and self.busy:
                await self.wait_idle()  # a file is processed in lockstep: same result on any CPU
        await self._on_source_end()
        await self.wait_idle()

    async def wait_idle(self) -> None:
        if self._respond_task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._respond_task

    async def on_frame(self, frame: AudioFrame) -> None:
        if self.state is State.IDLE:
            self._preroll.append(frame)
            hit = await self._run(self._listen_exec, self.stages.wake.process, frame.samples)
            if hit and frame.end - self._last_wake_end >= self.settings.refractory_seconds:
                self._last_wake_end = frame.end
                await self._start_recording(hit)
        elif self.state is State.RECORDING and self._recording is not None:
            self._feed_asr(frame)
            decision = await self._run(self._listen_exec, self._recording.feed, frame)
            if decision is not Decision.CONTINUE:
                await self._end_recording(decision)
        # Other states: the reply is being produced; frames are dropped (barge-in comes later).

    async def _start_recording(self, hit: WakeHit) -> None:
        self._turn = TurnRecord(next(self._ids), hit.model, hit.score)
        self._set_state(State.RECORDING)
        log.debug("turn %d: wake word %s (%.2f)", self._turn.turn_id, hit.model, hit.score)
        self._recording = await self._run(
            self._listen_exec, Recording, self.stages.vad, self.settings
        )
        session = await self._run(self._asr_exec, self.stages.asr.start)
        self._utterance = _Utterance(session)
        await self._run(self._listen_exec, self.stages.wake.reset)
        for frame in self._preroll.tail(self.settings.preroll_seconds):
            self._feed_asr(frame)
            await self._run(self._listen_exec, self._recording.warm, frame)
        self._preroll.clear()

    def _feed_asr(self, frame: AudioFrame) -> None:
        if self._utterance is not None:
            loop = asyncio.get_running_loop()
            future = loop.run_in_executor(
                self._asr_exec, self._utterance.session.feed, frame.samples
            )
            self._utterance.pending.append(future)

    async def _end_recording(self, decision: Decision) -> None:
        turn, recording, utterance = self._turn, self._recording, self._utterance
        assert turn is not None and recording is not None and utterance is not None
        self._recording, self._utterance = None, None
        turn.endpoint_at = TurnRecord.now()
        turn.endpoint = str(decision)
        turn.recording_seconds = recording.endpointer.elapsed
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

    # --- the reply -----------------------------------------------------------------------------

    async def _abandon(self, turn: TurnRecord, utterance: _Utterance) -> None:
        turn.outcome = "no-speech"
        try:
            await self._finish_transcript(utterance)  # resets the decoder for the next turn
        except StageError:
            pass
        finally:
            self._end_turn(turn)

    async def _respond(self, turn: TurnRecord, utterance: _Utterance) -> None:
        persona = self._persona()
        try:
            transcript = await self._finish_transcript(utterance)
            turn.transcript_at = TurnRecord.now()
            turn.asr_text = transcript.text
            if not transcript.text:
                turn.outcome = "not-heard"
                await self._speak_plain(turn, not_heard_message(persona.language), persona)
                return
            self._set_state(State.THINKING)
            turn.request_at = TurnRecord.now()
            reply = self.stages.responder.reply(transcript.text, persona)
            turn.reply_source = reply.source
            pieces = self._timed(turn, reply.pieces) if reply.from_llm else reply.pieces
            try:
                async with asyncio.timeout(self.settings.reply_timeout):
                    await self._speak(turn, pieces, persona)
            finally:
                self.stages.responder.remember(transcript.text, reply, " ".join(turn.reply_text))
        except StageError as err:
            await self._fail(turn, err, persona)
        except TimeoutError:
            await self._fail(
                turn, StageError(ErrorCode.TTS_TIMEOUT, "reply took too long"), persona
            )
        except Exception:
            log.exception("turn %d: unexpected failure", turn.turn_id)
            turn.outcome = "internal-error"
            await self._play_quietly(error_earcon())
        finally:
            self._end_turn(turn)

    async def _finish_transcript(self, utterance: _Utterance) -> Transcript:
        try:
            async with asyncio.timeout(self.settings.asr_timeout):
                await asyncio.gather(*utterance.pending)
                return await self._run(self._asr_exec, utterance.session.finish)
        except StageError:
            raise
        except TimeoutError:
            raise StageError(
                ErrorCode.ASR_TIMEOUT, f"no transcript in {self.settings.asr_timeout:g} s"
            ) from None
        except Exception as exc:
            raise StageError(ErrorCode.ASR_FAILED, f"{type(exc).__name__}: {exc}") from exc

    async def _timed(self, turn: TurnRecord, pieces: AsyncIterator[str]) -> AsyncIterator[str]:
        async for piece in pieces:
            if turn.first_token_at is None:
                turn.first_token_at = TurnRecord.now()
            yield piece
        turn.last_token_at = TurnRecord.now()

    async def _sentences(self, pieces: AsyncIterator[str]) -> AsyncIterator[str]:
        chunker, fences = SentenceChunker(), CodeFenceFilter()
        async for piece in pieces:
            for sentence in chunker.push(fences.push(piece)):
                if spoken := clean_for_speech(sentence):
                    yield spoken
        for sentence in chunker.push(fences.flush()) + chunker.flush():
            if spoken := clean_for_speech(sentence):
                yield spoken

    async def _speak(self, turn: TurnRecord, pieces: AsyncIterator[str], persona: Persona) -> None:
        """Synthesize sentences in order while earlier ones play."""
        queue: asyncio.Queue[AudioChunk | None] = asyncio.Queue(AUDIO_QUEUE_CHUNKS)

        async def produce() -> None:
            try:
                async for sentence in self._sentences(pieces):
                    if turn.first_sentence_at is None:
                        turn.first_sentence_at = TurnRecord.now()
                        self._set_state(State.SPEAKING)
                    async for chunk in self._synthesize(turn, sentence, persona):
                        await queue.put(chunk)
                    turn.reply_text.append(sentence)
            finally:
                await queue.put(None)

        producer = asyncio.create_task(produce())
        try:
            while (chunk := await queue.get()) is not None:
                if turn.first_audio_at is None:
                    turn.first_audio_at = TurnRecord.now()
                await self.stages.sink.play(chunk)
            await self.stages.sink.drain()
            await producer  # raises what the producer raised (LLM or TTS failure)
        finally:
            producer.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await producer

    async def _synthesize(
        self, turn: TurnRecord, text: str, persona: Persona
    ) -> AsyncIterator[AudioChunk]:
        iterator = iter(self.stages.tts.synthesize(text, persona))  # lazy: runs on the TTS thread
        while True:
            started = TurnRecord.now()
            try:
                async with asyncio.timeout(self.settings.tts_timeout):
                    chunk = await self._run(self._tts_exec, next, iterator, None)
            except StageError:
                raise
            except TimeoutError:
                raise StageError(
                    ErrorCode.TTS_TIMEOUT, f"no audio in {self.settings.tts_timeout:g} s"
                ) from None
            except Exception as exc:
                raise StageError(ErrorCode.TTS_FAILED, f"{type(exc).__name__}: {exc}") from exc
            turn.tts_seconds += TurnRecord.now() - started
            if chunk is None:
                return
            yield chunk

    async def _speak_plain(self, turn: TurnRecord, text: str, persona: Persona) -> None:
        async def once() -> AsyncIterator[str]:
            yield text

        await self._speak(turn, once(), persona)

    async def _fail(self, turn: TurnRecord, err: StageError, persona: Persona) -> None:
        """Say what went wrong; if speaking fails too, beep. Never raises."""
        turn.outcome = str(err.code)
        log.warning("turn %d: %s: %s", turn.turn_id, err.code, err.detail)
        if err.code in (ErrorCode.TTS_FAILED, ErrorCode.TTS_TIMEOUT):
            await self._play_quietly(error_earcon())
            return
        try:
            async with asyncio.timeout(self.settings.tts_timeout * 2):
                await self._speak_plain(turn, error_message(err.code, persona.language), persona)
        except Exception as exc:
            log.warning(
                "turn %d: could not speak the error (%s); playing the earcon", turn.turn_id, exc
            )
            await self._play_quietly(error_earcon())

    async def _play_quietly(self, chunk: AudioChunk) -> None:
        try:
            await self.stages.sink.play(chunk)
            await self.stages.sink.drain()
        except Exception:
            log.exception("could not play the error earcon")

    def _end_turn(self, turn: TurnRecord) -> None:
        turn.ended_at = TurnRecord.now()
        self._set_state(State.IDLE)
        self._turn = None
        log.info("%s", turn.summary())
        if self._on_turn_end is not None:
            self._on_turn_end(turn)

    async def say(self, text: str) -> None:
        """Speak outside a turn (the greeting)."""
        turn = TurnRecord(0)
        persona = self._persona()
        try:
            await self._speak_plain(turn, text, persona)
        except StageError as err:
            log.warning("could not speak %r: %s", text, err)

    async def close(self) -> None:
        if self._respond_task is not None and not self._respond_task.done():
            self._respond_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._respond_task
        for executor in (self._listen_exec, self._asr_exec, self._tts_exec):
            executor.shutdown(wait=False, cancel_futures=True)


def _single_thread(name: str) -> concurrent.futures.ThreadPoolExecutor:
    return concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)
