"""What rings now: due timers and alarms, how long they ring, and stopping them.

Time comes from an injected clock (epoch seconds): live, the wall clock; in file mode, the
moment the daemon started plus the audio clock, so a WAV file gives the same rings on any
machine. The turn machine asks `due(now)` often (each frame, or between sentences), plays
`ring_earcon()` and each ring's `text` while `is_ringing`, and calls `stop_ringing()` when
the person says "stop" / 停.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, tzinfo

from daemon.audio.clock import AudioClock
from daemon.intents import phrases
from daemon.intents.store import Reminder, Store

log = logging.getLogger(__name__)

Clock = Callable[[], float]  # epoch seconds


def wall_clock() -> float:
    return time.time()


def audio_wall_clock(audio: AudioClock, started: float | None = None) -> Clock:
    """Epoch seconds that advance with audio time: for file mode (a WAV as the microphone)."""
    origin = time.time() if started is None else started
    return lambda: origin + audio.now


@dataclass(frozen=True, slots=True)
class RingSettings:
    max_ringing_seconds: float = 60.0  # then it stops by itself (logged)
    grace_seconds: float = 600.0  # due while the daemon was down: announced if this recent
    repeat_gap_seconds: float = 2.0  # silence between two rounds of earcon + words


@dataclass(frozen=True, slots=True)
class Ring:
    reminder: Reminder
    text: str  # spoken after the earcon, in the persona's language
    started: float
    late: bool  # came due while the daemon was not running

    @property
    def what(self) -> str:
        """For log lines: "timer 3 'pasta'"."""
        return f"{self.reminder.kind} {self.reminder.id} {self.reminder.name!r}"


class Ringer:
    def __init__(
        self,
        store: Store,
        clock: Clock,
        language: Callable[[], str],
        settings: RingSettings | None = None,
        tz: tzinfo | None = None,
    ) -> None:
        self.store = store
        self.clock = clock
        self.settings = settings or RingSettings()
        self._language = language
        self._tz = tz
        self._ringing: dict[int, Ring] = {}
        self._next_check = float("-inf")  # due() reads the store only from then on
        self.started = clock()
        for reminder in store.open():
            if reminder.state == "ringing":  # the daemon stopped while it rang: ring again
                store.set_state(reminder.id, "pending")

    def use_clock(self, clock: Clock) -> None:
        """Count time with `clock` from now on (the daemon's audio clock, known after start-up)."""
        self.clock = clock
        self.started = clock()
        self.changed()

    @property
    def is_ringing(self) -> bool:
        return bool(self._ringing)

    @property
    def ringing(self) -> list[Ring]:
        return list(self._ringing.values())

    def local(self, epoch: float) -> datetime:
        return datetime.fromtimestamp(epoch, self._tz)

    def due(self, now: float | None = None) -> list[Ring]:
        """Starts ringing whatever has come due; returns the rings that start now.

        Also stops rings that have rung for max_ringing_seconds, and drops (logging them)
        reminders that came due while the daemon was down longer ago than the grace window.
        """
        now = self.clock() if now is None else now
        self.expire(now)
        if now < self._next_check:
            return []  # called every frame: the store is read only when something is due
        started = []
        for reminder in self.store.due(now):
            late = reminder.due < self.started
            if late and now - reminder.due > self.settings.grace_seconds:
                self.store.set_state(reminder.id, "missed")
                log.info(
                    "%s %d %r was due at %s while the daemon was down; too long ago to announce",
                    reminder.kind,
                    reminder.id,
                    reminder.name,
                    self.local(reminder.due).isoformat(" ", "seconds"),
                )
                continue
            ring = self._start(reminder, now, late)
            started.append(ring)
        self._next_check = self.next_due() or float("inf")
        return started

    def changed(self) -> None:
        """A reminder was added or cancelled: the next due() reads the store again."""
        self._next_check = float("-inf")

    def _start(self, reminder: Reminder, now: float, late: bool) -> Ring:
        text = phrases.ring_text(reminder, self.local(reminder.due), late, self._language())
        ring = Ring(reminder, text, now, late)
        self.store.set_state(reminder.id, "ringing")
        self._ringing[reminder.id] = ring
        log.info(
            "%s rings (due %s, %.1f s ago%s)",
            ring.what,
            self.local(reminder.due).isoformat(" ", "seconds"),
            now - reminder.due,
            ", came due while the daemon was down" if late else "",
        )
        return ring

    def expire(self, now: float | None = None) -> list[Ring]:
        """Stops the rings that have rung for max_ringing_seconds without being stopped."""
        now = self.clock() if now is None else now
        limit = self.settings.max_ringing_seconds
        old = [r for r in self._ringing.values() if now - r.started >= limit]
        return [self._stop(ring, now, "nobody stopped it") for ring in old]

    def stop_ringing(self, now: float | None = None, why: str = "stopped") -> list[Ring]:
        """Stops everything that rings; returns what was ringing."""
        now = self.clock() if now is None else now
        return [self._stop(ring, now, why) for ring in list(self._ringing.values())]

    def _stop(self, ring: Ring, now: float, why: str) -> Ring:
        self._ringing.pop(ring.reminder.id, None)
        self.store.set_state(ring.reminder.id, "done")
        log.info("%s stopped after ringing %.1f s (%s)", ring.what, now - ring.started, why)
        return ring

    def forget(self, reminder_id: int) -> None:
        """A ringing reminder was cancelled by name: it stops without another line."""
        self._ringing.pop(reminder_id, None)

    def next_due(self) -> float | None:
        """When the next pending reminder comes due (to sleep until then), or None."""
        pending = [r.due for r in self.store.open() if r.state == "pending"]
        return min(pending, default=None)
