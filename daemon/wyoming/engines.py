"""The models `voiced wyoming` serves, loaded once from the configuration, and what is known
about each backend (who made it, which languages it speaks, whether it streams)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from daemon.asr.base import Transcriber
from daemon.config import AsrSettings, Persona, Settings
from daemon.tts.base import Synthesizer
from daemon.wake.base import WakeDetector

__all__ = ["Engines", "load_engines", "wake_phrase"]


@dataclass
class Engines:
    """What is served; a service whose model is None is not offered."""

    persona: Persona
    transcriber: Transcriber | None = None
    asr_model: str = ""  # the backend's model (FunASR's paraformer-zh ...), for info
    asr_language: str | None = None  # a remote backend's configured language
    synthesizer: Synthesizer | None = None
    tts_backend: str = ""
    wake: WakeDetector | None = None  # the first detector, loaded at start (checks the files)
    make_wake: Callable[[], WakeDetector] | None = None  # more of them, one per stream
    wake_languages: list[str] = field(default_factory=lambda: ["en"])


def wake_phrase(model_name: str) -> str:
    """hey_jarvis_v0.1 -> 'hey jarvis' (what a person says)."""
    stem = model_name.split("_v")[0] if "_v" in model_name else model_name
    return stem.replace("_", " ").strip()


def asr_language(asr: AsrSettings, persona_language: str) -> str | None:
    """The one language the ASR is told to hear, if any: a remote server's configured one, or
    Whisper's (the persona's unless fixed; None when it detects the language itself)."""
    if asr.backend == "remote" and asr.remote is not None:
        return asr.remote.language
    if asr.backend == "whisper":
        fixed = asr.whisper.language
        return persona_language if fixed == "persona" else None if fixed == "auto" else fixed
    return None


def load_engines(settings: Settings, services: list[str]) -> Engines:
    """Load the configured models of `services` (slow; ModelMissing if a file is absent)."""
    daemon, models = settings.daemon, settings.models_dir()
    engines = Engines(persona=settings.persona)
    if "asr" in services:
        from daemon.asr import make_transcriber

        hotwords = [settings.persona.name, *settings.persona.hotwords]
        language = settings.persona.language
        engines.transcriber = make_transcriber(daemon.asr, models, hotwords, language)
        engines.asr_model = daemon.asr.funasr.model if daemon.asr.backend == "funasr" else ""
        engines.asr_language = asr_language(daemon.asr, language)
    if "tts" in services:
        from daemon.tts import make_synthesizer

        engines.synthesizer = make_synthesizer(daemon.tts, models)
        engines.tts_backend = daemon.tts.backend
    if "wake" in services:
        from daemon.wake import make_wake_detector

        engines.wake = make_wake_detector(daemon.wake, models)
        engines.make_wake = lambda: make_wake_detector(daemon.wake, models)
    return engines
