"""Restoring the persona's name and hotwords in a transcript by pinyin (daemon/asr/hotwords)."""

from __future__ import annotations

import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from daemon.asr.hotwords import restore_hotwords
from daemon.wake.verify import syllables

NAMES = ["小智", "Jarvis"]


@pytest.mark.parametrize(
    ("heard", "restored"),
    [
        # same pinyin and tones (小志, 晓志, 曉智) or Whisper's 小字 (zi4 for zhi4): one boundary
        ("小志现在几点了", "小智现在几点了"),
        ("小字讲一个故事", "小智讲一个故事"),
        ("晓志，今天星期几", "小智，今天星期几"),
        ("曉智你好", "小智你好"),  # traditional characters read alike
        ("我叫你小字", "我叫你小智"),  # the name at the end
        ("晚安 小志", "晚安 小智"),
        ("这个小字 很难看", "这个小字 很难看"),  # a space is no boundary: Whisper writes pauses
        ("小子小志", "小智小智"),  # the name next to the name
        ("晓志", "小智"),
        ("小志。小致。", "小智。小智。"),
        ("你好小 志", "你好小智"),  # a pause inside the name
        ("小 字 小 字电视打开", "小智 小智电视打开"),
        ("这个小字很难看", "这个小字很难看"),  # inside a sentence: small print
        # other tones: real words (小子, 小吃, 小资, 小指, 小知): only alone as an address
        ("小子，现在几点了", "小智，现在几点了"),
        ("小知，现在几点了", "小智，现在几点了"),
        ("你好小子", "你好小智"),
        ("谢谢你小子。", "谢谢你小智。"),
        ("小吃", "小智"),
        ("小子现在几点了", "小子现在几点了"),  # no boundary after: could be "the kid ..."
        ("小知现在几点了", "小知现在几点了"),
        ("这个小子很调皮", "这个小子很调皮"),
        ("那个小资去哪里了?", "那个小资去哪里了?"),
        ("我想吃北京的小吃", "我想吃北京的小吃"),
        ("街上有很多小吃。", "街上有很多小吃。"),
        ("小吃有哪些", "小吃有哪些"),
        ("我的小指疼", "我的小指疼"),
        ("我的小 汁 汤", "我的小 汁 汤"),
        # a longer word pypinyin knows
        ("晓之以理", "晓之以理"),
        # already right, or nothing like it
        ("小智，开灯", "小智，开灯"),
        ("小智小智", "小智小智"),
        ("现在几点了", "现在几点了"),
        ("", ""),
        ("。。。", "。。。"),
        ("小", "小"),
        ("消息", "消息"),  # xiao xi: another syllable
        # English: case only, whole words
        ("hey jarvis what time is it", "hey Jarvis what time is it"),
        ("JARVIS.", "Jarvis."),
        ("jarviss", "jarviss"),
        ("jar vis", "jar vis"),
        # mixed scripts
        ("jarvis，小志在吗", "Jarvis，小智在吗"),
        ("OK小志", "OK小智"),
        ("小志123", "小智123"),
    ],
)
def test_names_come_back_where_they_were_said(heard: str, restored: str) -> None:
    assert restore_hotwords(heard, NAMES) == restored


def test_no_hotwords_or_empty_ones_change_nothing() -> None:
    assert restore_hotwords("小志现在几点了", []) == "小志现在几点了"
    assert restore_hotwords("小志现在几点了", ["", "  ", "。"]) == "小志现在几点了"


def test_a_longer_hotword_wins_over_a_shorter_one_inside_it() -> None:
    assert restore_hotwords("晓志同学，你好", ["小智", "小智同学"]) == "小智同学，你好"


def test_multi_word_latin_hotwords_match_across_spaces() -> None:
    assert restore_hotwords("ok  NABU turn on", ["Ok Nabu"]) == "Ok Nabu turn on"


def test_hotwords_that_sound_alike_do_not_fight() -> None:
    assert restore_hotwords("小志你好", ["小智", "晓志"]) in {"小智你好", "晓志你好"}
    assert restore_hotwords("小智你好", ["小智", "晓志"]) == "小智你好"


def test_near_forms_are_the_callers_choice() -> None:
    assert restore_hotwords("你好小子", ["小智"], near={}) == "你好小子"


han = st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF)
pieces = st.one_of(
    han,
    st.sampled_from(list("小子智知吃志晓，。 !?") + ["jarvis", "Jarvis", " ", "你好", "谢谢"]),
    st.characters(),
)
texts = st.lists(pieces, max_size=30).map("".join)


@settings(deadline=None)
@given(texts)
def test_restoring_never_fails_and_twice_is_once(text: str) -> None:
    once = restore_hotwords(text, NAMES)
    assert isinstance(once, str)
    assert restore_hotwords(once, NAMES) == once


@settings(deadline=None)
@given(texts)
def test_text_that_sounds_like_no_hotword_is_left_alone(text: str) -> None:
    heard = syllables(text)
    if "xiao" not in heard and "jarvis" not in heard:
        assert restore_hotwords(text, NAMES) == text


@settings(deadline=None)
@given(texts)
def test_only_spans_turned_into_a_hotword_change(text: str) -> None:
    """A rewrite swaps a span for a hotword of as many characters (spaces inside it dropped):
    every character that differs is now part of a hotword; the rest stays in order."""
    before, after = "".join(text.split()), "".join(restore_hotwords(text, NAMES).split())
    assert len(after) == len(before)
    changed = [i for i, (a, b) in enumerate(zip(before, after, strict=True)) if a != b]
    assert all(after[i] in "小智Jarvis" for i in changed)


@pytest.mark.parametrize(
    ("text", "hotwords", "expected"),
    [
        ("hey jarvis, 你好", ["Jarvis"], "hey Jarvis, 你好"),
        ("你好小字，几点了", ["小智"], "你好小智，几点了"),
    ],
)
def test_the_daemon_never_loads_pypinyin(text: str, hotwords: list[str], expected: str) -> None:
    """pypinyin's dictionaries cost ~52 MB of RSS: the box reads its sounds from the compact
    tables made from them (daemon/asr/han_sounds.py), English and Chinese alike."""
    code = (
        "import sys; from daemon.asr.hotwords import restore_hotwords as r; "
        f"assert r({text!r}, {hotwords!r}) == {expected!r}; "
        "print('pypinyin' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


def test_the_sound_tables_are_what_pypinyin_says() -> None:
    """The shipped tables are pypinyin's data, made by `python -m daemon.asr.han_sounds`."""
    from daemon.asr import han_sounds

    assert han_sounds._read(han_sounds.SOUNDS_FILE) == han_sounds.build_sounds()
    assert han_sounds._read(han_sounds.WORDS_FILE) == han_sounds.build_words()
    assert han_sounds.sound("智") == ("zhi", "4") and han_sounds.sound("吗") == ("ma", "5")
    assert han_sounds.is_word("晓之以理") and not han_sounds.is_word("小智几点")
