"""When an alarm should ring: "tomorrow at seven am", "half past six", 明天早上七点, 下午三点半.

Parsing gives a ClockTime (what was said); `next_moment` turns it into a datetime after `now`
the way a person means it: "at 7" at 3 pm is 7 pm today, "tomorrow at 7" is 7 in the morning.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from daemon.intents.numbers import en_digits, zh_digits


@dataclass(frozen=True, slots=True)
class ClockTime:
    hour: int  # 0..23 as said (7 for "seven pm": the period says which half of the day)
    minute: int = 0
    period: str | None = None  # "am" | "pm" | None (not said)
    days_ahead: int | None = None  # 0 today, 1 tomorrow, 2 the day after; None: not said


_EN_PERIODS = (
    (re.compile(r"\b(?:a ?m|in the morning|morning)\b"), "am"),
    (re.compile(r"\b(?:p ?m|afternoon|evening|tonight|at night)\b"), "pm"),
)
_EN_DAYS = ((r"\bday after tomorrow\b", 2), (r"\btomorrow\b", 1), (r"\b(?:today|tonight)\b", 0))
_EN_NOT_CLOCK = r"(?!\s*(?:h(?:ou)?rs?|min(?:ute)?s?|sec(?:ond)?s?)\b)"
_EN_CLOCK = re.compile(
    rf"\b(?:(?P<pre>at|for|to|until) )?(?P<h>\d{{1,2}})(?:(?::| )(?P<m>\d{{2}}))?{_EN_NOT_CLOCK}"
    rf"(?P<post> ?(?:a ?m|p ?m|o'?clock)\b)?"
)
_EN_PAST = re.compile(r"\b(half|quarter|\d{1,2}) (past|after|to|before) (\d{1,2})\b")
_EN_NAMED = {"noon": 12, "midday": 12, "midnight": 0}

_ZH_PERIODS = (
    (re.compile(r"早上|早晨|上午|凌晨|明早|今早|清晨"), "am"),
    (re.compile(r"中午"), "noon"),
    (re.compile(r"下午|傍晚|晚上|今晚|明晚|夜里|晚"), "pm"),
)
_ZH_DAYS = (
    ("后天", 2),
    ("明天", 1),
    ("明早", 1),
    ("明晚", 1),
    ("今天", 0),
    ("今晚", 0),
    ("今早", 0),
)
_ZH_CLOCK = re.compile(r"(\d{1,2})(?:点|:)(?:(\d)刻|(半)|(\d{1,2})分?)?")


def en_clock(text: str) -> ClockTime | None:
    """The clock time in an English request, or None."""
    text = en_digits(text)
    hour_minute = _en_hour_minute(text)
    if hour_minute is None:
        return None
    period = next((name for pattern, name in _EN_PERIODS if pattern.search(text)), None)
    days = next((n for pattern, n in _EN_DAYS if re.search(pattern, text)), None)
    return ClockTime(*hour_minute, period, days)


def _en_hour_minute(text: str) -> tuple[int, int] | None:
    for word, hour in _EN_NAMED.items():
        if re.search(rf"\b{word}\b", text):
            return hour, 0
    if past := _EN_PAST.search(text):
        amount = {"half": 30, "quarter": 15}.get(past[1]) or int(past[1])
        hour = int(past[3])
        return (hour, amount) if past[2] in ("past", "after") else ((hour - 1) % 24, 60 - amount)
    for match in _EN_CLOCK.finditer(text):
        if match["pre"] or match["post"] or match["m"]:
            hour, minute = int(match["h"]), int(match["m"] or 0)
            if hour < 24 and minute < 60:
                return hour, minute
    return None


def zh_clock(text: str) -> ClockTime | None:
    """The clock time in a Chinese request, or None."""
    text = zh_digits(text)
    match = _ZH_CLOCK.search(text)
    if match is None or int(match[1]) > 24:
        return None
    minute = 30 if match[3] else 15 * int(match[2]) if match[2] else int(match[4] or 0)
    if minute >= 60:
        return None
    period = next((name for pattern, name in _ZH_PERIODS if pattern.search(text)), None)
    days = next((n for word, n in _ZH_DAYS if word in text), None)
    return ClockTime(int(match[1]) % 24, minute, period, days)


def _hours(said: ClockTime) -> list[int]:
    """The hours of the day `said` can mean, in the order to try them."""
    h = said.hour
    if said.period == "am":
        return [0 if h == 12 else h]
    if said.period == "pm":
        return [h + 12 if h < 12 else h]
    if said.period == "noon":
        return [h + 12 if h < 6 else h]  # 中午一点 is 13:00
    if said.days_ahead is not None or not 1 <= h <= 11:
        return [h]
    return [h, h + 12]  # "at 7": whichever comes first


def next_moment(said: ClockTime, now: datetime) -> datetime:
    """The first moment after `now` that matches what was said."""
    day = now.replace(hour=0, minute=0, second=0, microsecond=0)
    offsets = [said.days_ahead] if said.days_ahead is not None else [0, 1]
    for offset in offsets:
        for hour in _hours(said):
            moment = day + timedelta(days=offset, hours=hour, minutes=said.minute)
            if moment > now:
                return moment
    # "today at 7" said at 8: the next 7 o'clock is tomorrow's
    days = (said.days_ahead or 0) + 1
    return day + timedelta(days=days, hours=_hours(said)[0], minutes=said.minute)
