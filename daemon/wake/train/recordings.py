"""A person's own recordings of the wake phrase (`voiced wake record` makes them)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

from daemon.wake.train.errors import EX_DATAERR, EX_NOINPUT, TrainError
from daemon.wake.train.voices import SAMPLE_RATE, trim

MIN_RECORDINGS = 3
MIN_SECONDS, MAX_SECONDS = 0.3, 4.0


def load_recordings(folder: Path) -> list[np.ndarray]:
    """Every WAV in `folder`, 16 kHz mono float32, silence trimmed; a one-line TrainError for a
    missing folder, an unreadable or empty file, or too few recordings."""
    if not folder.is_dir():
        raise TrainError(f"recordings folder {folder} not found", EX_NOINPUT)
    paths = sorted(p for p in folder.iterdir() if p.suffix.lower() == ".wav")
    if len(paths) < MIN_RECORDINGS:
        raise TrainError(
            f"{folder} holds {len(paths)} WAV recording(s); at least {MIN_RECORDINGS} are "
            "needed (voiced wake record --count 10)",
            EX_DATAERR,
        )
    return [_one(path) for path in paths]


def _one(path: Path) -> np.ndarray:
    try:
        audio, rate = sf.read(str(path), dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, OSError) as err:
        raise TrainError(f"cannot read recording {path}: {str(err).splitlines()[0]}") from err
    mono = audio.mean(axis=1)
    if rate != SAMPLE_RATE:
        mono = soxr.resample(mono, rate, SAMPLE_RATE).astype(np.float32)
    speech = trim(mono, level=0.05)
    seconds = len(speech) / SAMPLE_RATE
    if not MIN_SECONDS <= seconds <= MAX_SECONDS:
        raise TrainError(
            f"recording {path} holds {seconds:.1f} s of sound; a wake phrase takes "
            f"{MIN_SECONDS}-{MAX_SECONDS} s"
        )
    return speech
