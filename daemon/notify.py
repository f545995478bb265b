"""systemd's notify protocol: READY, STATUS, WATCHDOG, STOPPING (a no-op outside systemd).

The watchdog is fed by the listener each time an audio frame has been processed (see
`HeartbeatSource`): a process whose microphone has gone quiet, or whose event loop is stuck,
stops pinging and systemd restarts it. A timer would only prove the process exists.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import AsyncIterator, Callable

import sdnotify

from daemon.audio.base import AudioSource
from daemon.audio.frames import AudioFrame

log = logging.getLogger(__name__)


def watchdog_interval() -> float | None:
    """Half of WatchdogSec if the watchdog is on for this process (as sd_watchdog_enabled)."""
    usec, pid = os.environ.get("WATCHDOG_USEC"), os.environ.get("WATCHDOG_PID")
    if not usec or (pid and pid != str(os.getpid())):
        return None
    return int(usec) / 1e6 / 2


class Notifier:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._sd = sdnotify.SystemdNotifier() if os.environ.get("NOTIFY_SOCKET") else None
        self._interval = watchdog_interval()
        self._clock = clock
        self._last_ping = float("-inf")
        self.status_text: str | None = None
        self.is_ready = False

    def _send(self, message: str) -> None:
        if self._sd is not None:
            self._sd.notify(message)

    def ready(self, status: str) -> None:
        self.is_ready = True
        self.status_text = status
        self._send(f"READY=1\nSTATUS={status}")
        log.info("ready: %s", status)

    def status(self, text: str) -> None:
        if text != self.status_text:
            self.status_text = text
            self._send(f"STATUS={text}")

    def stopping(self) -> None:
        self._send("STOPPING=1\nSTATUS=stopping")

    def audio_alive(self) -> None:
        """Called after a frame was processed; pings at most every half watchdog period."""
        if self._interval is None:
            return
        now = self._clock()
        if now - self._last_ping >= self._interval:
            self._last_ping = now
            self._send("WATCHDOG=1")


class HeartbeatSource:
    """Wraps a source; after each frame the listener has finished with, feeds the watchdog."""

    def __init__(self, source: AudioSource, beat: Callable[[], None]) -> None:
        self._source = source
        self._beat = beat
        self.realtime = source.realtime

    async def frames(self) -> AsyncIterator[AudioFrame]:
        async for frame in self._source.frames():
            yield frame
            self._beat()  # runs when the listener asks for the next frame: this one is done

    async def close(self) -> None:
        await self._source.close()
