"""Two stop signals close together (issue 15): the process exits 0 (the first signal's clean stop
finished) or 1 (the second signal's forced exit), never by the signal itself."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest

from tests.fixtures.audio import AudioBuilder
from tests.fixtures.live import LiveDaemon

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("gap", [0.0, 0.05, 0.2, 0.5])
def test_two_sigterms_take_the_documented_exit(
    audio: AudioBuilder, models_dir: Path, tmp_path: Path, gap: float
) -> None:
    daemon = LiveDaemon(
        "--config", "config/voiced.yaml", "--profile", "zero-download",
        "--input", str(audio.silence(30)), "--realtime", "--output", str(tmp_path / "o.wav"),
    )  # fmt: skip
    try:
        daemon.wait_for("listening for")
        started = time.monotonic()
        daemon.proc.send_signal(signal.SIGTERM)
        time.sleep(gap)
        if daemon.proc.poll() is None:
            daemon.proc.send_signal(signal.SIGTERM)
        code = daemon.proc.wait(timeout=10)
        assert code in (0, 1), f"exit {code}: died by a signal"
        assert time.monotonic() - started < 5
    finally:
        daemon.stop()
