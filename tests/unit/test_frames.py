"""Audio frames: exact-size reframing stamped with audio time, pre-roll, resampling, conversions."""

from __future__ import annotations

import numpy as np
import pytest

from daemon.audio.frames import (
    FRAME_SAMPLES,
    SAMPLE_RATE,
    AudioFrame,
    PreRoll,
    Reframer,
    float_to_int16,
    int16_to_float,
    resample,
    to_mono,
)


def ramp(count: int, start: int = 0) -> np.ndarray:
    return (np.arange(start, start + count) % 30000).astype(np.int16)


def frame(index: int, size: int = FRAME_SAMPLES) -> AudioFrame:
    return AudioFrame(np.full(size, index, dtype=np.int16), index * size / SAMPLE_RATE)


# --- Reframer ------------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [FRAME_SAMPLES, 512, 480])
@pytest.mark.parametrize(
    "blocks",
    [
        [1280] * 4,
        [1000, 1000, 1000, 1000, 1000],
        [1, 2, 3, 5, 7, 11, 13, 4000, 17, 1279, 1281],
        [441] * 20,  # a 44.1 kHz device's 10 ms, after resampling the count is odd
        [6000],
        [0, 700, 0, 700],
    ],
    ids=["exact", "1000s", "primes", "441s", "one-big", "empty-blocks"],
)
def test_reframer_exact_frames_and_start_times(size: int, blocks: list[int]) -> None:
    reframer = Reframer(size)
    total = sum(blocks)
    frames: list[AudioFrame] = []
    offset = 0
    for count in blocks:
        frames += list(reframer.push(ramp(count, offset)))
        offset += count
        # Everything whole is out as soon as it is complete.
        assert len(frames) == offset // size

    assert len(frames) == total // size
    for i, f in enumerate(frames):
        assert len(f.samples) == size
        assert f.samples.dtype == np.int16
        assert f.start == pytest.approx(i * size / SAMPLE_RATE, abs=1e-9)
        assert f.duration == pytest.approx(size / SAMPLE_RATE)
        assert f.end == pytest.approx((i + 1) * size / SAMPLE_RATE, abs=1e-9)
    # The samples come out unchanged and in order.
    if frames:
        np.testing.assert_array_equal(np.concatenate([f.samples for f in frames]),
                                      ramp(len(frames) * size))


def test_reframer_keeps_the_remainder_for_the_next_push() -> None:
    reframer = Reframer(1000)
    assert list(reframer.push(ramp(999))) == []
    (first,) = reframer.push(ramp(2, 999))
    np.testing.assert_array_equal(first.samples, ramp(1000))
    (second,) = reframer.push(ramp(999, 1001))
    np.testing.assert_array_equal(second.samples, ramp(1000, 1000))
    assert second.start == pytest.approx(1000 / SAMPLE_RATE)
    assert list(reframer.push(np.zeros(0, dtype=np.int16))) == []


def test_reframer_start_offset() -> None:
    frames = list(Reframer(FRAME_SAMPLES, start=10.0).push(ramp(3 * FRAME_SAMPLES)))
    assert [f.start for f in frames] == pytest.approx([10.0, 10.08, 10.16])


def test_reframer_start_times_do_not_drift() -> None:
    reframer = Reframer()
    frames: list[AudioFrame] = []
    for _ in range(3600):  # an hour of audio in 1 s blocks
        frames += reframer.push(np.zeros(SAMPLE_RATE, dtype=np.int16))
    assert len(frames) == 3600 * SAMPLE_RATE // FRAME_SAMPLES
    assert frames[-1].end == pytest.approx(3600.0, abs=1e-6)


def test_reframer_frames_do_not_share_later_writes() -> None:
    reframer = Reframer(4)
    block = ramp(8)
    frames = list(reframer.push(block))
    block[:] = -1
    np.testing.assert_array_equal(frames[0].samples, [0, 1, 2, 3])


# --- PreRoll -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("seconds", "kept"),
    [(0.3, 4), (1.0, 12), (0.08, 1), (0.0, 1), (0.5, 6)],  # round(seconds / 0.08), at least 1
)
def test_preroll_keeps_at_most_its_length(seconds: float, kept: int) -> None:
    preroll = PreRoll(seconds)
    for i in range(50):
        preroll.append(frame(i))
    frames = preroll.tail(100.0)
    assert len(frames) == kept
    assert [int(f.samples[0]) for f in frames] == list(range(50 - kept, 50))


