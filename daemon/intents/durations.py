"""How long: "a minute and a half", "90 seconds", 一个半小时, 三十秒 -> seconds.

Input is a cleaned transcript (text.clean); number words are turned into digits here first.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from daemon.intents.numbers import en_digits, zh_digits

_Value = Callable[[re.Match[str]], float]
_N = r"(\d+(?:\.\d+)?)"
_EN_UNITS = {"h": 3600.0, "m": 60.0, "s": 1.0}
_EN_UNIT = r"(h(?:ou)?rs?|min(?:ute)?s?|sec(?:ond)?s?)\b"
_EN_HALF_AFTER_UNIT = re.compile(rf"{_N} {_EN_UNIT} and (?:1 )?half\b")  # 1 minute and a half
_EN_HALF_BEFORE_UNIT = re.compile(rf"{_N} and (?:1 )?half {_EN_UNIT}")  # 2 and a half hours
_EN_HALF_OF = re.compile(rf"\bhalf (?:1 |of 1 )?{_EN_UNIT}")  # half an hour
_EN_QUARTER = re.compile(r"\b(?:1 |3 )?quarters? (?:of 1 )?(?:h(?:ou)?r)\b")
_EN_AMOUNT = re.compile(rf"{_N} ?{_EN_UNIT}")

_ZH_UNITS = {"小时": 3600.0, "钟头": 3600.0, "分钟": 60.0, "分": 60.0, "秒钟": 1.0, "秒": 1.0}
_ZH_UNIT = r"(?:个)?(小时|钟头|分钟|分|秒钟|秒)"
_ZH_HALF_AFTER_NUMBER = re.compile(rf"{_N}个?半{_ZH_UNIT}")  # 1个半小时, 2个半钟头
_ZH_HALF_AFTER_UNIT = re.compile(rf"{_N}(分钟?|小时|钟头)半")  # 1分半, 1小时半
_ZH_HALF = re.compile(rf"(?<!\d)半个?{_ZH_UNIT}")  # 半小时, 半个钟头
_ZH_QUARTERS = re.compile(rf"{_N}刻钟")  # 一刻钟
_ZH_AMOUNT = re.compile(rf"{_N}{_ZH_UNIT}")
_ZH_HOURS_THEN_MINUTES = re.compile(rf"{_N}个?(?:小时|钟头)零?{_N}(?!\d|分|秒|点)")  # 1小时20


def _en_unit(word: str) -> float:
    return _EN_UNITS[word[0]]


def en_seconds(text: str) -> float | None:
    """Seconds in an English request, or None when it names no duration."""
    text, total = en_digits(text), 0.0
    for pattern, value in (
        (_EN_HALF_AFTER_UNIT, lambda m: (float(m[1]) + 0.5) * _en_unit(m[2])),
        (_EN_HALF_BEFORE_UNIT, lambda m: (float(m[1]) + 0.5) * _en_unit(m[2])),
        (_EN_HALF_OF, lambda m: 0.5 * _en_unit(m[1])),
        (_EN_QUARTER, lambda m: (3 if m[0].startswith("3") else 1) * 900.0),
        (_EN_AMOUNT, lambda m: float(m[1]) * _en_unit(m[2])),
    ):
        text, found = _consume(pattern, value, text)
        total += found
    return total or None


def zh_seconds(text: str) -> float | None:
    """Seconds in a Chinese request, or None when it names no duration."""
    text, total = zh_digits(text), 0.0
    for pattern, value in (
        (_ZH_HALF_AFTER_NUMBER, lambda m: (float(m[1]) + 0.5) * _ZH_UNITS[m[2]]),
        (_ZH_HALF_AFTER_UNIT, lambda m: (float(m[1]) + 0.5) * _ZH_UNITS[m[2]]),
        (_ZH_HALF, lambda m: 0.5 * _ZH_UNITS[m[1]]),
        (_ZH_QUARTERS, lambda m: float(m[1]) * 900.0),
        (_ZH_HOURS_THEN_MINUTES, lambda m: float(m[1]) * 3600.0 + float(m[2]) * 60.0),
        (_ZH_AMOUNT, lambda m: float(m[1]) * _ZH_UNITS[m[2]]),
    ):
        text, found = _consume(pattern, value, text)
        total += found
    return total or None


def _consume(pattern: re.Pattern[str], value: _Value, text: str) -> tuple[str, float]:
    """The sum of `value(match)` over every match, and the text with the matches blanked out."""
    total = 0.0

    def take(match: re.Match[str]) -> str:
        nonlocal total
        total += value(match)
        return " | "

    return pattern.sub(take, text), total
