"""SIGTERM in every state of a turn: the daemon exits 0 in under 5 s and leaves no children."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest

from tests.conftest import CONFIG
from tests.fixtures.audio import AudioBuilder
from tests.fixtures.live import LiveDaemon
from tests.fixtures.llm_server import LLMServer, Script

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]

# state to catch -> what the LLM server does so that the turn sits in that state
STATES = {
    "recording": Script("stream"),
    "thinking": Script("hang_on_connect"),  # a hung LLM
    "speaking": Script("slow_tokens", text="Hi. And then more", token_interval=20),
}


def children_of(pid: int) -> list[str]:
    found = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            text = status.read_text()
        except OSError:
            continue
        if f"\nPPid:\t{pid}\n" in text:
            found.append(text.splitlines()[0])
    return found


@pytest.mark.parametrize("state", STATES)
def test_sigterm_exits_cleanly(
    state: str, audio: AudioBuilder, models_dir: Path, tmp_path: Path
) -> None:
    clip = audio.concat(audio.request("tell me a story", tail=0.3), audio.silence(40))
    with LLMServer(default=STATES[state]) as server:
        profile = tmp_path / "llm.yaml"
        profile.write_text(
            "llm:\n  active: t\n  endpoints:\n    t:\n"
            f"      base_url: {server.base_url}\n      model: m\n"
            "  timeouts: {first_token_seconds: 30, total_seconds: 60}\n"
        )
        daemon = LiveDaemon(
            "--config",
            str(CONFIG),
            "--profile",
            "zero-download",
            "--profile",
            str(profile),
            "--input",
            str(clip),
            "--realtime",
            "--output",
            str(tmp_path / "out.wav"),
            "--log-level",
            "DEBUG",
        )
        try:
            daemon.wait_for(f"-> {state}", timeout=40)
            time.sleep(0.3)
            started = time.monotonic()
            daemon.proc.send_signal(signal.SIGTERM)
            assert daemon.proc.wait(timeout=5) == 0
            assert time.monotonic() - started < 5
            assert children_of(daemon.proc.pid) == []
        finally:
            daemon.stop()
