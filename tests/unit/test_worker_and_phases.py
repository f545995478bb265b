"""The named worker, the phase table and the wake-phrase cut."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from daemon.turn.listener import phrase_end
from daemon.turn.phases import TRANSITIONS, IllegalTransition, State, check_transition
from daemon.worker import Worker, WorkerBusy, WorkerClosed

# --- Worker -------------------------------------------------------------------------------------


def test_worker_runs_calls_in_order_on_one_named_thread() -> None:
    worker = Worker("voiced-test")
    seen: list[tuple[int, str]] = []
    futures = [
        worker.submit(lambda i=i: seen.append((i, threading.current_thread().name)))
        for i in range(5)
    ]
    for future in futures:
        future.result(2)
    assert seen == [(i, "voiced-test") for i in range(5)]
    assert worker.close(1)


def test_worker_run_awaits_without_blocking_the_loop_and_passes_errors() -> None:
    async def go() -> None:
        worker = Worker("voiced-test")
        ticks = 0

        async def tick() -> None:
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0.01)

        ticker = asyncio.create_task(tick())
        assert await worker.run(lambda: time.sleep(0.2) or 7) == 7
        ticker.cancel()
        assert ticks >= 5
        with pytest.raises(ZeroDivisionError):
            await worker.run(lambda: 1 / 0)
        assert await worker.run(lambda: "alive")  # an error does not kill the worker
        worker.close(1)

    asyncio.run(go())


def test_a_full_queue_is_refused_from_the_loop_not_grown() -> None:
    worker = Worker("voiced-test", max_queue=2)
    release = threading.Event()
    worker.submit(release.wait)  # running
    worker.submit(lambda: None)
    worker.submit(lambda: None)  # queue now full

    async def go() -> None:
        with pytest.raises(WorkerBusy):
            await worker.run(lambda: None)

    asyncio.run(go())
    release.set()
    assert worker.close(1)


def test_close_drops_queued_work_and_refuses_more() -> None:
    worker = Worker("voiced-test")
    release, started = threading.Event(), threading.Event()
    running = worker.submit(lambda: started.set() or release.wait(5))
    queued = worker.submit(lambda: "never")
    assert started.wait(2)
    assert not worker.close(0.05)  # the running call cannot be interrupted
    assert queued.cancelled()
    with pytest.raises(WorkerClosed):
        worker.submit(lambda: None)
    release.set()
    assert running.result(1) is True
    assert worker.close(1)


# --- the transition table -----------------------------------------------------------------------


def test_every_state_has_a_way_back_to_idle() -> None:
    for state in State:
        reachable, frontier = {state}, [state]
        while frontier:
            for nxt in TRANSITIONS[frontier.pop()]:
                if nxt not in reachable:
                    reachable.add(nxt)
                    frontier.append(nxt)
        assert State.IDLE in reachable or state is State.IDLE


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (State.IDLE, State.THINKING),
        (State.IDLE, State.TRANSCRIBING),
        (State.FOLLOW_UP, State.TRANSCRIBING),
        (State.SPEAKING, State.THINKING),
    ],
)
def test_illegal_transitions_raise(old: State, new: State) -> None:
    with pytest.raises(IllegalTransition):
        check_transition(old, new)


def test_barge_in_is_speaking_to_recording() -> None:
    check_transition(State.SPEAKING, State.RECORDING)


# --- where the wake phrase ends -----------------------------------------------------------------

S, Q = 0.9, 0.05  # speech, quiet
CHUNK = 512


@pytest.mark.parametrize(
    ("probs", "expected"),
    [
        ([Q] * 10, None),  # no speech at all: keep the usual pre-roll
        ([Q, Q, S, S, S, Q, Q], 5 * CHUNK),  # detection in the pause after the phrase
        ([Q, S, S, S, Q, Q, S, S], 4 * CHUNK),  # the request already began: keep it
        ([S, S, Q, S, S, S, Q, S], 6 * CHUNK),  # "hey ... jarvis": the last pause counts
        ([Q, Q, S, S, S, S], 6 * CHUNK),  # speech runs on through the detection: keep nothing
        ([S] * 8, 8 * CHUNK),
    ],
)
def test_phrase_end(probs: list[float], expected: int | None) -> None:
    assert phrase_end(probs, CHUNK, threshold=0.5) == expected
