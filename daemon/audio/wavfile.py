"""WAV files in place of the microphone and the speaker (tests, demos, batch runs).

A file named on the command line is checked before any model loads, and a problem is one line
with a sysexits code (FileProblem): 66 no input, 65 bad data, 73 cannot create. Input is read in
blocks (a two-hour recording costs a block of memory, not gigabytes); output is written to a
hidden partial file in the same folder and renamed into place only when the run succeeded, so a
failed run leaves nothing behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

from daemon.audio.frames import (
    SAMPLE_RATE,
    AudioChunk,
    AudioFrame,
    Reframer,
    float_to_int16,
    resample,
    to_mono,
)
from daemon.config import MAX_RATE, MIN_RATE
from daemon.errors import ErrorCode, FileProblem, StageError
from daemon.host.native import native_stderr_silenced

__all__ = [
    "FileProblem",
    "WavFileSink",
    "WavFileSource",
    "check_input",
    "check_output",
    "read_wav_16k",
]

BLOCK_SECONDS = 0.5
MAX_CHANNELS = 32


def check_input(path: Path) -> sf._SoundFileInfo:
    """The file's audio format, or FileProblem: missing/unreadable (66), not usable audio (65)."""
    if not path.exists():
        raise FileProblem(FileProblem.NO_INPUT, path, "no such file")
    if path.is_dir():
        raise FileProblem(FileProblem.NO_INPUT, path, "is a folder, not an audio file")
    if not os.access(path, os.R_OK):
        raise FileProblem(FileProblem.NO_INPUT, path, "cannot be read (permission denied)")
    try:
        with native_stderr_silenced():  # libsndfile's MP3 probe prints on random bytes
            info = sf.info(str(path))
    except (sf.LibsndfileError, RuntimeError, TypeError, OSError) as exc:
        detail = getattr(exc, "error_string", None) or ""
        if not detail or "not exist" in detail:  # libsndfile's words for an unknown format
            detail = "format not recognised"
        raise FileProblem(
            FileProblem.DATA_ERROR, path, f"not a readable audio file ({detail.rstrip('.')})"
        ) from None
    if not MIN_RATE <= info.samplerate <= MAX_RATE:
        raise FileProblem(
            FileProblem.DATA_ERROR,
            path,
            f"sample rate {info.samplerate} Hz is not supported ({MIN_RATE}-{MAX_RATE} Hz)",
        )
    if not 1 <= info.channels <= MAX_CHANNELS:
        raise FileProblem(FileProblem.DATA_ERROR, path, f"{info.channels} channels")
    if info.frames <= 0:
        raise FileProblem(FileProblem.DATA_ERROR, path, "has no audio in it")
    return info


def check_output(path: Path) -> None:
    """FileProblem (73) unless a file can be created at `path` (its folder may not exist yet)."""
    if path.is_dir():
        raise FileProblem(FileProblem.CANNOT_CREATE, path, "is a folder")
    folder = path.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if not folder.is_dir():
        raise FileProblem(FileProblem.CANNOT_CREATE, path, f"{folder} is not a folder")
    try:
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".voiced-check-"):
            pass
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        problem = f"cannot write there ({reason})"
        raise FileProblem(FileProblem.CANNOT_CREATE, path, problem) from None


def read_wav_16k(path: Path) -> np.ndarray:
    """Any WAV (rate, channels, sample format) as 16 kHz mono int16, checked first."""
    check_input(path)
    data, rate = sf.read(str(path), dtype="float32", always_2d=False)
    return float_to_int16(resample(to_mono(data), rate, SAMPLE_RATE))


def blocks_16k(path: Path, block_seconds: float = BLOCK_SECONDS) -> Iterator[np.ndarray]:
    """The file as 16 kHz mono int16 blocks, read and resampled a block at a time."""
    with sf.SoundFile(str(path)) as fh:
        rate = fh.samplerate
        stream = None if rate == SAMPLE_RATE else soxr.ResampleStream(rate, SAMPLE_RATE, 1)
        size = max(1, int(rate * block_seconds))
        for block in fh.blocks(blocksize=size, dtype="float32", always_2d=True):
            mono = np.ascontiguousarray(block.mean(axis=1), dtype=np.float32)
            yield float_to_int16(stream.resample_chunk(mono) if stream else mono)
        if stream is not None:
            yield float_to_int16(stream.resample_chunk(np.zeros(0, np.float32), last=True))


