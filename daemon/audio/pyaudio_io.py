"""Microphone and speaker through PortAudio (PyAudio).

Threading model. PortAudio calls `PyAudioSource._on_audio` on its own real-time thread; that
callback only appends the bytes it is given to a bounded deque. Everything else that touches
PortAudio (initialise, open, write, close, terminate) runs on one single-thread executor per
source or sink, so that those calls are serialised (PortAudio is not thread-safe across them) and
the event loop never blocks on the device. The event loop itself only reads the deque and asks
`is_active()`, and only while the source is not closed.

Errors. Anything wrong with the device (not found, cannot be opened, stops delivering audio)
becomes `AudioDeviceError`, a `StageError` with code `audio-device` that names the device.
Reopening with backoff is the job of a supervisor elsewhere: a source or sink here is opened once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyaudio
import soxr

from daemon.audio.frames import (
    SAMPLE_RATE,
    AudioChunk,
    AudioFrame,
    Reframer,
    float_to_int16,
    resample,
)
from daemon.errors import ErrorCode, StageError
from daemon.host.native import native_stderr_silenced, quiet_alsa
from daemon.worker import Worker

log = logging.getLogger(__name__)

_CLOSE_TIMEOUT = 2.0  # seconds to wait for PortAudio to close before giving up on it
_WRITE_SLICE_SECONDS = 0.1  # a write checks for abort/close between slices of this length
_OUTPUT_PERIOD_SECONDS = 0.05


class AudioDeviceError(StageError):
    """The audio device is missing, cannot be opened, or stopped delivering audio."""

    def __init__(self, device: str, detail: str) -> None:
        super().__init__(ErrorCode.AUDIO_DEVICE, f"{device}: {detail}")
        self.device = device


class DeviceNotFound(AudioDeviceError):
    """No device matches the configured name or index; the message lists what is available.

    A subclass of AudioDeviceError because a USB microphone that is unplugged is "not found" too:
    the supervisor retries it like any other device failure.
    """

    def __init__(
        self, spec: str | int | None, available: Sequence[str], *, output: bool = False
    ) -> None:
        direction = "output" if output else "input"
        wanted = (
            f"no default {direction} device"
            if spec is None
            else (f"no {direction} device matches {spec!r}")
        )
        listed = (
            ", ".join(repr(name) for name in available)
            if available
            else ("none (no sound card, and no PulseAudio/ALSA plugin reachable?)")
        )
        super().__init__(_spec_name(spec), f"{wanted}; available {direction} devices: {listed}")
        self.spec = spec
        self.available = list(available)


@dataclass(frozen=True)
class DeviceInfo:
    index: int
    name: str
    max_input_channels: int
    max_output_channels: int
    default_sample_rate: float
    is_default_input: bool
    is_default_output: bool


def _portaudio() -> pyaudio.PyAudio:
    """A fresh PortAudio instance, without the screenfuls ALSA and JACK print while probing."""
    quiet_alsa()
    with native_stderr_silenced():
        return pyaudio.PyAudio()


def _close(stream: Any, pa: pyaudio.PyAudio | None, what: str) -> None:
    """Close a stream and terminate its PortAudio instance, whatever state they are in."""
    if stream is not None:
        try:
            stream.close()
        except OSError as exc:
            log.warning("closing %s: %s", what, exc)
    if pa is not None:
        pa.terminate()


def _spec_name(spec: str | int | None) -> str:
    return "default" if spec is None else str(spec)


def _devices(pa: pyaudio.PyAudio) -> list[DeviceInfo]:
    """The devices of an initialised PortAudio instance."""
    default_in = default_out = -1
    with contextlib.suppress(OSError):
        default_in = int(pa.get_default_input_device_info()["index"])
    with contextlib.suppress(OSError):
        default_out = int(pa.get_default_output_device_info()["index"])
    devices = []
    for index in range(pa.get_device_count()):
        info = pa.get_device_info_by_index(index)
        devices.append(
            DeviceInfo(
                index=index,
                name=str(info["name"]),
                max_input_channels=int(info["maxInputChannels"]),
                max_output_channels=int(info["maxOutputChannels"]),
                default_sample_rate=float(info["defaultSampleRate"]),
                is_default_input=index == default_in,
                is_default_output=index == default_out,
            )
        )
    return devices


def _select(
    devices: Sequence[DeviceInfo], spec: str | int | None, *, output: bool
) -> DeviceInfo | None:
    def usable(device: DeviceInfo) -> bool:
        return (device.max_output_channels if output else device.max_input_channels) > 0

    if spec is None:
        for device in devices:
            if device.is_default_output if output else device.is_default_input:
                return device
        return None
    candidates = [device for device in devices if usable(device)]
    if isinstance(spec, int) or spec.strip().isdigit():
        index = int(spec)
        match = next((device for device in candidates if device.index == index), None)
    else:
        needle = spec.casefold()
        match = next((device for device in candidates if needle in device.name.casefold()), None)
    if match is None:
        raise DeviceNotFound(spec, [device.name for device in candidates], output=output)
    return match


def list_devices() -> list[DeviceInfo]:
    """All PortAudio devices. Initialises and terminates PortAudio (takes a few hundred ms)."""
    pa = _portaudio()
    try:
        return _devices(pa)
    finally:
        pa.terminate()


def find_device(spec: str | int | None, *, output: bool) -> DeviceInfo | None:
    """The device `spec` names: None is the default (None if there is none), an int or a digit
    string is an index, any other string the first device whose name contains it (ignoring case)
    and that has input (or output) channels. Raises DeviceNotFound when nothing matches."""
    return _select(list_devices(), spec, output=output)


def _open_device(pa: pyaudio.PyAudio, spec: str | int | None, *, output: bool) -> DeviceInfo:
    device = _select(_devices(pa), spec, output=output)
    if device is None:
        names = [
            d.name
            for d in _devices(pa)
            if (d.max_output_channels if output else d.max_input_channels)
        ]
        raise DeviceNotFound(None, names, output=output)
    return device


def _pick_format(
    pa: pyaudio.PyAudio, device: DeviceInfo, rates: Sequence[int], *, output: bool
) -> tuple[int, int]:
    """The first (rate, channels) of `rates` x (mono, stereo) that the device takes as int16."""
    max_channels = device.max_output_channels if output else device.max_input_channels
    for rate in rates:
        for channels in (1, 2):
            if channels > max_channels:
                continue
            direction: dict[str, Any] = (
                {
                    "output_device": device.index,
                    "output_channels": channels,
                    "output_format": pyaudio.paInt16,
                }
                if output
                else {
                    "input_device": device.index,
                    "input_channels": channels,
                    "input_format": pyaudio.paInt16,
                }
            )
            try:
                if pa.is_format_supported(rate, **direction):
                    return rate, channels
            except ValueError:  # PyAudio signals "unsupported" by raising
                continue
    raise AudioDeviceError(device.name, f"accepts none of {list(rates)} Hz as mono or stereo int16")


async def _close_in(worker: Worker, teardown: Callable[[], None], name: str) -> None:
    """Run `teardown` on the worker (after whatever is queued there), bounded, then stop it."""
    finished = False
    try:
        await asyncio.wait_for(worker.run(teardown), _CLOSE_TIMEOUT)
        finished = True
    except TimeoutError:
        log.warning(
            "audio device %s did not close within %s s; abandoning it", name, _CLOSE_TIMEOUT
        )
    except Exception:
        log.exception("closing audio device %s failed", name)
        finished = True
    # The worker is idle once teardown finished, so joining it is immediate; a worker stuck
    # inside PortAudio is left behind rather than hanging the daemon's shutdown.
    worker.close(timeout=1.0 if finished else 0.0)


def _ignore_outcome(future: asyncio.Future[Any]) -> None:
    if not future.cancelled():
        future.exception()


class PyAudioSource:
    """Microphone frames: 80 ms of 16 kHz mono int16, stamped with audio time.

    The device is opened when frames() starts iterating, at `sample_rate` if given, else at
    16 kHz if the device supports it, else at its default rate; mono, or the first channel of
    stereo. Audio time counts the samples delivered; blocks dropped on overflow are not counted.
    """

    realtime = True

    def __init__(
        self,
        device: str | int | None = None,
        sample_rate: int | None = None,
        queue_seconds: float = 2.0,
        block_seconds: float = 0.08,
        stall_seconds: float = 1.0,
    ) -> None:
        self._spec = device
        self._requested_rate = sample_rate
        self._block_seconds = block_seconds
        self._stall_seconds = stall_seconds
        self._blocks: deque[bytes] = deque(maxlen=max(1, round(queue_seconds / block_seconds)))
        self._worker = Worker("pyaudio-source", max_queue=16)
        self._pa: pyaudio.PyAudio | None = None
        self._stream: pyaudio.Stream | None = None
        self._started = False
        self._closed = False
        self._close_task: asyncio.Future[None] | None = None
        self.dropped_blocks = 0
        self.device_name = _spec_name(device)
        self.device_rate: int | None = None
        self.device_channels: int | None = None

    def _on_audio(
        self, in_data: bytes | None, frame_count: int, time_info: Any, status: int
    ) -> tuple[None, int]:
        """PortAudio's real-time thread: copy the block into the deque, nothing else.

        PyAudio has already copied the device buffer into `in_data`. When the deque is full,
        append() discards the oldest block; the count is approximate if the consumer pops
        at the same moment, which is harmless.
        """
        blocks = self._blocks
        if len(blocks) == blocks.maxlen:
            self.dropped_blocks += 1
        blocks.append(in_data or b"")
        return None, pyaudio.paContinue

    def _open(self) -> None:
        """Executor thread: initialise PortAudio and start the input stream."""
        self._pa = pa = _portaudio()  # stored first so teardown terminates it whatever fails
        device = _open_device(pa, self._spec, output=False)
        self.device_name = device.name
        rates = (
            [self._requested_rate]
            if self._requested_rate
            else [SAMPLE_RATE, int(device.default_sample_rate)]
        )
        rate, channels = _pick_format(pa, device, rates, output=False)
        try:
            self._stream = pa.open(
                format=pyaudio.paInt16,
                channels=channels,
                rate=rate,
                input=True,
                input_device_index=device.index,
                frames_per_buffer=max(1, round(rate * self._block_seconds)),
                stream_callback=self._on_audio,
                start=False,
            )
            self._stream.start_stream()
        except OSError as exc:
            raise AudioDeviceError(device.name, f"cannot open input at {rate} Hz: {exc}") from exc
        self.device_rate, self.device_channels = rate, channels
        log.info(
            "opened input %r (#%s) at %s Hz, %s channel(s), latency %.3f s",
            device.name,
            device.index,
            rate,
            channels,
            self._stream.get_input_latency(),
        )

    def _teardown(self) -> None:
        """Executor thread: close the stream (aborting it) and terminate PortAudio; idempotent."""
        stream, self._stream = self._stream, None
        pa, self._pa = self._pa, None
        _close(stream, pa, f"input {self.device_name}")

    async def frames(self) -> AsyncIterator[AudioFrame]:
        """Frames until close(); raises AudioDeviceError if the device fails or goes silent.

        The consumer polls the deque with short sleeps (a quarter block, 20 ms by default)
        instead of being woken by loop.call_soon_threadsafe from the callback: the callback then
        never touches the event loop (no self-pipe write on the real-time thread, no error when
        the loop has already closed), the deque stays the one bounded queue with drop-oldest,
        and stall detection falls out of the same loop. Cost: ~50 wakeups/s and <=20 ms latency.
        """
        if self._started:
            raise RuntimeError(
                "PyAudioSource.frames() can be iterated once; make a new source to reopen"
            )
        self._started = True
        if self._closed:
            return
        try:
            await self._worker.run(self._open)
            if self._closed:  # close() was called while opening; its teardown is queued
                return
            stream = self._stream
            assert stream is not None and self.device_rate is not None
            rate, stereo = self.device_rate, self.device_channels == 2
            # A streaming resampler keeps its filter state across blocks, so block edges do not
            # click the way resampling each block on its own (frames.resample) would.
            resampler = (
                soxr.ResampleStream(rate, SAMPLE_RATE, 1, dtype="int16")
                if rate != SAMPLE_RATE
                else None
            )
            reframer = Reframer()
            poll = self._block_seconds / 4
            last_block = time.monotonic()
            reported_drops = 0
            while not self._closed:
                try:
                    block = self._blocks.popleft()
                except IndexError:
                    if not stream.is_active():
                        raise AudioDeviceError(self.device_name, "input stream stopped") from None
                    if time.monotonic() - last_block > self._stall_seconds:
                        raise AudioDeviceError(
                            self.device_name, f"no audio for {self._stall_seconds:g} s"
                        ) from None
                    await asyncio.sleep(poll)
                    continue
                last_block = time.monotonic()
                if self.dropped_blocks != reported_drops:
                    log.warning(
                        "input %s overflowed: %s block(s) dropped so far (consumer too slow)",
                        self.device_name,
                        self.dropped_blocks,
                    )
                    reported_drops = self.dropped_blocks
                samples = np.frombuffer(block, dtype=np.int16)
                if stereo:
                    samples = samples[0::2]
                if resampler is not None:
                    samples = resampler.resample_chunk(samples)
                for frame in reframer.push(samples):
                    yield frame
                    if self._closed:
                        return
        except AudioDeviceError:
            await self._release()
            raise
        except OSError as exc:
            await self._release()
            raise AudioDeviceError(self.device_name, str(exc)) from exc

    async def _release(self) -> None:
        """Free the device after a failure, so it is not held until close()."""
        if not self._closed:
            await self._worker.run(self._teardown)

    async def close(self) -> None:
        """Stop and close the stream and terminate PortAudio; idempotent, safe from any state.

        frames() returns at its next step. Concurrent and later calls wait for the same close.
        """
        if self._close_task is None:
            self._closed = True
            self._close_task = asyncio.ensure_future(
                _close_in(self._worker, self._teardown, self.device_name)
            )
        await asyncio.shield(self._close_task)


class PyAudioSink:
    """Speaker: plays float32 chunks as mono int16 at `sample_rate` or the device's default rate.

    The output stream opens on the first play(). Writes are blocking PortAudio writes on the
    sink's single worker thread, so they stay in order and never block the event loop.
    """

    def __init__(self, device: str | int | None = None, sample_rate: int | None = None) -> None:
        self._spec = device
        self._requested_rate = sample_rate
        self._worker = Worker("pyaudio-sink", max_queue=64)
        self._pa: pyaudio.PyAudio | None = None
        self._stream: pyaudio.Stream | None = None
        self._closed = False
        self._close_task: asyncio.Future[None] | None = None
        self._aborts: set[threading.Event] = set()
        # Monotonic time at which everything handed over so far should have been heard,
        # not counting the device's output latency.
        self._expected_end = 0.0
        self._latency = 0.0
        self.device_name = _spec_name(device)
        self.device_rate: int | None = None
        self._channels = 1

    def _open(self) -> None:
        """Executor thread: initialise PortAudio and open the output stream (if not yet open)."""
        if self._stream is not None or self._closed:
            return
        try:
            self._pa = pa = _portaudio()
            device = _open_device(pa, self._spec, output=True)
            self.device_name = device.name
            rates = [self._requested_rate or int(device.default_sample_rate)]
            rate, channels = _pick_format(pa, device, rates, output=True)
            try:
                self._stream = pa.open(
                    format=pyaudio.paInt16,
                    channels=channels,
                    rate=rate,
                    output=True,
                    output_device_index=device.index,
                    # PyAudio's default buffer is ~10 ms: one GIL hiccup between two blocking
                    # writes and the speaker clicks. 50 ms periods give ~100 ms of slack.
                    frames_per_buffer=round(rate * _OUTPUT_PERIOD_SECONDS),
                )
            except OSError as exc:
                raise AudioDeviceError(
                    device.name, f"cannot open output at {rate} Hz: {exc}"
                ) from exc
        except BaseException:
            self._teardown()  # a later play() retries from scratch
            raise
        self.device_rate, self._channels = rate, channels
        self._latency = float(self._stream.get_output_latency())
        log.info(
            "opened output %r (#%s) at %s Hz, %s channel(s), latency %.3f s",
            device.name,
            device.index,
            rate,
            channels,
            self._latency,
        )

    def _write(self, samples: np.ndarray, sample_rate: int, abort: threading.Event) -> None:
        """Executor thread: resample, convert and write in slices, stopping early on abort."""
        stream, rate = self._stream, self.device_rate
        if stream is None or rate is None or self._closed or abort.is_set():
            return
        pcm = float_to_int16(resample(samples, sample_rate, rate))
        if self._channels == 2:
            pcm = np.repeat(pcm, 2)
        step = max(1, round(rate * _WRITE_SLICE_SECONDS)) * self._channels
        for offset in range(0, len(pcm), step):
            if abort.is_set() or self._closed:
                return
            try:
                stream.write(pcm[offset : offset + step].tobytes())
            except OSError as exc:
                raise AudioDeviceError(self.device_name, f"write failed: {exc}") from exc

    def _teardown(self) -> None:
        """Executor thread: close the stream (discarding what is buffered), terminate PortAudio."""
        stream, self._stream = self._stream, None
        pa, self._pa = self._pa, None
        _close(stream, pa, f"output {self.device_name}")

    async def play(self, chunk: AudioChunk) -> None:
        """Hand `chunk` to the device; returns when the last of it is in the device's buffer.

        Cancelling play() stops the rest of the chunk from being written. A write that takes
        longer than the chunk's length + 1 s means the device is stuck: AudioDeviceError.
        """
        if self._closed:
            raise AudioDeviceError(self.device_name, "sink is closed")
        samples = np.asarray(chunk.samples, dtype=np.float32).reshape(-1)
        if samples.size == 0:
            return
        if self._stream is None:
            await self._worker.run(self._open)
        if self._closed:
            raise AudioDeviceError(self.device_name, "sink is closed")
        now = time.monotonic()
        self._expected_end = max(self._expected_end, now) + chunk.duration
        abort = threading.Event()
        self._aborts.add(abort)
        write = asyncio.wrap_future(
            self._worker.submit(self._write, samples, chunk.sample_rate, abort, block=False)
        )
        # If we stop waiting (timeout, cancel), the write's own outcome is nobody's business.
        write.add_done_callback(_ignore_outcome)
        try:
            await asyncio.wait_for(asyncio.shield(write), self._expected_end - now + 1.0)
        except TimeoutError:
            abort.set()
            raise AudioDeviceError(
                self.device_name,
                f"write of {chunk.duration:.2f} s did not finish within its length + 1 s",
            ) from None
        except asyncio.CancelledError:
            abort.set()
            raise
        finally:
            self._aborts.discard(abort)

    async def drain(self) -> None:
        """Wait until what was handed over has been heard, approximately.

        PortAudio cannot tell when buffered audio has left the speaker, so this waits until the
        handed-over duration has elapsed since playback started plus the output latency, never
        longer than the remaining duration + 1 s: playback finishes or is abandoned by then.
        """
        if self._stream is None or self._closed:
            return
        now = time.monotonic()
        deadline = now + max(0.0, self._expected_end - now) + 1.0
        try:  # writes still queued (a cancelled play's slice) come first
            await asyncio.wait_for(
                self._worker.run(lambda: None), deadline - now
            )
        except TimeoutError:
            log.warning(
                "output %s: playback did not finish in time; abandoning the wait", self.device_name
            )
            return
        except RuntimeError:  # worker closed (WorkerClosed): close() raced us
            return
        target = min(self._expected_end + self._latency, deadline)
        await asyncio.sleep(max(0.0, target - time.monotonic()))

    async def close(self) -> None:
        """Stop writing, close the stream, terminate PortAudio; idempotent, safe from any state."""
        if self._close_task is None:
            self._closed = True
            for abort in self._aborts:
                abort.set()
            self._close_task = asyncio.ensure_future(
                _close_in(self._worker, self._teardown, self.device_name)
            )
        await asyncio.shield(self._close_task)
