"""The ways people say timers, alarms and volume in zh and en, as ASR writes them."""

from __future__ import annotations

from datetime import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from daemon.intents.clocktime import ClockTime, en_clock, next_moment, zh_clock
from daemon.intents.commands import (
    Cancel,
    Query,
    SetAlarm,
    SetTimer,
    SetVolume,
    is_stop_ringing,
    parse,
)
from daemon.intents.durations import en_seconds, zh_seconds
from daemon.intents.numbers import en_digits, zh_digits
from daemon.intents.text import clean

NOW = datetime(2026, 11, 24, 15, 5)  # a Tuesday afternoon


@pytest.mark.parametrize(
    ("said", "seconds"),
    [
        ("five minutes", 300),
        ("5 minutes", 300),
        ("a minute and a half", 90),
        ("one and a half minutes", 90),
        ("90 seconds", 90),
        ("ninety seconds", 90),
        ("an hour and a half", 5400),
        ("two and a half hours", 9000),
        ("half an hour", 1800),
        ("a quarter of an hour", 900),
        ("three quarters of an hour", 2700),
        ("one hundred and twenty seconds", 120),
        ("twenty-five minutes", 1500),
        ("1 hour 30 minutes", 5400),
        ("five minutes and thirty seconds", 330),
        ("a couple of minutes", 120),
        ("1.5 hours", 5400),
        ("10 mins", 600),
        ("Um, five minutes, please.", 300),
        ("set a timer", None),
        ("seven thirty", None),
    ],
)
def test_english_durations(said: str, seconds: float | None) -> None:
    assert en_seconds(clean(said)) == seconds


@pytest.mark.parametrize(
    ("said", "seconds"),
    [
        ("五分钟", 300),
        ("5分钟", 300),
        ("五分鐘", 300),  # traditional, as some models write it
        ("五分钟。", 300),
        ("一个半小时", 5400),
        ("1个半小时", 5400),
        ("两个半小时", 9000),
        ("三十秒", 30),
        ("30秒钟", 30),
        ("九十秒", 90),
        ("一百二十秒", 120),
        ("一分半", 90),
        ("一分半钟", 90),
        ("半小时", 1800),
        ("半个钟头", 1800),
        ("一刻钟", 900),
        ("一小时二十分钟", 4800),
        ("一个小时二十", 4800),
        ("两分钟三十秒", 150),
        ("嗯，那个，五分钟吧", 300),
        ("定个计时器", None),
    ],
)
def test_chinese_durations(said: str, seconds: float | None) -> None:
    assert zh_seconds(clean(said)) == seconds


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("twenty five", "25"),
        ("one hundred and five", "105"),
        ("two thousand and twenty six", "2026"),
        ("seven thirty", "7 30"),
        ("five five", "5 5"),
        ("a minute", "1 minute"),
        ("a dog", "a dog"),
        ("one and a half", "1 and 1 half"),
    ],
)
def test_english_number_words(text: str, expected: str) -> None:
    assert en_digits(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("十点零五分", "10点5分"),  # cn2an's sentence transform would give 10.05分
        ("一个半小时", "1个半小时"),
        ("两百", "200"),
        ("廿五", "25"),
        ("没有数字", "没有数字"),
    ],
)
def test_chinese_numerals(text: str, expected: str) -> None:
    assert zh_digits(text) == expected


@pytest.mark.parametrize(
    ("said", "when", "at"),
    [
        ("wake me up at seven a.m.", ClockTime(7, 0, "am"), datetime(2026, 11, 25, 7, 0)),
        ("set an alarm for 7", ClockTime(7), datetime(2026, 11, 24, 19, 0)),
        ("alarm at 6:45 pm", ClockTime(6, 45, "pm"), datetime(2026, 11, 24, 18, 45)),
        (
            "alarm for seven thirty tomorrow",
            ClockTime(7, 30, None, 1),
            datetime(2026, 11, 25, 7, 30),
        ),
        (
            "wake me at half past six tomorrow morning",
            ClockTime(6, 30, "am", 1),
            datetime(2026, 11, 25, 6, 30),
        ),
        ("alarm for quarter to eight", ClockTime(7, 45), datetime(2026, 11, 24, 19, 45)),
        ("alarm at 3 pm today", ClockTime(3, 0, "pm", 0), datetime(2026, 11, 25, 15, 0)),
    ],
)
def test_english_clock_times(said: str, when: ClockTime, at: datetime) -> None:
    assert en_clock(clean(said)) == when
    assert next_moment(when, NOW) == at


