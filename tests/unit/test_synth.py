"""Speech made on the box: espeak-ng voices and real recorded Mandarin (gcin-voice speaker 3).

Real audio throughout: espeak-ng runs, the gcin recordings are decoded. Speaker 5 is only ever
used here to show that it is refused without evaluation=True.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from daemon.synth.espeak import MANDARIN_VOICE, espeak_speech, espeak_voice
from daemon.synth.gcin import (
    GCIN_ROOT,
    PUNCTUATION_PAUSE,
    GcinError,
    GcinVoiceMissing,
    ReservedSpeaker,
    SyllableMissing,
    mandarin_speech,
    syllable_folder,
)

RATE = 16000


def silent_runs(samples: np.ndarray, min_seconds: float) -> list[tuple[int, int]]:
    """(start, length) of every run of exact zeros at least `min_seconds` long."""
    zero = np.concatenate([[False], samples == 0.0, [False]])
    edges = np.flatnonzero(np.diff(zero.astype(np.int8)))
    runs = [(int(a), int(b - a)) for a, b in zip(edges[::2], edges[1::2], strict=True)]
    return [(a, n) for a, n in runs if n >= min_seconds * RATE]


@pytest.mark.parametrize(
    ("asked", "variant", "voice"),
    [
        ("zh", None, MANDARIN_VOICE),
        ("cmn", None, MANDARIN_VOICE),
        ("zh-CN", None, MANDARIN_VOICE),
        ("cmn+f3", None, MANDARIN_VOICE + "+f3"),
        ("en", None, "en-us"),
        ("en-us", "klatt", "en-us+klatt"),
        ("en-gb+f3", None, "en-gb+f3"),
        ("en-gb+f3", "m2", "en-gb+m2"),
        ("cmn-latn-pinyin", None, MANDARIN_VOICE),
    ],
)
def test_voice_names_never_reach_plain_cmn(asked: str, variant: str | None, voice: str) -> None:
    assert espeak_voice(asked, variant) == voice


def test_espeak_speech_is_float_mono_at_the_asked_rate() -> None:
    speech = espeak_speech("what time is it", "en", sample_rate=RATE)
    assert speech.dtype == np.float32 and speech.ndim == 1
    assert 0.6 < len(speech) / RATE < 2.5
    assert 0.05 < float(np.abs(speech).max()) <= 1.0


def test_rate_and_word_gap_change_the_length() -> None:
    slow = espeak_speech("turn on the kitchen light", "en", rate=120)
    fast = espeak_speech("turn on the kitchen light", "en", rate=300)
    gapped = espeak_speech("turn on the kitchen light", "en", rate=300, word_gap=20)
    assert len(fast) < 0.7 * len(slow)
    assert len(gapped) > len(fast) + 0.2 * RATE  # four gaps, in units scaled by the rate


def test_pitch_and_variant_change_the_voice() -> None:
    base = espeak_speech("hello there", "en")
    assert not np.array_equal(base, espeak_speech("hello there", "en", pitch=80))
    assert not np.array_equal(base, espeak_speech("hello there", "en", variant="f3"))


def test_mandarin_is_spoken_by_the_pinyin_voice() -> None:
    """`zh` gives exactly what cmn-latn-pinyin gives."""
    by_language = espeak_speech("现在几点了", "zh")
    assert np.array_equal(by_language, espeak_speech("现在几点了", MANDARIN_VOICE))


def test_espeak_speech_at_another_rate() -> None:
    at_16k = espeak_speech("hello", "en", sample_rate=16000)
    at_48k = espeak_speech("hello", "en", sample_rate=48000)
    assert abs(len(at_48k) - 3 * len(at_16k)) <= 3


@pytest.mark.parametrize(
    ("bopomofo", "folder"),
    [
        ("ㄋㄧˇ", "ㄋㄧ3"),
        ("ㄇㄚ˙", "ㄇㄚ1"),
        ("˙ㄇㄚ", "ㄇㄚ1"),
        ("ㄅㄚ", "ㄅㄚ"),
        ("ㄦˊ", "ㄦ2"),
        ("ㄕˋ", "ㄕ4"),
    ],
)
def test_bopomofo_to_folder(bopomofo: str, folder: str) -> None:
    assert syllable_folder(bopomofo) == folder


def test_sentence_is_its_syllables_and_gaps() -> None:
    """Five syllables, four gaps of 50 ms, nothing before or after: the length adds up."""
    sentence = mandarin_speech("现在几点了", gap_seconds=0.05)
    singles = [mandarin_speech(ch) for ch in "现在几点了"]
    assert len(sentence) == sum(len(s) for s in singles) + 4 * round(0.05 * RATE)
    gaps = silent_runs(sentence, 0.049)
    assert [n for _, n in gaps] == [round(0.05 * RATE)] * 4
    assert sentence[0] != 0.0 and sentence[-1] != 0.0
    assert sentence.dtype == np.float32 and float(np.abs(sentence).max()) <= 1.0
    assert 1.0 < len(sentence) / RATE < 4.0  # real syllables last 0.2-0.6 s


def test_punctuation_is_a_longer_pause_and_digits_are_read() -> None:
    with_comma = mandarin_speech("你好，小智", gap_seconds=0.05)
    pauses = sorted(n for _, n in silent_runs(with_comma, 0.049))
    assert pauses[-1] == round((0.05 + PUNCTUATION_PAUSE) * RATE)
    assert np.array_equal(mandarin_speech("3点"), mandarin_speech("三点"))


def test_speaker_5_is_refused_unless_for_evaluation() -> None:
    with pytest.raises(ReservedSpeaker, match="evaluation"):
        mandarin_speech("你好", speaker=5)
    held_out = mandarin_speech("你好", speaker=5, evaluation=True)
    assert not np.array_equal(held_out, mandarin_speech("你好"))


def test_missing_package_and_syllable_say_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(GcinVoiceMissing, match="apt-get install gcin-voice"):
        mandarin_speech("你好", root=tmp_path / "nowhere")
    (tmp_path / "ㄋㄧ3").mkdir()
    with pytest.raises(SyllableMissing, match="ㄋㄧ3 by speaker 3"):
        mandarin_speech("你好", root=tmp_path)
    with pytest.raises(SyllableMissing, match="'hello'"):
        mandarin_speech("hello 你好")
    with pytest.raises(SyllableMissing, match="nothing to say"):
        mandarin_speech("，。")


def test_jitter_is_reproducible_from_the_seed() -> None:
    one = mandarin_speech("今天星期几", jitter=0.5, rng=np.random.default_rng(7))
    again = mandarin_speech("今天星期几", jitter=0.5, rng=np.random.default_rng(7))
    other = mandarin_speech("今天星期几", jitter=0.5, rng=np.random.default_rng(8))
    plain = mandarin_speech("今天星期几")
    assert np.array_equal(one, again)
    assert not np.array_equal(one, other) and not np.array_equal(one, plain)
    with pytest.raises(ValueError, match="rng"):
        mandarin_speech("你好", jitter=0.2)


@pytest.mark.skipif(not GCIN_ROOT.is_dir(), reason="gcin-voice not installed")
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(alphabet="你好现在几点了今天星期几号，。！？ abc123", max_size=12))
def test_any_text_gives_speech_or_a_clear_error(text: str) -> None:
    try:
        speech = mandarin_speech(text)
    except GcinError as exc:
        assert str(exc)
        return
    assert speech.dtype == np.float32 and speech.size > 0
    assert float(np.abs(speech).max()) <= 1.0


def test_an_unrecorded_neutral_tone_falls_back_to_another_tone(tmp_path: Path) -> None:
    """Speaker 3 did not record neutral 吗 (ㄇㄚ1): its first-tone ㄇㄚ is spoken instead."""
    assert not (GCIN_ROOT / "ㄇㄚ1" / "3.ogg").exists()
    assert np.array_equal(mandarin_speech("吗"), mandarin_speech("妈"))
    (tmp_path / "ㄇㄚ1").mkdir()
    with pytest.raises(SyllableMissing, match="ㄇㄚ1 by speaker 3"):
        mandarin_speech("吗", root=tmp_path)


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["--text", "现在几点了"], 0, ""),
        (["--text", "what time is it", "--voice", "en-us"], 0, ""),
        (["--text", "hello"], 65, "only say Chinese characters"),
        (["--text", "，。"], 65, "nothing to say"),
        (["--text", "你好", "--voice", "no-such-voice"], 69, "no voice 'no-such-voice'"),
    ],
)
def test_request_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], code: int, message: str
) -> None:
    from daemon.synth.__main__ import main

    out = tmp_path / "request.wav"
    assert main(["request", str(out), *args]) == code
    assert message in capsys.readouterr().err
    if code == 0:
        import soundfile as sf

        info = sf.info(str(out))
        assert (info.samplerate, info.channels, info.subtype) == (16000, 1, "PCM_16")
        assert info.duration > 2.0  # silence, wake phrase, pause, request, silence


def test_request_command_cannot_create(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from daemon.synth.__main__ import main

    assert main(["request", str(tmp_path / "no" / "such" / "r.wav"), "--text", "你好"]) == 73
    assert "cannot write" in capsys.readouterr().err
