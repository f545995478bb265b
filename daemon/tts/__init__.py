"""Speech synthesis."""

from __future__ import annotations

from pathlib import Path

from daemon.config import TtsSettings
from daemon.tts.base import Synthesizer

__all__ = ["Synthesizer", "make_synthesizer"]


def make_synthesizer(settings: TtsSettings, models_dir: Path) -> Synthesizer:
    if settings.backend == "espeak":
        from daemon.tts.espeak import EspeakSynthesizer

        return EspeakSynthesizer(settings.espeak, settings.timeout_seconds)
    raise ValueError(f"unknown TTS backend {settings.backend!r}")
