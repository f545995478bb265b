"""Memory: RSS of the listening daemon per profile, and what each component adds.

- daemon, per profile (zero-download and zero-download-zh: Whisper base int8; zero-download
  also with pocketsphinx):
  `voiced run --profile P --input <wav> --realtime` as a subprocess. The WAV is silence, then one
  spoken request (wake word + "what time is it" / 现在几点了), then silence. VmRSS is read from
  /proc while it listens before the request (`listening_mb`, the target) and again once the turn
  is over (`after_turn_mb`: what a box that has answered once holds). Each comes with a
  breakdown from /proc/PID/smaps (heap, anonymous maps, each package's shared libraries, mapped
  model files) and the shared libraries it maps (OpenBLAS copies counted);
- components: a fresh interpreter that imports and loads the pieces one at a time, in the
  daemon's order, RSS read from /proc after each step once freed heap is trimmed (each row is
  what that step keeps on top of the rows above it; the listening path's ASR per profile);
- alone: each heavy import in its own interpreter (what it costs with nothing else loaded);
- per profile again with `asr.load: first-request` (the ASR model loads as the first request
  is fed): the idle box without it, and that first turn's wait for the load (its asr_ms).

Target: <= 250 MB listening for the zero-download profiles. `VOICED_MEMORY_BASELINE=<another
checkout>` also measures that checkout's daemon (before/after).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import IO

import numpy as np
import soundfile as sf

from daemon.audio.frames import SAMPLE_RATE
from daemon.cli import find_profiles
from daemon.config import load_settings
from daemon.synth.gcin import mandarin_speech
from tests.fixtures.audio import AudioBuilder, read

REPO = Path(__file__).resolve().parents[2]
TARGET_MB = 250
PROFILES = ("zero-download", "zero-download-zh")
IDLE_SECONDS = 14.0  # silence before the request: the listening RSS is sampled in it
AFTER_SECONDS = 20.0  # silence after the request
START_TIMEOUT = 240.0
SETTLE_SECONDS = 8.0
TURN_TIMEOUT = 90.0  # from listening to the end of the turn
AFTER_TURN_WAIT = 2.0  # the reply has played out

_COMMON_STEPS: list[tuple[str, str]] = [
    ("interpreter", "pass"),
    ("numpy", "import numpy"),
    ("daemon config + cli", "import daemon.cli, daemon.config"),
    ("service + turn machine (imports)", "import daemon.service, daemon.turn.machine"),
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
    (
        "wake detector",
        "from daemon.wake import make_wake_detector; "
        "from daemon.config import WakeSettings, default_models_dir as d; "
        "w = make_wake_detector(WakeSettings(model={wake!r}), d()); "
        "w.process(numpy.zeros(2560, 'int16'))",
    ),
    (
        "self-trigger guard (shares the wake models)",
        "from daemon.service import make_guard; "
        "from daemon.config import ConversationSettings, WakeSettings, default_models_dir as d; "
        "g = make_guard(ConversationSettings(), WakeSettings(model={wake!r}), d(), False, w)",
    ),
]
_ASR_STEPS: dict[str, list[tuple[str, str]]] = {  # by asr.backend
    "pocketsphinx": [
        ("pocketsphinx import", "import pocketsphinx"),
        (
            "pocketsphinx decoder",
            "from daemon.asr.pocketsphinx import PocketsphinxTranscriber; "
            "from daemon.config import PocketsphinxSettings; "
            "s = PocketsphinxTranscriber(PocketsphinxSettings()).start(); "
            "s.feed(numpy.zeros(1280, 'int16'))",
        ),
    ],
    "whisper": [
        ("ctranslate2 import", "import ctranslate2"),
        (
            "faster_whisper import (tokenizers; PyAV kept out)",
            "from daemon.asr.faster_whisper_import import import_faster_whisper as f; f()",
        ),
        (
            "whisper base int8 (load + warm-up)",
            "from daemon.asr.whisper import WhisperTranscriber; "
            "from daemon.config import WhisperSettings, default_models_dir as d; "
            "a = WhisperTranscriber(WhisperSettings(), d(), [], {language!r})",
        ),
    ],
}
FIRST_REQUEST = "asr:\n  load: first-request\n"
POCKETSPHINX = "asr:\n  backend: pocketsphinx\n"
WAKE_WORDS = {"zero-download": "hey_jarvis", "zero-download-zh": "你好小智"}
ALONE = [
    "numpy",
    "onnxruntime",
    "ai_edge_litert.interpreter",
    "pocketsphinx",
    "ctranslate2",
    "faster_whisper",
    "scipy",
    "sklearn",
    "torch",
]

_RSS = "int(open('/proc/self/status').read().split('VmRSS:')[1].split()[0])"
_HWM = "int(open('/proc/self/status').read().split('VmHWM:')[1].split()[0])"


def steps(profile: str, backend: str) -> list[tuple[str, str]]:
    wake, language = WAKE_WORDS[profile], "zh" if profile.endswith("-zh") else "en"
    common = [(name, code.format(wake=wake)) for name, code in _COMMON_STEPS]
    asr = [(name, code.format(language=language)) for name, code in _ASR_STEPS[backend]]
    return [*common, *asr]


def asr_backend(profile: str) -> str:
    config = REPO / "config" / "voiced.yaml"
    return load_settings(config, find_profiles(config, [profile])).daemon.asr.backend


def _child_script(steps: list[tuple[str, str]]) -> str:
    """Each step, then what it keeps: freed heap is given back (as the daemon does after
    loading) before RSS is read; the peak shows what it took on the way."""
    lines = ["import json, sys, gc", "from daemon.host.memory import release_free_memory as trim"]
    for name, code in steps:
        lines.append(f"{code}")
        lines.append(
            f"gc.collect(); trim(); print(json.dumps([{name!r}, {_RSS}, {_HWM}]), flush=True)"
        )
    return "\n".join(lines)


def _run_child(script: str) -> list[tuple[str, int, int]]:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, cwd=REPO
    )
    if out.returncode != 0:
        raise RuntimeError(out.stderr.strip()[-800:])
    return [tuple(json.loads(line)) for line in out.stdout.splitlines() if line.startswith("[")]


def components(profile: str, backend: str) -> dict[str, object]:
    """RSS added by each step, cumulative in one process, and the peak so far (MB)."""
    rows = _run_child(_child_script(steps(profile, backend)))
    added, peak, before = {}, {}, 0
    for name, kb, hwm in rows:
        added[name] = round((kb - before) / 1024, 1)
        peak[name] = round(hwm / 1024, 1)
        before = kb
    return {"added_mb": added, "peak_so_far_mb": peak, "total_mb": round(before / 1024, 1)}


def alone() -> dict[str, float | None]:
    """RSS added by one import over the bare interpreter, each in a fresh process (MB)."""
    result: dict[str, float | None] = {}
    for module in ALONE:
        try:
            rows = _run_child(_child_script([("base", "pass"), (module, f"import {module}")]))
        except RuntimeError:
            result[module] = None  # not installed here
            continue
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


def _kind(path: str) -> str:
    """What a mapping in /proc/PID/smaps is, for the breakdown."""
    if not path:
        return "anonymous (arenas, numpy, model weights in malloc)"
    if path.startswith("["):
        return path
    if ".so" in path:
        match = re.search(r"site-packages/([^/]+)", path)
        if match:
            return "libs: " + match.group(1).split(".")[0].removeprefix("_")
        return "libs: python" if "python3" in path else "libs: system"
    return "mapped files (models, data)"


def smaps_breakdown(pid: int) -> dict[str, float]:
    """RSS (MB) by kind of mapping, the larger ones first."""
    rss: Counter[str] = Counter()
    kind = ""
    for line in Path(f"/proc/{pid}/smaps").read_text().splitlines():
        fields = line.split()
        if re.match(r"^[0-9a-f]+-[0-9a-f]+ ", line):
            kind = _kind(fields[5] if len(fields) >= 6 else "")
        elif fields and fields[0] == "Rss:":
            rss[kind] += int(fields[1])
    return {name: round(kb / 1024, 1) for name, kb in rss.most_common() if kb >= 512}


def request_wav(profile: str, audio: AudioBuilder) -> Path:
    """Silence, one request in the profile's language, silence (16 kHz int16)."""
    if profile == "zero-download-zh":
        said = mandarin_speech("你好小智，现在几点了", gap_seconds=0.08)
        request = (np.clip(said, -1, 1) * 32767).astype(np.int16)
    else:
        request = read(audio.request("what time is it", tail=0.5))
    silence = np.zeros(int(IDLE_SECONDS * SAMPLE_RATE), np.int16)
    after = np.zeros(int(AFTER_SECONDS * SAMPLE_RATE), np.int16)
    path = audio.folder / f"memory-{profile}.wav"
    sf.write(str(path), np.concatenate([silence, request, after]), SAMPLE_RATE)
    return path


