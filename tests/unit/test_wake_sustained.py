"""wake.confirm_frames: the score must stay at or above the threshold for N frames in a row."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from daemon.config import WakeSettings
from daemon.errors import ConfigError
from daemon.wake.classifier import Sustained, sustained


def test_one_frame_passes_every_score_unchanged() -> None:
    confirm = Sustained(1)
    assert [confirm.push(s) for s in (0.2, 0.9, 0.4)] == [0.2, 0.9, 0.4]


def test_a_single_high_frame_is_not_enough_with_two() -> None:
    confirm = Sustained(2)
    assert [confirm.push(s) for s in (0.1, 0.9, 0.2, 0.8, 0.7)] == [0.0, 0.1, 0.2, 0.2, 0.7]


def test_reset_forgets_the_frames_before_it() -> None:
    confirm = Sustained(2)
    confirm.push(0.9)
    confirm.reset()
    assert confirm.push(0.9) == 0.0


@settings(max_examples=60, deadline=None)
@given(
    scores=st.lists(st.floats(0, 1, allow_nan=False), max_size=40),
    frames=st.integers(1, 5),
)
def test_the_whole_array_form_equals_streaming(scores: list[float], frames: int) -> None:
    confirm = Sustained(frames)
    streamed = [confirm.push(s) for s in scores]
    np.testing.assert_allclose(sustained(np.array(scores), frames), streamed)


@pytest.mark.parametrize("bad", [0, 6, "two"])
def test_confirm_frames_out_of_range_is_a_config_error(bad: object) -> None:
    with pytest.raises((ConfigError, ValueError)):
        WakeSettings(confirm_frames=bad)
