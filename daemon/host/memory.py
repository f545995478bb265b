"""Giving freed heap back to the system, and fewer malloc arenas to keep it in.

glibc keeps memory that a model run freed (onnxruntime's activations without its arena) in the
process's heap, so RSS stays at the peak of the largest inference. `malloc_trim(0)` returns it:
Smart Turn's 8 s window costs ~60 MB at its peak and ~20 MB once trimmed. glibc also gives each
thread that allocates its own arena (up to 8 per core), each keeping its own freed memory: the
daemon's ASR, TTS and listener workers. Two arenas are plenty for a few worker threads. Both are
no-ops off glibc.

CTranslate2 (Whisper) does its matrix products in Intel MKL on x86, whose own allocator keeps
every buffer a decode used for the next one, out of malloc_trim's reach: ~24 MB after the first
Whisper decode (scripts/bench memory). MKL_DISABLE_FAST_MM=1 makes MKL free them; it must be in
the environment before MKL allocates anything, so it is set before any model loads.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
from functools import cache

M_ARENA_MAX = -8  # mallopt parameter (malloc.h)
ARENAS = 2  # scripts/bench memory: after one Whisper turn 287 -> 263 MB, listening unchanged


@cache
def _libc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        return ctypes.CDLL(name)
    except OSError:
        return None


def _function(name: str) -> ctypes._CFuncPtr | None:  # type: ignore[name-defined]
    libc = _libc()
    return getattr(libc, name, None) if libc is not None else None  # musl: no malloc_trim


def release_free_memory() -> bool:
    """Return freed heap pages to the system; True when anything was released."""
    trim = _function("malloc_trim")
    return bool(trim(0)) if trim is not None else False


MKL_CACHE = "MKL_DISABLE_FAST_MM"


def disable_mkl_buffer_cache() -> bool:
    """Ask MKL (inside CTranslate2) to free its buffers after use; call before Whisper loads.
    A value already in the environment (the systemd units set it) wins; True when set here."""
    if MKL_CACHE in os.environ:
        return False
    os.environ[MKL_CACHE] = "1"
    return True


def limit_malloc_arenas(arenas: int = ARENAS) -> bool:
    """At most `arenas` malloc arenas from now on (call before the worker threads start).
    MALLOC_ARENA_MAX in the environment (the systemd units set it) wins; True when applied."""
    if "MALLOC_ARENA_MAX" in os.environ:
        return False
    mallopt = _function("mallopt")
    return bool(mallopt(M_ARENA_MAX, arenas)) if mallopt is not None else False
