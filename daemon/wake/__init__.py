"""Wake word detection."""

from __future__ import annotations

from pathlib import Path

from daemon.config import WakeSettings
from daemon.wake.base import WakeDetector, WakeHit

__all__ = ["WakeDetector", "WakeHit", "make_wake_detector"]


def make_wake_detector(settings: WakeSettings, models_dir: Path) -> WakeDetector:
    """Build the configured backend; its heavy imports happen only here."""
    if settings.backend == "openwakeword":
        from daemon.wake.openwakeword import OpenWakeWord

        return OpenWakeWord(settings, models_dir)
    raise ValueError(f"unknown wake backend {settings.backend!r}")
