"""with_deadlines: a token stream under a first-token and a total deadline."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator

import pytest

from daemon.errors import ErrorCode, StageError
from daemon.llm.deadline import with_deadlines


async def tokens(
    items: list[str], every: float = 0.0, first_after: float | None = None,
    log: list[str] | None = None,
) -> AsyncIterator[str]:
    """`items`, each after `every` seconds (the first after `first_after`); logs its lifecycle."""
    log = log if log is not None else []
    log.append("started")
    try:
        for i, item in enumerate(items):
            delay = first_after if i == 0 and first_after is not None else every
            await asyncio.sleep(delay)
            yield item
        log.append("finished")
    except asyncio.CancelledError:
        log.append("cancelled")
        raise
    finally:
        log.append("closed")


async def collect(stream: AsyncIterator[str], into: list[str]) -> None:
    async for token in stream:
        into.append(token)


def others() -> set[asyncio.Task[object]]:
    return asyncio.all_tasks() - {asyncio.current_task()}  # type: ignore[operator]


def test_passes_tokens_through_in_order() -> None:
    async def main() -> list[str]:
        got: list[str] = []
        await collect(with_deadlines(tokens(["Hel", "lo", " there", "."]), 1.0, 2.0), got)
        assert others() == set()
        return got

    assert asyncio.run(main()) == ["Hel", "lo", " there", "."]


def test_empty_stream() -> None:
    async def main() -> list[str]:
        got: list[str] = []
        await collect(with_deadlines(tokens([]), 1.0, 2.0), got)
        return got

    assert asyncio.run(main()) == []


def test_slow_tokens_within_both_deadlines_pass() -> None:
    async def main() -> list[str]:
        got: list[str] = []
        stream = tokens(["a", "b", "c"], every=0.02, first_after=0.05)
        await collect(with_deadlines(stream, 0.1, 0.3), got)
        return got

    assert asyncio.run(main()) == ["a", "b", "c"]


def test_first_token_deadline() -> None:
    log: list[str] = []

    async def main() -> tuple[list[str], StageError, float]:
        got: list[str] = []
        started = time.perf_counter()
        with pytest.raises(StageError) as info:
            await collect(with_deadlines(tokens(["late"], first_after=0.4, log=log), 0.1, 5.0), got)
        elapsed = time.perf_counter() - started
        assert others() == set()
        return got, info.value, elapsed

    got, err, elapsed = asyncio.run(main())
    assert got == []
    assert err.code == ErrorCode.LLM_TIMEOUT
    assert "first token" in err.detail
    assert 0.09 <= elapsed < 0.3  # the first-token deadline, not the total
    assert log == ["started", "cancelled", "closed"]  # the source was stopped, not left running


def test_total_deadline_while_tokens_keep_coming() -> None:
    log: list[str] = []

    async def main() -> tuple[list[str], StageError, float]:
        got: list[str] = []
        stream = tokens([f"t{i}" for i in range(100)], every=0.05, log=log)
        started = time.perf_counter()
        with pytest.raises(StageError) as info:
            await collect(with_deadlines(stream, 0.1, 0.3), got)
        elapsed = time.perf_counter() - started
        assert others() == set()
        return got, info.value, elapsed

    got, err, elapsed = asyncio.run(main())
    assert err.code == ErrorCode.LLM_TIMEOUT
    assert "0.3" in err.detail
    assert 0.29 <= elapsed < 0.5
    # Tokens came every 0.05 s (never 0.1 s apart): only the total deadline can stop it.
    assert 3 <= len(got) <= 6
    assert got == [f"t{i}" for i in range(len(got))]
    assert log == ["started", "cancelled", "closed"]


def test_tokens_before_the_deadline_are_delivered_before_the_error() -> None:
    async def main() -> tuple[list[str], BaseException | None]:
        got: list[str] = []
        try:
            await collect(with_deadlines(tokens(["a", "b", "c", "d"], every=0.1), 0.3, 0.25), got)
        except StageError as err:
            return got, err
        return got, None

    got, err = asyncio.run(main())
    assert got == ["a", "b"]  # at 0.1 and 0.2; "c" would come at 0.3
    assert isinstance(err, StageError)
    assert err.code == ErrorCode.LLM_TIMEOUT


class Boom(RuntimeError):
    pass


def test_source_error_propagates_unchanged() -> None:
    boom = Boom("server hung up")

    async def failing() -> AsyncIterator[str]:
        yield "partial"
        await asyncio.sleep(0)
        raise boom

    async def main() -> tuple[list[str], BaseException]:
        got: list[str] = []
        with pytest.raises(Boom) as info:
            await collect(with_deadlines(failing(), 1.0, 2.0), got)
        assert others() == set()
        return got, info.value

    got, err = asyncio.run(main())
    assert got == ["partial"]
    assert err is boom


def test_source_stage_error_propagates_unchanged() -> None:
    original = StageError(ErrorCode.LLM_UNAUTHORIZED, "bad key")

    async def failing() -> AsyncIterator[str]:
        raise original
        yield ""  # an async generator

    async def main() -> BaseException:
        with pytest.raises(StageError) as info:
            await collect(with_deadlines(failing(), 1.0, 2.0), [])
        return info.value

    assert asyncio.run(main()) is original


def test_consumer_closing_early_cancels_the_pump() -> None:
    log: list[str] = []

    async def main() -> list[str]:
        got: list[str] = []
        stream = tokens([f"t{i}" for i in range(1000)], every=0.001, log=log)
        async with contextlib.aclosing(with_deadlines(stream, 1.0, 5.0)) as limited:
            async for token in limited:
                got.append(token)
                if len(got) == 3:
                    break
        assert others() == set()  # the pump is gone as soon as the stream is closed
        return got

    assert asyncio.run(main()) == ["t0", "t1", "t2"]
    assert log == ["started", "cancelled", "closed"]


def test_consumer_breaking_early_cancels_the_pump() -> None:
    log: list[str] = []

    async def main() -> list[str]:
        got: list[str] = []
        async for token in with_deadlines(
            tokens([f"t{i}" for i in range(1000)], every=0.001, log=log), 1.0, 5.0
        ):
            got.append(token)
            if len(got) == 3:
                break
        # A bare break leaves closing the generator to the loop's async-generator finalizer:
        # give it a few turns (no sleeping), then nothing may be left running.
        for _ in range(10):
            if not others():
                break
            await asyncio.sleep(0)
        assert others() == set()
        assert log == ["started", "cancelled", "closed"]
        return got

    assert asyncio.run(main()) == ["t0", "t1", "t2"]


def test_consumer_cancelled_while_waiting_cancels_the_pump() -> None:
    log: list[str] = []

    async def main() -> None:
        got: list[str] = []
        consumer = asyncio.create_task(
            collect(with_deadlines(tokens(["x"], first_after=10.0, log=log), 20.0, 30.0), got)
        )
        for _ in range(3):
            await asyncio.sleep(0)
        consumer.cancel()
        with pytest.raises(asyncio.CancelledError):
            await consumer
        assert others() == set()

    asyncio.run(main())
    assert log == ["started", "cancelled", "closed"]


def test_deadline_counts_from_the_first_read_not_from_the_call() -> None:
    # The generator starts its pump on the first read, so time spent before that is not counted.
    async def main() -> list[str]:
        limited = with_deadlines(tokens(["a"], first_after=0.05), 0.1, 0.2)
        await asyncio.sleep(0.15)
        got: list[str] = []
        await collect(limited, got)
        return got

    assert asyncio.run(main()) == ["a"]
