"""SentenceChunker: streamed reply text -> speakable sentences, the same however it is streamed."""

from __future__ import annotations

import itertools

import pytest

from daemon.tts.chunker import FIRST_CHUNK_MIN_CHARS, SentenceChunker, find_boundary


def all_at_once(text: str) -> list[str]:
    chunker = SentenceChunker()
    return chunker.push(text) + chunker.flush()


def pieces(text: str, sizes: tuple[int, ...]) -> list[str]:
    out, i = [], 0
    for size in itertools.cycle(sizes):
        if i >= len(text):
            return out
        out.append(text[i : i + size])
        i += size
    raise AssertionError("unreachable")


def streamed(text: str, sizes: tuple[int, ...]) -> list[str]:
    chunker = SentenceChunker()
    chunks: list[str] = []
    for piece in pieces(text, sizes):
        chunks += chunker.push(piece)
    return chunks + chunker.flush()


# Token-like splits of 1-3 characters, regular and irregular.
SPLITS = [(1,), (2,), (3,), (1, 2, 3), (3, 1, 2), (2, 3, 1, 1)]

CASES = [
    pytest.param(
        "Hello there. How are you? I am fine!",
        ["Hello there.", "How are you?", "I am fine!"],
        id="english",
    ),
    pytest.param(
        "你好。今天天气很好！你呢？", ["你好。", "今天天气很好！", "你呢？"], id="chinese"
    ),
    pytest.param("好的。OK then. 再见！", ["好的。", "OK then.", "再见！"], id="mixed"),
    pytest.param("It costs 3.5 dollars. OK.", ["It costs 3.5 dollars.", "OK."], id="decimal"),
    pytest.param("Dr. Smith is here. Yes.", ["Dr. Smith is here.", "Yes."], id="abbreviation"),
    pytest.param("e.g. this", ["e.g. this"], id="e.g."),
    pytest.param(
        "Mr. and Mrs. Smith left. Bye.", ["Mr. and Mrs. Smith left.", "Bye."], id="mr-mrs"
    ),
    pytest.param("Is it 5 p.m. now? Yes.", ["Is it 5 p.m. now?", "Yes."], id="p.m."),
    pytest.param(
        "J. R. R. Tolkien wrote it. Yes.", ["J. R. R. Tolkien wrote it.", "Yes."], id="initials"
    ),
    pytest.param("Wait... what? Fine.", ["Wait...", "what?", "Fine."], id="ellipsis"),
    pytest.param("Really?! Yes.", ["Really?!", "Yes."], id="interrobang"),
    pytest.param(
        'He said "hi." Then left.', ['He said "hi."', "Then left."], id="quote-after-period"
    ),
    pytest.param("(See Fig. 3.) Done.", ["(See Fig. 3.)", "Done."], id="paren-after-period"),
    pytest.param("他说：“你好。”然后走了。", ["他说：“你好。”", "然后走了。"], id="cjk-quotes"),
    pytest.param("A; b and c", ["A;", "b and c"], id="semicolon"),
    pytest.param(
        "Well, that is a long one, and then, more, yes. Then, again, no.",
        ["Well, that is a long one,", "and then, more, yes.", "Then, again, no."],
        id="first-chunk-comma",
    ),
    pytest.param("Hi, there. Ok.", ["Hi, there.", "Ok."], id="short-comma-no-split"),
    pytest.param(
        "I am fine, thanks, and you.", ["I am fine, thanks,", "and you."], id="comma-at-12-chars"
    ),
    pytest.param(
        "你好，我是一个很长的助手名字，很高兴。",
        ["你好，我是一个很长的助手名字，", "很高兴。"],
        id="chinese-first-comma",
    ),
    pytest.param("It is 10:30, see.", ["It is 10:30, see."], id="colon-in-time"),
    pytest.param(
        "first line\nsecond line\n\nthird", ["first line", "second line", "third"], id="newlines"
    ),
    pytest.param("\n\nLeading newlines. Ok.", ["Leading newlines.", "Ok."], id="leading-newlines"),
    pytest.param("Number one.\nTwo.", ["Number one.", "Two."], id="period-newline"),
    pytest.param("tail without end", ["tail without end"], id="flush-tail"),
    pytest.param("", [], id="empty"),
    pytest.param("   \n ", [], id="blank"),
]


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_all_at_once(text: str, expected: list[str]) -> None:
    assert all_at_once(text) == expected