class _Log:
    """The daemon's stderr, read on a thread: the lines it waits for, and the last few."""

    def __init__(self, stream: IO[bytes]) -> None:
        self.listening, self.turn = threading.Event(), threading.Event()
        self.turn_line = ""
        self.tail: list[bytes] = []
        threading.Thread(target=self._read, args=(stream,), daemon=True).start()

    def _read(self, stream: IO[bytes]) -> None:
        for line in stream:
            self.tail[:] = [*self.tail[-20:], line]
            if b"listening for" in line:
                self.listening.set()
            if re.search(rb"turn \d+ outcome=", line):
                self.turn_line = line.decode(errors="replace").strip()[-300:]
                self.turn.set()

    def text(self) -> str:
        return b"".join(self.tail).decode(errors="replace")[-800:]


def _sample(pid: int, seconds: float) -> int:
    samples, until = [], time.monotonic() + seconds
    while time.monotonic() < until:
        samples.append(_rss_kb(pid))
        time.sleep(0.25)
    return max(samples)


def daemon(
    profile: str,
    audio: AudioBuilder,
    repo: Path = REPO,
    env: dict[str, str] | None = None,
    overlay: str | None = None,
) -> dict[str, object]:
    """The real daemon (of the checkout `repo`) in real time: RSS while it listens, and after
    one turn. `overlay`: YAML laid over the profile."""
    wav = request_wav(profile, audio)
    cmd = [
        sys.executable, "-m", "daemon", "run", "--profile", profile, "--log-level", "INFO",
        "--input", str(wav), "--realtime", "--output", str(audio.folder / "memory-out.wav"),
    ]  # fmt: skip
    if overlay is not None:
        extra = audio.folder / "memory-overlay.yaml"
        extra.write_text(overlay)
        cmd += ["--profile", str(extra)]
    child_env = {**os.environ, "PYTHONPATH": str(repo), **(env or {})}
    proc = subprocess.Popen(
        cmd, cwd=repo, env=child_env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    assert proc.stderr is not None
    log = _Log(proc.stderr)
    started = time.monotonic()
    try:
        if not log.listening.wait(START_TIMEOUT):
            raise RuntimeError(f"the daemon never listened: {log.text()}")
        ready_after = time.monotonic() - started
        listening = _sample(proc.pid, SETTLE_SECONDS)
        listening_parts = smaps_breakdown(proc.pid)
        libraries = _mapped_libraries(proc.pid)
        after: dict[str, object] = {"after_turn_mb": None}
        if log.turn.wait(TURN_TIMEOUT) and proc.poll() is None:
            time.sleep(AFTER_TURN_WAIT)
            after = {
                "after_turn_mb": round(_sample(proc.pid, 2.0) / 1024, 1),
                "after_turn_breakdown_mb": smaps_breakdown(proc.pid),
                "turn": log.turn_line,
            }
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    blas = [lib for lib in libraries if "openblas" in lib.lower()]
    return {
        "listening_mb": round(listening / 1024, 1),
        "listening_breakdown_mb": listening_parts,
        **after,
        "start_seconds": round(ready_after, 1),
        "shared_libraries": len(libraries),
        "openblas_copies": [Path(lib).name for lib in blas],
    }


def run(audio: AudioBuilder) -> dict[str, object]:
    baseline = os.environ.get("VOICED_MEMORY_BASELINE")
    results: dict[str, object] = {"target_mb_zero_download": TARGET_MB}
    for profile in PROFILES:
        listening = daemon(profile, audio)
        before = daemon(profile, audio, Path(baseline)) if baseline else None
        results[profile] = {
            **listening,
            "meets_target": float(listening["listening_mb"]) <= TARGET_MB,  # type: ignore[arg-type]
            "baseline": {"checkout": baseline, **before} if before else None,
            "components": components(profile, asr_backend(profile)),
        }
    # The ASR model loaded at the first request: the idle box without it, and what that first
    # turn's transcript waits for (asr_ms in the turn line).
    for profile in PROFILES:
        results[f"{profile}/asr-load-first-request"] = daemon(profile, audio, overlay=FIRST_REQUEST)
    # English with pocketsphinx instead (the zero-download profile's ASR until 2026-12-01).
    results["zero-download/pocketsphinx"] = {
        **daemon("zero-download", audio, overlay=POCKETSPHINX),
        "components": components("zero-download", "pocketsphinx"),
    }
    results["alone_mb"] = alone()
    return results
