"""The one way work leaves the event loop: a named thread with a bounded queue.

A model (wake word, VAD, ASR, TTS) or a blocking device call is only ever touched by its own
worker, so it needs no locks, and the event loop never waits on it except through `run()`. The
queue is bounded: a producer that outruns the worker waits (`submit` from a thread) or is told
so at once (`run` from the loop raises `WorkerBusy`), instead of memory growing without limit.
The thread is a daemon thread: a model stuck in native code cannot keep the process from
exiting, and `close(timeout)` says whether the worker stopped in time.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import queue
import threading
from collections.abc import Callable
from typing import Any, TypeVar

log = logging.getLogger(__name__)
T = TypeVar("T")

_STOP = object()


class WorkerBusy(RuntimeError):
    """The worker's queue is full (it is stuck or far behind)."""


class WorkerClosed(RuntimeError):
    """Work was submitted after close()."""


class Worker:
    """One named thread running submitted calls in order."""

    def __init__(self, name: str, max_queue: int = 64) -> None:
        self.name = name
        self._queue: queue.Queue[Any] = queue.Queue(max_queue)
        self._closed = False
        self._thread: threading.Thread | None = None  # started by the first call
        self._starting = threading.Lock()

    def submit(
        self, fn: Callable[..., T], *args: Any, block: bool = True
    ) -> concurrent.futures.Future[T]:
        """Queue `fn(*args)`. From a thread, waits for room; with block=False, raises WorkerBusy."""
        if self._closed:
            raise WorkerClosed(f"worker {self.name} is closed")
        self._start()
        future: concurrent.futures.Future[T] = concurrent.futures.Future()
        try:
            self._queue.put((future, fn, args), block=block)
        except queue.Full:
            waiting = self._queue.maxsize
            raise WorkerBusy(f"worker {self.name} has {waiting} calls waiting") from None
        return future

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """Run `fn(*args)` on the worker and wait for it without blocking the loop.

        Cancelling the wait does not stop a call already running (threads cannot be
        interrupted); a call still queued is skipped."""
        future = self.submit(fn, *args, block=False)
        return await asyncio.wrap_future(future)

    def _start(self) -> None:
        with self._starting:
            if self._thread is None:
                self._thread = threading.Thread(target=self._serve, name=self.name, daemon=True)
                self._thread.start()

    def _serve(self) -> None:
        while (item := self._queue.get()) is not _STOP:
            future, fn, args = item
            if not future.set_running_or_notify_cancel():
                continue
            try:
                result = fn(*args)
            except BaseException as exc:  # handed to whoever waits; the worker lives on
                future.set_exception(exc)
            else:
                future.set_result(result)

    def close(self, timeout: float = 0.0) -> bool:
        """Stop taking work, drop what is queued, let the running call finish.

        Returns True if the thread ended within `timeout` seconds."""
        if not self._closed:
            self._closed = True
            self._drop_queued()
            self._queue.put(_STOP)
        if self._thread is None:
            return True
        self._thread.join(timeout)
        stopped = not self._thread.is_alive()
        if not stopped and timeout > 0:
            log.warning("worker %s still busy after %.1f s; leaving it", self.name, timeout)
        return stopped

    def _drop_queued(self) -> None:
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return
            if item is not _STOP:
                item[0].cancel()

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()
