"""What the Home Assistant satellite needs from the box, and what the box tells it.

The satellite (satellite.py) speaks Wyoming to Home Assistant; the box keeps its own wake word,
self-trigger guard, barge-in and earcons. The box gives the satellite a `SatelliteBox` (a
speaker to play Home Assistant's audio on, earcons, a place to show timers) and calls the
satellite's `wake()`, `hear()` and `speech_started()` from its listener.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from daemon.audio.frames import AudioChunk

__all__ = ["Earcon", "SatelliteBox", "TimerEvent"]


class Earcon(StrEnum):
    WAKE = "wake"  # a request starts: listening
    END = "end"  # Home Assistant heard the end of the request
    ERROR = "error"  # Home Assistant is not connected, or its pipeline failed
    TIMER = "timer"  # a Home Assistant timer finished


@dataclass(frozen=True, slots=True)
class TimerEvent:
    """A Home Assistant timer: kind is started, updated, cancelled or finished."""

    kind: str
    id: str
    seconds: int | None = None  # total (started) or left (updated)
    name: str | None = None
    active: bool | None = None


class SatelliteBox(Protocol):
    async def play(self, chunk: AudioChunk) -> None:
        """Hand audio to the speaker (returns when handed over, not when heard)."""
        ...

    async def drain(self) -> None:
        """Wait until everything handed over has been heard."""
        ...

    async def stop_playback(self) -> None:
        """Barge-in: drop what is still queued for the speaker."""
        ...

    async def earcon(self, kind: Earcon) -> None:
        """Play one of the box's earcons (the box decides whether it is enabled)."""
        ...

    def timer(self, event: TimerEvent) -> None:
        """Show a Home Assistant timer (ring on `finished`); must not block."""
        ...
