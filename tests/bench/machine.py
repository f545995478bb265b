"""A description of the machine a benchmark ran on, stored with every result."""

from __future__ import annotations

import os
import platform
from importlib import metadata
from pathlib import Path


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _memory_gib() -> float:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                return round(int(line.split()[1]) / 2**20, 1)
    except OSError:
        pass
    return 0.0


PACKAGES = (
    "openwakeword",
    "onnxruntime",
    "ai-edge-litert",
    "pocketsphinx",
    "numpy",
    "torch",
    "funasr",
    "ChatTTS",
    "livekit",
)


def describe(packages: tuple[str, ...] = PACKAGES) -> dict[str, object]:
    versions = {}
    for name in packages:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "memory_gib": _memory_gib(),
        "os": platform.platform(),
        "python": platform.python_version(),
        "packages": versions,
    }