class WavFileSource:
    """Frames from a WAV file, then `tail_silence` seconds of silence (as a quiet room would give).

    With `realtime=True` frames are paced by the wall clock like a microphone; otherwise they are
    produced as fast as the listener takes them. The file is checked here (FileProblem).
    """

    def __init__(self, path: Path, realtime: bool = False, tail_silence: float = 2.0) -> None:
        self.path = path
        self.realtime = realtime
        self.info = check_input(path)
        self._tail = np.zeros(int(tail_silence * SAMPLE_RATE), dtype=np.int16)
        self._closed = False

    async def frames(self) -> AsyncIterator[AudioFrame]:
        reframer = Reframer()
        loop = asyncio.get_running_loop()
        started = loop.time()
        for block in self._blocks():
            for frame in reframer.push(block):
                if self._closed:
                    return
                if self.realtime:
                    await asyncio.sleep(max(0.0, started + frame.end - loop.time()))
                yield frame

    def _blocks(self) -> Iterator[np.ndarray]:
        yield from blocks_16k(self.path)
        yield self._tail

    async def close(self) -> None:
        self._closed = True


class WavFileSink:
    """Writes everything played, in order, to one 16-bit WAV file at `sample_rate`.

    The audio goes to a hidden partial file beside `path`; `commit()` renames it into place,
    `discard()` removes it. A failed write (a full disk) is a playback-failed StageError for the
    turn, and the sink remembers it (`failure`) so the run can end with exit code 73.
    """

    def __init__(self, path: Path, sample_rate: int = 16000) -> None:
        check_output(path)
        self.path = path
        self.sample_rate = sample_rate
        self.partial = path.with_name(f".{path.name}.partial")
        self._file: sf.SoundFile | None = None
        self.failure: str | None = None
        self.seconds_written = 0.0

    def _open(self) -> sf.SoundFile:
        if self._file is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = sf.SoundFile(
                str(self.partial),
                mode="w",
                samplerate=self.sample_rate,
                channels=1,
                subtype="PCM_16",
                format="WAV",
            )
        return self._file

    async def play(self, chunk: AudioChunk) -> None:
        if self.failure is not None:
            raise StageError(ErrorCode.PLAYBACK_FAILED, f"cannot write {self.path}: {self.failure}")
        samples = resample(chunk.samples.astype(np.float32), chunk.sample_rate, self.sample_rate)
        try:
            out = self._open()
            out.write(samples)
            out.flush()
        except (OSError, sf.LibsndfileError, RuntimeError, AssertionError) as exc:
            self.failure = _reason(exc)
            detail = f"cannot write {self.path}: {self.failure}"
            raise StageError(ErrorCode.PLAYBACK_FAILED, detail) from None
        self.seconds_written += len(samples) / self.sample_rate

    async def drain(self) -> None:
        return None

    async def close(self) -> None:
        if self._file is not None and not self._file.closed:
            with contextlib.suppress(OSError, sf.LibsndfileError, RuntimeError):
                self._file.close()

    def commit(self) -> None:
        """Put the finished file in place (an empty WAV if nothing was said); FileProblem (73)
        if a write failed or the file cannot be finished."""
        if self.failure is None:
            try:
                self._open().close()  # a sink that heard nothing still leaves a valid WAV
                os.replace(self.partial, self.path)
                return
            except (OSError, sf.LibsndfileError, RuntimeError) as exc:
                self.failure = _reason(exc)
        self.discard()
        raise FileProblem(FileProblem.CANNOT_CREATE, self.path, f"cannot write: {self.failure}")

    def discard(self) -> None:
        if self._file is not None and not self._file.closed:
            with contextlib.suppress(OSError, sf.LibsndfileError, RuntimeError):
                self._file.close()
        self.partial.unlink(missing_ok=True)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    if isinstance(exc, sf.LibsndfileError) and exc.error_string:
        return exc.error_string.rstrip(".")  # libsndfile's text without the path it repeats
    return " ".join(str(exc).split())[:120] or type(exc).__name__
