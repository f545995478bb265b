"""What the Home Assistant satellite needs from the box, and what the box tells it.

The satellite (satellite.py) speaks Wyoming to Home Assistant; the box keeps its own wake word,
self-trigger guard, barge-in and earcons. The box gives the satellite a `SatelliteBox` (a
speaker to play Home Assistant's audio on, earcons, a place to show timers) and calls the
satellite's `wake()`, `hear()` and `speech_started()` from its listener.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

import numpy as np

from daemon.audio.base import AudioSink
from daemon.audio.clock import slices
from daemon.audio.earcons import end_earcon, error_earcon, wake_earcon
from daemon.audio.frames import AudioChunk
from daemon.config import EarconSettings

__all__ = ["Earcon", "SatelliteBox", "SinkBox", "TimerEvent"]

log = logging.getLogger("daemon.wyoming.satellite")


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


class SinkBox:
    """The SatelliteBox of a real box: its speaker (any AudioSink) and its earcon settings.

    `on_play` sees every slice before the speaker does (the echo canceller's reference, the
    self-trigger guard); `on_timer` is where the box's own timers take Home Assistant's.
    """

    def __init__(
        self,
        sink: AudioSink,
        earcons: EarconSettings,
        on_play: Callable[[AudioChunk], None] | None = None,
        on_timer: Callable[[TimerEvent], None] | None = None,
    ) -> None:
        self.sink, self.earcons = sink, earcons
        self._on_play, self._on_timer = on_play, on_timer

    async def play(self, chunk: AudioChunk) -> None:
        for piece in slices(chunk):  # short pieces: a barge-in cuts within one
            if self._on_play is not None:
                self._on_play(piece)
            await self.sink.play(piece)

    async def drain(self) -> None:
        await self.sink.drain()

    async def stop_playback(self) -> None:
        return None  # the satellite cancels the play() in progress; nothing else is queued

    async def earcon(self, kind: Earcon) -> None:
        sound = self._sound(kind)
        if sound is not None:
            await self.play(sound)

    def _sound(self, kind: Earcon) -> AudioChunk | None:
        if kind == Earcon.WAKE and self.earcons.wake:
            return wake_earcon()
        if kind == Earcon.END and self.earcons.end_of_recording:
            return end_earcon()
        if kind == Earcon.ERROR and self.earcons.error:
            return error_earcon()
        if kind == Earcon.TIMER:  # a ring is not optional: it is what the person asked for
            ring = np.concatenate([wake_earcon().samples] * 3)
            return AudioChunk(ring, wake_earcon().sample_rate)
        return None

    def timer(self, event: TimerEvent) -> None:
        log.info(
            "satellite: timer %s %s (%s s, %s)", event.id, event.kind, event.seconds, event.name
        )
        if self._on_timer is not None:
            self._on_timer(event)
