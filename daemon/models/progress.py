"""Progress within one download (model files run to gigabytes): percent, size, rate and ETA.

On a terminal one line is redrawn at most every `interval` seconds; elsewhere (a log, an
installer's output) one line is printed per `step` of progress, so the journal is not flooded.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TextIO


def plural(count: int, noun: str) -> str:
    """'1 file', '3 files'."""
    return f"{count} {noun}" + ("" if count == 1 else "s")


def _clock_text(seconds: float) -> str:
    seconds = max(0, round(seconds))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


class Progress:
    def __init__(
        self,
        name: str,
        total: int | None,
        done: int = 0,
        out: TextIO | None = None,
        clock: Callable[[], float] = time.monotonic,
        interval: float = 0.5,
        step: float = 0.1,
    ) -> None:
        self.name, self.total, self.done = name, total, done
        self._out = out or sys.stderr
        self._tty = self._out.isatty()
        self._clock = clock
        self._started, self._start_bytes = clock(), done
        self._interval, self._step = interval, step
        self._last_draw = float("-inf")
        self._last_mark = self._mark()

    def rate(self) -> float:
        """Bytes per second since this download (or resumption) began."""
        elapsed = self._clock() - self._started
        return (self.done - self._start_bytes) / elapsed if elapsed > 0 else 0.0

    def line(self) -> str:
        rate = self.rate()
        text = f"{self.name}: {self.done / 1e6:.1f}"
        if not self.total:
            return f"{text} MB, {rate / 1e6:.1f} MB/s"
        left = (self.total - self.done) / rate if rate > 0 else None
        eta = _clock_text(left) if left is not None else "?"
        percent = 100 * self.done / self.total
        return f"{text}/{self.total / 1e6:.1f} MB {percent:3.0f}%, {rate / 1e6:.1f} MB/s, ETA {eta}"

    def _mark(self) -> int:
        """How many whole `step`s of the file are done (0 when the size is unknown)."""
        return int(self.done / self.total / self._step + 1e-9) if self.total else 0

    def update(self, count: int) -> None:
        self.done += count
        now = self._clock()
        if self._tty:
            if now - self._last_draw >= self._interval:
                self._last_draw = now
                self._out.write("\r" + self.line() + "\033[K")
                self._out.flush()
        elif self._mark() > self._last_mark:
            self._last_mark = self._mark()
            print(self.line(), file=self._out, flush=True)

    def finish(self) -> None:
        if self._tty:
            self._out.write("\r" + self.line() + "\033[K\n")
            self._out.flush()
