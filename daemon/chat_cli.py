"""`voiced chat`: a REPL or one request, answered by the daemon's own responder; --speak also
says the reply with the configured TTS (on the speaker, or into a WAV file)."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from daemon.audio.base import AudioSink
from daemon.chat import TextChat, TextTurn, synthesize
from daemon.config import Settings
from daemon.llm import make_chat_model
from daemon.llm.responder import Responder
from daemon.tts.base import Synthesizer

EXIT_OK, EXIT_FAILURE = 0, 1


def open_speech(settings: Settings, speak: str) -> tuple[Synthesizer, AudioSink]:
    """The configured TTS, and the speaker ("") or a WAV file to say replies into."""
    from daemon.tts import make_synthesizer

    tts = make_synthesizer(settings.daemon.tts, settings.models_dir())
    rate = settings.daemon.audio.output.sample_rate
    if speak:
        from daemon.audio.wavfile import WavFileSink

        return tts, WavFileSink(Path(speak), rate)
    from daemon.audio.pyaudio_io import PyAudioSink

    return tts, PyAudioSink(settings.daemon.audio.output.device, rate)


def show(turn: TextTurn, prefix: str = "") -> None:
    print(f"{prefix}{turn.reply}" if turn.reply else f"{prefix}(silence)", flush=True)
    if not turn.ok:
        print(f"voiced: {turn.outcome}: {turn.detail}", file=sys.stderr, flush=True)


async def _say(
    speech: tuple[Synthesizer, AudioSink] | None, turn: TextTurn, settings: Settings
) -> None:
    if speech is None or not turn.reply:
        return
    tts, sink = speech
    for chunk in await asyncio.to_thread(synthesize, tts, turn.reply, settings.persona):
        await sink.play(chunk)
    await sink.drain()


async def _session(settings: Settings, text: str, speak: str | None) -> int:
    responder = Responder(
        make_chat_model(settings.daemon.llm), settings.daemon.llm.timeouts, settings.persona
    )
    chat = TextChat(responder, lambda: settings.persona)
    speech = open_speech(settings, speak) if speak is not None else None
    try:
        if text:
            turn = await chat.ask(text)
            show(turn)
            await _say(speech, turn, settings)
            return EXIT_OK if turn.ok else EXIT_FAILURE
        await _repl(chat, speech, settings)
        return EXIT_OK
    finally:
        if speech is not None:
            await close_speech(speech[1])


async def close_speech(sink: AudioSink) -> None:
    """Close the speaker; a WAV file is put in place (it is written beside it until then)."""
    await sink.close()
    from daemon.audio.wavfile import WavFileSink

    if isinstance(sink, WavFileSink):
        sink.commit()


async def _repl(
    chat: TextChat, speech: tuple[Synthesizer, AudioSink] | None, settings: Settings
) -> None:
    name = settings.persona.name
    print(f"talking to {name} ({settings.persona.language}); Ctrl-D ends", file=sys.stderr)
    while True:
        try:
            line = await asyncio.to_thread(input, "> ")
        except EOFError:
            print(file=sys.stderr)
            return
        if not line.strip():
            continue
        turn = await chat.ask(line)
        show(turn, f"{name}: ")
        await _say(speech, turn, settings)


def run_chat(settings: Settings, text: str, speak: str | None) -> int:
    return asyncio.run(_session(settings, text, speak))
