"""Smart Turn's input, pinned against the reference recipe.

tests/unit/data/smart_turn_reference_mel.npz holds log-mel features that pipecat-ai 1.14.0's own
code computed (`_whisper_features.compute_whisper_log_mel_features` after its
`truncate_audio_to_last_n_seconds`: zeros in front, the last 8 s kept) for the clips below, at
every 16th frame and the last one. pipecat is not a dependency: the numbers were made once with
the wheel from `pip download --no-deps pipecat-ai==1.14.0`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from daemon.audio.frames import SAMPLE_RATE
from daemon.vad.smart_turn import FRAMES, N_MELS, WINDOW_SAMPLES, log_mel, window

REFERENCE = Path(__file__).parent / "data" / "smart_turn_reference_mel.npz"
PICKED_FRAMES = [*range(0, FRAMES, 16), FRAMES - 1]


def reference_clip(seconds: float) -> np.ndarray:
    """A fixed voiced-like clip: a gliding 140-220 Hz buzz with harmonics, syllable envelopes,
    a quiet gap in the middle and a little noise (float32, 16 kHz)."""
    rng = np.random.default_rng(14)
    t = np.arange(round(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    pitch = 180 + 40 * np.sin(2 * np.pi * 0.7 * t)
    phase = 2 * np.pi * np.cumsum(pitch) / SAMPLE_RATE
    buzz = sum(np.sin(k * phase) / k for k in range(1, 12))
    syllables = np.clip(np.sin(2 * np.pi * 3.1 * t), 0, None) ** 0.5
    syllables[(t > seconds * 0.45) & (t < seconds * 0.55)] = 0.0
    audio = 0.2 * buzz * syllables + rng.normal(0, 0.002, len(t))
    return audio.astype(np.float32)


@pytest.mark.parametrize("name, seconds", [("short", 2.5), ("long", 9.5)])
def test_features_match_pipecats_reference(name: str, seconds: float) -> None:
    expected = np.load(REFERENCE)[name]
    ours = log_mel(window(reference_clip(seconds)))
    assert ours.shape == (N_MELS, FRAMES) and ours.dtype == np.float32
    np.testing.assert_allclose(ours[:, PICKED_FRAMES], expected, atol=1e-5)


def test_a_short_clip_is_right_aligned_with_zeros_in_front() -> None:
    clip = reference_clip(2.5)
    padded = window(clip)
    assert padded.shape == (WINDOW_SAMPLES,)
    assert not padded[: WINDOW_SAMPLES - len(clip)].any()
    np.testing.assert_array_equal(padded[-len(clip) :], clip)


def test_a_long_clip_keeps_its_last_eight_seconds() -> None:
    clip = reference_clip(9.5)
    np.testing.assert_array_equal(window(clip), clip[-WINDOW_SAMPLES:])


def test_features_ignore_the_level() -> None:
    """The waveform is normalized first: a quiet microphone gives the same features."""
    clip = window(reference_clip(2.5))
    np.testing.assert_allclose(log_mel(clip * 0.05), log_mel(clip), atol=5e-3)


def test_the_wrong_length_is_refused() -> None:
    with pytest.raises(ValueError, match="128000"):
        log_mel(np.zeros(16000, dtype=np.float32))
