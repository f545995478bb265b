"""The pieces of `voiced wake train` that need no model: rooms, labels, confusables, seeds."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from daemon.wake.train.augment import change_speed, coloured_noise, impulse_response, mix
from daemon.wake.train.corpus import ZH_HELD_OUT, ZH_TRAIN, confusables
from daemon.wake.train.dataset import ClipMaker, Embedded, Sizes, embedding_end, label_windows
from daemon.wake.train.evaluate import Evaluation, firings
from daemon.wake.train.voices import HELD_OUT_VARIANTS, TRAIN_VARIANTS, Style, draw_styles


@settings(max_examples=30, deadline=None)
@given(snr=st.floats(-5, 30), seed=st.integers(0, 1000))
def test_mix_puts_the_background_at_the_asked_snr(snr: float, seed: int) -> None:
    rng = np.random.default_rng(seed)
    speech = np.sin(np.arange(16000) / 5).astype(np.float32) * 0.5
    noise = coloured_noise(16000, "pink", rng)
    mixed = mix(speech, noise, snr)
    added = mixed - speech
    active = speech[np.abs(speech) > 0.02 * np.abs(speech).max()]  # speech power, pauses aside
    measured = 10 * np.log10(np.mean(active**2) / np.mean(added**2))
    assert measured == pytest.approx(snr, abs=0.01)


def test_speed_changes_length_by_the_factor() -> None:
    audio = np.random.default_rng(0).standard_normal(16000).astype(np.float32)
    assert len(change_speed(audio, 1.1)) == pytest.approx(16000 / 1.1, abs=2)
    assert len(change_speed(audio, 0.9)) == pytest.approx(16000 / 0.9, abs=2)


def test_an_impulse_response_keeps_the_energy_and_starts_with_the_direct_path() -> None:
    ir = impulse_response(np.random.default_rng(1), 0.5)
    assert np.sum(ir**2) == pytest.approx(1.0, rel=1e-4)
    assert np.argmax(np.abs(ir)) == 0
    assert np.abs(ir[-800:]).max() < 0.01 * np.abs(ir).max()  # 60 dB down by the end


@settings(max_examples=50, deadline=None)
@given(st.text(alphabet="你好小智天气晓之以理朋友abc ", min_size=2, max_size=8))
def test_confusables_never_contain_the_phrase_itself(phrase: str) -> None:
    clean = phrase.replace(" ", "").lower()
    for other in confusables(phrase):
        assert other.replace(" ", "").lower() != clean


def test_the_shipped_phrase_has_its_known_near_misses() -> None:
    near = confusables("你好小智")
    assert {"你好", "小智", "你好小朋友", "晓之以理"} <= set(near)
    assert "你好小智" not in near


def test_held_out_voices_and_sentences_are_kept_out_of_training() -> None:
    assert not set(TRAIN_VARIANTS) & set(HELD_OUT_VARIANTS)
    assert not set(ZH_TRAIN.talk) & set(ZH_HELD_OUT.talk)
    assert not set(ZH_TRAIN.requests) & set(ZH_HELD_OUT.requests)
    assert "现在几点了" in ZH_HELD_OUT.requests
    rng = np.random.default_rng(0)
    held = draw_styles("你好小智", 200, rng, held_out=True)
    assert {s.variant for s in held if s.source == "espeak"} <= set(HELD_OUT_VARIANTS)
    gaps = [s.gap_seconds for s in held if s.source == "gcin"]
    assert gaps and min(gaps) >= 0.08  # held-out syllable gaps: 0.08-0.16 s


def test_gcin_styles_use_speaker_3_only() -> None:
    styles = draw_styles("你好小智", 100, np.random.default_rng(0), held_out=False)
    assert any(s.source == "gcin" for s in styles)
    assert all("gcin3" in s.label() for s in styles if s.source == "gcin")
    assert Style("gcin").label().startswith("gcin3")


def _embedded(n: int, phrase: tuple[float, float] | None, kind: str = "positive") -> Embedded:
    return Embedded(np.zeros((n, 96), np.float32), phrase, kind, "x", 0.0)


def test_windows_just_after_the_phrase_are_positive_and_before_its_middle_negative() -> None:
    start, end = 2.0, 3.0
    x, y = label_windows(_embedded(40, (start, end)), 16)
    _, ends = np.arange(40), np.arange(15, 40)
    times = embedding_end(ends)
    positive = (times >= end - 0.1) & (times <= end + 0.3)
    negative = times <= start + 0.5
    assert y.sum() == positive.sum() > 0
    assert len(y) == positive.sum() + negative.sum()
    assert x.shape[1:] == (16, 96)


def test_talk_gives_only_negatives() -> None:
    _, y = label_windows(_embedded(40, None, "talk"), 16)
    assert len(y) == 25 and y.sum() == 0


def test_sizes_interleave_every_kind() -> None:
    specs = Sizes(positives=3, confusables=2, talk=1, noise=1).specs()
    assert sorted(specs) == sorted(
        [("positive", i) for i in range(3)]
        + [("confusable", i) for i in range(2)]
        + [("talk", 0), ("noise", 0)]
    )
    assert specs[:4] == [("talk", 0), ("positive", 0), ("confusable", 0), ("noise", 0)]


def test_a_clip_is_the_same_whatever_was_made_before_it() -> None:
    first = ClipMaker("你好小智", seed=3, held_out=False)
    second = ClipMaker("你好小智", seed=3, held_out=False)
    second.make("talk", 0)
    a, b = first.make("positive", 5), second.make("positive", 5)
    np.testing.assert_array_equal(a.audio, b.audio)
    assert a.phrase == b.phrase and a.phrase is not None
    other = ClipMaker("你好小智", seed=4, held_out=False).make("positive", 5)
    assert other.audio.shape != a.audio.shape or not np.array_equal(other.audio, a.audio)


def test_firings_honour_the_refractory_period() -> None:
    times = np.arange(0, 6, 0.08)
    scores = np.where((times > 1) & (times < 1.5) | (times > 3.9) & (times < 4.2), 0.9, 0.1)
    assert firings(times, scores, 0.5) == [pytest.approx(1.04), pytest.approx(3.92)]


def test_evaluation_counts_detections_latency_and_false_accepts() -> None:
    result = Evaluation(0.5)
    times = np.arange(0, 5, 0.08)
    hit = np.where(np.abs(times - 3.12) < 0.05, 0.9, 0.0)
    result.add(_embedded(0, (2.0, 3.0)), times, hit)
    result.add(Embedded(np.zeros((0, 96)), None, "talk", "x", 3600.0), times, hit)
    summary = result.summary()
    assert summary["detection_rate"] == 1.0 and summary["latency_p50_ms"] == 120
    assert summary["false_accepts_per_hour"] == 1.0
