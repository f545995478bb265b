"""Local intents (time, date, stop), answered without the LLM, with a fixed clock."""

from __future__ import annotations

from datetime import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from daemon.llm.intents import IntentReply, match_intent

NOW = datetime(2026, 11, 24, 15, 5)  # a Tuesday afternoon

TIME_EN = IntentReply("time", "It's 3:05 PM.")
DATE_EN = IntentReply("date", "Today is Tuesday, November 24.")
TIME_ZH = IntentReply("time", "现在是下午三点零五分。")
DATE_ZH = IntentReply("date", "今天是十一月二十四日，星期二。")
WEEKDAY_ZH = IntentReply("weekday", "今天是星期二。")
STOP = IntentReply("stop", None)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("what time is it", TIME_EN),
        ("What time is it?", TIME_EN),
        ("  WHAT TIME IS IT  ", TIME_EN),
        ("what's the time", TIME_EN),
        ("what is the time", TIME_EN),
        ("what time is a", TIME_EN),  # pocketsphinx garble
        ("hey what time it is", TIME_EN),
        ("do you know the time", TIME_EN),
        ("what's the date", DATE_EN),
        ("what is the date today", DATE_EN),
        ("what is today's date", DATE_EN),
        ("what day is it", DATE_EN),
        ("what date is it", DATE_EN),
        ("stop", STOP),
        ("Stop.", STOP),
        ("STOP!", STOP),
        ("cancel", STOP),
        ("never mind", STOP),
        ("nevermind", STOP),
        ("be quiet", STOP),
        ("tell me a joke", None),
        ("stop the music in the kitchen please", None),  # stop must be the whole utterance
        ("please stop", None),
        ("cancel my meeting", None),
        ("how long is a piece of string", None),
        ("sometimes I wonder", None),
        ("", None),
        ("现在几点", None),  # Chinese phrases are not English intents
    ],
)
def test_english(text: str, expected: IntentReply | None) -> None:
    assert match_intent(text, "en", NOW) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("现在几点", TIME_ZH),
        ("现在几点了？", TIME_ZH),
        ("几点了", TIME_ZH),
        ("几点了？", TIME_ZH),
        ("现在什么时间", TIME_ZH),
        ("現在幾點了?", TIME_ZH),  # Whisper's traditional characters
        ("嗯，小智，现在几点了呀", TIME_ZH),  # fillers and the name
        ("请问现在几点钟了", TIME_ZH),
        ("小智 现在 几点", TIME_ZH),
        ("今天几号", DATE_ZH),
        ("今天几号？", DATE_ZH),
        ("今天是几号", DATE_ZH),
        ("今天是什么日期", DATE_ZH),
        ("今天幾號", DATE_ZH),
        ("那个，今天几月几号星期几", DATE_ZH),
        ("明天几号", IntentReply("date", "明天是十一月二十五日，星期三。")),
        ("今天星期几", WEEKDAY_ZH),
        ("星期几", WEEKDAY_ZH),
        ("今天禮拜幾？", WEEKDAY_ZH),
        ("今天周几", WEEKDAY_ZH),
        ("明天星期几", IntentReply("weekday", "明天是星期三。")),
        ("昨天是星期几", IntentReply("weekday", "昨天是星期一。")),
        ("停", STOP),
        ("停！", STOP),
        ("停止", STOP),
        ("取消。", STOP),
        ("算了", STOP),
        ("算了吧", STOP),
        ("别说了！", STOP),
        ("嗯，别说了", STOP),
        ("好了别说了", STOP),
        ("不要说了", STOP),
        ("別說了", STOP),
        ("讲个笑话", None),
        ("停止播放厨房的音乐", None),  # stop must be the whole utterance
        ("取消明天的会议", None),
        ("会议几点开始", None),  # about another time: the LLM's
        ("你的生日是几号", None),
        ("帮我定一个明天早上七点的闹钟", None),
        ("stop", None),  # English words are not Chinese intents
        ("", None),
        ("。。。", None),
        ("嗯", None),
    ],
)
def test_chinese(text: str, expected: IntentReply | None) -> None:
    assert match_intent(text, "zh", NOW) == expected


@pytest.mark.parametrize(
    ("now", "english", "chinese"),
    [
        (datetime(2026, 11, 24, 15, 5), "It's 3:05 PM.", "现在是下午三点零五分。"),
        (datetime(2026, 11, 24, 9, 0), "It's 9:00 AM.", "现在是上午九点整。"),
        (datetime(2026, 11, 24, 10, 30), "It's 10:30 AM.", "现在是上午十点三十分。"),
        (datetime(2026, 11, 24, 12, 0), "It's 12:00 PM.", "现在是中午十二点整。"),
        (datetime(2026, 11, 24, 0, 7), "It's 12:07 AM.", "现在是凌晨零点零七分。"),
        (datetime(2026, 11, 24, 14, 10), "It's 2:10 PM.", "现在是下午两点十分。"),
        (datetime(2026, 11, 24, 23, 59), "It's 11:59 PM.", "现在是晚上十一点五十九分。"),
    ],
)
def test_time_texts(now: datetime, english: str, chinese: str) -> None:
    assert match_intent("what time is it", "en", now) == IntentReply("time", english)
    assert match_intent("现在几点", "zh", now) == IntentReply("time", chinese)


@pytest.mark.parametrize(
    ("now", "english", "chinese"),
    [
        (
            datetime(2026, 11, 24),
            "Today is Tuesday, November 24.",
            "今天是十一月二十四日，星期二。",
        ),
        (datetime(2026, 3, 1), "Today is Sunday, March 1.", "今天是三月一日，星期日。"),
        (datetime(2026, 1, 5), "Today is Monday, January 5.", "今天是一月五日，星期一。"),
        (datetime(2026, 5, 9), "Today is Saturday, May 9.", "今天是五月九日，星期六。"),
    ],
)
def test_date_texts(now: datetime, english: str, chinese: str) -> None:
    assert match_intent("what's the date", "en", now) == IntentReply("date", english)
    assert match_intent("今天几号", "zh", now) == IntentReply("date", chinese)


def test_stop_answers_with_silence() -> None:
    reply = match_intent("cancel", "en", NOW)
    assert reply is not None
    assert reply.intent == "stop"
    assert reply.text is None


@pytest.mark.parametrize(
    "text",
    ["what time does the store close", "what day is the concert", "what is the date of easter"],
)
def test_questions_about_other_times_go_to_the_llm(text: str) -> None:
    assert match_intent(text, "en", NOW) is None


@pytest.mark.parametrize("text", ["forget that", "let's start a new conversation", "start over"])
def test_forget(text: str) -> None:
    reply = match_intent(text, "en", NOW)
    assert reply is not None and reply.intent == "forget" and reply.text


def test_forget_zh() -> None:
    reply = match_intent("忘掉刚才说的", "zh", NOW)
    assert reply is not None and reply.intent == "forget"


@pytest.mark.parametrize("text", ["忘掉刚才的", "忘掉刚才说的", "嗯，忘记刚才的对话", "重新开始吧"])
def test_forget_zh_forms(text: str) -> None:
    reply = match_intent(text, "zh", NOW)
    assert reply == IntentReply("forget", "好的，刚才的对话我已经忘掉了。")


@given(st.text(max_size=40))
def test_any_chinese_text_is_an_intent_or_none(text: str) -> None:
    reply = match_intent(text, "zh", NOW)
    assert reply is None or reply.intent in {"time", "date", "weekday", "stop", "forget"}
