"""The daemon as systemd runs it, on real (PulseAudio) devices, with the notify socket bound.

A private PulseAudio carries the sample request into the daemon's microphone and its reply out
of its speaker; the test plays systemd's part on NOTIFY_SOCKET and checks READY, STATUS and that
WATCHDOG pings follow the audio: they come while audio flows and stop when it stalls.
"""

from __future__ import annotations

import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from daemon.audio.frames import FRAME_SAMPLES
from daemon.config import WakeSettings
from daemon.wake.openwakeword import OpenWakeWord
from tests.fixtures.audio import PLAIN_VOICE, AudioBuilder, read
from tests.fixtures.live import LiveDaemon
from tests.fixtures.pulse import PacedWriter, Pulse, pulse_server

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]


@pytest.fixture(scope="module")
def pulse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pulse]:
    yield from pulse_server(tmp_path_factory)


class NotifySocket:
    """What systemd would receive: (monotonic time, message) for each datagram."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.sock.settimeout(0.2)
        self.messages: list[tuple[float, str]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        while not self._stop.is_set():
            try:
                data = self.sock.recv(4096)
            except TimeoutError:
                continue
            self.messages.append((time.monotonic(), data.decode()))

    def wait_for(self, text: str, timeout: float) -> float:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for at, message in list(self.messages):
                if text in message:
                    return at
            time.sleep(0.05)
        raise AssertionError(f"no {text!r} on the notify socket; got {self.messages}")

    def pings(self, start: float, end: float) -> int:
        return sum(1 for at, m in self.messages if start <= at <= end and "WATCHDOG=1" in m)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        self.sock.close()


def record_device(device: str, path: Path) -> subprocess.Popen[bytes]:
    out = path.open("wb")
    return subprocess.Popen(
        [
            "parec",
            f"--device={device}",
            "--rate=16000",
            "--channels=1",
            "--format=s16le",
            "--latency-msec=20",
        ],
        stdout=out,
        stderr=subprocess.DEVNULL,
    )


def wake_peak(raw: bytes, models_dir: Path) -> float:
    """The wake word's best score on what the microphone source delivered."""
    samples = np.frombuffer(raw[: len(raw) // 2 * 2], dtype=np.int16)
    detector = OpenWakeWord(WakeSettings(), models_dir)
    best = 0.0
    for i in range(0, len(samples) - FRAME_SAMPLES + 1, FRAME_SAMPLES):
        best = max([best, *detector.scores(samples[i : i + FRAME_SAMPLES]).values()])
    return best


def no_turn_diagnosis(daemon: LiveDaemon, mic_raw: Path, models_dir: Path) -> str:
    """Tells a daemon that missed the wake word from a microphone path that garbled it."""
    raw = mic_raw.read_bytes()
    return (
        f"{daemon.log_text()}\nthe mic source delivered {len(raw) / 32000:.1f} s, "
        f"{loud_seconds(raw):.1f} s of it loud, wake peak {wake_peak(raw, models_dir):.2f}"
    )


def loud_seconds(raw: bytes) -> float:
    samples = np.frombuffer(raw[: len(raw) // 2 * 2], dtype=np.int16).astype(np.float32)
    frames = samples[: len(samples) // 320 * 320].reshape(-1, 320)
    return float(np.sum(np.sqrt(np.mean(frames**2, axis=1)) > 300) * 0.02)


def test_turn_through_real_devices_with_ready_status_and_audio_fed_watchdog(
    pulse: Pulse, audio: AudioBuilder, models_dir: Path, tmp_path: Path
) -> None:
    notify = NotifySocket(tmp_path / "notify")
    writer = PacedWriter(pulse.fifo)
    writer.start()
    recorder = record_device(pulse.monitor, tmp_path / "speaker.raw")
    mic = record_device("mic", tmp_path / "mic.raw")  # what the daemon's microphone hears
    env = {"NOTIFY_SOCKET": str(notify.path), "WATCHDOG_USEC": "1000000"}  # ping every 0.5 s
    daemon = LiveDaemon("--profile", "zero-download", env=env)
    try:
        ready = notify.wait_for("READY=1", timeout=60)
        assert any("STATUS=loading models" in m for _, m in notify.messages)
        assert notify.messages[-1][0] >= ready
        request = read(audio.request("what time is it", voice=PLAIN_VOICE))
        writer.send(request)
        line = daemon.poll_for(" outcome=", timeout=30)
        if line is None and wake_peak((tmp_path / "mic.raw").read_bytes(), models_dir) < 0.5:
            # The microphone source itself did not carry the phrase: the test's audio path, not
            # the daemon, lost it, so say it again. A daemon that was given the phrase and made
            # no turn fails (CI once saw no turn in 30 s, with no way then to tell which).
            writer.send(request)
            line = daemon.poll_for(" outcome=", timeout=30)
        assert line is not None, no_turn_diagnosis(daemon, tmp_path / "mic.raw", models_dir)
        assert "outcome=ok" in line and "source=intent:time" in line, line
        time.sleep(2.5)  # the reply plays in real time
        fed = time.monotonic()
        assert notify.pings(fed - 2.0, fed) >= 3  # pings while audio is processed

        writer.stop()  # the microphone goes quiet: the pipe source delivers nothing
        stalled = time.monotonic()
        notify.wait_for("STATUS=microphone lost", timeout=10)
        time.sleep(2.0)
        assert notify.pings(stalled + 0.6, time.monotonic()) == 0

        started = time.monotonic()
        daemon.proc.send_signal(signal.SIGTERM)
        assert daemon.proc.wait(timeout=5) == 0
        assert time.monotonic() - started < 5
        assert any("STOPPING=1" in m for _, m in notify.messages)
    finally:
        daemon.stop()
        writer.stop()
        for rec in (recorder, mic):
            rec.terminate()
            rec.wait(timeout=5)
        notify.close()
    assert loud_seconds((tmp_path / "speaker.raw").read_bytes()) > 0.5  # the reply was heard