@pytest.mark.parametrize(
    ("said", "when", "at"),
    [
        ("明天早上七点叫我", ClockTime(7, 0, "am", 1), datetime(2026, 11, 25, 7, 0)),
        ("明天早上7点叫我。", ClockTime(7, 0, "am", 1), datetime(2026, 11, 25, 7, 0)),
        ("下午三点半的闹钟", ClockTime(3, 30, "pm"), datetime(2026, 11, 24, 15, 30)),
        ("早上六点一刻叫醒我", ClockTime(6, 15, "am"), datetime(2026, 11, 25, 6, 15)),
        ("晚上十点零五分提醒我", ClockTime(10, 5, "pm"), datetime(2026, 11, 24, 22, 5)),
        ("明天7:30叫我", ClockTime(7, 30, None, 1), datetime(2026, 11, 25, 7, 30)),
        ("中午一点", ClockTime(1, 0, "noon"), datetime(2026, 11, 25, 13, 0)),
        ("明天早上七點叫我", ClockTime(7, 0, "am", 1), datetime(2026, 11, 25, 7, 0)),
    ],
)
def test_chinese_clock_times(said: str, when: ClockTime, at: datetime) -> None:
    assert zh_clock(clean(said)) == when
    assert next_moment(when, NOW) == at


@pytest.mark.parametrize(
    ("said", "command"),
    [
        ("set a timer for five seconds", SetTimer(5)),
        ("Set a timer for 5 minutes.", SetTimer(300)),
        ("set a timer for a minute and a half", SetTimer(90)),
        ("um set a timer for uh three minutes please", SetTimer(180)),
        ("set a pasta timer for ten minutes", SetTimer(600, "pasta")),
        ("set a ten minute timer for the pasta", SetTimer(600, "pasta")),
        ("set a timer called eggs for 90 seconds", SetTimer(90, "eggs")),
        ("start a 90 second timer", SetTimer(90)),
        ("remind me in twenty minutes", SetTimer(1200)),
        ("cancel the timer", Cancel("timer")),
        ("cancel the pasta timer", Cancel("timer", "pasta")),
        ("how much time is left", Query("timer")),
        ("how long is left on the pasta timer", Query("timer", "pasta")),
        ("what timers do i have", Query("timer")),
        ("how much time is annette", Query("timer")),  # pocketsphinx on "... is left"
        ("wake me up at seven am", SetAlarm(ClockTime(7, 0, "am"))),  # pocketsphinx
        ("wake me up at seven a.m. tomorrow", SetAlarm(ClockTime(7, 0, "am", 1))),
        ("set an alarm for 6:30", SetAlarm(ClockTime(6, 30))),
        ("cancel my alarm", Cancel("alarm")),
        ("louder", SetVolume(step=1)),
        ("turn it down", SetVolume(step=-1)),
        ("set the volume to 3", SetVolume(level=3)),
        ("volume five", SetVolume(level=5)),
        ("maximum volume", SetVolume(level=10)),
        ("mute", SetVolume(level=0)),
        ("turn up the volume", SetVolume(step=1)),
        ("turn up the heat in the kitchen", None),
        ("what is the volume of a sphere", None),
        ("set a timer", None),  # no length: the LLM asks
        ("what time is it", None),
        ("tell me a joke", None),
        ("stop", None),
        ("", None),
    ],
)
def test_english_commands(said: str, command: object) -> None:
    assert parse(said) == command


