"""Preparing speech: the words said for what the LLM wrote, and the level and fades of the audio."""

from __future__ import annotations

import re

import numpy as np
import pytest

from daemon.audio.frames import AudioChunk
from daemon.tts.normalize import (
    en_int,
    en_ordinal,
    en_year,
    normalize,
    prepare_for_speech,
    split_long,
    zh_int,
)
from daemon.tts.polish import FADE_IN, FADE_OUT, LIMIT, TARGET_RMS, polish

ZH = [
    ("3.5%", "百分之三点五"),
    ("-2%", "负百分之二"),
    ("2026-11-24", "二零二六年十一月二十四日"),
    ("2026/1/5", "二零二六年一月五日"),
    ("2026年11月24日", "二零二六年十一月二十四日"),
    ("1998年", "一九九八年"),
    ("15:30", "十五点三十分"),
    ("8:05", "八点零五分"),
    ("15:00", "十五点整"),
    ("3:30 PM", "下午三点三十分"),
    ("12:30:15", "十二点三十分十五秒"),
    ("5 km", "五公里"),
    ("5km", "五公里"),
    ("100 km/h", "一百公里每小时"),
    ("2.5kg", "二点五公斤"),
    ("20°C", "二十摄氏度"),
    ("20℃", "二十摄氏度"),
    ("-5°C", "零下五摄氏度"),
    ("¥30", "三十元"),
    ("￥30", "三十元"),
    ("$4.99", "四点九九美元"),
    ("€5", "五欧元"),
    ("30元", "三十元"),
    ("3/4", "四分之三"),
    ("第3名", "第三名"),
    ("3-5个", "三到五个"),
    ("价格是1,299元！", "价格是一千二百九十九元。"),
    ("13812345678", "一三八一二三四五六七八"),
    ("007", "零零七"),
    ("你好吗？", "你好吗。"),
    ("他说：“好的”。", "他说，好的。"),
    ("真的吗？！", "真的吗。"),
    ("（注意）安全", "注意，安全"),
    ("我用iPhone 15拍的", "我用iPhone 十五拍的"),
    ("[laugh]哈哈", "laugh，哈哈"),
    (
        "今天是2026年11月24日，气温20℃，湿度65%。",
        "今天是二零二六年十一月二十四日，气温二十摄氏度，湿度百分之六十五。",
    ),
]

EN = [
    ("3.5%", "three point five percent"),
    ("It is 2026-11-24.", "It is November twenty fourth, twenty twenty six."),
    ("15:30", "fifteen thirty"),
    ("9:05", "nine oh five"),
    ("3:00 PM", "three P M"),
    ("It's 3:30 p.m.", "Its three thirty P M"),
    ("15:00", "fifteen hundred"),
    ("7:00", "seven o clock"),
    ("5 km", "five kilometers"),
    ("1 km", "one kilometer"),
    ("2.5 kg", "two point five kilograms"),
    ("3-5 km", "three to five kilometers"),
    ("20°C", "twenty degrees Celsius"),
    ("-5°C", "minus five degrees Celsius"),
    ("68°F", "sixty eight degrees Fahrenheit"),
    ("¥30", "thirty yuan"),
    ("$4.99", "four dollars and ninety nine cents"),
    ("$1", "one dollar"),
    ("$0.50", "fifty cents"),
    ("€5", "five euros"),
    ("£3.20", "three pounds and twenty pence"),
    ("1,234 people!", "one thousand two hundred thirty four people."),
    ("the 24th of May", "the twenty fourth of May"),
    ("3/4 of it", "three quarters of it"),
    ("1/2", "one half"),
    ("COVID-19", "COVID, nineteen"),
    ("call 555-123-4567", "call five five five, one two three, four five six seven"),
    ("Hello, world... OK?", "Hello, world. OK."),
    ("café & bar", "cafe and bar"),
    ("a = b + c", "a equals b plus c"),
    ("[break_7] hi", "break seven, hi"),
    ("Temperature: -3.", "Temperature, minus three."),
]


@pytest.mark.parametrize(("text", "spoken"), ZH)
def test_chinese(text: str, spoken: str) -> None:
    assert normalize(text, "zh") == spoken


@pytest.mark.parametrize(("text", "spoken"), EN)
def test_english(text: str, spoken: str) -> None:
    assert normalize(text, "en") == spoken


@pytest.mark.parametrize(
    ("n", "zh"),
    [
        (0, "零"),
        (10, "十"),
        (15, "十五"),
        (20, "二十"),
        (105, "一百零五"),
        (110, "一百一十"),
        (200, "两百"),
        (1005, "一千零五"),
        (1200, "一千二百"),
        (2026, "两千零二十六"),
        (10050, "一万零五十"),
        (20000, "两万"),
        (22000, "两万两千"),
        (100010, "十万零一十"),
        (1_0000_0000, "一亿"),
        (3_0005_0000, "三亿零五万"),
    ],
)
def test_chinese_integers(n: int, zh: str) -> None:
    assert zh_int(n) == zh


@pytest.mark.parametrize(
    ("n", "en"),
    [
        (0, "zero"),
        (13, "thirteen"),
        (40, "forty"),
        (101, "one hundred one"),
        (2026, "two thousand twenty six"),
        (1_000_001, "one million one"),
    ],
)
def test_english_integers(n: int, en: str) -> None:
    assert en_int(n) == en


@pytest.mark.parametrize(
    ("n", "ordinal"),
    [(1, "first"), (2, "second"), (12, "twelfth"), (20, "twentieth"), (23, "twenty third")],
)
def test_english_ordinals(n: int, ordinal: str) -> None:
    assert en_ordinal(n) == ordinal


