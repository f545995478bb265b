"""Process life: build the stages in order, run the listener, stop cleanly on a signal.

Start-up order: config -> models (each factory loads its own) -> audio devices -> greeting ->
listening. A config or model problem surfaces here, before any audio is opened.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import threading
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from daemon.asr import Transcriber, make_transcriber
from daemon.asr.elsewhere import HeardByHomeAssistant
from daemon.asr.languages import check_persona_language
from daemon.audio.base import AudioSink, AudioSource
from daemon.audio.echo import EchoCanceller
from daemon.audio.gain import GainSink
from daemon.audio.noise import make_noise_suppressor
from daemon.audio.resilient import Backoff
from daemon.config import (
    ConversationSettings,
    Deadlines,
    Persona,
    Settings,
    WakeSettings,
    load_persona,
)
from daemon.errors import ConfigError
from daemon.host.memory import limit_malloc_arenas, release_free_memory
from daemon.intents.build import make_actions
from daemon.intents.ringer import audio_wall_clock, wall_clock
from daemon.llm import make_chat_model
from daemon.llm.responder import Responder, Source
from daemon.notify import HeartbeatSource, Notifier
from daemon.tools.build import make_toolbox
from daemon.tts import make_synthesizer
from daemon.turn.machine import (
    Assistant,
    FrameTap,
    RemotePipeline,
    Stages,
    StageWorkers,
    State,
    TurnSettings,
)
from daemon.turn.record import Outcome, TurnLog, TurnRecord
from daemon.vad import make_vad
from daemon.vad.judge import make_judge
from daemon.wake import make_wake_detector
from daemon.wake.base import PeakScore, SharesModels, WakeDetector
from daemon.wake.gate import QuietGate
from daemon.wake.guard import SelfTriggerGuard
from daemon.wake.verify import make_wake_check

log = logging.getLogger(__name__)


class PersonaHolder:
    """The persona in force; a reload that fails validation keeps the old one.

    Reloaded on SIGHUP and when the file changes (polled: no inotify dependency, and it also
    notices a file replaced by an editor's rename). A deleted file is reported once and the
    persona in force stays; whatever a broken file makes the loader raise, the watcher lives on.
    """

    def __init__(self, settings: Settings) -> None:
        self.path = settings.persona_path
        self.current: Persona = settings.persona
        self._asr = settings.daemon.asr  # a persona this ASR cannot hear is refused
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
            check_persona_language(self._asr, persona, self.path)
        except ConfigError as err:
            log.error("persona not reloaded, keeping %r: %s", self.current.name, err)
            return False
        except Exception as exc:  # the loader's own bug must not kill the watcher
            log.error(
                "persona not reloaded, keeping %r: %s: %s",
                self.current.name,
                self.path,
                type(exc).__name__,
            )
            return False
        if persona.wake_word != self.current.wake_word:
            log.warning("persona wake_word change takes effect at the next restart")
        if persona.language != self.current.language:
            log.warning("persona language change reaches the ASR at the next restart")
        self.current = persona
        for listener in self._listeners:
            listener(persona)
        log.info("persona reloaded from %s: %s (%s)", self.path, persona.name, persona.language)
        return True

    async def watch(self, interval: float = 1.0) -> None:
        """Reload whenever the file's mtime or size changes."""
        while True:
            await asyncio.sleep(interval)
            self.poll()

    def poll(self) -> None:
        """One look at the file: reload if it changed, say so once if it is gone."""
        stamp = self._stamp()
        if stamp == self._seen:
            return
        if stamp is None:
            self._seen = None
            log.error(
                "persona file %s is gone; keeping %r until it is back", self.path, self.current.name
            )
            return
        self.reload()


def turn_settings(settings: Settings) -> TurnSettings:
    d, conversation = settings.daemon, settings.daemon.conversation
    follow_up = settings.persona.follow_up_seconds
    return TurnSettings(
        endpoint=d.endpoint,
        deadlines=Deadlines.from_settings(d),
        vad_threshold=d.vad.threshold,
        preroll_seconds=d.audio.preroll_seconds,
        refractory_seconds=d.wake.refractory_seconds,
        follow_up_seconds=conversation.follow_up_seconds if follow_up is None else follow_up,
        echo_tail_seconds=conversation.echo_tail_seconds,
        barge_in=conversation.barge_in,
        barge_in_on_speech=conversation.barge_in_on_speech,
        earcons=frozenset(name for name, on in conversation.earcons if on),
    )


REFERENCE_THRESHOLD = 0.1


def make_guard(
    conversation: ConversationSettings,
    wake: WakeSettings,
    models: Path,
    aec: bool,
    main: WakeDetector | None = None,
) -> SelfTriggerGuard | None:
    """A second wake detector on what the box plays, when a person may interrupt it. With
    `main` (the microphone's detector, called on the same listener thread) it shares that
    detector's models instead of loading a second copy."""
    if not conversation.barge_in:
        return None
    # Low threshold for the reference: if the box's own audio even resembles the wake word, a
    # detection on the microphone at that moment is the box hearing itself. With AEC the
    # microphone is clean enough for the normal threshold; the guard stays, because the
    # canceller needs a moment to adapt at the start of each reply.
    if isinstance(main, SharesModels):
        reference: WakeDetector = main.sibling(REFERENCE_THRESHOLD)
    else:
        reference = make_wake_detector(
            wake.model_copy(update={"threshold": REFERENCE_THRESHOLD}), models
        )
    raised = wake.threshold if aec else conversation.threshold_while_playing
    return SelfTriggerGuard(reference, raised, conversation.echo_tail_seconds)


def build_stages(settings: Settings, sink: AudioSink) -> Stages:
    """Load every model (slow on a small box); raises ModelMissing / ConfigError early."""
    limit_malloc_arenas()  # before the worker threads allocate
    d, models = settings.daemon, settings.models_dir()
    wake = d.wake.model_copy(update={"model": settings.persona.wake_word or d.wake.model})
    check_persona_language(d.asr, settings.persona, settings.persona_path)
    aec = d.audio.echo_cancellation
    echo = (
        EchoCanceller(aec.delay_ms, aec.noise_suppression, aec.linear_wake) if aec.enabled else None
    )
    detector = make_wake_detector(wake, models)
    guard = make_guard(d.conversation, wake, models, echo is not None, detector)
    language = lambda: settings.persona.language  # noqa: E731 (the persona in force at start)
    actions = make_actions(d.timers, d.volume, settings.config_path.parent, wall_clock, language)
    responder = Responder(
        make_chat_model(d.llm),
        d.llm.timeouts,
        settings.persona,
        actions=actions,
        tools=make_toolbox(d.tools, actions, language),
        tool_rounds=d.tools.max_rounds,
    )
    stages = Stages(
        echo=echo,
        guard=guard,
        gate=QuietGate(detector) if wake.quiet_gate else None,
        wake=detector,
        vad=make_vad(d.vad, models),
        asr=make_asr(settings),
        responder=responder,
        tts=make_synthesizer(d.tts, models, settings.persona),
        judge=make_judge(models) if d.endpoint.mode == "smart-turn" else None,
        denoise=make_noise_suppressor(d.audio.noise_suppression, str(settings.config_path)),
        sink=GainSink(sink, actions.volume),  # the volume a person set by voice
    )
    stages.wake_check = make_wake_check(wake, stages.asr, str(settings.config_path))
    release_free_memory()  # what loading and the models' load-time checks freed
    return stages


def make_asr(settings: Settings) -> Transcriber:
    """The box's own ASR; none for a Home Assistant satellite, whose requests HA hears."""
    if settings.daemon.mode == "ha-satellite":
        return HeardByHomeAssistant()
    persona = settings.persona
    return make_transcriber(
        settings.daemon.asr,
        settings.models_dir(),
        [persona.name, *persona.hotwords],
        persona.language,
    )


@contextlib.asynccontextmanager
async def ha_satellite(
    settings: Settings, assistant: Assistant, wake_names: list[str]
) -> AsyncIterator[RemotePipeline | None]:
    """mode ha-satellite: the box keeps its wake word, guard, barge-in and earcons; Home
    Assistant connects to the satellite server and runs the rest of each request."""
    if settings.daemon.mode != "ha-satellite":
        yield None
        return
    from daemon.wyoming.box import SinkBox
    from daemon.wyoming.satellite import Satellite, SatelliteServer
    from daemon.wyoming.server import advertise

    d, persona = settings.daemon, settings.persona
    follow_up = d.conversation.follow_up_seconds
    if persona.follow_up_seconds is not None:
        follow_up = persona.follow_up_seconds
    box = SinkBox(assistant.sink, d.conversation.earcons)  # the guard and AEC hear it played
    satellite = Satellite(box, d.satellite, wake_names, follow_up_seconds=follow_up)
    async with SatelliteServer(satellite) as server:
        log.info("Home Assistant satellite on %s:%d", d.satellite.host, server.port)
        if d.satellite.zeroconf:
            await advertise(d.satellite.name, server.port, d.satellite.host)
        yield satellite


class GaveUp(Exception):
    """A supervised task kept failing: the process exits non-zero so systemd restarts it."""


async def supervise(
    name: str,
    start: Callable[[], Awaitable[None]],
    max_failures: int = 5,
    window_seconds: float = 300.0,
    backoff: Backoff | None = None,
) -> None:
    """Run `start()`; if it dies unexpectedly, restart it with backoff, up to a limit."""
    backoff = backoff or Backoff()
    failures: deque[float] = deque()
    loop = asyncio.get_running_loop()
    while True:
        try:
            await start()
            return
        except Exception as exc:
            now = loop.time()
            failures.append(now)
            while failures and now - failures[0] > window_seconds:
                failures.popleft()
            if len(failures) >= max_failures:
                log.error("%s died", name, exc_info=exc)
                raise GaveUp(f"{name} failed {len(failures)} times; giving up") from exc
            wait = backoff.next_wait()
            log.exception("%s died; restarting in %.1f s", name, wait)
            await asyncio.sleep(wait)


def status_after(turn: TurnRecord) -> str | None:
    """What STATUS= should say after a turn, if the turn changes it."""
    if turn.outcome in (Outcome.LLM_UNREACHABLE, Outcome.LLM_TIMEOUT):
        return "LLM unreachable"
    if turn.outcome in (Outcome.LLM_UNAUTHORIZED, Outcome.LLM_REJECTED):
        return "LLM refuses requests (check the endpoint and key)"
    if turn.outcome is Outcome.OK and turn.reply_source.startswith(f"{Source.LLM}:"):
        return "listening"
    return None


@dataclass
class Daemon:
    """One running assistant: listener and persona watcher under supervision, signals, notify."""

    settings: Settings
    stages: Stages
    source: AudioSource
    notifier: Notifier = field(default_factory=Notifier)
    on_turn_end: Callable[[TurnRecord], None] | None = None
    persona_poll_seconds: float = 1.0
    shutdown_seconds: float = 3.0
    turn_log: TurnLog | None = None
    on_state: Callable[[State], None] | None = None  # every phase change (the web console)
    on_frame: FrameTap | None = None  # every microphone frame (the console's level meter)
    workers: StageWorkers = field(default_factory=StageWorkers.create)
    _turns: int = 0

    async def run(self) -> int:
        """Runs until the source ends or a signal; returns the process exit code."""
        persona = PersonaHolder(self.settings)
        persona.on_change(self.stages.responder.persona_changed)
        main = asyncio.current_task()
        assert main is not None
        self._install_signals(main, persona)
        restarts = 5 if self.source.realtime else 1  # a file cannot be re-read from the middle
        watcher = asyncio.create_task(
            supervise("persona watcher", lambda: persona.watch(self.persona_poll_seconds))
        )
        watcher.add_done_callback(_log_failure)
        try:
            await supervise("listener", lambda: self._listen(persona), max_failures=restarts)
            return 0
        except GaveUp as err:
            log.critical("%s", err)
            return 1
        except asyncio.CancelledError:
            log.info("stopping")
            return 0
        finally:
            await self._shutdown(watcher)

    async def _listen(self, persona: PersonaHolder) -> None:
        assistant = Assistant(
            self.stages,
            turn_settings(self.settings),
            persona,
            self._turn_ended,
            on_state=self.on_state,
            workers=self.workers,
            on_frame=self.on_frame,
        )
        actions = self.stages.responder.actions
        if actions is not None and not self.source.realtime:  # a file: reminders in audio time
            actions.ringer.use_clock(audio_wall_clock(assistant.clock))
        try:
            if persona().greeting:
                await assistant.say(persona().greeting or "")
            async with ha_satellite(self.settings, assistant, [self.stages.wake.name]) as remote:
                assistant.remote = remote
                source = HeartbeatSource(self.source, lambda: self._frame_done(persona))
                await assistant.listen(source)
            if not self.source.realtime and not self._turns:
                self._no_wake_hint()
        finally:
            await assistant.close()

    def _backends(self) -> str:
        d = self.settings.daemon
        asr = d.asr.funasr.model if d.asr.backend == "funasr" else d.asr.backend
        llm, chat = d.llm.endpoint(), "none"
        if llm is not None:  # the OpenAI SDK (~14 MB) is imported only when an LLM is configured
            from daemon.llm.openai_chat import public_url

            chat = f"{d.llm.active} ({llm.model} at {public_url(llm.base_url)})"
        return f"asr {asr}, tts {d.tts.backend}, llm {chat}{', aec' if self.stages.echo else ''}"

    def _frame_done(self, persona: PersonaHolder) -> None:
        if not self.notifier.is_ready:  # models loaded, and the microphone delivers audio
            self.notifier.ready("listening")
            log.info(
                "listening for %s (persona %s, %s)",
                self.stages.wake.name,
                persona().name,
                self._backends(),
            )
        self.notifier.audio_alive()

    def _no_wake_hint(self) -> None:
        """A file gave no turn: say how close the wake word came (a too-high threshold, a
        different phrase, or no wake word at all)."""
        wake = self.stages.wake
        if isinstance(wake, PeakScore):
            log.info(
                "no wake word heard in the input (best %s score %.2f, threshold %.2f)",
                wake.peak.model,
                wake.peak.score,
                wake.threshold,
            )

    def _turn_ended(self, turn: TurnRecord) -> None:
        self._turns += 1
        release_free_memory()  # the turn's decode and synthesis buffers, kept by glibc otherwise
        if (status := status_after(turn)) is not None:
            self.notifier.status(status)
        if self.turn_log is not None:
            try:
                self.turn_log.write(turn)
            except OSError as err:
                log.warning("turn log %s: %s", self.turn_log.path, err)
        if self.on_turn_end is not None:
            self.on_turn_end(turn)

    async def _shutdown(self, watcher: asyncio.Task[None]) -> None:
        """The one way out: tell systemd, stop watching, close MCP servers and devices, each
        bounded so a stuck one cannot hold the exit (the listener's workers were closed by the
        assistant; a model stuck in native code is left behind on its daemon thread)."""
        self.notifier.stopping()
        watcher.cancel()
        tools = self.stages.responder.tools
        if tools is not None:
            try:
                async with asyncio.timeout(self.shutdown_seconds / 2):
                    await tools.aclose()
            except Exception as exc:
                log.warning("MCP servers did not close cleanly: %s", exc)
        try:
            async with asyncio.timeout(self.shutdown_seconds):
                await self.source.close()
                await self.stages.sink.close()
        except TimeoutError:
            log.error("audio devices did not close within %.0f s", self.shutdown_seconds)
        self.workers.close()

    def _install_signals(self, main: asyncio.Task[Any], persona: PersonaHolder) -> None:
        loop = asyncio.get_running_loop()
        signals = 0

        def stop() -> None:
            nonlocal signals
            signals += 1
            _STOP_SIGNALLED.set()
            if signals > 1:
                forced_exit()
            # The loop resets its handlers to the default (death by signal) when it closes,
            # and a second signal may come during the rest of shutdown: from now on it is
            # handled outside the loop, so it always takes the forced exit.
            for sig in (signal.SIGTERM, signal.SIGINT):
                with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                    loop.remove_signal_handler(sig)
                    signal.signal(sig, lambda *_: forced_exit())
            main.cancel()

        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, stop)
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signal.SIGHUP, persona.reload)


_STOP_SIGNALLED = threading.Event()


def stop_signalled() -> bool:
    """Whether SIGTERM/SIGINT asked this process to stop (the CLI then ends it at once)."""
    return _STOP_SIGNALLED.is_set()


def forced_exit() -> None:
    """The documented answer to a second SIGTERM/SIGINT: exit 1 now, whatever still runs."""
    log.warning("second signal: exiting now")
    os._exit(1)  # the main thread, on purpose: the one place a hard exit belongs


def _log_failure(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("%s", task.exception())