@pytest.mark.parametrize(
    ("said", "command"),
    [
        ("定一个五分钟的计时器", SetTimer(300)),
        ("嗯，帮我定个5分钟的计时器。", SetTimer(300)),
        ("五分鐘計時器", SetTimer(300)),
        ("五分钟计时", SetTimer(300)),
        ("倒计时一个半小时", SetTimer(5400)),
        ("三十秒的计时器", SetTimer(30)),
        ("十分钟后叫我", SetTimer(600)),
        ("定一个五分钟的意面计时器", SetTimer(300, "意面")),
        ("煮鸡蛋计时五分钟", SetTimer(300, "煮鸡蛋")),
        ("取消计时器", Cancel("timer")),
        ("取消意面计时器", Cancel("timer", "意面")),
        ("意面计时器还剩多久", Query("timer", "意面")),
        ("还剩多久", Query("timer")),
        ("有哪些计时器", Query("timer")),
        ("明天早上七点叫我", SetAlarm(ClockTime(7, 0, "am", 1))),
        ("设一个七点的闹钟", SetAlarm(ClockTime(7))),
        ("设一个明天早上六点半的起床闹钟", SetAlarm(ClockTime(6, 30, "am", 1), "起床")),
        ("取消闹钟", Cancel("alarm")),
        ("大声一点", SetVolume(step=1)),  # not one o'clock
        ("小声点", SetVolume(step=-1)),
        ("音量调到七", SetVolume(level=7)),
        ("音量调到最大", SetVolume(level=10)),
        ("静音", SetVolume(level=0)),
        ("声音调大", SetVolume(step=1)),
        ("把空调温度调大", None),
        ("现在几点", None),
        ("讲个笑话", None),
        ("停", None),
    ],
)
def test_chinese_commands(said: str, command: object) -> None:
    assert parse(said) == command


@pytest.mark.parametrize(
    ("said", "stops"),
    [
        ("stop", True),
        ("Stop!", True),
        ("ok", True),
        ("stop the alarm", True),
        ("I'm up.", True),
        ("停", True),
        ("停！", True),
        ("别响了", True),
        ("知道了。", True),
        ("stop the music in the kitchen", False),
        ("what's the weather", False),
        ("停止播放音乐", False),
        ("", False),
    ],
)
def test_stop_while_ringing(said: str, stops: bool) -> None:
    assert is_stop_ringing(said) is stops


@given(st.text(max_size=80))
def test_any_text_parses_or_is_none(text: str) -> None:
    """Free-form transcripts never raise; a timer from them is always a positive length."""
    command = parse(text)
    if isinstance(command, SetTimer):
        assert command.seconds > 0
    is_stop_ringing(text)


@given(st.integers(min_value=1, max_value=999))
def test_english_numbers_round_trip_through_words(n: int) -> None:
    words = {1: "one", 2: "two", 3: "three", 4: "four", 5: "five", 6: "six", 7: "seven"}
    words |= {8: "eight", 9: "nine"}
    tens = {2: "twenty", 3: "thirty", 4: "forty", 5: "fifty", 6: "sixty", 7: "seventy"}
    tens |= {8: "eighty", 9: "ninety"}
    teens = "ten eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen nineteen"
    parts = [f"{words[n // 100]} hundred"] if n >= 100 else []
    rest = n % 100
    if 10 <= rest < 20:
        parts.append(teens.split()[rest - 10])
    elif rest:
        parts.append(" ".join(filter(None, [tens.get(rest // 10, ""), words.get(rest % 10, "")])))
    assert en_digits(" and ".join(parts) + " seconds") == f"{n} seconds"


@given(st.integers(min_value=1, max_value=9999), st.sampled_from(["分钟", "秒", "小时", "秒钟"]))
def test_chinese_numerals_round_trip(n: int, unit: str) -> None:
    import cn2an

    seconds = {"分钟": 60, "秒": 1, "小时": 3600, "秒钟": 1}[unit]
    assert zh_seconds(clean(f"{cn2an.an2cn(n)}{unit}")) == n * seconds
    assert zh_seconds(clean(f"{n}{unit}。")) == n * seconds
