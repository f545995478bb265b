"""`voiced wake record`: the person says the wake phrase N times into the box's microphone; each
take becomes one WAV for `voiced wake train --recordings DIR`."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import numpy as np
import soundfile as sf

from daemon.audio.base import AudioSource
from daemon.audio.frames import SAMPLE_RATE, AudioFrame
from daemon.wake.train.errors import EX_CANTCREAT, EX_NOINPUT, TrainError

QUIET_RMS = 100.0  # int16: a take quieter than this holds no speech


def prepare_folder(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise TrainError(f"cannot create {folder}: {err.strerror}", EX_CANTCREAT) from err
    if not folder.is_dir():
        raise TrainError(f"cannot create {folder}: not a folder", EX_CANTCREAT)


def save_take(folder: Path, index: int, samples: np.ndarray) -> Path:
    """Write one take (via a temporary name, so no half-written WAV is ever left)."""
    path = folder / f"take-{index:02d}.wav"
    partial = path.with_suffix(".part")
    try:
        sf.write(str(partial), samples, SAMPLE_RATE, subtype="PCM_16", format="WAV")
        partial.replace(path)
    except OSError as err:
        partial.unlink(missing_ok=True)
        raise TrainError(f"cannot write {path}: {err.strerror}", EX_CANTCREAT) from err
    return path


async def record_takes(
    source: AudioSource,
    folder: Path,
    phrase: str,
    count: int,
    seconds: float,
    say: Callable[[str], None] = print,
) -> list[Path]:
    """Record `count` takes of `seconds` each; quiet takes are asked for again (at most
    `count` extra times)."""
    prepare_folder(folder)
    per_take = round(seconds * SAMPLE_RATE)
    saved: list[Path] = []
    attempts = 0
    say(f"say {phrase!r} once per prompt, as you would to wake the box")
    buffer: list[np.ndarray] = []
    frames = source.frames()
    try:
        while len(saved) < count and attempts < 2 * count:
            attempts += 1
            say(f"[{len(saved) + 1}/{count}] now: {phrase}")
            take = await _collect(frames, buffer, per_take)
            if take is None:
                break
            if float(np.sqrt(np.mean(take.astype(np.float32) ** 2))) < QUIET_RMS:
                say("  heard nothing; once more")
                continue
            saved.append(save_take(folder, len(saved) + 1, take))
    finally:
        await source.close()
    if len(saved) < count:
        raise TrainError(
            f"recorded {len(saved)} of {count} takes (the microphone went quiet or ended)",
            EX_NOINPUT,
        )
    return saved


async def _collect(
    frames: AsyncIterator[AudioFrame], buffer: list[np.ndarray], samples: int
) -> np.ndarray | None:
    have = sum(len(b) for b in buffer)
    async for frame in frames:
        buffer.append(frame.samples)
        have += len(frame.samples)
        if have >= samples:
            break
    if have < samples:
        return None
    joined = np.concatenate(buffer)
    buffer[:] = [joined[samples:]]
    return joined[:samples]
