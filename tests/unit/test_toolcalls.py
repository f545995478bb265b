"""Joining streamed tool-call fragments into whole calls, whatever the server's habits."""

from __future__ import annotations

import pytest

from daemon.llm.toolcalls import MAX_ARGUMENT_CHARS, ToolCall, ToolCallJoiner


def joined(*fragments: dict[str, object]) -> list[ToolCall]:
    joiner = ToolCallJoiner()
    for fragment in fragments:
        joiner.add(fragment)
    return joiner.calls()


def fn(name: str | None = None, arguments: str | None = None) -> dict[str, str]:
    return {k: v for k, v in (("name", name), ("arguments", arguments)) if v is not None}


def test_fragments_join_per_index_even_interleaved() -> None:
    calls = joined(
        {"index": 0, "id": "a", "function": fn("set_timer")},
        {"index": 1, "id": "b", "function": fn("set_volume", "")},
        {"index": 0, "function": fn(arguments='{"seconds"')},
        {"index": 1, "function": fn(arguments='{"level": 3}')},
        {"index": 0, "function": fn(arguments=": 5}")},
    )
    assert calls == [
        ToolCall("a", "set_timer", '{"seconds": 5}'),
        ToolCall("b", "set_volume", '{"level": 3}'),
    ]


def test_the_same_index_with_a_new_id_is_another_call() -> None:
    calls = joined(
        {"index": 0, "id": "a", "function": fn("one", "{}")},
        {"index": 0, "id": "b", "function": fn("two", "{}")},
    )
    assert [c.name for c in calls] == ["one", "two"]


def test_no_index_and_no_id_still_gives_a_call_with_an_id() -> None:
    assert joined({"function": fn("one", "{}")}) == [ToolCall("call_0", "one", "{}")]


def test_a_call_without_a_name_is_dropped() -> None:
    assert joined({"index": 0, "function": fn(arguments="{}")}) == []


def test_arguments_are_bounded() -> None:
    joiner = ToolCallJoiner()
    joiner.add({"index": 0, "id": "a", "function": fn("x", "a" * MAX_ARGUMENT_CHARS)})
    with pytest.raises(ValueError, match="longer than"):
        joiner.add({"index": 0, "function": fn(arguments="b")})


@pytest.mark.parametrize("arguments", ["[1, 2]", "not json", '"text"'])
def test_arguments_must_be_an_object(arguments: str) -> None:
    with pytest.raises(ValueError):
        ToolCall("a", "x", arguments).parsed_arguments()


def test_empty_arguments_are_an_empty_object() -> None:
    assert ToolCall("a", "x", "").parsed_arguments() == {}
