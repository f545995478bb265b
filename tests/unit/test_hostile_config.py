"""Hostile and careless config and persona files (issue 15): each is refused with one clear line
naming the file and the field, fast, and a running daemon's persona watcher survives them."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from daemon.config import Settings, load_persona, load_settings, read_yaml
from daemon.errors import ConfigError
from daemon.safe_yaml import MAX_DEPTH, load_strict
from daemon.service import PersonaHolder

GOOD = "name: A\nlanguage: en\nsystem_prompt: hi\n"


def billion_laughs(levels: int = 9) -> str:
    """Nine levels of nine aliases each: 526 bytes that expand to 9**9 items."""
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    for i in range(1, levels):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]")
    return "\n".join(lines) + f"\nhotwords: *a{levels - 1}\n" + GOOD


# case -> (voiced.yaml, persona.yaml, file at fault, field, words in the reason)
CASES: dict[str, tuple[str, str, str, str, list[str]]] = {
    "billion laughs": ("", billion_laughs(), "persona.yaml", "", ["aliases", "not allowed"]),
    "one alias": ("", "base: &b hi\n" + GOOD + "greeting: *b\n", "persona.yaml", "",
                  ["aliases"]),
    "duplicate key": ("", "name: A\nname: B\nlanguage: en\nsystem_prompt: hi\n", "persona.yaml",
                      "", ["duplicate key 'name'", "line 2"]),
    "duplicate key in voiced.yaml": ("wake: {threshold: 0.5, threshold: 0.9}\n", GOOD,
                                     "voiced.yaml", "", ["duplicate key 'threshold'"]),
    "whitespace-only prompt": ("", "name: A\nlanguage: en\nsystem_prompt: '  \t '\n",
                               "persona.yaml", "system_prompt", ["only whitespace"]),
    "whitespace-only name": ("", "name: ' '\nlanguage: en\nsystem_prompt: hi\n",
                             "persona.yaml", "name", ["only whitespace"]),
    "prompt over 8000 chars": ("", f"name: A\nlanguage: en\nsystem_prompt: {'x' * 9000}\n",
                               "persona.yaml", "system_prompt", ["at most 8000"]),
    "file over 256 KiB": ("", GOOD + f"greeting: {'x' * 300_000}\n", "persona.yaml", "",
                          ["over 256 KiB"]),
    ".inf timeout": ("asr: {timeout_seconds: .inf}\n", GOOD, "voiced.yaml",
                     "asr.timeout_seconds", ["finite"]),
    ".nan timeout": ("tts: {timeout_seconds: .nan}\n", GOOD, "voiced.yaml",
                     "tts.timeout_seconds", ["finite"]),
    "1e308 timeout": ("llm: {timeouts: {total_seconds: 1.0e+308}}\n", GOOD, "voiced.yaml",
                      "llm.timeouts.total_seconds", ["less than or equal to 86400"]),
    "refractory .inf": ("wake: {refractory_seconds: .inf}\n", GOOD, "voiced.yaml",
                        "wake.refractory_seconds", ["finite"]),
    "output sample_rate 1": ("audio: {output: {sample_rate: 1}}\n", GOOD, "voiced.yaml",
                             "audio.output.sample_rate", ["greater than or equal to 8000"]),
    "input sample_rate 10 MHz": ("audio: {input: {sample_rate: 10000000}}\n", GOOD,
                                 "voiced.yaml", "audio.input.sample_rate", ["192000"]),
    "name with a newline": ("", 'name: "A\\nINFO daemon: forged"\nlanguage: en\n'
                            "system_prompt: hi\n", "persona.yaml", "name", ["one line"]),
    "name with an escape sequence": ("", 'name: "A\\e[2J"\nlanguage: en\nsystem_prompt: hi\n',
                                     "persona.yaml", "name", ["control characters"]),
    "nested 20,000 deep": ("", GOOD + "hotwords: " + "[" * 20_000 + "]" * 20_000 + "\n",
                           "persona.yaml", "", [f"more than {MAX_DEPTH} levels"]),
    "nested mappings 5,000 deep": ("x: " + "{a: " * 5000 + "1" + "}" * 5000 + "\n", GOOD,
                                   "voiced.yaml", "", [f"more than {MAX_DEPTH} levels"]),
    "not UTF-8": ("", "name: \xff\xfe\n", "persona.yaml", "", ["UTF-8"]),
    "persona is a folder": ("persona: folder\n", GOOD, "folder", "", ["folder"]),
    "wake.verify unknown": ("wake: {verify: maybe}\n", GOOD, "voiced.yaml", "wake.verify",
                            ["'off' or 'whisper'"]),
    "wake.verify_threshold > 0": ("wake: {verify_threshold: 0.5}\n", GOOD, "voiced.yaml",
                                  "wake.verify_threshold", ["less than or equal to 0"]),
}  # fmt: skip


def write(folder: Path, voiced: str, persona: str) -> Path:
    (folder / "voiced.yaml").write_text(voiced, encoding="utf-8")
    if "\xff" in persona:
        (folder / "persona.yaml").write_bytes(b"name: \xff\xfe\n")
    else:
        (folder / "persona.yaml").write_text(persona, encoding="utf-8")
    (folder / "folder").mkdir(exist_ok=True)
    return folder / "voiced.yaml"


@pytest.mark.parametrize("case", list(CASES))
def test_hostile_config_is_one_clear_error(tmp_path: Path, case: str) -> None:
    voiced, persona, culprit, field, words = CASES[case]
    started = time.monotonic()
    with pytest.raises(ConfigError) as info:
        load_settings(write(tmp_path, voiced, persona))
    assert time.monotonic() - started < 5  # generous: the billion laughs took 28 s and 1 GB
    err = info.value
    assert (err.file, err.field) == (str(tmp_path / culprit), field)
    for word in words:
        assert word in err.reason, err.reason
    assert "\n" not in str(err) and len(str(err)) < 600


def test_the_shipped_config_and_personas_still_load() -> None:
    root = Path(__file__).resolve().parents[2] / "config"
    load_settings(root / "voiced.yaml", [root / "profiles" / "zero-download.yaml"])
    for persona in [root / "persona.yaml", *sorted((root / "personas").glob("*.yaml"))]:
        load_persona(persona)


# --- random input: a clear error or a valid result, nothing else ------------------------------

yaml_values = st.recursive(
    st.none() | st.booleans() | st.floats() | st.integers() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                 max_size=4),
    max_leaves=20,
)  # fmt: skip
persona_like = st.fixed_dictionaries(
    {},
    optional={
        "name": yaml_values,
        "language": st.sampled_from(["en", "zh", "fr"]) | yaml_values,
        "system_prompt": yaml_values,
        "greeting": yaml_values,
        "voice": yaml_values,
        "memory": yaml_values,
        "follow_up_seconds": yaml_values,
    },
)
yaml_syntax = st.text(
    alphabet=st.sampled_from(list("ab: -[]{}&*!|>'\"#\n\t,.?%@`\\~0.9e+")), max_size=80
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(document=st.one_of(persona_like.map(yaml.safe_dump), yaml_syntax))
def test_random_yaml_is_a_persona_or_a_config_error(tmp_path_factory, document: str) -> None:
    path = tmp_path_factory.mktemp("random") / "persona.yaml"
    path.write_text(document, encoding="utf-8")
    try:
        load_persona(path)
    except ConfigError as err:
        assert str(path) in str(err) and "\n" not in str(err)


@settings(max_examples=100, deadline=None)
@given(document=yaml_syntax)
def test_strict_loader_raises_only_yaml_errors(document: str) -> None:
    with contextlib.suppress(yaml.YAMLError):
        load_strict(document)


def test_read_yaml_refuses_what_safe_load_accepts(tmp_path: Path) -> None:
    path = tmp_path / "x.yaml"
    path.write_text("a: &x 1\nb: *x\n")
    assert yaml.safe_load(path.read_text()) == {"a": 1, "b": 1}
    with pytest.raises(ConfigError, match="aliases"):
        read_yaml(path)


# --- the running daemon's persona watcher ------------------------------------------------------


def holder(tmp_path: Path) -> PersonaHolder:
    (tmp_path / "voiced.yaml").write_text("persona: persona.yaml\n")
    (tmp_path / "persona.yaml").write_text(GOOD)
    settings_: Settings = load_settings(tmp_path / "voiced.yaml")
    return PersonaHolder(settings_)


def touch_changed(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")
    stamp = time.time() + 5  # a new mtime even within the file system's resolution
    import os

    os.utime(path, (stamp, stamp))


@pytest.mark.parametrize("bad", ["billion laughs", "nested 20,000 deep", "duplicate key"])
def test_watcher_keeps_the_persona_and_picks_up_a_later_good_one(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, bad: str
) -> None:
    persona = holder(tmp_path)
    path = tmp_path / "persona.yaml"
    touch_changed(path, CASES[bad][1])
    persona.poll()
    assert persona().name == "A"
    assert "persona not reloaded, keeping 'A'" in caplog.text
    path.write_text(GOOD.replace("name: A", "name: Later"))
    persona.poll()
    assert persona().name == "Later"


def test_a_deleted_persona_is_reported_once_and_the_old_one_kept(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    persona = holder(tmp_path)
    path = tmp_path / "persona.yaml"
    path.unlink()
    for _ in range(3):
        persona.poll()
    assert persona().name == "A"
    assert caplog.text.count("is gone; keeping 'A'") == 1
    path.write_text(GOOD.replace("name: A", "name: Back"))
    persona.poll()
    assert persona().name == "Back"


def test_the_watcher_survives_a_loader_bug(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    persona = holder(tmp_path)

    def broken(path: Path) -> None:
        raise RecursionError("deep")

    monkeypatch.setattr("daemon.service.load_persona", broken)
    touch_changed(tmp_path / "persona.yaml", GOOD)

    async def watch_briefly() -> None:
        watcher = asyncio.create_task(persona.watch(interval=0.01))
        await asyncio.sleep(0.1)
        assert not watcher.done()
        watcher.cancel()

    asyncio.run(watch_briefly())
    assert "RecursionError" in caplog.text and persona().name == "A"
