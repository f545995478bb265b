"""Running models off the event loop, one call at a time, with a bounded queue in front.

A `Lane` owns one model that is not thread-safe: its calls run on the lane's own named thread,
in order, so the event loop only ever parses and writes. A connection takes the lane's lease for
as long as it needs the model (an utterance, a sentence); at most `queue` connections wait behind
it and any more are refused with `Busy` at once, so a burst is never queued without bound.
A `Pool` is the same for models that keep state per stream (the wake word): `size` of them.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Generic, TypeVar

__all__ = ["Busy", "Lane", "Pool"]

T = TypeVar("T")
R = TypeVar("R")


class Busy(Exception):
    """Every model slot is taken and the queue is full: try again later."""


class Lane:
    def __init__(self, name: str, queue: int) -> None:
        self.name = name
        self._queue = queue
        self._waiting = 0
        self._lease = asyncio.Semaphore(1)  # first come, first served
        self._executor = ThreadPoolExecutor(1, thread_name_prefix=f"wyoming-{name}")

    async def acquire(self) -> None:
        """Wait for the lease; Busy at once when `queue` others are already waiting."""
        if self._lease.locked() and self._waiting >= self._queue:
            raise Busy(f"the {self.name} model is busy")
        self._waiting += 1
        try:
            await self._lease.acquire()
        finally:
            self._waiting -= 1

    def release(self) -> None:
        self._lease.release()

    def submit(self, call: Callable[..., R], *args: object) -> asyncio.Future[R]:
        """Run `call(*args)` on the lane's thread, after every call submitted before it."""
        loop = asyncio.get_running_loop()
        return loop.run_in_executor(self._executor, functools.partial(call, *args))

    def fire(self, call: Callable[..., object], *args: object) -> None:
        """Submit and forget (its failure is of no interest to anyone)."""
        self.submit(call, *args).add_done_callback(_retrieve)

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)


def _retrieve(future: asyncio.Future[object]) -> None:
    if not future.cancelled():
        future.exception()


class Pool(Generic[T]):
    """Up to `size` instances made by `make` (on a worker thread, when first needed)."""

    def __init__(self, name: str, size: int, make: Callable[[], T], first: T | None = None) -> None:
        self.name = name
        self._size = size
        self._make = make
        self._idle: list[T] = [] if first is None else [first]
        self._made = len(self._idle)
        self._executor = ThreadPoolExecutor(size, thread_name_prefix=f"wyoming-{name}")

    async def take(self) -> T:
        if self._idle:
            return self._idle.pop()
        if self._made >= self._size:
            raise Busy(f"all {self._size} {self.name} streams are in use")
        self._made += 1
        try:
            return await self.submit(self._make)
        except BaseException:
            self._made -= 1
            raise

    def give_back(self, item: T) -> None:
        self._idle.append(item)

    def discard(self) -> None:
        """An instance failed: forget it, so a fresh one is made next time."""
        self._made -= 1

    def submit(self, call: Callable[..., R], *args: object) -> asyncio.Future[R]:
        loop = asyncio.get_running_loop()
        return loop.run_in_executor(self._executor, functools.partial(call, *args))

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
