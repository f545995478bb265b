"""Quieting C libraries that write straight to stderr, so the journal keeps one line per turn."""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import sys
from collections.abc import Iterator

_ALSA_HANDLER = None  # kept referenced: ALSA calls it for as long as the process lives


@contextlib.contextmanager
def native_stderr_silenced() -> Iterator[None]:
    """Silence C-level writes to fd 2 (not Python logging or exceptions) for a moment."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def quiet_alsa() -> None:
    """Route ALSA's error messages (probing cards that do not exist) to a no-op handler."""
    global _ALSA_HANDLER
    if _ALSA_HANDLER is not None:
        return
    name = ctypes.util.find_library("asound")
    if name is None:
        return
    handler_type = ctypes.CFUNCTYPE(
        None, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p
    )
    _ALSA_HANDLER = handler_type(lambda *_: None)
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(name).snd_lib_error_set_handler(_ALSA_HANDLER)
    os.environ.setdefault("JACK_NO_START_SERVER", "1")  # PortAudio's JACK probe must not start one
