"""The second-stage wake check's text rule and audio window (daemon/wake/verify.py)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from daemon.wake import verify
from daemon.wake.verify import says_wake_phrase, syllables, wake_window

PHRASE = "xiao zhi"


@pytest.mark.parametrize(
    "text",
    [
        "你好小智",
        "你好，小智！",
        "小智。",
        "你好小知",  # another character, the same syllables
        "你好晓志",
        "你好曉智",  # traditional characters
        "妳好，小智？",
        "Hello 小智",
        "你好 xiao zhi",
        "Xiao Zhi, 现在几点了",
        "xiaozhi",
        "……小智……",
        "小zhi",  # half characters, half Latin
    ],
)
def test_the_phrase_in_any_spelling_is_accepted(text: str) -> None:
    assert says_wake_phrase(text, PHRASE)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "。",
        "你好",
        "小",
        "智小",  # the syllables, in the wrong order
        "小学智慧",  # both syllables, not in a row
        "今天天气怎么样",
        "小猪",
        "xiao, hello zhi",
        "shao zhi",
        "hey jarvis",
    ],
)
def test_other_texts_are_rejected(text: str) -> None:
    assert not says_wake_phrase(text, PHRASE)


@pytest.mark.parametrize("text", ["你好小子", "你好小哲", "你好小紫", "你好小朱"])
def test_near_forms_follow_the_chosen_table(text: str) -> None:
    near = {s for forms in verify.NEAR_SYLLABLES.values() for s in forms}
    expected = syllables(text)[-1] in near
    assert says_wake_phrase(text, PHRASE) is expected


def test_syllables_drop_punctuation_and_lower_latin() -> None:
    assert syllables("你好，Xiao-Zhi！ 12") == ["ni", "hao", "xiao", "zhi"]


def test_an_empty_phrase_is_an_error() -> None:
    with pytest.raises(ValueError, match="empty"):
        says_wake_phrase("小智", "  ")


def test_window_is_two_seconds_before_to_point_three_after() -> None:
    audio = np.arange(5 * 16000, dtype=np.float32)
    window = wake_window(audio, 3.0)
    assert len(window) == int(2.3 * 16000)
    assert window[0] == 1.0 * 16000 and window[-1] == 3.3 * 16000 - 1


def test_window_is_clipped_to_the_recording() -> None:
    audio = np.ones(16000, dtype=np.float32)
    assert len(wake_window(audio, 0.5)) == int(0.8 * 16000)  # from 0 to 0.3 s after
    assert len(wake_window(audio, 0.9)) == 16000  # and no further than the end
    assert len(wake_window(audio, 5.0)) == 0


@given(st.text(max_size=40))
def test_any_text_gives_an_answer_and_never_raises(text: str) -> None:
    answer = says_wake_phrase(text, PHRASE)
    assert answer == says_wake_phrase(text + "。", PHRASE)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("你好小子", True), ("你好小吃", True), ("你好小哲", False), ("你好曉子", True)],
)
def test_near_forms_given_by_the_caller(text: str, expected: bool) -> None:
    assert says_wake_phrase(text, PHRASE, {"zhi": ("zi", "chi")}) is expected
    assert says_wake_phrase(text, PHRASE, {}) is False


def test_the_whole_phrase_needs_every_syllable() -> None:
    assert says_wake_phrase("你好，小智。", "ni hao xiao zhi")
    assert not says_wake_phrase("小智", "ni hao xiao zhi")
    assert not says_wake_phrase("你好吗小智", "ni hao xiao zhi")


# --- the scoring check's wiring (wake.verify: whisper) ------------------------------------------


def test_verify_off_builds_no_check() -> None:
    from daemon.config import WakeSettings

    assert verify.make_wake_check(WakeSettings(), object(), "voiced.yaml") is None


def test_verify_whisper_with_another_asr_is_a_config_error() -> None:
    from daemon.config import WakeSettings
    from daemon.errors import ConfigError

    with pytest.raises(ConfigError) as caught:
        verify.make_wake_check(WakeSettings(verify="whisper"), object(), "voiced.yaml")
    assert caught.value.field == "wake.verify" and "asr.backend whisper" in str(caught.value)


def test_a_lazily_loaded_whisper_is_loaded_by_the_first_check_only() -> None:
    from daemon.asr.lazy import LazyTranscriber
    from daemon.asr.whisper import WhisperTranscriber

    loaded: list[bool] = []

    class Loaded(WhisperTranscriber):
        def __init__(self) -> None:  # no model: only `model` is read
            loaded.append(True)

        @property
        def model(self) -> object:
            return "the model"

    lazy = LazyTranscriber("whisper", Loaded)
    model_of = verify.whisper_model_of(lazy)
    assert model_of is not None and loaded == []
    assert model_of() == "the model" and model_of() == "the model" and loaded == [True]
    assert verify.whisper_model_of(LazyTranscriber("pocketsphinx", Loaded)) is None


def test_the_check_only_applies_to_wake_words_whose_phrase_it_knows() -> None:
    check = verify.WhisperPhraseCheck(lambda: None, -4.0, 300)
    assert check.applies("ni_hao_xiao_zhi") and not check.applies("hey_jarvis")