@pytest.mark.parametrize(
    ("seconds", "count"),
    [(0.0, 0), (0.01, 1), (0.08, 1), (0.081, 2), (0.3, 4), (0.5, 7), (0.8, 10), (5.0, 12)],
)
def test_preroll_tail_returns_the_most_recent_frames(seconds: float, count: int) -> None:
    preroll = PreRoll(1.0)  # 12 frames
    for i in range(30):
        preroll.append(frame(i))
    tail = preroll.tail(seconds)
    assert [int(f.samples[0]) for f in tail] == list(range(30 - count, 30))
    if tail:
        assert sum(f.duration for f in tail) >= min(seconds, 12 * 0.08) - 1e-9
        assert [f.start for f in tail] == sorted(f.start for f in tail)


def test_preroll_with_fewer_frames_than_asked() -> None:
    preroll = PreRoll(1.0)
    assert preroll.tail(0.5) == []
    preroll.append(frame(0))
    preroll.append(frame(1))
    assert [int(f.samples[0]) for f in preroll.tail(0.5)] == [0, 1]
    preroll.clear()
    assert preroll.tail(0.5) == []


# --- resampling and conversions ------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.int16, np.float32])
@pytest.mark.parametrize(("count", "expected"), [(22050, 16000), (2205, 1600), (1001, 726)])
def test_resample_22050_to_16000(dtype: type, count: int, expected: int) -> None:
    t = np.arange(count) / 22050
    wave = np.sin(2 * np.pi * 440 * t) * 0.5
    samples = (wave * 32767).astype(np.int16) if dtype is np.int16 else wave.astype(np.float32)
    out = resample(samples, 22050, 16000)
    assert out.dtype == dtype
    assert out.ndim == 1
    assert len(out) == expected  # round(count * 16000 / 22050)
    # Still a 440 Hz tone of the same loudness.
    peak = np.abs(out.astype(np.float64)).max() / np.abs(samples.astype(np.float64)).max()
    assert 0.9 < peak < 1.1
    if count >= 2205:
        spectrum = np.abs(np.fft.rfft(out.astype(np.float64)))
        assert np.fft.rfftfreq(len(out), 1 / 16000)[spectrum.argmax()] == pytest.approx(440, abs=10)


def test_resample_same_rate_and_empty_pass_through() -> None:
    samples = ramp(100)
    assert resample(samples, 16000, 16000) is samples
    empty = np.zeros(0, dtype=np.float32)
    assert len(resample(empty, 22050, 16000)) == 0


def test_int16_to_float_range_and_dtype() -> None:
    x = np.array([-32768, -16384, 0, 16384, 32767], dtype=np.int16)
    f = int16_to_float(x)
    assert f.dtype == np.float32
    np.testing.assert_allclose(f, [-1.0, -0.5, 0.0, 0.5, 32767 / 32768])


def test_float_to_int16_clips() -> None:
    out = float_to_int16(np.array([-2.0, -1.0, 0.0, 1.0, 3.0], dtype=np.float32))
    assert out.dtype == np.int16
    assert out.tolist() == [-32768, -32768, 0, 32767, 32767]


def test_int16_float_round_trip_within_one_step() -> None:
    x = np.arange(-32768, 32768, 7, dtype=np.int16)
    back = float_to_int16(int16_to_float(x))
    assert back.dtype == np.int16
    assert np.abs(back.astype(np.int32) - x.astype(np.int32)).max() <= 1


def test_int16_float_round_trip_is_exact() -> None:
    x = np.array([-32768, -1000, -1, 0, 1, 1000, 32767], dtype=np.int16)
    np.testing.assert_array_equal(float_to_int16(int16_to_float(x)), x)


def test_float_int16_round_trip() -> None:
    f = np.linspace(-1, 1, 1001, dtype=np.float32)
    back = int16_to_float(float_to_int16(f))
    np.testing.assert_allclose(back, f, atol=2 / 32768)


def test_to_mono() -> None:
    stereo = np.array([[100, 300], [-100, -300]], dtype=np.int16)
    mono = to_mono(stereo)
    assert mono.dtype == np.int16
    assert mono.tolist() == [200, -200]
    flat = ramp(5)
    assert to_mono(flat) is flat
