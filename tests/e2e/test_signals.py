"""The daemon as a live process: SIGHUP reloads the persona, SIGTERM stops it cleanly."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.fixtures.audio import AudioBuilder

pytestmark = pytest.mark.slow


class LiveDaemon:
    def __init__(self, *args: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "daemon", "run", *args],
            cwd=REPO,
            stderr=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            text=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.log: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.put(line)

    def wait_for(self, text: str, timeout: float = 30) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.1)
            except queue.Empty:
                continue
            self.log.append(line)
            if text in line:
                return line
        raise AssertionError(f"no {text!r} in {timeout} s; log so far:\n{''.join(self.log)}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


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
