"""The paused-request fixture: the comma's silence (the widest gap) becomes the pause."""

from __future__ import annotations

import numpy as np
import pytest

from tests.fixtures.paused_speech import LEAD, TAIL, clip_of, stretch_longest_gap


def tone(seconds: float) -> np.ndarray:
    return (0.5 * np.sin(np.arange(round(seconds * 16000)) * 0.3)).astype(np.float32)


def gap(seconds: float) -> np.ndarray:
    return np.zeros(round(seconds * 16000), dtype=np.float32)


@pytest.mark.parametrize("pause", [0.5, 0.8, 1.2])
def test_the_widest_gap_is_stretched_and_the_narrow_ones_kept(pause: float) -> None:
    speech = np.concatenate([tone(0.4), gap(0.05), tone(0.3), gap(0.25), tone(0.5), gap(0.08)])
    stretched = stretch_longest_gap(speech, pause)
    quiet = np.abs(stretched) <= 0.01
    runs = np.diff(np.flatnonzero(np.diff(np.concatenate([[0], quiet.astype(int), [0]]))))[::2]
    assert sorted(np.round(runs / 16000, 2))[-1] == pytest.approx(pause, abs=0.021)
    assert len(stretched) == pytest.approx(len(speech) + (pause - 0.25) * 16000, abs=330)


def test_clip_truth_is_the_end_of_the_last_word() -> None:
    clip = clip_of(np.concatenate([tone(1.0), gap(0.3)]), "en", "test", None)
    assert clip.speech_end == pytest.approx(LEAD + 1.0, abs=0.001)
    assert len(clip.audio) / 16000 == pytest.approx(LEAD + 1.0 + TAIL, abs=0.001)
    assert clip.audio.dtype == np.int16
