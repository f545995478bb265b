"""Process life: build the stages in order, run the listener, stop cleanly on a signal.

Start-up order: config -> models (each factory loads its own) -> audio devices -> greeting ->
listening. A config or model problem surfaces here, before any audio is opened.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Callable
from dataclasses import dataclass

from daemon.asr import make_transcriber
from daemon.audio.base import AudioSink, AudioSource
from daemon.config import Persona, Settings, load_persona
from daemon.errors import ConfigError
from daemon.llm import make_chat_model
from daemon.llm.responder import Responder
from daemon.metrics import TurnRecord
from daemon.tts import make_synthesizer
from daemon.turn import Assistant, Stages, TurnSettings
from daemon.vad import make_vad
from daemon.wake import make_wake_detector

log = logging.getLogger(__name__)


class PersonaHolder:
    """The persona in force; a reload that fails validation keeps the old one.

    Reloaded on SIGHUP and when the file changes (polled: no inotify dependency, and it also
    notices a file replaced by an editor's rename).
    """

    def __init__(self, settings: Settings) -> None:
        self.path = settings.persona_path
        self.current: Persona = settings.persona
        self._listeners: list[Callable[[Persona], None]] = []
        self._seen = self._stamp()

    def __call__(self) -> Persona:
        return self.current

    def on_change(self, listener: Callable[[Persona], None]) -> None:
        self._listeners.append(listener)

    def _stamp(self) -> tuple[int, int] | None:
        try:
            stat = self.path.stat()
        except OSError:
            return None
        return stat.st_mtime_ns, stat.st_size

    def reload(self) -> bool:
        self._seen = self._stamp()
        try:
            persona = load_persona(self.path)
        except ConfigError as err:
            log.error("persona not reloaded, keeping %r: %s", self.current.name, err)
            return False
        if persona.wake_word != self.current.wake_word:
            log.warning("persona wake_word change takes effect at the next restart")
        self.current = persona
        for listener in self._listeners:
            listener(persona)
        log.info("persona reloaded from %s: %s (%s)", self.path, persona.name, persona.language)
        return True

    async def watch(self, interval: float = 1.0) -> None:
        """Reload whenever the file's mtime or size changes."""
        while True:
            await asyncio.sleep(interval)
            if self._stamp() not in (self._seen, None):
                self.reload()


def turn_settings(settings: Settings) -> TurnSettings:
    d = settings.daemon
    return TurnSettings(
        endpoint=d.endpoint,
        vad_threshold=d.vad.threshold,
        preroll_seconds=d.audio.preroll_seconds,
        refractory_seconds=d.wake.refractory_seconds,
        asr_timeout=d.asr.timeout_seconds,
        tts_timeout=d.tts.timeout_seconds,
        reply_timeout=d.tts.max_reply_seconds,
    )


ASR_LANGUAGES = {"pocketsphinx": {"en"}}


def compatibility_warnings(settings: Settings) -> list[str]:
    """Settings that are valid alone but will not work well together."""
    language, asr = settings.persona.language, settings.daemon.asr.backend
    if language not in ASR_LANGUAGES.get(asr, {language}):
        return [
            f"persona {settings.persona.name!r} speaks {language!r} but the {asr} ASR "
            f"only understands {', '.join(sorted(ASR_LANGUAGES[asr]))}"
        ]
    return []


def build_stages(settings: Settings, sink: AudioSink) -> Stages:
    """Load every model (slow on a small box); raises ModelMissing / ConfigError early."""
    d, models = settings.daemon, settings.models_dir()
    wake = d.wake.model_copy(update={"model": settings.persona.wake_word or d.wake.model})
    for warning in compatibility_warnings(settings):
        log.warning("%s", warning)
    return Stages(
        wake=make_wake_detector(wake, models),
        vad=make_vad(d.vad, models),
        asr=make_transcriber(d.asr, models, [settings.persona.name, *settings.persona.hotwords]),
        responder=Responder(make_chat_model(d.llm), d.llm.timeouts, settings.persona),
        tts=make_synthesizer(d.tts, models),
        sink=sink,
    )


@dataclass
class Daemon:
    settings: Settings
    stages: Stages
    source: AudioSource
    on_turn_end: Callable[[TurnRecord], None] | None = None
    persona_poll_seconds: float = 1.0

    async def run(self) -> None:
        persona = PersonaHolder(self.settings)
        persona.on_change(self.stages.responder.persona_changed)
        assistant = Assistant(self.stages, turn_settings(self.settings), persona, self.on_turn_end)
        listener = asyncio.create_task(self._listen(assistant, persona))
        watcher = asyncio.create_task(persona.watch(self.persona_poll_seconds))
        self._install_signals(listener, persona)
        try:
            await listener
        except asyncio.CancelledError:
            log.info("stopping")
        finally:
            watcher.cancel()
            await assistant.close()
            await self.source.close()
            await self.stages.sink.close()

    async def _listen(self, assistant: Assistant, persona: PersonaHolder) -> None:
        if persona().greeting:
            await assistant.say(persona().greeting or "")
        log.info("listening for %s (persona %s)", self.stages.wake.name, persona().name)
        await assistant.listen(self.source)

    def _install_signals(self, listener: asyncio.Task[None], persona: PersonaHolder) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, listener.cancel)
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signal.SIGHUP, persona.reload)
