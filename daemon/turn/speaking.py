"""Speaking a reply: sentences synthesized in order while earlier ones play, cut cleanly.

Reply text streams in; complete sentences go to TTS (on the TTS thread) at once; audio goes to
the speaker in short slices, so an interruption stops it within one slice, followed by a short
fade instead of a click. What was actually heard is recorded sentence by sentence.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from daemon.audio.base import AudioSink
from daemon.audio.clock import fade_out, slices
from daemon.audio.frames import AudioChunk
from daemon.config import Persona
from daemon.errors import ErrorCode, StageError
from daemon.tts.base import Synthesizer
from daemon.tts.chunker import SentenceChunker
from daemon.tts.text import CodeFenceFilter, clean_for_speech
from daemon.turn.record import TurnRecord

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
    """Turns reply text into sound on the sink, and tells `on_play` what is heard when."""

    def __init__(
        self,
        tts: Synthesizer,
        sink: AudioSink,
        executor: concurrent.futures.Executor,
        tts_timeout: float,
        on_play: Callable[[AudioChunk], None],
    ) -> None:
        self._tts = tts
        self.sink = sink
        self._executor = executor
        self._timeout = tts_timeout
        self._on_play = on_play
        self._tasks: set[asyncio.Task[None]] = set()

    async def speak(self, turn: TurnRecord, pieces: AsyncIterator[str], persona: Persona) -> None:
        queue: asyncio.Queue[_Queued | None] = asyncio.Queue(AUDIO_QUEUE_CHUNKS)
        producer = asyncio.create_task(self._produce(turn, pieces, persona, queue))
        try:
            await self._play_all(turn, queue)
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
            async for sentence in sentences(pieces):
                if turn.first_sentence_at is None:
                    turn.first_sentence_at = TurnRecord.now()
                first = True
                async for chunk in self._synthesize(turn, sentence, persona):
                    await queue.put(_Queued(chunk, sentence, first))
                    first = False
        finally:
            await queue.put(None)

    async def _play_all(self, turn: TurnRecord, queue: asyncio.Queue[_Queued | None]) -> None:
        while (item := await queue.get()) is not None:
            if item.first:
                turn.reply_text.append(item.sentence)
            if turn.first_audio_at is None:
                turn.first_audio_at = TurnRecord.now()
            self._on_play(item.chunk)
            await self._play_sliced(turn, item.chunk)

    async def _play_sliced(self, turn: TurnRecord, chunk: AudioChunk) -> None:
        pieces = slices(chunk)
        for i, piece in enumerate(pieces):
            try:
                await self.sink.play(piece)
            except asyncio.CancelledError:
                if turn.reply_text:
                    turn.reply_text[-1] += CUT_MARK
                if i + 1 < len(pieces):  # end on a fade, not a click; nobody waits for it
                    self._background(self.sink.play(fade_out(pieces[i + 1])))
                raise

    async def _synthesize(
        self, turn: TurnRecord, text: str, persona: Persona
    ) -> AsyncIterator[AudioChunk]:
        loop = asyncio.get_running_loop()
        iterator = iter(self._tts.synthesize(text, persona))  # lazy: runs on the TTS thread
        while True:
            started = TurnRecord.now()
            try:
                async with asyncio.timeout(self._timeout):
                    chunk = await loop.run_in_executor(self._executor, next, iterator, None)
            except StageError:
                raise
            except TimeoutError:
                raise StageError(
                    ErrorCode.TTS_TIMEOUT, f"no audio in {self._timeout:g} s"
                ) from None
            except Exception as exc:
                raise StageError(ErrorCode.TTS_FAILED, f"{type(exc).__name__}: {exc}") from exc
            turn.tts_seconds += TurnRecord.now() - started
            if chunk is None:
                return
            if turn.first_tts_chunk_at is None:
                turn.first_tts_chunk_at = TurnRecord.now()
            yield chunk

    def _background(self, playing: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(playing)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def say(self, turn: TurnRecord, text: str, persona: Persona) -> None:
        async def once() -> AsyncIterator[str]:
            yield text

        await self.speak(turn, once(), persona)

    async def play(self, chunk: AudioChunk) -> None:
        """An earcon: played whole, never raises."""
        with contextlib.suppress(Exception):
            self._on_play(chunk)
            await self.sink.play(chunk)
            await self.sink.drain()
