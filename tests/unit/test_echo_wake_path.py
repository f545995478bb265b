"""Why a wake word said over a loud reply was missed with echo cancellation on, pinned.

1. The far-end reference and what the speaker played drifted apart: the file-mode sink handed
   each 40 ms slice over only once the 80 ms clock had passed its start, so a speaker that plays
   what it is handed (the test room) put gaps into the reply that the echo canceller's timeline
   did not have, and the canceller had to re-learn the echo path at every gap.
2. Even with the reference aligned, WebRTC AEC3's echo suppressor mutes a person who talks over
   a reply as loud as they are; with `linear_wake` the wake word hears a linear-only
   cancellation instead.
"""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from daemon.audio.aec_linear import LinearEchoCanceller
from daemon.audio.clock import AudioClock, ClockedSink
from daemon.audio.frames import FRAME_SAMPLES, SAMPLE_RATE, AudioChunk, AudioFrame
from tests.fixtures.audio import AudioBuilder, read

FRAME = FRAME_SAMPLES / SAMPLE_RATE


class HandOver:
    """A sink that notes the clock's time whenever a slice is handed to it."""

    def __init__(self, clock: AudioClock) -> None:
        self.clock = clock
        self.handed: list[tuple[float, float]] = []  # (clock time, slice duration)

    async def play(self, chunk: AudioChunk) -> None:
        self.handed.append((self.clock.now, chunk.duration))

    async def drain(self) -> None:
        return None

    async def close(self) -> None:
        return None


@pytest.mark.parametrize("offset", [0.0, 0.04, 0.05])
def test_clocked_sink_hands_every_slice_over_before_it_is_due(offset: float) -> None:
    """Two chunks back to back, starting off the frame grid or on it: every slice reaches the
    device no later than the audio time it must be heard at, so a speaker plays no gap."""

    async def main() -> list[tuple[float, float]]:
        clock = AudioClock()
        clock.advance_to(offset)
        device = HandOver(clock)
        sink = ClockedSink(device, clock)
        chunk = AudioChunk(np.zeros(int(0.5 * SAMPLE_RATE), np.float32), SAMPLE_RATE)

        async def speak() -> None:
            await sink.play(chunk)
            await sink.play(chunk)

        task = asyncio.create_task(speak())
        at = offset
        while not task.done():  # the listener: audio time moves a whole frame at a time
            await asyncio.sleep(0)
            at += FRAME
            clock.advance_to(at)
        await task
        return device.handed

    handed = asyncio.run(main())
    due = offset + np.concatenate([[0.0], np.cumsum([d for _, d in handed])[:-1]])
    late = [(round(now, 3), round(t, 3)) for (now, _), t in zip(handed, due, strict=True)]
    assert all(now <= t + 1e-9 for now, t in late), late
    assert len(handed) == 26  # 2 x 0.5 s in 40 ms slices (12 whole + 1 part each)


def _room(audio: AudioBuilder) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A reply heard back at the person's loudness, 100 ms late, through a short reverberation,
    and a person saying something over it 2.5 s in: (reference, microphone, person)."""
    reply = read(audio.speech("Here is a long answer about the weather and the traffic today."))
    said = read(audio.speech("hey jarvis", "en-gb")).astype(np.float64)
    n = len(reply) + SAMPLE_RATE
    n -= n % FRAME_SAMPLES
    reference = np.zeros(n)
    reference[: len(reply)] = reply
    room = np.zeros(400)
    room[[0, 90, 250, 399]] = [1.0, 0.4, -0.25, 0.1]
    echo = np.zeros(n)
    delayed = np.convolve(reference, room)[: n - 1600]
    echo[1600:] = delayed
    person = np.zeros(n)
    at = int(2.5 * SAMPLE_RATE)
    person[at : at + len(said)] = said[: n - at]
    microphone = np.clip(echo + person, -32768, 32767).astype(np.int16)
    return reference.astype(np.int16), microphone, person


def _level(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(x.astype(np.float64) ** 2)) + 1e-9)


def _muted(heard: np.ndarray, person: np.ndarray) -> int:
    """80 ms frames in which the person speaks but less than a third of their level is heard."""
    muted = 0
    for i in range(0, len(person) - FRAME_SAMPLES + 1, FRAME_SAMPLES):
        said = _level(person[i : i + FRAME_SAMPLES])
        muted += said > 500 and _level(heard[i : i + FRAME_SAMPLES]) < said / 3
    return muted


def test_linear_canceller_removes_the_echo_and_keeps_the_person(audio: AudioBuilder) -> None:
    reference, microphone, person = _room(audio)
    cleaned = LinearEchoCanceller().process(reference, microphone).astype(np.float64)
    talk = slice(int(2.5 * SAMPLE_RATE), int(3.3 * SAMPLE_RATE))
    before = slice(int(1.5 * SAMPLE_RATE), int(2.5 * SAMPLE_RATE))  # echo only
    echo_left = _level(cleaned[before]) / _level(microphone[before])
    assert echo_left < 0.2  # more than 14 dB of echo removed within 2.5 s of speech
    kept = np.corrcoef(cleaned[talk], person[talk])[0, 1]
    assert kept > 0.9  # the person, over the reply, is what the wake word hears


def test_aec3_mutes_the_person_where_the_wake_path_does_not(audio: AudioBuilder) -> None:
    pytest.importorskip("livekit")
    from daemon.audio.echo import EchoCanceller

    reference, microphone, person = _room(audio)
    canceller = EchoCanceller(delay_ms=100, linear_wake=True)
    canceller.timeline.add(AudioChunk(reference.astype(np.float32) / 32768, SAMPLE_RATE), 0.0)
    suppressed, for_wake = [], []
    for i in range(0, len(microphone), FRAME_SAMPLES):
        cleaned = canceller.process(AudioFrame(microphone[i : i + FRAME_SAMPLES], i / SAMPLE_RATE))
        suppressed.append(cleaned.frame.samples)
        for_wake.append(cleaned.for_wake.samples)
    talk = slice(int(2.5 * SAMPLE_RATE), int(3.3 * SAMPLE_RATE))
    aec3 = np.concatenate(suppressed)[talk]
    linear = np.concatenate(for_wake)[talk]
    assert _muted(linear, person[talk]) == 0
    assert _muted(aec3, person[talk]) >= 2  # AEC3 alone: parts of the phrase are gone
