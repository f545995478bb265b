"""PyAudioSource / PyAudioSink against a real PulseAudio server, without a sound card.

A private PulseAudio runs as an ordinary background process with:
- `mic`: a pipe source; a paced writer thread feeds it 16 kHz mono int16 in real time (silence
  until told to send speech). With no writer it delivers nothing, which the stall test uses.
- `speaker`: a null sink; the loopback test records its monitor with a PyAudioSource (selected
  with PULSE_SOURCE), while a background `parec` keeps the sink at low latency.
PortAudio reaches it through ALSA's pulse plugin (libasound2-plugins) as the devices "pulse" and
"default"; PULSE_SERVER points every client of this process at the private server.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import threading
import time
import wave
from collections.abc import Iterator
from typing import Any

import numpy as np
import pyaudio
import pytest

from daemon.audio import pyaudio_io
from daemon.audio.frames import FRAME_SAMPLES, SAMPLE_RATE, AudioChunk, AudioFrame
from tests.fixtures.pulse import PacedWriter, Pulse, pulse_server

pytestmark = pytest.mark.timeout(90)

BLOCK = FRAME_SAMPLES  # the writer's pacing unit: 80 ms


@pytest.fixture(scope="module")
def pulse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pulse]:
    yield from pulse_server(tmp_path_factory)


@pytest.fixture(scope="module")
def speech(tmp_path_factory: pytest.TempPathFactory) -> np.ndarray:
    """About 1.5 s of espeak-ng speech as 16 kHz mono int16 (a synthetic stand-in without it)."""
    espeak, sox = shutil.which("espeak-ng"), shutil.which("sox")
    if espeak is None or sox is None:
        t = np.arange(int(1.5 * SAMPLE_RATE)) / SAMPLE_RATE
        voice = sum(np.sin(2 * np.pi * 140 * k * t) / k for k in range(1, 12))
        envelope = 0.5 + 0.5 * np.sin(2 * np.pi * 3 * t)
        return (voice * envelope / np.abs(voice).max() * 12000).astype(np.int16)
    root = tmp_path_factory.mktemp("speech")
    raw, wav = root / "raw.wav", root / "speech.wav"
    subprocess.run([espeak, "-w", str(raw), "what is the weather like today"], check=True)
    subprocess.run(
        [sox, str(raw), "-r", "16000", "-c", "1", "-b", "16", "-e", "signed-integer", str(wav)],
        check=True,
    )
    with wave.open(str(wav), "rb") as f:
        assert (f.getframerate(), f.getnchannels(), f.getsampwidth()) == (16000, 1, 2)
        samples = np.frombuffer(f.readframes(f.getnframes()), dtype=np.int16)
    nonzero = np.flatnonzero(np.abs(samples) > 100)
    return samples[nonzero[0] : nonzero[-1] + 1]  # trim espeak's silences


def _aligned_correlation(recorded: np.ndarray, original: np.ndarray) -> tuple[float, int]:
    """Pearson correlation of `original` with the best-aligned part of `recorded`, and the lag."""
    rec, orig = recorded.astype(np.float64), original.astype(np.float64)
    n = len(rec) + len(orig)
    size = 1 << (n - 1).bit_length()
    xcorr = np.fft.irfft(np.fft.rfft(rec, size) * np.conj(np.fft.rfft(orig, size)), size)
    lag = int(np.argmax(xcorr[: len(rec) - len(orig) + 1]))
    segment = rec[lag : lag + len(orig)]
    return float(np.corrcoef(segment, orig)[0, 1]), lag


async def _started(task: asyncio.Future[None], started: asyncio.Event) -> None:
    """Wait for `started`, surfacing the task's error if it ends first."""
    waiter: asyncio.Future[Any] = asyncio.ensure_future(started.wait())
    either: list[asyncio.Future[Any]] = [task, waiter]
    await asyncio.wait(either, timeout=5, return_when=asyncio.FIRST_COMPLETED)
    waiter.cancel()
    if task.done():
        task.result()
        raise AssertionError("frames() ended before delivering audio")
    assert started.is_set(), "no audio within 5 s"


def _native_threads() -> int:
    return len(os.listdir("/proc/self/task"))


def _module_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("pyaudio-")]


# 1) devices ---------------------------------------------------------------------------------


