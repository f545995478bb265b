"""Speaking a reply: sentences synthesized in order while earlier ones play, cut cleanly.

Reply text streams in; complete sentences go to TTS (on the TTS thread) at once; audio goes to
the speaker in short slices, so an interruption stops it within one slice, followed by a short
fade instead of a click. What was actually heard is recorded sentence by sentence.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

from daemon.audio.base import AudioSink
from daemon.audio.frames import AudioChunk
from daemon.config import Persona
from daemon.errors import ErrorCode, StageError
from daemon.tts.base import Synthesizer
from daemon.tts.chunker import SentenceChunker
from daemon.tts.text import CodeFenceFilter, clean_for_speech
from daemon.turn.record import TurnRecord
from daemon.worker import Worker

Hold = Callable[[], contextlib.AbstractContextManager[None]]

AUDIO_QUEUE_CHUNKS = 16  # synthesized audio waiting for the speaker
CUT_MARK = " …"  # appended to a sentence that was interrupted


async def sentences(pieces: AsyncIterator[str]) -> AsyncIterator[str]:
    """Streamed text -> speakable sentences, as soon as each is complete."""
    chunker, fences = SentenceChunker(), CodeFenceFilter()
    async for piece in pieces:
        for sentence in chunker.push(fences.push(piece)):
            if spoken := clean_for_speech(sentence):
                yield spoken
    for sentence in chunker.push(fences.flush()) + chunker.flush():
        if spoken := clean_for_speech(sentence):
            yield spoken


@dataclass(frozen=True)
class _Queued:
    chunk: AudioChunk
    sentence: str
    first: bool  # the sentence's first chunk: it starts being heard now


class Speaker:
    """Turns reply text into sound on the sink.

    `hold` marks work that takes wall time (the LLM stream, synthesis): from a file, audio
    time must not pass meanwhile (see AudioClock.working)."""

    def __init__(
        self,
        tts: Synthesizer,
        sink: AudioSink,
        worker: Worker,
        tts_timeout: float,
        hold: Hold = contextlib.nullcontext,
    ) -> None:
        self._tts = tts
        self.sink = sink
        self._worker = worker
        self._timeout = tts_timeout
        self._hold = hold

    async def speak(
        self,
        turn: TurnRecord,
        pieces: AsyncIterator[str],
        persona: Persona,
        on_first_audio: Callable[[], None] | None = None,
    ) -> None:
        """Speak the streamed reply; `on_first_audio` is called as its first sample plays."""
        queue: asyncio.Queue[_Queued | None] = asyncio.Queue(AUDIO_QUEUE_CHUNKS)
        producer = asyncio.create_task(self._produce(turn, pieces, persona, queue))
        try:
            await self._play_all(turn, queue, on_first_audio)
            await self.sink.drain()
            await producer  # raises what the producer raised (LLM or TTS failure)
        finally:
            producer.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await producer

    async def _produce(
        self,
        turn: TurnRecord,
        pieces: AsyncIterator[str],
        persona: Persona,
        queue: asyncio.Queue[_Queued | None],
    ) -> None:
        try:
            text = sentences(pieces)
            while (sentence := await self._next(text)) is not None:
                if turn.first_sentence_at is None:
                    turn.first_sentence_at = turn.mark()
                first = True
                audio = self._synthesize(turn, sentence, persona)
                while (chunk := await self._next(audio)) is not None:
                    await queue.put(_Queued(chunk, sentence, first))  # waits for playback
                    first = False
        finally:
            await queue.put(None)

    async def _next(self, items: AsyncIterator[Any]) -> Any:
        """The next item of a stream that takes wall time (LLM text, synthesized audio)."""
        with self._hold():
            return await anext(items, None)

    async def _play_all(
        self,
        turn: TurnRecord,
        queue: asyncio.Queue[_Queued | None],
        on_first_audio: Callable[[], None] | None,
    ) -> None:
        while (item := await queue.get()) is not None:
            if item.first:
                turn.reply_text.append(item.sentence)
            if turn.first_audio_at is None:
                turn.first_audio_at = turn.mark()
                if on_first_audio is not None:
                    on_first_audio()
            await self._play_cut(turn, item.chunk)

    async def _play_cut(self, turn: TurnRecord, chunk: AudioChunk) -> None:
        """Play `chunk`; if a barge-in cuts it, the sentence is marked as cut off."""
        try:
            await self.sink.play(chunk)
        except asyncio.CancelledError:
            if turn.reply_text:
                turn.reply_text[-1] += CUT_MARK
            raise

    async def _synthesize(
        self, turn: TurnRecord, text: str, persona: Persona
    ) -> AsyncIterator[AudioChunk]:
        iterator = iter(self._tts.synthesize(text, persona))  # lazy: runs on the TTS worker
        while True:
            started = turn.mark()
            try:
                async with asyncio.timeout(self._timeout):
                    chunk = await self._worker.run(next, iterator, None)
            except StageError:
                raise
            except TimeoutError:
                raise StageError(
                    ErrorCode.TTS_TIMEOUT, f"no audio in {self._timeout:g} s"
                ) from None
            except Exception as exc:
                raise StageError(ErrorCode.TTS_FAILED, f"{type(exc).__name__}: {exc}") from exc
            turn.tts_seconds += turn.mark() - started
            if chunk is None:
                return
            if turn.first_tts_chunk_at is None:
                turn.first_tts_chunk_at = turn.mark()
            yield chunk

    async def say(self, turn: TurnRecord, text: str, persona: Persona) -> None:
        async def once() -> AsyncIterator[str]:
            yield text

        await self.speak(turn, once(), persona)

    async def play(self, chunk: AudioChunk) -> None:
        """An earcon: played whole, never raises."""
        with contextlib.suppress(Exception):
            await self.sink.play(chunk)
            await self.sink.drain()