STREAM_CASES = CASES


@pytest.mark.parametrize(("text", "expected"), STREAM_CASES)
@pytest.mark.parametrize("sizes", SPLITS, ids=lambda s: "-".join(map(str, s)))
def test_streamed_gives_the_same_chunks(
    text: str, expected: list[str], sizes: tuple[int, ...]
) -> None:
    assert streamed(text, sizes) == expected


@pytest.mark.parametrize("sizes", [(2,), (3,), (3, 1, 2)], ids=lambda s: "-".join(map(str, s)))
def test_cjk_closer_streamed_in_the_same_piece(sizes: tuple[int, ...]) -> None:
    text = "他说：“你好。”然后走了。"
    assert any("。”" in piece for piece in pieces(text, sizes))  # the closer comes along
    assert streamed(text, sizes) == ["他说：“你好。”", "然后走了。"]


@pytest.mark.parametrize(
    "text",
    ["他说：“你好。”然后走了。", "真的？”他问。", "「好。」走吧。"],
    ids=["quote", "question-quote", "corner-bracket"],
)
def test_cjk_terminator_then_closer_in_the_next_piece(text: str) -> None:
    assert streamed(text, (1,)) == all_at_once(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("等等……好吧。", ["等等……", "好吧。"]),
        ("什么？！真的吗？", ["什么？！", "真的吗？"]),
    ],
    ids=["ellipsis", "question-exclamation"],
)
def test_consecutive_cjk_terminators_stay_together(text: str, expected: list[str]) -> None:
    assert all_at_once(text) == expected


def test_chunks_come_out_as_soon_as_they_are_complete() -> None:
    chunker = SentenceChunker()
    assert chunker.push("Hello there") == []
    assert chunker.push(".") == []  # "." then "5" would be a number: wait for the next char
    assert chunker.push(" How") == ["Hello there."]
    assert chunker.push(" are you?") == []
    assert chunker.push("\n") == ["How are you?"]
    assert chunker.push("你好。") == []  # a closing quote or another mark may follow
    assert chunker.push("好") == ["你好。"]
    assert chunker.flush() == ["好"]


def test_only_the_first_chunk_may_end_at_a_comma() -> None:
    chunker = SentenceChunker()
    assert chunker.push("This is the first part, ") == ["This is the first part,"]
    assert chunker.push("and this second part is long, too, ") == []
    assert chunker.push("yes. ") == ["and this second part is long, too, yes."]


def test_first_chunk_comma_needs_enough_chars() -> None:
    head = "x" * (FIRST_CHUNK_MIN_CHARS - 1)
    assert all_at_once(head + ", more. ") == [head + ", more."]
    head = "x" * FIRST_CHUNK_MIN_CHARS
    assert all_at_once(head + ", more. ") == [head + ",", "more."]


def test_ascii_comma_inside_a_number_does_not_split() -> None:
    assert all_at_once("The population is 1,234,567 people. Ok.") == [
        "The population is 1,234,567 people.",
        "Ok.",
    ]


def test_flush_returns_the_tail_once() -> None:
    chunker = SentenceChunker()
    assert chunker.push("Done. And the rest") == ["Done."]
    assert chunker.flush() == ["And the rest"]
    assert chunker.flush() == []


def test_flush_of_a_pending_terminator() -> None:
    chunker = SentenceChunker()
    assert chunker.push("The end.") == []  # cannot tell yet: could be 3.5
    assert chunker.flush() == ["The end."]


def test_find_boundary_needs_lookahead_for_ascii() -> None:
    assert find_boundary("Ok.", first=False) is None
    assert find_boundary("Ok. ", first=False) == 2
    assert find_boundary('Ok." ', first=False) == 3
    assert find_boundary("3.5", first=False) is None
    assert find_boundary("好。", first=False) is None
    assert find_boundary("好。x", first=False) == 1
    assert find_boundary("好。”x", first=False) == 2


def test_dotted_initials_are_not_sentence_ends() -> None:
    assert all_at_once("I live in the U.S. now. Yes.") == ["I live in the U.S. now.", "Yes."]