def test_devices_include_pulse(pulse: Pulse) -> None:
    devices = pyaudio_io.list_devices()
    names = [d.name for d in devices]
    assert "pulse" in names, names
    pulse_dev = next(d for d in devices if d.name == "pulse")
    assert pulse_dev.max_input_channels > 0 and pulse_dev.max_output_channels > 0

    found = pyaudio_io.find_device("pulse", output=False)
    assert found == pulse_dev
    assert pyaudio_io.find_device("PuLs", output=True) == pulse_dev  # substring, any case
    assert pyaudio_io.find_device(str(pulse_dev.index), output=False) == pulse_dev
    assert pyaudio_io.find_device(pulse_dev.index, output=True) == pulse_dev

    default_in = pyaudio_io.find_device(None, output=False)
    assert default_in is not None and default_in.is_default_input

    with pytest.raises(pyaudio_io.DeviceNotFound) as info:
        pyaudio_io.find_device("nonexistent", output=False)
    message = str(info.value)
    assert "nonexistent" in message and "'pulse'" in message and "'default'" in message
    assert isinstance(info.value, pyaudio_io.AudioDeviceError)
    with pytest.raises(pyaudio_io.DeviceNotFound):
        pyaudio_io.find_device(999, output=True)


# 2) microphone ------------------------------------------------------------------------------


@pytest.mark.parametrize("rate", [None, 44100], ids=["device-16k", "resampled-44k1"])
def test_source_delivers_speech_as_frames(
    pulse: Pulse, speech: np.ndarray, rate: int | None
) -> None:
    writer = PacedWriter(pulse.fifo)
    writer.start()
    source = pyaudio_io.PyAudioSource("pulse", sample_rate=rate)
    frames: list[AudioFrame] = []

    async def record() -> None:
        want = len(speech) / SAMPLE_RATE + 1.0
        sent = False
        async for frame in source.frames():
            frames.append(frame)
            if not sent:  # the stream is open and delivering: now the speech is not lost
                writer.send(speech)
                sent = True
                want += frame.end
            if frame.end >= want:
                break
        await source.close()

    try:
        asyncio.run(asyncio.wait_for(record(), 15))
    finally:
        writer.stop()

    assert source.device_rate == (rate or SAMPLE_RATE)
    assert source.dropped_blocks == 0
    assert all(f.samples.dtype == np.int16 and len(f.samples) == FRAME_SAMPLES for f in frames)
    starts = np.array([f.start for f in frames])
    assert np.allclose(starts, np.arange(len(frames)) * FRAME_SAMPLES / SAMPLE_RATE)
    recorded = np.concatenate([f.samples for f in frames])
    corr, lag = _aligned_correlation(recorded, speech)
    assert corr > 0.95, f"correlation {corr:.3f} at lag {lag / SAMPLE_RATE:.3f} s"


def test_callback_drops_the_oldest_block_on_overflow() -> None:
    source = pyaudio_io.PyAudioSource(queue_seconds=0.24, block_seconds=0.08)  # room for 3
    blocks = [bytes([i]) * 4 for i in range(5)]
    for block in blocks:
        assert source._on_audio(block, 2, {}, 0) == (None, pyaudio.paContinue)
    assert source.dropped_blocks == 2
    assert list(source._blocks) == blocks[2:]
    asyncio.run(source.close())
    assert _module_threads() == []


def test_source_stall_raises(pulse: Pulse) -> None:
    """With no writer on the pipe, the pipe source delivers nothing: a stalled device."""
    source = pyaudio_io.PyAudioSource("pulse", stall_seconds=0.5)

    async def consume() -> float:
        start = time.monotonic()
        with pytest.raises(pyaudio_io.AudioDeviceError) as info:
            async for _ in source.frames():
                pass
        assert "pulse" in str(info.value) and "no audio" in str(info.value)
        await source.close()
        return time.monotonic() - start

    elapsed = asyncio.run(consume())
    assert elapsed < 3.0
    assert _module_threads() == []


# 3) speaker ---------------------------------------------------------------------------------


