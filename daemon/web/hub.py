"""Events for the console: state changes, microphone level and wake score, finished turns.

Publishing costs nothing measurable while no browser is watching: `publish` returns after one
length check, and the tap computes a level only when someone listens. Each subscriber has a
bounded queue; a slow browser loses its oldest events, never the daemon's time.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

QUEUE_EVENTS = 256
LEVEL_INTERVAL = 0.1  # at most 10 level events a second (every other 80 ms frame)


@dataclass(frozen=True)
class Event:
    kind: str  # "state", "level", "turn", "persona"
    data: dict[str, Any]

    def sse(self) -> str:
        """As a server-sent event."""
        return f"event: {self.kind}\ndata: {json.dumps(self.data, ensure_ascii=False)}\n\n"


class EventHub:
    """Fan-out to subscribers. Call publish on the event loop's thread (publish_threadsafe
    from any other)."""

    def __init__(self, queue_events: int = QUEUE_EVENTS) -> None:
        self._queues: set[asyncio.Queue[Event]] = set()
        self._size = queue_events
        self._loop: asyncio.AbstractEventLoop | None = None
        self.last_state: dict[str, Any] = {"state": "idle"}

    @property
    def watched(self) -> bool:
        return bool(self._queues)

    def publish(self, kind: str, data: dict[str, Any]) -> None:
        if kind == "state":
            self.last_state = data
        if not self._queues:
            return
        event = Event(kind, data)
        for queue in self._queues:
            if queue.full():
                queue.get_nowait()  # drop the oldest
            queue.put_nowait(event)

    def publish_threadsafe(self, kind: str, data: dict[str, Any]) -> None:
        if self._loop is not None and self._queues:
            self._loop.call_soon_threadsafe(self.publish, kind, data)

    @contextlib.contextmanager
    def subscribe(self) -> Iterator[asyncio.Queue[Event]]:
        self._loop = asyncio.get_running_loop()
        queue: asyncio.Queue[Event] = asyncio.Queue(self._size)
        self._queues.add(queue)
        try:
            yield queue
        finally:
            self._queues.discard(queue)


def level_dbfs(samples: np.ndarray) -> float:
    """RMS level of int16 samples in dB below full scale, floored at -100."""
    if samples.size == 0:
        return -100.0
    rms = float(np.sqrt(np.mean(np.square(samples, dtype=np.float64)))) / 32768.0
    return max(-100.0, 20 * float(np.log10(rms))) if rms > 0 else -100.0


class ConsoleTap:
    """What the daemon calls; turns its callbacks into hub events.

    state(name, turn_id)          every state change (Assistant's on_state)
    frame(samples, wake_score)    every microphone frame, with the wake score when one was
                                  computed (None when the quiet gate skipped inference)
    turn(record_json)             every finished turn (TurnRecord.to_json())
    """

    def __init__(self, hub: EventHub, clock: Callable[[], float] = time.monotonic) -> None:
        self.hub = hub
        self._clock = clock
        self._next_level = 0.0
        self._peak_score = 0.0

    def state(self, name: str, turn_id: int | None = None) -> None:
        self.hub.publish("state", {"state": name, "turn": turn_id, "time": time.time()})

    def frame(self, samples: np.ndarray, wake_score: float | None = None) -> None:
        if not self.hub.watched:
            return
        if wake_score is not None:
            self._peak_score = max(self._peak_score, wake_score)
        now = self._clock()
        if now < self._next_level:
            return
        self._next_level = now + LEVEL_INTERVAL
        score, self._peak_score = self._peak_score, 0.0
        self.hub.publish("level", {"dbfs": round(level_dbfs(samples), 1), "wake": round(score, 3)})

    def turn(self, record: dict[str, Any]) -> None:
        self.hub.publish("turn", record)
