"""Which language `voiced wyoming` tells Home Assistant its ASR hears (and tells Whisper)."""

from __future__ import annotations

import pytest

from daemon.config import AsrSettings
from daemon.wyoming.engines import asr_language


@pytest.mark.parametrize(
    ("asr", "persona", "expected"),
    [
        ({"backend": "whisper"}, "en", "en"),  # the persona's language
        ({"backend": "whisper"}, "zh", "zh"),
        ({"backend": "whisper", "whisper": {"language": "zh"}}, "en", "zh"),  # fixed
        ({"backend": "whisper", "whisper": {"language": "auto"}}, "en", None),  # detected
        (
            {"backend": "remote", "remote": {"base_url": "http://x/v1", "language": "zh"}},
            "en",
            "zh",
        ),
        ({"backend": "pocketsphinx"}, "en", None),  # its languages come from the backend table
        ({"backend": "funasr"}, "zh", None),
    ],
)
def test_the_language_the_asr_is_told(asr: dict, persona: str, expected: str | None) -> None:
    assert asr_language(AsrSettings.model_validate(asr), persona) == expected
