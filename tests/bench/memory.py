"""Memory: RSS of the listening daemon, and what each component adds.

- daemon: `voiced run --profile zero-download --input <silence> --realtime` as a subprocess, its
  VmRSS read from /proc while it listens (peak and settled), and the shared libraries it maps
  (OpenBLAS copies counted);
- components: a fresh interpreter that imports and loads the pieces one at a time, RSS read from
  /proc after each step (each row is what that step added on top of the rows above it);
- alone: each heavy import in its own interpreter (what it costs with nothing else loaded).

Target: <= 250 MB for the zero-download profile.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO

import numpy as np
import soundfile as sf

from tests.fixtures.audio import AudioBuilder

REPO = Path(__file__).resolve().parents[2]
TARGET_MB = 250
INPUT_SECONDS = 240.0  # longer than any start-up: the daemon is stopped once measured
START_TIMEOUT = 180.0
SETTLE_SECONDS = 8.0

# Each step is Python run in the same child process, in this order.
STEPS: list[tuple[str, str]] = [
    ("interpreter", "pass"),
    ("numpy", "import numpy"),
    ("daemon config + cli", "import daemon.cli, daemon.config"),
    ("onnxruntime", "import onnxruntime"),
    (
        "silero vad",
        "from daemon.vad import make_vad; from daemon.config import VadSettings, "
        "default_models_dir as d; v = make_vad(VadSettings(), d()); "
        "v.probability(numpy.zeros(512, 'int16'))",
    ),
    (
        "smart turn (+1 inference)",
        "from daemon.vad.judge import make_judge; "
        "from daemon.config import default_models_dir as d; j = make_judge(d()); "
        "j.probability(numpy.zeros(16000, 'float32'))",
    ),
    ("openwakeword import (scipy, sklearn)", "import openwakeword.model"),
    (
        "wake detector (hey_jarvis)",
        "from daemon.wake import make_wake_detector; "
        "from daemon.config import WakeSettings, default_models_dir as d; "
        "w = make_wake_detector(WakeSettings(), d())",
    ),
    ("pocketsphinx import", "import pocketsphinx"),
    (
        "pocketsphinx decoder",
        "from daemon.asr.pocketsphinx import PocketsphinxTranscriber; "
        "from daemon.config import PocketsphinxSettings; "
        "s = PocketsphinxTranscriber(PocketsphinxSettings()).start(); "
        "s.feed(numpy.zeros(1280, 'int16'))",
    ),
    ("service + turn machine", "import daemon.service, daemon.turn.machine"),
    (
        "malloc_trim after start-up",
        "from daemon.host.memory import release_free_memory; release_free_memory()",
    ),
]
ALONE = ["numpy", "onnxruntime", "scipy", "sklearn", "openwakeword.model", "pocketsphinx"]

_RSS = "int(open('/proc/self/status').read().split('VmRSS:')[1].split()[0])"
_HWM = "int(open('/proc/self/status').read().split('VmHWM:')[1].split()[0])"


def _child_script(steps: list[tuple[str, str]]) -> str:
    lines = ["import json, sys, gc"]
    for name, code in steps:
        lines.append(f"{code}")
        lines.append(f"gc.collect(); print(json.dumps([{name!r}, {_RSS}, {_HWM}]), flush=True)")
    return "\n".join(lines)


def _run_child(script: str) -> list[tuple[str, int, int]]:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, cwd=REPO
    )
    if out.returncode != 0:
        raise RuntimeError(out.stderr.strip()[-800:])
    return [tuple(json.loads(line)) for line in out.stdout.splitlines() if line.startswith("[")]


def components() -> dict[str, object]:
    """RSS added by each step, cumulative in one process, and the peak so far (MB)."""
    rows = _run_child(_child_script(STEPS))
    added, peak, before = {}, {}, 0
    for name, kb, hwm in rows:
        added[name] = round((kb - before) / 1024, 1)
        peak[name] = round(hwm / 1024, 1)
        before = kb
    return {"added_mb": added, "peak_so_far_mb": peak, "total_mb": round(before / 1024, 1)}


def alone() -> dict[str, float]:
    """RSS added by one import over the bare interpreter, each in a fresh process (MB)."""
    result = {}
    for module in ALONE:
        rows = _run_child(_child_script([("base", "pass"), (module, f"import {module}")]))
        result[module] = round((rows[1][1] - rows[0][1]) / 1024, 1)
    return result


def _rss_kb(pid: int) -> int:
    text = Path(f"/proc/{pid}/status").read_text()
    match = re.search(r"VmRSS:\s+(\d+)", text)
    return int(match.group(1)) if match else 0


def _mapped_libraries(pid: int) -> list[str]:
    names = set()
    for line in Path(f"/proc/{pid}/maps").read_text().splitlines():
        path = line.split()[-1] if len(line.split()) >= 6 else ""
        if ".so" in path:
            names.add(path)
    return sorted(names)


def _wait_for_line(
    stream: IO[bytes], needle: bytes, seen: threading.Event, tail: list[bytes]
) -> None:
    for line in stream:
        tail[:] = [*tail[-20:], line]
        if needle in line:
            seen.set()


def daemon(profile: str, folder: Path, repo: Path = REPO) -> dict[str, object]:
    """The real daemon (of the checkout `repo`) listening to silence in real time: RSS sampled
    from /proc for SETTLE_SECONDS once it logs that it is listening."""
    silence = folder / "memory-silence.wav"
    sf.write(str(silence), np.zeros(int(INPUT_SECONDS * 16000), dtype=np.int16), 16000)
    cmd = [
        sys.executable, "-m", "daemon", "run", "--profile", profile, "--log-level", "INFO",
        "--input", str(silence), "--realtime", "--output", str(folder / "memory-out.wav"),
    ]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(repo)}
    proc = subprocess.Popen(
        cmd, cwd=repo, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    listening, tail = threading.Event(), []
    assert proc.stderr is not None
    reader = threading.Thread(
        target=_wait_for_line, args=(proc.stderr, b"listening for", listening, tail), daemon=True
    )
    reader.start()
    started = time.monotonic()
    samples: list[int] = []
    libraries: list[str] = []
    try:
        if not listening.wait(START_TIMEOUT):
            raise RuntimeError(f"the daemon never listened: {b''.join(tail).decode()[-800:]}")
        ready_after = time.monotonic() - started
        until = time.monotonic() + SETTLE_SECONDS
        while proc.poll() is None and time.monotonic() < until:
            samples.append(_rss_kb(proc.pid))
            libraries = _mapped_libraries(proc.pid)
            time.sleep(0.25)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    if not samples:
        raise RuntimeError(f"the daemon stopped: {b''.join(tail).decode()[-800:]}")
    blas = [lib for lib in libraries if "openblas" in lib.lower()]
    return {
        "listening_mb": round(max(samples) / 1024, 1),
        "start_seconds": round(ready_after, 1),
        "shared_libraries": len(libraries),
        "openblas_copies": [Path(lib).name for lib in blas],
    }


def run(audio: AudioBuilder) -> dict[str, object]:
    """`VOICED_MEMORY_BASELINE=<another checkout>` also measures that one (before/after)."""
    listening = daemon("zero-download", audio.folder)
    baseline = os.environ.get("VOICED_MEMORY_BASELINE")
    before = daemon("zero-download", audio.folder, Path(baseline)) if baseline else None
    return {
        "target_mb_zero_download": TARGET_MB,
        "zero-download": listening,
        "zero-download_baseline": {"checkout": baseline, **before} if before else None,
        "meets_target": float(listening["listening_mb"]) <= TARGET_MB,  # type: ignore[arg-type]
        "components": components(),
        "alone_mb": alone(),
    }
