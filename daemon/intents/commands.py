"""A transcript -> one command: set/cancel/ask about timers and alarms, change the volume.

Chinese and English are both understood whatever the persona speaks (the reply follows the
persona). Anything that is not clearly one of these returns None and goes to the LLM, which has
the same actions as tools.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from daemon.intents.clocktime import ClockTime, en_clock, zh_clock
from daemon.intents.durations import en_seconds, zh_seconds
from daemon.intents.numbers import en_digits, zh_digits
from daemon.intents.text import clean, is_chinese

Kind = Literal["timer", "alarm"]


@dataclass(frozen=True, slots=True)
class SetTimer:
    seconds: float
    name: str = ""


@dataclass(frozen=True, slots=True)
class SetAlarm:
    when: ClockTime
    name: str = ""


@dataclass(frozen=True, slots=True)
class Cancel:
    kind: Kind | None
    name: str = ""


@dataclass(frozen=True, slots=True)
class Query:
    """How long is left / which timers or alarms there are."""

    kind: Kind | None
    name: str = ""


@dataclass(frozen=True, slots=True)
class SetVolume:
    level: int | None = None  # 0..10, or None with a step
    step: int = 0  # +1 louder, -1 quieter


Command = SetTimer | SetAlarm | Cancel | Query | SetVolume


@dataclass(frozen=True)
class _Words:
    """The vocabulary of one language."""

    timer: re.Pattern[str]
    alarm: re.Pattern[str]
    cancel: re.Pattern[str]
    query: re.Pattern[str]
    louder: re.Pattern[str]
    quieter: re.Pattern[str]
    volume_to: re.Pattern[str]
    loudest: re.Pattern[str]
    mute: re.Pattern[str]
    stop_ringing: re.Pattern[str]


EN = _Words(
    timer=re.compile(
        r"\btimers?\b|\bcount ?down\b|\bremind me in\b|\bin .* remind me\b|"
        r"\btime (?:is )?(?:left|remaining)\b|\bhow long (?:is )?left\b|\bhow much time\b"
    ),
    alarm=re.compile(r"\balarms?\b|\bwake me\b|\bwake up call\b"),
    cancel=re.compile(r"\b(?:cancel|stop|delete|remove|clear|turn off|switch off|kill|end)\b"),
    query=re.compile(
        r"\bhow (?:much|long)\b|\btime (?:is )?(?:left|remaining)\b|\bleft on\b|\bdo i have\b|"
        r"\b(?:list|any|which|what) (?:\w+ )?(?:timers|alarms)\b|\bwhen is my\b|\bcheck\b"
    ),
    louder=re.compile(
        r"\blouder\b|\bturn (?:it|the volume|yourself|the sound) up\b|\bturn up the volume\b|"
        r"\bvolume up\b|\bspeak up\b|\b(?:increase|raise) the volume\b|\bcan'?t hear you\b"
    ),
    quieter=re.compile(
        r"\bquieter\b|\bsofter\b|\bturn (?:it|the volume|yourself|the sound) down\b|"
        r"\bturn down the volume\b|\bvolume down\b|\b(?:decrease|lower|reduce) the volume\b|"
        r"\btoo loud\b|\bnot so loud\b"
    ),
    volume_to=re.compile(r"\bvolume (?:to |at |level )?(\d+)\b|\bvolume\b.* (?:to|at) (\d+)\b"),
    loudest=re.compile(r"\b(?:max(?:imum)?|full|loudest) volume\b|\bvolume (?:to )?max"),
    mute=re.compile(r"^(?:mute|be silent|silence)(?: yourself)?$|\bmute (?:the )?volume\b"),
    stop_ringing=re.compile(
        r"^(?:stop|stop it|stop that|stop ringing|stop the (?:timer|alarm)|ok(?:ay)?|enough|"
        r"thanks?(?: you)?|turn (?:it )?off|shut up|quiet|be quiet|i'?m up|got it|dismiss)$"
    ),
)
ZH = _Words(
    timer=re.compile(
        r"计时|定时器|倒计时|\d(?:分钟?|小时|钟头|秒钟?|刻钟)(?:以|之)?后|"
        r"^还(?:剩|有)(?:多久|多长时间|多少时间|几分钟)"
    ),
    alarm=re.compile(r"闹钟|闹铃|叫醒|叫我|喊我|提醒我"),
    cancel=re.compile(r"取消|删除|删掉|关掉|停掉|关闭|停止|不要了|去掉|撤销"),
    query=re.compile(
        r"还剩|还有多|剩多少|剩下|剩余|多久|多长时间|哪些|几个|有什么|有没有|列出|查|看看"
    ),
    louder=re.compile(
        r"大声|(?:声音|音量)(?:调|开)?大|^调大|^响一?点|大点声|(?:提高|增大)音量|听不清"
    ),
    quieter=re.compile(
        r"小声|(?:声音|音量)(?:调|关)?小|^调小|^轻一?点|太吵|太响|(?:降低|减小)音量|小点声"
    ),
    volume_to=re.compile(
        r"音量(?:调到|调成|调为|设为|设成|设到|设置为|设置成|改成|改为|到|是|为)?(\d+)"
    ),
    loudest=re.compile(r"最大音量|音量最大|声音最大|最大声|音量开到最大|音量调到最大"),
    mute=re.compile(r"^静音$|^闭麦$"),
    stop_ringing=re.compile(
        r"^(?:停|停下|停止|停吧|别响了|不要响了|关掉|关了|关掉它|知道了|好了|行了|够了|闭嘴|"
        r"起来了|我起来了|我醒了|收到|关闭|停掉|别吵了)$"
    ),
)

_EN_NOT_NAMES = {
    "a",
    "an",
    "the",
    "my",
    "this",
    "that",
    "new",
    "one",
    "set",
    "start",
    "another",
    "minute",
    "minutes",
    "second",
    "seconds",
    "hour",
    "hours",
    "min",
    "mins",
    "sec",
    "secs",
    "for",
    "of",
    "on",
    "in",
    "to",
    "and",
    "all",
    "any",
    "which",
    "what",
    "your",
    "timer",
    "timers",
    "alarm",
    "alarms",
    "cancel",
    "stop",
    "delete",
    "remove",
    "clear",
    "off",
    "is",
    "are",
    "how",
    "much",
    "long",
    "left",
    "time",
    "kill",
    "end",
    "check",
    "up",
    "down",
    "half",
    "quarter",
    "wake",
    "me",
}
_ZH_NOT_NAMES = {"这个", "那个", "有", "我的", "我"}
_ZH_VERBS = re.compile(
    r"^(?:取消|删除|删掉|关掉|停掉|关闭|停止|定|设置|设定|设|开始|开|启动|来|查一?查|看看|查|把|"
    r"新建|建)+(?:一个|一|个|这个|那个)?"
)
_ZH_NAMED = re.compile(
    r"(?:^|[\d的个])((?:(?![的个倒])[\u4e00-\u9fff]){1,6}?)的?(?:计时器|定时器|倒计时|计时|闹钟)"
)
_ZH_TIME_WORDS = re.compile(
    r"^[点半刻分秒钟头小时早上下午晚中今明后天凌清晨傍]+$|哪|几|什么|多少|所有|全部"
)


def parse(text: str) -> Command | None:
    """The command in `text`, or None when it is not one of these."""
    text = clean(text)
    if not text:
        return None
    if is_chinese(text):
        return _parse(zh_digits(text), ZH, _zh_name, zh_seconds, zh_clock)
    return _parse(en_digits(text), EN, _en_name, en_seconds, en_clock)


def is_stop_ringing(text: str) -> bool:
    """A short "stop" / 停 / "ok, I'm up": said without the wake word while something rings."""
    text = clean(text, fillers=False)  # "ok" is a filler elsewhere, an answer here
    words = ZH if is_chinese(text) else EN
    return bool(words.stop_ringing.search(text.replace(" ", "") if words is ZH else text))


def _parse(
    text: str,
    words: _Words,
    name_of: Callable[[str], str],
    seconds_of: Callable[[str], float | None],
    clock_of: Callable[[str], ClockTime | None],
) -> Command | None:
    volume = _volume(text, words)
    if volume is not None:
        return volume
    is_timer, is_alarm = bool(words.timer.search(text)), bool(words.alarm.search(text))
    if not (is_timer or is_alarm):
        return None
    kind: Kind | None = "alarm" if is_alarm and not is_timer else "timer" if is_timer else None
    if words.cancel.search(text):
        return Cancel(kind, name_of(text))
    if words.query.search(text):
        return Query(kind, name_of(text))
    seconds, when = seconds_of(text), clock_of(text)
    if when is not None and (is_alarm or seconds is None):
        return SetAlarm(when, name_of(text))
    if seconds is not None:
        return SetTimer(seconds, name_of(text))
    return None  # "set a timer" with no length: the LLM can ask how long


def _volume(text: str, words: _Words) -> SetVolume | None:
    if words.mute.search(text):
        return SetVolume(level=0)
    if words.loudest.search(text):
        return SetVolume(level=10)
    if match := words.volume_to.search(text):
        return SetVolume(level=min(10, int(match[1] or match[2])))
    if words.louder.search(text):
        return SetVolume(step=+1)
    if words.quieter.search(text):
        return SetVolume(step=-1)
    return None


def _en_name(text: str) -> str:
    if called := re.search(r"\b(?:called|named) ([a-z]+)", text):
        return called[1]
    for match in re.finditer(r"\b([a-z]+) (?:timer|alarm)\b", text):
        if match[1] not in _EN_NOT_NAMES:
            return match[1]
    after = re.search(r"\b(?:timer|alarm)\b.* for (?:the |my )?([a-z]+)$", text)
    return after[1] if after and after[1] not in _EN_NOT_NAMES else ""


def _zh_name(text: str) -> str:
    text = _ZH_VERBS.sub("", text.replace(" ", ""))
    for match in _ZH_NAMED.finditer(text):
        if match[1] not in _ZH_NOT_NAMES and not _ZH_TIME_WORDS.search(match[1]):
            return match[1]
    return ""
