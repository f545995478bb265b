"""Configuration errors name the file, the dotted field and the reason; the CLI exits 78."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from daemon.config import deep_merge, load_persona, load_settings
from daemon.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]
CONFIG = REPO / "config"
SHIPPED_PERSONA = (CONFIG / "persona.yaml").read_text(encoding="utf-8")
GOOD_PERSONA = "name: J\nlanguage: en\nsystem_prompt: Be brief.\n"
ENDPOINTS = "  endpoints:\n    local:\n      base_url: http://127.0.0.1:8000/v1\n      model: m\n"

# id, voiced.yaml, persona.yaml (None: the shipped one), file at fault, field, words in the reason
BAD = [
    ("unknown-top-level", "colour: blue\n", None, "voiced.yaml", "colour", ["unknown setting"]),
    ("typo-nested", "wake:\n  treshold: 0.5\n", None, "voiced.yaml", "wake.treshold",
     ["unknown setting"]),
    ("typo-deep", "llm:\n  timeouts:\n    conect_seconds: 3\n", None, "voiced.yaml",
     "llm.timeouts.conect_seconds", ["unknown setting"]),
    ("wrong-type", "endpoint:\n  silence_seconds: abc\n", None, "voiced.yaml",
     "endpoint.silence_seconds", ["number", "'abc'"]),
    ("out-of-range", "wake:\n  threshold: 1.5\n", None, "voiced.yaml", "wake.threshold",
     ["less than 1", "1.5"]),
    ("negative-seconds", "endpoint:\n  max_utterance_seconds: -1\n", None, "voiced.yaml",
     "endpoint.max_utterance_seconds", ["greater than 0"]),
    ("bad-choice", "log_level: verbose\n", None, "voiced.yaml", "log_level", ["'verbose'"]),
    ("bad-backend", "asr:\n  backend: vosk\n", None, "voiced.yaml", "asr.backend",
     ["'vosk'"]),
    ("bad-endpoint-mode", "endpoint:\n  mode: psychic\n", None, "voiced.yaml",
     "endpoint.mode", ["'psychic'", "smart-turn"]),
    ("judge-threshold-above-1", "endpoint:\n  complete_threshold: 2\n", None, "voiced.yaml",
     "endpoint.complete_threshold", ["less than or equal to 1"]),
    ("section-not-mapping", "audio: 5\n", None, "voiced.yaml", "audio", ["dictionary"]),
    ("endpoint-without-model",
     "llm:\n  endpoints:\n    local:\n      base_url: http://x/v1\n", None, "voiced.yaml",
     "llm.endpoints.local.model", ["required"]),
    pytest.param(
        "active-missing-endpoint", "llm:\n  active: nope\n" + ENDPOINTS, None, "voiced.yaml",
        "llm.active", ["'nope'", "local"],
        id="active-missing-endpoint",
    ),
    ("yaml-syntax", "wake:\n  threshold: 0.5\n model: [x\n", None, "voiced.yaml", "",
     ["not valid YAML", "line 3"]),
    ("yaml-tab", "wake:\n\tthreshold: 0.5\n", None, "voiced.yaml", "", ["not valid YAML",
                                                                         "line 2"]),
    ("top-level-list", "- wake\n- vad\n", None, "voiced.yaml", "", ["mapping", "list"]),
    ("top-level-scalar", "just words\n", None, "voiced.yaml", "", ["mapping", "str"]),
    ("missing-persona-file", "persona: missing.yaml\n", None, "missing.yaml", "",
     ["not found"]),
    ("persona-without-system-prompt", "", "name: J\nlanguage: en\n", "persona.yaml",
     "system_prompt", ["required"]),
    ("persona-empty-system-prompt", "", "name: J\nlanguage: en\nsystem_prompt: ''\n",
     "persona.yaml", "system_prompt", ["at least 1"]),
    ("persona-language-fr", "", "name: J\nlanguage: fr\nsystem_prompt: x\n", "persona.yaml",
     "language", ["'en'", "'zh'", "'fr'"]),
    ("persona-typo", "", GOOD_PERSONA + "voice:\n  espek: en\n", "persona.yaml",
     "voice.espek", ["unknown setting"]),
    ("persona-temperature", "", GOOD_PERSONA + "llm:\n  temperature: 5\n", "persona.yaml",
     "llm.temperature", ["less than or equal to 2"]),
    ("persona-yaml-syntax", "", "name: [J\n", "persona.yaml", "", ["not valid YAML", "line"]),
    ("persona-list", "", "- name\n", "persona.yaml", "", ["mapping"]),
]


def _param(case: object) -> object:
    if type(case) is tuple:  # a pytest.param is a tuple too, but not exactly one
        return pytest.param(*case, id=case[0])
    return case


def write(folder: Path, voiced: str, persona: str | None) -> Path:
    (folder / "voiced.yaml").write_text(voiced, encoding="utf-8")
    (folder / "persona.yaml").write_text(
        SHIPPED_PERSONA if persona is None else persona, encoding="utf-8"
    )
    return folder / "voiced.yaml"


@pytest.mark.parametrize(
    ("name", "voiced", "persona", "culprit", "field", "words"), [_param(c) for c in BAD]
)
def test_bad_config(
    tmp_path: Path,
    name: str,
    voiced: str,
    persona: str | None,
    culprit: str,
    field: str,
    words: list[str],
) -> None:
    config = write(tmp_path, voiced, persona)
    with pytest.raises(ConfigError) as info:
        load_settings(config)
    err = info.value
    assert (err.file, err.field) == (str(tmp_path / culprit), field)
    for word in words:
        assert word in err.reason
    assert str(err) == (f"{err.file}: {field}: {err.reason}" if field else
                        f"{err.file}: {err.reason}")


def test_active_missing_endpoint_names_file_and_endpoint(tmp_path: Path) -> None:
    config = write(tmp_path, "llm:\n  active: nope\n" + ENDPOINTS, None)
    with pytest.raises(ConfigError) as info:
        load_settings(config)
    assert info.value.file == str(config)
    assert info.value.field.startswith("llm")
    assert "'nope'" in info.value.reason
    assert "local" in info.value.reason


def test_active_naming_a_defined_endpoint_is_fine(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, "llm:\n  active: local\n" + ENDPOINTS, None))
    endpoint = settings.daemon.llm.endpoint()
    assert endpoint is not None
    assert endpoint.model == "m"


def test_empty_config_gives_defaults(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, "", None))
    assert settings.daemon.endpoint.silence_seconds == 0.6
    assert settings.daemon.llm.endpoint() is None
    assert settings.persona_path == tmp_path / "persona.yaml"


# --- profiles ------------------------------------------------------------------------------------


def test_profile_bad_field_names_the_profile(tmp_path: Path) -> None:
    config = write(tmp_path, (CONFIG / "voiced.yaml").read_text(encoding="utf-8"), None)
    profile = tmp_path / "profiles" / "bad.yaml"
    profile.parent.mkdir()
    profile.write_text("wake:\n  threshold: 2\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_settings(config, [profile])
    assert (info.value.file, info.value.field) == (str(profile), "wake.threshold")


@pytest.mark.parametrize(
    ("profile_text", "field", "words"),
    [
        ("vad:\n  treshold: 0.4\n", "vad.treshold", ["unknown setting"]),
        ("wake: [1]\n", "wake", ["dictionary"]),
        ("vad:\n  threshold: 0.4\n bad: [\n", "", ["not valid YAML", "line 3"]),
        ("- a\n", "", ["mapping"]),
    ],
)
def test_profile_errors_name_the_profile(
    tmp_path: Path, profile_text: str, field: str, words: list[str]
) -> None:
    config = write(tmp_path, "", None)
    profile = tmp_path / "p.yaml"
    profile.write_text(profile_text, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_settings(config, [profile])
    assert (info.value.file, info.value.field) == (str(profile), field)
    for word in words:
        assert word in info.value.reason


def test_base_bad_field_names_the_base_even_with_a_profile(tmp_path: Path) -> None:
    config = write(tmp_path, "wake:\n  threshold: 2\n", None)
    profile = tmp_path / "p.yaml"
    profile.write_text("wake:\n  model: alexa\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_settings(config, [profile])
    assert (info.value.file, info.value.field) == (str(config), "wake.threshold")


def test_profile_fixes_what_the_base_got_wrong(tmp_path: Path) -> None:
    config = write(tmp_path, "wake:\n  threshold: 2\n", None)
    profile = tmp_path / "p.yaml"
    profile.write_text("wake:\n  threshold: 0.7\n", encoding="utf-8")
    assert load_settings(config, [profile]).daemon.wake.threshold == 0.7


def test_base_bad_active_with_a_profile_touching_llm_names_the_base(tmp_path: Path) -> None:
    config = write(tmp_path, "llm:\n  active: nope\n", None)
    profile = tmp_path / "p.yaml"
    profile.write_text("llm:\n  timeouts:\n    connect_seconds: 1\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_settings(config, [profile])
    assert info.value.file == str(config)


def test_profiles_overlay_in_order_and_errors_name_the_one_that_set_the_field(
    tmp_path: Path,
) -> None:
    config = write(tmp_path, "wake:\n  threshold: 0.5\n", None)
    first, second = tmp_path / "first.yaml", tmp_path / "second.yaml"
    first.write_text("wake:\n  threshold: 0.6\n  model: alexa\n", encoding="utf-8")
    second.write_text("wake:\n  threshold: 0.7\n", encoding="utf-8")
    wake = load_settings(config, [first, second]).daemon.wake
    assert (wake.threshold, wake.model) == (0.7, "alexa")

    first.write_text("wake:\n  threshold: 5\n", encoding="utf-8")
    assert load_settings(config, [first, second]).daemon.wake.threshold == 0.7
    with pytest.raises(ConfigError) as info:
        load_settings(config, [second, first])
    assert (info.value.file, info.value.field) == (str(first), "wake.threshold")


def test_profile_persona_is_relative_to_the_profile(tmp_path: Path) -> None:
    config = write(tmp_path, "", None)
    profile = tmp_path / "profiles" / "zh.yaml"
    profile.parent.mkdir()
    profile.write_text("persona: zh-persona.yaml\n", encoding="utf-8")
    (profile.parent / "zh-persona.yaml").write_text(
        "name: 小智\nlanguage: zh\nsystem_prompt: 简短。\n", encoding="utf-8"
    )
    settings = load_settings(config, [profile])
    assert settings.persona_path == profile.parent / "zh-persona.yaml"
    assert settings.persona.language == "zh"


# --- what ships ----------------------------------------------------------------------------------


def test_shipped_config_with_zero_download_profile_loads() -> None:
    settings = load_settings(CONFIG / "voiced.yaml", [CONFIG / "profiles" / "zero-download.yaml"])
    daemon = settings.daemon
    assert settings.persona_path.resolve().is_relative_to(CONFIG)
    assert settings.persona.name
    assert settings.persona.language == "en"
    assert (daemon.wake.backend, daemon.wake.model) == ("openwakeword", "hey_jarvis")
    assert (daemon.vad.backend, daemon.asr.backend, daemon.tts.backend) == (
        "silero", "whisper", "espeak",
    )
    # Whisper base from its PyPI wheels, int8, told the persona's language (English here).
    whisper = daemon.asr.whisper
    assert (whisper.model, whisper.compute_type, whisper.language) == ("base", "int8", "persona")
    assert daemon.llm.active is None
    assert daemon.llm.endpoint() is None
    assert {"local", "openai"} <= set(daemon.llm.endpoints)
    assert daemon.endpoint.silence_seconds == 0.6


def test_shipped_config_alone_loads() -> None:
    settings = load_settings(CONFIG / "voiced.yaml")
    assert settings.persona_path == CONFIG / "persona.yaml"
    assert settings.persona.system_prompt


@pytest.mark.parametrize(
    "path",
    [CONFIG / "persona.yaml", *sorted((CONFIG / "personas").glob("*.yaml"))],
    ids=lambda p: p.relative_to(CONFIG).as_posix(),
)
def test_shipped_personas_load(path: Path) -> None:
    assert load_persona(path).system_prompt


def test_shipped_config_in_a_copy(tmp_path: Path) -> None:
    shutil.copytree(CONFIG, tmp_path / "config")
    settings = load_settings(tmp_path / "config" / "voiced.yaml")
    assert settings.persona_path == tmp_path / "config" / "persona.yaml"


# --- deep_merge ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("base", "overlay", "merged"),
    [
        ({"a": 1}, {}, {"a": 1}),
        ({}, {"a": 1}, {"a": 1}),
        ({"a": 1, "b": 2}, {"b": 3}, {"a": 1, "b": 3}),
        ({"w": {"x": 1, "y": 2}}, {"w": {"y": 3}}, {"w": {"x": 1, "y": 3}}),
        ({"w": {"x": {"p": 1, "q": 2}}}, {"w": {"x": {"q": 9}}}, {"w": {"x": {"p": 1, "q": 9}}}),
        ({"l": [1, 2]}, {"l": [3]}, {"l": [3]}),  # lists are replaced, not appended
        ({"w": {"x": 1}}, {"w": 5}, {"w": 5}),  # a scalar replaces a mapping
        ({"w": 5}, {"w": {"x": 1}}, {"w": {"x": 1}}),  # and a mapping a scalar
        ({"active": "local"}, {"active": None}, {"active": None}),  # null overrides
        ({"w": {"x": 1}}, {"w": {}}, {"w": {"x": 1}}),  # an empty mapping changes nothing
    ],
)
def test_deep_merge(base: dict, overlay: dict, merged: dict) -> None:
    assert deep_merge(base, overlay) == merged


def test_deep_merge_does_not_mutate_its_inputs() -> None:
    base = {"w": {"x": 1}, "k": [1]}
    overlay = {"w": {"y": 2}, "k": [2]}
    deep_merge(base, overlay)
    assert base == {"w": {"x": 1}, "k": [1]}
    assert overlay == {"w": {"y": 2}, "k": [2]}


# --- through the CLI -----------------------------------------------------------------------------


def voiced(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "VOICED_CONFIG"}
    return subprocess.run(
        [sys.executable, "-m", "daemon", *args],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=60, check=False,
    )


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("wake:\n  treshold: 0.5\n", "wake.treshold: unknown setting"),
        ("endpoint:\n  silence_seconds: abc\n", "endpoint.silence_seconds: Input should be"),
        ("wake:\n  threshold: 0.5\n model: [x\n", "not valid YAML: line 3"),
    ],
    ids=["typo", "wrong-type", "yaml-syntax"],
)
def test_cli_check_bad_config_exits_78(tmp_path: Path, text: str, where: str) -> None:
    config = write(tmp_path, text, None)
    result = voiced("check", "--config", str(config), cwd=tmp_path)
    assert result.returncode == 78, result.stderr
    assert f"voiced: configuration error: {config}: {where}" in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


def test_cli_check_bad_profile_exits_78(tmp_path: Path) -> None:
    config = write(tmp_path, "", None)
    (tmp_path / "profiles").mkdir()
    profile = tmp_path / "profiles" / "loud.yaml"
    profile.write_text("tts:\n  espeak:\n    rate_wpm: 9000\n", encoding="utf-8")
    result = voiced("check", "--config", str(config), "--profile", "loud", cwd=tmp_path)
    assert result.returncode == 78, result.stderr
    assert f"{profile}: tts.espeak.rate_wpm" in result.stderr


def test_cli_check_missing_config_exits_78(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    result = voiced("check", "--config", str(missing), cwd=tmp_path)
    assert result.returncode == 78, result.stderr
    assert f"{missing}: file not found" in result.stderr


@pytest.mark.slow
def test_cli_check_shipped_config_exits_0() -> None:
    result = voiced(
        "check", "--config", str(CONFIG / "voiced.yaml"), "--profile", "zero-download", cwd=REPO
    )
    assert result.returncode == 0, result.stderr
    assert "config ok:" in result.stdout
    assert "models ok:" in result.stdout
    assert "llm: none configured" in result.stdout
