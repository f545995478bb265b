"""Local intents, answered before (and without) the LLM: time, date, weekday, stop, forget.

They keep the box useful with no network: the person asking for the time should never hear
"I can't reach my language model".

Chinese requests arrive as real transcripts do: in either script (Whisper often writes
traditional characters), with punctuation, fillers (嗯, 那个, 请问) and the assistant's name in
front. They are simplified (OpenCC t2s) and stripped of those before matching. Chinese replies
write their numbers in Chinese numerals, so every voice reads them the same way.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from daemon.chinese import to_simplified
from daemon.tts.normalize import zh_int

_DAY = "(?:今天|明天|后天|昨天|前天)?"
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
        # The whole request, once fillers are gone: "停止播放音乐" is not a stop.
        "stop": re.compile(
            r"^(?:好了|行了|够了)?(?:停|停止|停下|停一下|暂停|取消|算了|别说了|别讲了|不要说了|"
            r"不用说了|闭嘴|安静|够了|好了别说了)(?:吧|啦|了|啊|一下)?$"
        ),
        "forget": re.compile(r"忘掉|忘记刚才|忘了刚才|新对话|重新开始|清空(?:对话|记忆)"),
        # Whole questions about now, so "会议几点开始" or "你的生日是几号" go to the LLM.
        "time": re.compile(
            r"^(?:现在)?(?:是)?(?:几点|几点钟|什么时间|什么时候)(?:了|啦)?(?:呢|呀|吗)?$|"
            r"现在几点|现在的?时间|时间是多少"
        ),
        "weekday": re.compile(rf"^{_DAY}(?:是)?(?:星期|礼拜|周)几(?:了|啦)?(?:呢|呀)?$"),
        "date": re.compile(
            rf"^{_DAY}(?:是)?(?:几号|几月几号|几月几日|什么日子|哪一天|什么日期)"
            r"(?:星期几)?(?:了|啦)?(?:呢|呀)?$|^(?:今天的)?日期$"
        ),
    },
}

# Spoken padding around a Chinese request, removed before matching (longest first).
_FILLERS_ZH = sorted(
    [
        "嗯",
        "呃",
        "额",
        "啊",
        "哎",
        "唉",
        "诶",
        "那个",
        "这个",
        "就是",
        "请问",
        "麻烦你",
        "麻烦",
        "小智",
        "你好",
        "帮我看看",
        "帮我看一下",
        "帮我查一下",
        "告诉我",
        "我想知道",
        "你知道",
    ],
    key=len,
    reverse=True,
)
_FILLER_ZH = re.compile("|".join(map(re.escape, _FILLERS_ZH)))
_NOT_WORD = re.compile(r"[\W_]+", re.UNICODE)
_DAY_OFFSETS = {"前天": -2, "昨天": -1, "今天": 0, "明天": 1, "后天": 2}
_WEEKDAYS_ZH = "一二三四五六日"


@dataclass(frozen=True, slots=True)
class IntentReply:
    intent: str
    text: str | None  # None: answer with silence (stop/cancel)


def normalize_zh(text: str) -> str:
    """Simplified characters, no punctuation, spaces or fillers: what the patterns match."""
    plain = _NOT_WORD.sub("", to_simplified(text.lower()))
    return _FILLER_ZH.sub("", plain)


def _zh_period(hour: int) -> str:
    for until, name in ((6, "凌晨"), (12, "上午"), (13, "中午"), (19, "下午")):
        if hour < until:
            return name
    return "晚上"


def _zh_clock(now: datetime) -> str:
    hour = now.hour if now.hour <= 12 else now.hour - 12
    hours = "两" if hour == 2 else zh_int(hour)
    if now.minute == 0:
        return f"{hours}点整"
    minutes = zh_int(now.minute)
    return f"{hours}点{'零' if now.minute < 10 else ''}{minutes}分"


def _day_offset(normalized: str) -> tuple[str, int]:
    for word, offset in _DAY_OFFSETS.items():
        if word in normalized:
            return word, offset
    return "今天", 0


def _time_text(language: str, now: datetime, normalized: str) -> str:
    if language == "zh":
        return f"现在是{_zh_period(now.hour)}{_zh_clock(now)}。"
    return f"It's {now.strftime('%I:%M %p').lstrip('0')}."


def _date_text(language: str, now: datetime, normalized: str) -> str:
    if language == "zh":
        word, offset = _day_offset(normalized)
        day = now + timedelta(days=offset)
        weekday = _WEEKDAYS_ZH[day.weekday()]
        return f"{word}是{zh_int(day.month)}月{zh_int(day.day)}日，星期{weekday}。"
    return f"Today is {now.strftime('%A, %B')} {now.day}."


def _weekday_text(language: str, now: datetime, normalized: str) -> str:
    word, offset = _day_offset(normalized)
    return f"{word}是星期{_WEEKDAYS_ZH[(now + timedelta(days=offset)).weekday()]}。"


_RENDER = {"time": _time_text, "date": _date_text, "weekday": _weekday_text}
_FORGOTTEN = {"en": "OK, I've forgotten our conversation.", "zh": "好的，刚才的对话我已经忘掉了。"}


def match_intent(text: str, language: str, now: datetime) -> IntentReply | None:
    """The local answer to `text`, or None if it is not a local intent."""
    zh = language == "zh"
    normalized = normalize_zh(text) if zh else text.strip().lower()
    for intent, pattern in _PATTERNS["zh" if zh else "en"].items():
        if pattern.search(normalized):
            if intent == "stop":
                return IntentReply("stop", None)
            if intent == "forget":
                return IntentReply("forget", _FORGOTTEN["zh" if zh else "en"])
            return IntentReply(intent, _RENDER[intent](language, now, normalized))
    return None
