"""Shared fixtures: synthesized test audio, the packaged models, the daemon as a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from daemon.config import default_models_dir
from daemon.models.packaged import PACKAGED_ASSETS, is_complete
from daemon.models.whisper import PACKAGED_BASE, packaged_is_complete
from tests.fixtures.audio import AudioBuilder

REPO = Path(__file__).resolve().parent.parent
CONFIG = REPO / "config" / "voiced.yaml"


@pytest.fixture(scope="session", autouse=True)
def private_state(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Turn logs and other state of daemons run by the tests stay out of the real home."""
    state = tmp_path_factory.mktemp("state")
    saved = os.environ.get("XDG_STATE_HOME")
    os.environ["XDG_STATE_HOME"] = str(state)
    yield
    if saved is None:
        os.environ.pop("XDG_STATE_HOME", None)
    else:
        os.environ["XDG_STATE_HOME"] = saved


@pytest.fixture(scope="session")
def audio(tmp_path_factory: pytest.TempPathFactory) -> AudioBuilder:
    return AudioBuilder(tmp_path_factory.mktemp("audio"))


@pytest.fixture(scope="session")
def models_dir() -> Path:
    """The packaged models, fetched by scripts/setup (`voiced models fetch`)."""
    folder = default_models_dir()
    missing = [a.package for a in PACKAGED_ASSETS if not is_complete(a, folder)]
    if not packaged_is_complete(PACKAGED_BASE, folder):  # the zero-download profiles' ASR
        missing.append("Whisper base")
    if missing:
        pytest.fail(f"models missing in {folder} ({', '.join(missing)}): run `voiced models fetch`")
    return folder


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str

    def turn_lines(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if " outcome=" in line]


def run_voiced(*args: str, timeout: float = 120, env: dict[str, str] | None = None) -> Run:
    """The real entry point, as a subprocess, as systemd or a person would run it."""
    done = subprocess.run(
        [sys.executable, "-m", "daemon", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
        check=False,
    )
    return Run(done.returncode, done.stdout, done.stderr)