def test_sink_plays_into_null_sink(pulse: Pulse, monkeypatch: pytest.MonkeyPatch) -> None:
    """Loopback: PyAudioSink -> null sink -> its monitor -> PyAudioSource, in one process."""
    monkeypatch.setenv("PULSE_SOURCE", pulse.monitor)  # what the ALSA "pulse" device records
    tone_rate, tone_seconds = 22050, 0.6
    t = np.arange(int(tone_rate * tone_seconds)) / tone_rate
    tone = (0.5 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    source = pyaudio_io.PyAudioSource("pulse")
    sink = pyaudio_io.PyAudioSink("pulse")
    frames: list[AudioFrame] = []
    arrivals: list[float] = []

    async def record(recording: asyncio.Event) -> None:
        async for frame in source.frames():
            frames.append(frame)
            arrivals.append(time.monotonic())
            if len(frames) == 5:
                recording.set()

    async def scenario() -> tuple[float, float, float]:
        recording = asyncio.Event()
        recorder = asyncio.ensure_future(record(recording))
        await _started(recorder, recording)  # record before playback starts, or it is lost
        start = time.monotonic()
        await sink.play(AudioChunk(tone, tone_rate))
        played = time.monotonic()
        await sink.drain()
        drained = time.monotonic()
        await sink.close()
        await asyncio.sleep(0.4)
        await source.close()
        await recorder
        return start, played, drained

    start, played, drained = asyncio.run(asyncio.wait_for(scenario(), 15))
    assert sink.device_rate == 44100  # the pulse device's default rate: 22.05 kHz -> 44.1 kHz
    # drain() returns once the chunk has been heard, and within its length + 1 s
    assert tone_seconds * 0.9 <= drained - start <= tone_seconds + 1.0 + 0.5, (
        start,
        played,
        drained,
    )

    recording = np.concatenate([f.samples for f in frames]).astype(np.float64)
    window = 320  # 20 ms
    rms = np.sqrt(
        np.mean(recording[: len(recording) // window * window].reshape(-1, window) ** 2, 1)
    )
    loud = np.flatnonzero(rms > 0.25 * 0.5 * 32768 / np.sqrt(2))
    assert loud.size, "nothing audible reached the null sink's monitor"
    assert loud[-1] - loud[0] + 1 == loud.size, "the tone has gaps"
    heard = loud.size * window / SAMPLE_RATE
    assert abs(heard - tone_seconds) <= 0.06, heard
    # Where expected: the audio time of play() maps to wall time through the frames' arrivals.
    # PortAudio adds its buffering to both ends, so allow a few hundred ms.
    frame_at_start = int(np.searchsorted(arrivals, start))
    onset = loud[0] * window / SAMPLE_RATE - frames[frame_at_start].start
    assert -0.1 <= onset <= 0.5, onset
    segment = recording[loud[0] * window : (loud[-1] + 1) * window]
    peak_hz = np.argmax(np.abs(np.fft.rfft(segment))) * SAMPLE_RATE / len(segment)
    assert abs(peak_hz - 440) < 5, peak_hz


# 4) close -----------------------------------------------------------------------------------


def test_close_is_idempotent_and_leaves_no_threads(pulse: Pulse) -> None:
    writer = PacedWriter(pulse.fifo)
    writer.start()

    async def scenario() -> None:
        baseline = _native_threads()

        # Closed before it ever opened: frames() yields nothing; close twice.
        unopened = pyaudio_io.PyAudioSource("pulse")
        await unopened.close()
        await unopened.close()
        assert [f async for f in unopened.frames()] == []

        # Closed from another task while frames() is running: the iteration just ends.
        source = pyaudio_io.PyAudioSource("pulse")
        running = asyncio.Event()

        async def consume() -> None:
            async for _ in source.frames():
                running.set()

        task = asyncio.ensure_future(consume())
        await _started(task, running)
        assert _native_threads() > baseline  # PortAudio/pulse threads are running
        await asyncio.gather(source.close(), source.close())
        await asyncio.wait_for(task, 1.0)
        await source.close()

        # A sink that never played, and one closed in the middle of a long chunk.
        idle_sink = pyaudio_io.PyAudioSink("pulse")
        await idle_sink.close()
        await idle_sink.close()
        sink = pyaudio_io.PyAudioSink("pulse")
        long_chunk = AudioChunk(np.full(3 * 16000, 0.1, dtype=np.float32), 16000)
        playing = asyncio.ensure_future(sink.play(long_chunk))
        await asyncio.sleep(0.5)
        t0 = time.monotonic()
        await sink.close()
        await sink.close()
        await asyncio.wait_for(playing, 1.0)  # the write stops at its next slice
        assert time.monotonic() - t0 < 1.0
        with pytest.raises(pyaudio_io.AudioDeviceError):
            await sink.play(long_chunk)
        await sink.drain()  # a no-op once closed

        assert _module_threads() == []
        await asyncio.sleep(0.2)  # PortAudio's threads exit asynchronously after terminate
        assert _native_threads() == baseline

    try:
        asyncio.run(asyncio.wait_for(scenario(), 20))
    finally:
        writer.stop()
