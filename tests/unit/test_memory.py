"""Conversation memory: turn limit, token budget, idle reset, forget; system prompt always first."""

from __future__ import annotations

from daemon.llm.memory import Memory, estimate_tokens


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def memory(turns: int = 3, budget: int = 1000, idle: float = 60.0) -> tuple[Memory, Clock]:
    clock = Clock()
    return Memory(turns, budget, idle, clock), clock


def test_history_holds_the_last_turns_in_order() -> None:
    mem, _ = memory(turns=2)
    for i in range(1, 4):
        mem.remember(f"question {i}", f"answer {i}")
    msgs = mem.messages("SYSTEM", "question 4")
    assert [m["content"] for m in msgs] == [
        "SYSTEM",
        "question 2",
        "answer 2",
        "question 3",
        "answer 3",
        "question 4",
    ]
    assert [m["role"] for m in msgs] == ["system", "user", "assistant", "user", "assistant", "user"]


def test_budget_drops_the_oldest_first_and_keeps_the_system_prompt() -> None:
    mem, _ = memory(turns=10, budget=120)
    long = "word " * 100  # ~130 tokens
    mem.remember("old question", long)
    mem.remember("new question", "short answer")
    msgs = mem.messages("SYSTEM", "now")
    contents = [m["content"] for m in msgs]
    assert contents == ["SYSTEM", "new question", "short answer", "now"]
    tiny, _ = memory(budget=100)
    tiny.remember("q", "a")
    assert tiny.messages("S" * 2000, "now")[0]["content"] == "S" * 2000  # never dropped


def test_idle_reset_forgets_after_the_timeout() -> None:
    mem, clock = memory(idle=60)
    mem.remember("q1", "a1")
    clock.now = 59
    assert len(mem) == 1
    mem.remember("q2", "a2")
    clock.now = 59 + 61
    assert len(mem) == 0
    assert [m["content"] for m in mem.messages("S", "q3")] == ["S", "q3"]


def test_forget_and_zero_turns() -> None:
    mem, _ = memory()
    mem.remember("q", "a")
    mem.forget()
    assert len(mem) == 0
    none, _ = memory(turns=0)
    none.remember("q", "a")
    assert len(none) == 0


def test_an_empty_reply_is_not_remembered() -> None:
    mem, _ = memory()
    mem.remember("q", "  ")
    assert len(mem) == 0


def test_configure_keeps_the_newest_that_fit() -> None:
    mem, _ = memory(turns=5)
    for i in range(5):
        mem.remember(f"q{i}", f"a{i}")
    mem.configure(max_turns=2, max_tokens=1000, idle_reset_seconds=60)
    assert [m["content"] for m in mem.messages("S", "x")][1:-1] == ["q3", "a3", "q4", "a4"]


def test_token_estimate_counts_chinese_per_character() -> None:
    assert estimate_tokens("你好世界") > estimate_tokens("abcd")
    assert estimate_tokens("a" * 400) >= 100
