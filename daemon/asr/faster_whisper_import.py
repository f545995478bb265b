"""faster-whisper without PyAV in the process.

`import faster_whisper` imports its file decoder, which imports PyAV (FFmpeg's libraries: ~15 MB
of a listening box's memory). voiced hands Whisper numpy audio and never asks faster-whisper to
decode a file, so PyAV is kept out: while faster-whisper is first imported, `av` resolves to a
placeholder, which is taken away again at once (a later `import av` anywhere gets the real one).
faster-whisper's own `decode_audio` would fail with a clear error; nothing in voiced calls it.
"""

from __future__ import annotations

import sys
import types
from typing import Any


class _NoPyAV(types.ModuleType):
    def __getattr__(self, name: str) -> Any:
        raise RuntimeError("voiced loads faster-whisper without PyAV: decode audio with soundfile")


def import_faster_whisper() -> types.ModuleType:
    """The faster_whisper package (imported once; PyAV only if something else imported it)."""
    if "faster_whisper" in sys.modules:
        return sys.modules["faster_whisper"]
    placed = "av" not in sys.modules
    if placed:
        sys.modules["av"] = _NoPyAV("av")
    try:
        import faster_whisper
    finally:
        if placed:
            del sys.modules["av"]
    return faster_whisper
