"""One transcription over Wyoming: `transcribe`, audio-start, chunks, audio-stop -> transcript.

The connection holds the ASR model's lease from its first audio to audio-stop and feeds each
chunk as it arrives (on the model's thread), so a streaming recognizer's text is nearly ready
when the audio ends; backends that stream also send transcript-start/-chunk/-stop. A client too
slow to keep up with real time loses the lease (see Connection), so it cannot starve others.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from wyoming.asr import Transcript, TranscriptChunk, TranscriptStart, TranscriptStop

from daemon.asr.base import TranscriptionSession
from daemon.wyoming.audio import Incoming
from daemon.wyoming.info import streams_transcripts
from daemon.wyoming.lanes import Lane

if TYPE_CHECKING:
    from daemon.wyoming.handler import Connection

__all__ = ["AsrJob"]


def settled(partial: str) -> str:
    """The part of a growing hypothesis unlikely to change: all but its last word (with spaces)
    or its last character (Chinese)."""
    if " " in partial.strip():
        return partial[: partial.rstrip().rfind(" ") + 1]
    return partial[:-1]


class AsrJob:
    def __init__(self, conn: Connection, lane: Lane, language: str | None) -> None:
        assert conn.engines.transcriber is not None
        self.conn, self.lane = conn, lane
        self.transcriber = conn.engines.transcriber
        self.language = language
        self.streaming = streams_transcripts(conn.engines)
        self.incoming = Incoming()
        self.session: TranscriptionSession | None = None
        self.sent = ""  # the partial text already sent as transcript chunks

    async def audio_start(self, data: dict) -> None:
        await self._begin()

    async def _begin(self) -> None:
        if self.session is not None:
            return
        await self.lane.acquire()
        self.conn.hold_model()
        try:
            self.session = await self.lane.submit(self.transcriber.start)
        except BaseException:
            self._let_go()
            raise
        if self.streaming:
            await self.conn.write(TranscriptStart(language=self.language).event())

    async def audio_chunk(self, data: dict, payload: bytes | None) -> None:
        await self._begin()
        samples = self.incoming.convert(data, payload)
        self.conn.audio_received(self.incoming.seconds)
        assert self.session is not None
        await self.lane.submit(self.session.feed, samples)
        if self.streaming:
            await self._send_partial()

    async def _send_partial(self) -> None:
        """Newly settled words as a transcript chunk. The last word of a hypothesis may still
        change ("what to" -> "what time"), so it waits; a revision of words already sent is
        not taken back: the final `transcript` is the text to use."""
        stable = settled(str(getattr(self.session, "partial", "") or ""))
        if len(stable) > len(self.sent) and stable.startswith(self.sent):
            await self.conn.write(TranscriptChunk(stable[len(self.sent) :]).event())
            self.sent = stable

    async def audio_stop(self) -> None:
        if self.session is None:  # no audio at all: nothing was said
            await self.conn.write(Transcript(text="", language=self.language).event())
            return
        session, self.session = self.session, None
        try:
            result = await self.lane.submit(session.finish)
        finally:
            self._let_go()
        language = result.language or self.language
        await self.conn.write(Transcript(text=result.text, language=language).event())
        if self.streaming:
            await self.conn.write(TranscriptStop().event())
        self.conn.log_done("asr", f"audio={self.incoming.seconds:.2f}s chars={len(result.text)}")

    def _let_go(self) -> None:
        self.conn.release_model()
        self.lane.release()

    async def close(self) -> None:
        """The connection ended mid-utterance: end the session on the model's thread (before
        the next one starts there) and give the lease back."""
        if self.session is not None:
            self.lane.fire(self.session.finish)
            self.session = None
            self._let_go()
