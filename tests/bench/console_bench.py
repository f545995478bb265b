"""What the web console costs the box: resident memory added, and idle CPU per second of audio.

Budget (issue 17): + <= 60 MB RSS and + <= 0.002 CPU-s per audio-s while idle.

Each figure comes from a fresh Python process that first loads the daemon's zero-download stages
(the baseline a box runs with), then measures:
- rss: VmRSS before and after importing the console (Starlette, uvicorn) and serving it;
- idle CPU: process CPU time over `SECONDS` of wall time with the event loop fed 12.5 microphone
  frames a second through the console tap (as the daemon does), without and with the console
  serving (no browser); audio arrives in real time, so CPU-s per wall second = per audio second;
- watched CPU: the same with one browser-like event-stream client connected (level events).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.fixtures.audio import AudioBuilder

REPO = Path(__file__).resolve().parents[2]
SECONDS = 15.0
RSS_BUDGET_MB = 60.0
CPU_BUDGET = 0.002

PROBE = r"""
import asyncio, json, sys, time
from pathlib import Path
import numpy as np

def rss_mb():
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024

from daemon.audio.base import NullSink
from daemon.cli import find_profiles
from daemon.config import load_settings
from daemon.service import build_stages
config = Path("config/voiced.yaml")
settings = load_settings(config, find_profiles(config, ["zero-download"]))
stages = build_stages(settings, NullSink())
from daemon.web.hub import ConsoleTap, EventHub
hub = EventHub(); tap = ConsoleTap(hub)
seconds = float(sys.argv[1])
frame = np.zeros(1280, dtype=np.int16)

async def idle(seconds):
    # 12.5 frames/s into the tap, as the listener would; returns CPU-s per second
    start_cpu, start = time.process_time(), time.monotonic()
    while time.monotonic() - start < seconds:
        tap.frame(frame, None)
        await asyncio.sleep(0.08)
    return (time.process_time() - start_cpu) / (time.monotonic() - start)

async def watch(port, stop):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"GET /api/events HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    await writer.drain()
    events = 0
    while not stop.is_set():
        try:
            line = await asyncio.wait_for(reader.readline(), 0.5)
        except TimeoutError:
            continue
        events += line.startswith(b"event: level")
    writer.close()
    return events

async def main():
    result = {"rss_baseline_mb": round(rss_mb(), 1)}
    result["cpu_baseline"] = await idle(seconds)
    from daemon.web.app import create_console
    from daemon.web.backend import DaemonConsole
    from daemon.web.security import Guard
    from daemon.web.server import ConsoleServer
    from daemon.service import PersonaHolder
    persona = PersonaHolder(settings)
    backend = DaemonConsole(settings, stages.responder, stages.tts, stages.asr, persona,
                            persona.reload, hub, None)
    server = ConsoleServer(create_console(backend, Guard("t", "127.0.0.1")), "127.0.0.1", 0)
    serving = asyncio.create_task(server.serve())
    await server.ready.wait()
    result["rss_console_mb"] = round(rss_mb(), 1)
    result["cpu_console_idle"] = await idle(seconds)
    stop = asyncio.Event()
    watcher = asyncio.create_task(watch(server.port, stop))
    await asyncio.sleep(0.5)
    result["cpu_console_watched"] = await idle(seconds)
    stop.set()
    result["level_events_per_s"] = round(await watcher / seconds, 1)
    result["rss_console_watched_mb"] = round(rss_mb(), 1)
    server.stop()
    await serving
    print(json.dumps(result))

asyncio.run(main())
"""


def run(audio: AudioBuilder) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(SECONDS)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=SECONDS * 4 + 120,
        check=True,
    )
    probe = json.loads(done.stdout.strip().splitlines()[-1])
    added_mb = probe["rss_console_mb"] - probe["rss_baseline_mb"]
    idle_cpu = probe["cpu_console_idle"] - probe["cpu_baseline"]
    return {
        **{k: round(v, 5) if isinstance(v, float) else v for k, v in probe.items()},
        "rss_added_mb": round(added_mb, 1),
        "idle_cpu_added_per_audio_s": round(idle_cpu, 5),
        "watched_cpu_added_per_audio_s": round(
            probe["cpu_console_watched"] - probe["cpu_baseline"], 5
        ),
        "budget": {"rss_added_mb": RSS_BUDGET_MB, "idle_cpu_added_per_audio_s": CPU_BUDGET},
        "within_budget": added_mb <= RSS_BUDGET_MB and idle_cpu <= CPU_BUDGET,
        "seconds_per_phase": SECONDS,
    }
