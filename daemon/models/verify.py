"""Model files are checked where they are loaded, so a damaged one stops the daemon with exit 78
(naming the file and the command that repairs it) instead of leaving a deaf box.

Two checks: a packaged file (daemon/models/packaged.py) must match its pinned sha256 (a few ms
per file: measured 2-12 ms for the 0.2-2.3 MB files on a shared 2-core machine, so no cache),
and each loaded model answers a smoke test on known audio (the VAD must hear the built-in speech
clip and not silence; the wake model's scores must be probabilities).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import cache
from importlib import resources
from pathlib import Path

import numpy as np
import soundfile as sf

from daemon.models.errors import ModelDamaged
from daemon.models.packaged import PACKAGED_ASSETS, sha256_of

__all__ = [
    "check_scores",
    "check_vad",
    "checked_before",
    "mark_checked",
    "speech_clip",
    "verify_pinned",
]

PACKAGED_FETCH = "voiced models fetch packaged"
SPEECH_AT_LEAST = 0.5  # the clip is clear speech: Silero gives ~1.0 on it
SILENCE_AT_MOST = 0.3  # digital silence: Silero gives ~0.01
SILENCE_SAMPLES = 4096  # 0.26 s


def pinned_digest(path: Path) -> str | None:
    """The pinned sha256 of a packaged model file at `path` (by folder and name), else None."""
    for asset in PACKAGED_ASSETS:
        for member, digest in asset.files.items():
            if path.parent.name == asset.folder and path.name == Path(member).name:
                return digest
    return None


def verify_pinned(what: str, path: Path) -> None:
    """ModelDamaged if `path` is a packaged model file whose bytes are not the pinned ones."""
    digest = pinned_digest(path)
    if digest is not None and sha256_of(path) != digest:
        size = path.stat().st_size
        reason = f"sha256 differs from the pinned one; {size} bytes"
        raise ModelDamaged(what, path, reason, PACKAGED_FETCH)


_CHECKED: set[tuple[str, int, int]] = set()


def file_key(path: Path) -> tuple[str, int, int]:
    stat = path.stat()
    return str(path.resolve()), stat.st_size, stat.st_mtime_ns


def checked_before(paths: Iterable[Path]) -> bool:
    """Whether these exact files (path, size, mtime) passed their checks in this process: the
    self-trigger guard loads the same wake model again and need not check it twice."""
    return all(file_key(path) in _CHECKED for path in paths)


def mark_checked(paths: Iterable[Path]) -> None:
    _CHECKED.update(file_key(path) for path in paths)


@cache
def speech_clip() -> np.ndarray:
    """The built-in check clip: 1.1 s of espeak-ng English ('hello, one two three'), 16 kHz
    mono int16."""
    data = resources.files("daemon.models") / "data" / "speech-check.flac"
    with data.open("rb") as fh:
        samples, _ = sf.read(fh, dtype="int16")
    return np.asarray(samples, dtype=np.int16)


def _chunks(samples: np.ndarray, size: int) -> Iterable[np.ndarray]:
    return (samples[i : i + size] for i in range(0, len(samples) - size + 1, size))


def check_vad(
    what: str,
    path: Path,
    probability: Callable[[np.ndarray], float],
    chunk: int,
    reset: Callable[[], None],
) -> None:
    """ModelDamaged unless the VAD hears the clip as speech and silence as silence."""
    try:
        silence = max(probability(c) for c in _chunks(np.zeros(SILENCE_SAMPLES, np.int16), chunk))
        reset()
        speech = max(probability(c) for c in _chunks(speech_clip(), chunk))
    except Exception as exc:  # a damaged model may fail in many library-specific ways
        reason = f"inference fails: {type(exc).__name__}"
        raise ModelDamaged(what, path, reason, PACKAGED_FETCH) from None
    finally:
        reset()
    if not (np.isfinite(speech) and speech >= SPEECH_AT_LEAST):
        reason = f"hears no speech in the check clip (p={speech:.2f})"
        raise ModelDamaged(what, path, reason, PACKAGED_FETCH)
    if not (np.isfinite(silence) and silence <= SILENCE_AT_MOST):
        reason = f"hears speech in silence (p={silence:.2f})"
        raise ModelDamaged(what, path, reason, PACKAGED_FETCH)


def check_scores(what: str, path: Path, scores: Iterable[float], fetch: str) -> None:
    """ModelDamaged unless every score is a probability (finite, within 0..1)."""
    values = np.asarray(list(scores), dtype=np.float64)
    if values.size == 0 or not np.all(np.isfinite(values)) or values.min() < 0 or values.max() > 1:
        raise ModelDamaged(what, path, "its scores are not probabilities", fetch)
