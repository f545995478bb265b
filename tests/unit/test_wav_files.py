"""Files on the command line (issue 15): every bad --input/--output is one line and a sysexits
code (66 no input, 65 bad data, 73 cannot create), found before any model loads; input is read
a block at a time; nothing is left behind when a run fails, a full disk included."""

from __future__ import annotations

import asyncio
import errno
import os
import struct
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from hypothesis import given, settings
from hypothesis import strategies as st

from daemon.audio.frames import AudioChunk
from daemon.audio.wavfile import (
    WavFileSink,
    WavFileSource,
    blocks_16k,
    check_input,
    check_output,
    read_wav_16k,
)
from daemon.errors import ErrorCode, FileProblem, StageError

NO_INPUT, DATA_ERROR, CANNOT_CREATE = 66, 65, 73


def wav_header(rate: int, data_bytes: int, channels: int = 1) -> bytes:
    fmt = struct.pack("<HHIIHH", 1, channels, rate, rate * 2 * channels, 2 * channels, 16)
    return (
        b"RIFF" + struct.pack("<I", 36 + data_bytes) + b"WAVE"
        + b"fmt " + struct.pack("<I", 16) + fmt
        + b"data" + struct.pack("<I", data_bytes)
    )  # fmt: skip


def good_wav(path: Path, seconds: float = 0.5, rate: int = 16000, channels: int = 1) -> Path:
    t = np.arange(int(rate * seconds)) / rate
    tone = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    sf.write(path, np.stack([tone] * channels, axis=1) if channels > 1 else tone, rate)
    return path


# case -> (how to make the input file in a folder, exit code)
INPUTS = {
    "missing": (lambda d: d / "nope.wav", NO_INPUT),
    "a folder": (lambda d: (d / "dir.wav").mkdir() or d / "dir.wav", NO_INPUT),
    "empty": (lambda d: _bytes(d, b""), DATA_ERROR),
    "truncated header": (lambda d: _bytes(d, wav_header(16000, 32000)[:20]), DATA_ERROR),
    "random bytes": (lambda d: _bytes(d, np.random.default_rng(1).bytes(4096)), DATA_ERROR),
    "text file": (lambda d: _bytes(d, b"what time is it\n" * 20), DATA_ERROR),
    "header claims 1 Hz": (lambda d: _bytes(d, wav_header(1, 550_000) + bytes(550_000)),
                           DATA_ERROR),
    "header claims 2 GHz": (lambda d: _bytes(d, wav_header(2_000_000_000, 3200) + bytes(3200)),
                            DATA_ERROR),
    "no samples": (lambda d: _bytes(d, wav_header(16000, 0)), DATA_ERROR),
}  # fmt: skip


def _bytes(folder: Path, data: bytes) -> Path:
    path = folder / "input.wav"
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("case", list(INPUTS))
def test_bad_input_is_a_file_problem(tmp_path: Path, case: str) -> None:
    make, code = INPUTS[case]
    path = make(tmp_path)
    with pytest.raises(FileProblem) as info:
        check_input(path)
    assert info.value.exit_code == code
    assert str(info.value).startswith(str(path)) and "\n" not in str(info.value)


@pytest.mark.parametrize(
    "case",
    [
        "output is a folder",
        "output under a file",
        "output under a file, deeper",
    ],
)
def test_uncreatable_output_is_73(tmp_path: Path, case: str) -> None:
    (tmp_path / "afile").write_text("x")
    target = {
        "output is a folder": tmp_path,
        "output under a file": tmp_path / "afile" / "reply.wav",
        "output under a file, deeper": tmp_path / "afile" / "a" / "b" / "reply.wav",
    }[case]
    with pytest.raises(FileProblem) as info:
        check_output(target)
    assert info.value.exit_code == CANNOT_CREATE
    assert list(tmp_path.iterdir()) == [tmp_path / "afile"]  # the check leaves nothing


def test_output_in_a_folder_still_to_be_made_is_fine(tmp_path: Path) -> None:
    check_output(tmp_path / "new" / "deeper" / "reply.wav")
    assert list(tmp_path.iterdir()) == []


