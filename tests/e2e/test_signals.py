"""The daemon as a live process: SIGHUP reloads the persona, SIGTERM stops it cleanly."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from tests.fixtures.audio import AudioBuilder
from tests.fixtures.live import LiveDaemon

pytestmark = pytest.mark.slow


def test_sighup_reloads_the_persona_and_sigterm_exits_0(
    audio: AudioBuilder, models_dir: Path, tmp_path: Path
) -> None:
    (tmp_path / "voiced.yaml").write_text("persona: persona.yaml\n")  # defaults: zero-download
    persona = tmp_path / "persona.yaml"
    persona.write_text("name: First\nlanguage: en\nsystem_prompt: one\n")
    clip = audio.concat(audio.silence(30))
    daemon = LiveDaemon(
        "--config",
        str(tmp_path / "voiced.yaml"),
        "--input",
        str(clip),
        "--realtime",
        "--output",
        str(tmp_path / "o.wav"),
    )
    try:
        daemon.wait_for("listening")
        persona.write_text("name: Broken\nlanguage: fr\nsystem_prompt: two\n")
        daemon.proc.send_signal(signal.SIGHUP)
        line = daemon.wait_for("persona not reloaded")
        assert "language" in line and "First" in line
        persona.write_text("name: Second\nlanguage: en\nsystem_prompt: three\n")
        os.utime(persona, (time.time() + 5, time.time() + 5))
        daemon.proc.send_signal(signal.SIGHUP)
        daemon.wait_for("persona reloaded")
        started = time.monotonic()
        daemon.proc.send_signal(signal.SIGTERM)
        assert daemon.proc.wait(timeout=5) == 0
        assert time.monotonic() - started < 5
    finally:
        daemon.stop()
