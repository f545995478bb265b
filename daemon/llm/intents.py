"""Local intents, answered before (and without) the LLM: time, date, stop.

They keep the box useful with no network: the person asking for the time should never hear
"I can't reach my language model".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

_PATTERNS: dict[str, dict[str, re.Pattern[str]]] = {
    "en": {
        "stop": re.compile(r"^\W*(stop|cancel|never ?mind|be quiet|shut up|nothing)\W*$"),
        "forget": re.compile(
            r"\bforget (?:that|it|everything|our conversation)\b|\bnew conversation\b|"
            r"^\W*start over\W*$"
        ),
        # "what time is a": pocketsphinx's usual hearing of "what time is it"
        "time": re.compile(
            r"\bwhat(?:'s| is) the time\b|\btime is (?:it|a)\b|\bwhat time it is\b|"
            r"\b(?:tell me|know) the time\b|\bcurrent time\b"
        ),
        "date": re.compile(
            r"\bwhat(?:'s| is)? (?:the |today's )?date\b(?! of)|\bwhat day is (?:it|today)\b|"
            r"\bdate today\b|\bwhich day is (?:it|today)\b"
        ),
    },
    "zh": {
        "stop": re.compile(r"^\W*(停|停止|取消|算了|别说了|闭嘴)\W*$"),
        "forget": re.compile(r"忘掉|忘记刚才|忘了刚才|新对话|重新开始"),
        "time": re.compile(r"几点|什么时间|时间是多少|现在时间"),
        "date": re.compile(r"几号|日期|星期几|礼拜几|哪一天|什么日子"),
    },
}

_WEEKDAYS_ZH = "一二三四五六日"


@dataclass(frozen=True, slots=True)
class IntentReply:
    intent: str
    text: str | None  # None: answer with silence (stop/cancel)


def _zh_period(hour: int) -> str:
    for until, name in ((6, "凌晨"), (12, "上午"), (13, "中午"), (19, "下午")):
        if hour < until:
            return name
    return "晚上"


def _zh_hour(hour: int) -> int:
    return hour if hour <= 12 else hour - 12


def _time_text(language: str, now: datetime) -> str:
    if language == "zh":
        return f"现在是{_zh_period(now.hour)}{_zh_hour(now.hour)}点{now.minute:02d}分。"
    return f"It's {now.strftime('%I:%M %p').lstrip('0')}."


def _date_text(language: str, now: datetime) -> str:
    if language == "zh":
        return f"今天是{now.month}月{now.day}日，星期{_WEEKDAYS_ZH[now.weekday()]}。"
    return f"Today is {now.strftime('%A, %B')} {now.day}."


_FORGOTTEN = {"en": "OK, I've forgotten our conversation.", "zh": "好的，刚才的对话我已经忘掉了。"}


def match_intent(text: str, language: str, now: datetime) -> IntentReply | None:
    """The local answer to `text`, or None if it is not a local intent."""
    normalized = text.strip().lower()
    patterns = _PATTERNS["zh"] if language == "zh" else _PATTERNS["en"]
    for intent, pattern in patterns.items():
        if pattern.search(normalized):
            if intent == "stop":
                return IntentReply("stop", None)
            if intent == "forget":
                return IntentReply("forget", _FORGOTTEN["zh" if language == "zh" else "en"])
            render = _time_text if intent == "time" else _date_text
            return IntentReply(intent, render(language, now))
    return None