@pytest.mark.parametrize(
    ("year", "spoken"),
    [
        (2026, "twenty twenty six"),
        (2000, "two thousand"),
        (2005, "two thousand five"),
        (1905, "nineteen oh five"),
        (1900, "nineteen hundred"),
    ],
)
def test_english_years(year: int, spoken: str) -> None:
    assert en_year(year) == spoken


ACCEPTED = re.compile(r"[\u4e00-\u9fffA-Za-z，。、,. ]*")  # what ChatTTS's normalizer keeps


@pytest.mark.parametrize(
    "text",
    [
        "Price: $4.99 (20% off) — today!",
        "温度：-5℃～3℃；《新闻》“引用”…",
        "x² + y³ = 1 #tag @home",
        "emoji 🙂 and ünïcödé",
        "Tabs\tand\nnewlines",
    ],
)
@pytest.mark.parametrize("language", ["zh", "en"])
def test_output_holds_only_what_chattts_accepts(text: str, language: str) -> None:
    assert ACCEPTED.fullmatch(normalize(text, language))


def test_long_sentences_are_cut_at_commas() -> None:
    text = "今天天气很好，我们去公园散步吧，然后回家吃饭，晚上再看一部电影，明天早点起床。"
    pieces = split_long(text, 30)
    assert pieces == [
        "今天天气很好，我们去公园散步吧，然后回家吃饭",
        "晚上再看一部电影，明天早点起床。",
    ]
    assert all(len(p) <= 30 for p in pieces)


def test_long_sentences_without_commas_are_cut_at_spaces_or_hard() -> None:
    assert split_long("word " * 30, 40) == ["word word word word word word word word"] * 3 + [
        "word word word word word word"
    ]
    assert split_long("字" * 25, 10) == ["字" * 10, "字" * 10, "字" * 5]


def test_nothing_speakable_gives_no_pieces() -> None:
    assert prepare_for_speech("🙂 ... ！", "zh") == []
    assert prepare_for_speech("", "en") == []


def test_prepare_uses_the_language_limit() -> None:
    assert len(prepare_for_speech("好" * 100, "zh")) == 2
    assert len(prepare_for_speech("a " * 100, "en")) == 2


# --- loudness and fades (daemon/tts/polish.py) ---------------------------------------------------

RATE = 24000


def tone(seconds: float, level: float, rate: int = RATE, hz: float = 220.0) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (level * np.sin(2 * np.pi * hz * t + 1.0)).astype(np.float32)


def polished(*parts: tuple[np.ndarray, int]) -> list[AudioChunk]:
    return list(polish(AudioChunk(samples, rate) for samples, rate in parts))


def joined(chunks: list[AudioChunk]) -> np.ndarray:
    return np.concatenate([c.samples for c in chunks])


def rms(samples: np.ndarray) -> float:
    return float(np.sqrt(np.mean(samples**2)))


@pytest.mark.parametrize("level", [0.02, 0.3, 0.9])
def test_every_sentence_comes_out_at_the_same_loudness(level: float) -> None:
    out = joined(polished((tone(1.0, level), RATE)))
    assert rms(out[RATE // 10 : -RATE // 10]) == pytest.approx(TARGET_RMS, rel=0.05)


def test_nothing_clips_even_when_the_voice_is_far_too_loud() -> None:
    square = np.sign(tone(1.0, 1.0)) * 0.3
    square[RATE // 2 :] *= 20  # a quiet start sets the gain, then the voice gets much louder
    out = joined(polished((square.astype(np.float32), RATE)))
    assert np.abs(out).max() < 1.0
    assert np.abs(out).max() > LIMIT  # limited, not squashed


def test_a_sentence_fades_in_and_out() -> None:
    out = joined(polished((tone(0.5, 0.5), RATE)))
    assert abs(out[0]) < 1e-3 and abs(out[-1]) < 1e-3
    assert np.abs(out[: int(FADE_IN * RATE) // 2]).max() < np.abs(out[RATE // 10 :]).max() / 2


def test_chunking_does_not_change_the_result() -> None:
    signal = tone(1.3, 0.2) + tone(1.3, 0.05, hz=1234.0)
    whole = joined(polished((signal, RATE)))
    cuts = [0, 700, 12000, 12001, 20000, len(signal)]
    pieces = [(signal[a:b], RATE) for a, b in zip(cuts, cuts[1:], strict=False)]
    np.testing.assert_allclose(joined(polished(*pieces)), whole, atol=1e-6)


def test_streaming_holds_back_only_the_fade_tail() -> None:
    gen = polish(AudioChunk(tone(0.6, 0.2), RATE) for _ in range(3))
    first = next(gen)
    assert first.duration == pytest.approx(0.6 - FADE_OUT, abs=1e-3)


def test_a_break_inside_a_sentence_is_faded_on_both_sides() -> None:
    chattts, espeak = tone(0.6, 0.1), tone(0.6, 0.8, rate=22050)
    chunks = polished((chattts, RATE), (espeak, 22050))
    by_rate = {rate: joined([c for c in chunks if c.sample_rate == rate]) for rate in (RATE, 22050)}
    assert abs(by_rate[RATE][-1]) < 1e-3 and abs(by_rate[22050][0]) < 1e-3
    assert rms(by_rate[22050][2205:-2205]) == pytest.approx(TARGET_RMS, rel=0.05)  # its own gain


def test_silence_stays_silence() -> None:
    out = joined(polished((np.zeros(RATE, dtype=np.float32), RATE)))
    assert np.abs(out).max() == 0.0
