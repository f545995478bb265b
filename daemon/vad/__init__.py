"""Voice activity detection and the audio-time endpointer."""

from __future__ import annotations

from pathlib import Path

from daemon.config import VadSettings
from daemon.vad.base import Vad

__all__ = ["Vad", "make_vad"]


def make_vad(settings: VadSettings, models_dir: Path) -> Vad:
    if settings.backend == "silero":
        from daemon.vad.silero import SileroVad

        return SileroVad(models_dir)
    raise ValueError(f"unknown VAD backend {settings.backend!r}")