# --- the sink and the source -----------------------------------------------------------------


def test_sink_commits_on_success_and_leaves_nothing_on_discard(tmp_path: Path) -> None:
    async def play(sink: WavFileSink) -> None:
        await sink.play(AudioChunk(np.full(1600, 0.1, np.float32), 16000))
        await sink.close()

    kept, dropped = WavFileSink(tmp_path / "kept.wav"), WavFileSink(tmp_path / "dropped.wav")
    for sink in (kept, dropped):
        asyncio.run(play(sink))
    kept.commit()
    dropped.discard()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kept.wav"]
    assert sf.info(tmp_path / "kept.wav").frames == 1600


def test_a_failing_write_is_playback_failed_and_commit_refuses(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sink = WavFileSink(tmp_path / "reply.wav")

    def full(self: sf.SoundFile, data: np.ndarray) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(sf.SoundFile, "write", full)
    chunk = AudioChunk(np.zeros(160, np.float32), 16000)
    for _ in range(2):  # every later play fails the same way, without touching the disk
        with pytest.raises(StageError) as info:
            asyncio.run(sink.play(chunk))
        assert info.value.code is ErrorCode.PLAYBACK_FAILED
        assert "No space left on device" in info.value.detail
    with pytest.raises(FileProblem) as problem:
        sink.commit()
    assert problem.value.exit_code == CANNOT_CREATE
    assert list(tmp_path.iterdir()) == []


def test_a_sink_that_heard_nothing_writes_an_empty_wav(tmp_path: Path) -> None:
    sink = WavFileSink(tmp_path / "silent.wav")
    sink.commit()
    assert sf.info(tmp_path / "silent.wav").frames == 0


@pytest.mark.parametrize(("rate", "channels"), [(16000, 1), (44100, 2), (8000, 1), (48000, 6)])
def test_streamed_input_equals_the_whole_file_read(tmp_path: Path, rate: int, channels: int):
    path = good_wav(tmp_path / "in.wav", seconds=1.3, rate=rate, channels=channels)
    streamed = np.concatenate(list(blocks_16k(path, block_seconds=0.25)))
    whole = read_wav_16k(path)
    assert abs(len(streamed) - len(whole)) <= 2
    n = min(len(streamed), len(whole))
    assert np.abs(streamed[:n].astype(int) - whole[:n].astype(int)).max() <= 200


def test_a_long_input_is_read_a_block_at_a_time(tmp_path: Path) -> None:
    """60 s of 44.1 kHz stereo is 10.6 MB as float32; the source holds about one block."""
    path = tmp_path / "long.wav"
    with sf.SoundFile(path, "w", samplerate=44100, channels=2, subtype="PCM_16") as fh:
        for _ in range(60):
            fh.write(np.full((44100, 2), 0.01, np.float32))

    async def count_frames() -> int:
        source = WavFileSource(path, tail_silence=0)
        return sum([1 async for _ in source.frames()])

    tracemalloc.start()
    try:
        frames = asyncio.run(count_frames())
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert frames == 60 * 16000 // 1280
    assert peak < 2_000_000, peak


@settings(max_examples=120, deadline=None)
@given(data=st.binary(max_size=2048) | st.builds(
    lambda rate, size, tail: wav_header(rate, size) + tail,
    st.integers(0, 2**31 - 1), st.integers(0, 2**32 - 37), st.binary(max_size=512),
))  # fmt: skip
def test_random_bytes_as_wav_are_read_or_refused_clearly(tmp_path_factory, data: bytes) -> None:
    path = tmp_path_factory.mktemp("random") / "in.wav"
    path.write_bytes(data)
    try:
        info = check_input(path)
    except FileProblem as err:
        assert err.exit_code in (NO_INPUT, DATA_ERROR)
        return
    total = sum(len(block) for block in blocks_16k(path))
    assert total <= info.frames / info.samplerate * 16000 + 1600
