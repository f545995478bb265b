"""The error rates the ASR tests and the asr benchmark bound."""

from __future__ import annotations

import pytest

from tests.fixtures.scoring import cer, corpus_rate, wer


@pytest.mark.parametrize(
    ("ref", "hyp", "rate"),
    [
        ("现在几点了", "現在幾點了？", 0.0),  # script and punctuation do not count
        ("帮我定一个七点的闹钟", "帮我定一个7点的闹钟", 0.0),  # nor digits against numerals
        ("现在几点了", "现在几点", 0.2),
        ("你好", "", 1.0),
        ("", "你好", 2.0),  # insertions against an empty reference count per character
    ],
)
def test_cer(ref: str, hyp: str, rate: float) -> None:
    assert cer(ref, hyp) == pytest.approx(rate)


@pytest.mark.parametrize(
    ("ref", "hyp", "rate"),
    [
        ("set a timer for ten minutes", "Set a timer for 10 minutes.", 0.0),
        ("twenty five", "25", 0.0),
        ("what time is it", "What? I'm in it.", 0.5),
        ("front center", "front centre", 0.5),
    ],
)
def test_wer(ref: str, hyp: str, rate: float) -> None:
    assert wer(ref, hyp) == pytest.approx(rate)


def test_corpus_rate_weighs_by_length() -> None:
    pairs = [("一二三四五六七八九十", "一二三四五六七八九十"), ("你好", "")]
    assert corpus_rate(pairs) == pytest.approx(2 / 12)
