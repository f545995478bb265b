"""The reply: transcript -> responder (intent or LLM) -> sentences -> speech.

One path for every reply, its timings and its failures. A reply is a coroutine the turn
machine runs as a task and cancels on a barge-in; it reports how far it got through `step`
(THINKING once the transcript is there, SPEAKING as the first sample plays). Whatever fails, it
ends by saying so (or, if even speech fails, beeping) and never raises, but for a cancellation.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

from daemon.asr.base import Transcript
from daemon.audio.earcons import end_earcon, error_earcon
from daemon.config import Deadlines, Persona
from daemon.errors import ErrorCode, StageError
from daemon.llm.responder import Responder
from daemon.tts.base import Cancellable, Synthesizer
from daemon.tts.text import join_sentences
from daemon.turn.phases import State
from daemon.turn.phrases import error_message, not_heard_message
from daemon.turn.record import Outcome, TurnRecord
from daemon.turn.recording import Utterance
from daemon.turn.speaking import Hold, Speaker

log = logging.getLogger(__name__)

Step = Callable[[State], None]


@dataclass
class ReplyPipeline:
    responder: Responder
    speaker: Speaker
    tts: Synthesizer
    deadlines: Deadlines
    persona: Callable[[], Persona]
    hold: Hold
    end_earcon: bool = True

    async def answer(self, turn: TurnRecord, utterance: Utterance, step: Step) -> bool:
        """Reply to a recorded request. True if a follow-up may come (not after "stop")."""
        persona = self.persona()
        try:
            transcript = await self._transcript_over_earcon(utterance)
            turn.transcript_at = turn.mark()
            turn.asr_text = transcript.text
            step(State.THINKING)
            if not transcript.text:
                turn.outcome = Outcome.NOT_HEARD
                await self._say(turn, not_heard_message(persona.language), persona, step)
                return True
            return await self._reply(turn, transcript.text, persona, step)
        except StageError as err:
            await self.fail(turn, err, persona, step)
        except TimeoutError:
            timeout = StageError(ErrorCode.TTS_TIMEOUT, "reply took too long")
            await self.fail(turn, timeout, persona, step)
        except Exception:
            log.exception("turn %d: unexpected failure", turn.turn_id)
            turn.outcome = Outcome.INTERNAL_ERROR
            await self.beep()
        return True

    async def _reply(self, turn: TurnRecord, text: str, persona: Persona, step: Step) -> bool:
        turn.request_at = turn.mark()
        reply = self.responder.reply(text, persona)
        turn.reply_source = reply.source
        pieces = self._timed(turn, reply.pieces) if reply.from_llm else reply.pieces
        try:
            async with asyncio.timeout(self.deadlines.reply):
                await self.speaker.speak(turn, pieces, persona, lambda: step(State.SPEAKING))
        finally:
            self.responder.remember(text, reply, join_sentences(turn.reply_text))
        return not reply.ends_conversation

    async def _transcript_over_earcon(self, utterance: Utterance) -> Transcript:
        """The final transcript, while the end-of-recording earcon plays (the ASR's last decode
        and the earcon overlap instead of adding up); the reply's own audio follows both. A
        barge-in cuts the earcon with the rest."""
        if not self.end_earcon:
            return await self._transcript(utterance)
        earcon = asyncio.create_task(self.speaker.play(end_earcon()))
        try:
            transcript = await self._transcript(utterance)
        except asyncio.CancelledError:
            earcon.cancel()
            raise
        finally:
            with contextlib.suppress(asyncio.CancelledError):
                await earcon
        return transcript

    async def _transcript(self, utterance: Utterance) -> Transcript:
        timeout = self.deadlines.asr
        try:
            with self.hold():
                async with asyncio.timeout(timeout):
                    return await utterance.finish()
        except StageError:
            raise
        except TimeoutError:
            raise StageError(ErrorCode.ASR_TIMEOUT, f"no transcript in {timeout:g} s") from None
        except Exception as exc:
            raise StageError(ErrorCode.ASR_FAILED, f"{type(exc).__name__}: {exc}") from exc

    async def _timed(self, turn: TurnRecord, pieces: AsyncIterator[str]) -> AsyncIterator[str]:
        async for piece in pieces:
            if turn.first_token_at is None:
                turn.first_token_at = turn.mark()
            yield piece
        turn.last_token_at = turn.mark()

    async def _say(self, turn: TurnRecord, text: str, persona: Persona, step: Step) -> None:
        async def once() -> AsyncIterator[str]:
            yield text

        await self.speaker.speak(turn, once(), persona, lambda: step(State.SPEAKING))

    async def fail(self, turn: TurnRecord, err: StageError, persona: Persona, step: Step) -> None:
        """Say what went wrong; if speaking fails too, beep. Never raises (but a cancellation)."""
        turn.outcome = Outcome.of(err.code)
        log.warning("turn %d: %s: %s", turn.turn_id, err.code, err.detail)
        if err.code in (ErrorCode.TTS_FAILED, ErrorCode.TTS_TIMEOUT):
            await self.beep()
            return
        try:
            async with asyncio.timeout(self.deadlines.error_speech):
                await self._say(turn, error_message(err.code, persona.language), persona, step)
        except Exception as exc:
            log.warning("turn %d: could not speak the error (%s); beeping", turn.turn_id, exc)
            await self.beep()

    async def beep(self) -> None:
        """The error earcon: the last resort, so it plays even when earcons are switched off."""
        await self.speaker.play(error_earcon())

    def stop_voice(self) -> None:
        """Barge-in: a voice that can stop mid-sentence frees its worker at once."""
        if isinstance(self.tts, Cancellable):
            self.tts.cancel()

