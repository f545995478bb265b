"""The request starts after the wake phrase: no piece of "hey jarvis" reaches the ASR.

Real openWakeWord and Silero on espeak-ng voices: the pre-roll handed to the ASR must begin at
or after the phrase's last sample and no later than the command's first one (nothing clipped).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from daemon.audio.frames import FRAME_SAMPLES, SAMPLE_RATE, AudioFrame
from daemon.config import EndpointSettings, VadSettings, WakeSettings
from daemon.turn.listener import Listener, ListenSettings, Woke
from daemon.turn.phases import Idle
from daemon.vad import make_vad
from daemon.wake import make_wake_detector
from daemon.wake.gate import QuietGate
from tests.fixtures.audio import AudioBuilder, duration, read, speech_end

pytestmark = pytest.mark.slow

VOICES = ["en-us", "en-gb", "en-us+klatt", "en-us+f3", "en-us+m3", "en-gb-x-rp"]
TOLERANCE = 0.04  # seconds: one VAD chunk (32 ms) and a little


def speech_start(path: Path, level: float = 0.01) -> float:
    samples = np.abs(read(path).astype(np.float32) / 32768)
    loud = np.flatnonzero(samples > level)
    return float(loud[0]) / SAMPLE_RATE if loud.size else 0.0


def first_wake(samples: np.ndarray, listener: Listener) -> Woke | None:
    idle = Idle()
    for i in range(0, len(samples) - FRAME_SAMPLES + 1, FRAME_SAMPLES):
        event = listener.hear(AudioFrame(samples[i : i + FRAME_SAMPLES], i / SAMPLE_RATE), idle)
        if isinstance(event, Woke):
            return event
    return None


@pytest.mark.parametrize("gap", [0.15, 0.4])
@pytest.mark.parametrize("voice", VOICES)
def test_the_request_begins_after_the_wake_phrase(
    audio: AudioBuilder, models_dir: Path, voice: str, gap: float
) -> None:
    lead = 0.5
    wake = audio.speech("hey jarvis", voice)
    command = audio.speech("tell me a joke about dogs")
    clip = audio.concat(audio.silence(lead), wake, audio.silence(gap), command, audio.silence(1))
    phrase_end = lead + speech_end(wake)
    command_start = lead + duration(wake) + gap + speech_start(command)

    detector = make_wake_detector(WakeSettings(), models_dir)
    listener = Listener(
        detector,
        make_vad(VadSettings(), models_dir),
        ListenSettings(endpoint=EndpointSettings()),
        gate=QuietGate(detector),
    )
    event = first_wake(read(clip), listener)
    if event is None:
        pytest.skip(f"hey_jarvis does not fire on espeak voice {voice}")
    begins = event.lead_in[0].start if event.lead_in else event.at
    print(f"{voice} gap {gap}: phrase ends {phrase_end:.3f}, request fed from {begins:.3f}, "
          f"command starts {command_start:.3f}, detected {event.at:.3f}")
    assert begins >= phrase_end - TOLERANCE, "the end of the wake phrase would reach the ASR"
    assert begins <= command_start + TOLERANCE, "the start of the request would be clipped"
