"""Idle listening: CPU seconds per second of audio, and wake detections, three ways.

- daemon: the real listener (Assistant.on_frame in IDLE: pre-roll, quiet gate, executor hop,
  wake model) with the zero-download profile's models;
- daemon-ungated: the same with the quiet gate off;
- reference: openWakeWord's own loop (Model.predict on every 80 ms frame), same model files.
Cost is measured on a minute of silence and a minute of continuous speech without the wake word
(false accepts counted there); detections on wake phrases in several voices, clean and in 10 dB
white noise, each after 3 s of quiet so that the gate is closed when the phrase begins.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from daemon.audio.base import NullSink
from daemon.audio.frames import FRAME_SAMPLES, AudioFrame, Reframer
from daemon.cli import find_profiles
from daemon.config import load_settings
from daemon.service import PersonaHolder, build_stages, turn_settings
from daemon.turn.machine import Assistant, State
from daemon.turn.phases import Idle, Recording
from tests.fixtures.audio import LONG_TEXT, AudioBuilder, read
from tests.fixtures.fakes import ScriptedAsr

REPO = Path(__file__).resolve().parents[2]
VOICES = ["en-us", "en-gb", "en-us+klatt", "en-us+m3", "en-us+f2", "en-gb-x-rp"]
Loop = Callable[[list[AudioFrame]], int]  # frames -> wake detections


def _frames(samples: np.ndarray) -> list[AudioFrame]:
    return list(Reframer(FRAME_SAMPLES).push(samples))


def daemon_listener(gated: bool) -> Loop:
    config = REPO / "config" / "voiced.yaml"
    settings = load_settings(config, find_profiles(config, ["zero-download"]))
    stages = build_stages(settings, NullSink())
    stages.asr = ScriptedAsr()  # listening cost only: what follows a detection is not measured
    if not gated:
        stages.gate = None

    def process(frames: list[AudioFrame]) -> int:
        assistant = Assistant(stages, turn_settings(settings), PersonaHolder(settings))
        (stages.gate or stages.wake).reset()

        async def go() -> int:
            detections = 0
            try:
                for frame in frames:
                    await assistant.on_frame(frame)
                    phase = assistant.phase
                    if phase.state is not State.IDLE:  # detected: count, listen again
                        detections += 1
                        if isinstance(phase, Recording):
                            phase.utterance.discard()
                        assistant._set_phase(Idle())  # a bench's shortcut past the turn
                return detections
            finally:
                await assistant.close()

        return asyncio.run(go())

    return process


def reference_loop() -> Loop:
    from openwakeword.model import Model

    from daemon.config import WakeSettings, default_models_dir
    from daemon.wake.openwakeword import feature_models, use_litert_as_tflite_runtime

    use_litert_as_tflite_runtime()
    models = default_models_dir()
    model = Model(  # openWakeWord's own loop, on the official tflite file
        wakeword_models=[str(models / "openwakeword" / "hey_jarvis_v0.1.tflite")],
        inference_framework="tflite",
        **feature_models("tflite", models),
    )
    threshold, refractory = WakeSettings().threshold, WakeSettings().refractory_seconds

    def process(frames: list[AudioFrame]) -> int:
        model.reset()
        detections, last = 0, float("-inf")
        for frame in frames:
            hit = max(model.predict(frame.samples).values()) >= threshold
            if hit and frame.end - last >= refractory:
                detections += 1
                last = frame.end
        return detections

    return process


def _cost(loop: Loop, frames: list[AudioFrame]) -> dict[str, float | int]:
    audio_seconds = len(frames) * FRAME_SAMPLES / 16000
    wall, cpu = time.perf_counter(), time.process_time()
    detections = loop(frames)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    return {
        "audio_seconds": round(audio_seconds, 1),
        "cpu_seconds_per_audio_second": round(cpu / audio_seconds, 5),
        "realtime_factor_wall": round(wall / audio_seconds, 5),
        "wake_detections": detections,
    }


def _positives(audio: AudioBuilder) -> list[np.ndarray]:
    clips = []
    for voice in VOICES:
        clean = audio.concat(
            audio.silence(3.0), audio.speech("hey jarvis", voice), audio.silence(1.5)
        )
        clips += [read(clean), read(audio.with_noise(clean, snr_db=10))]
    return clips


def run(audio: AudioBuilder, seconds: float = 60.0) -> dict[str, object]:
    speech = np.concatenate([read(audio.speech(LONG_TEXT, v)) for v in ("en-us", "en-gb")])
    inputs = {
        "silence": _frames(np.zeros(int(seconds * 16000), dtype=np.int16)),
        "speech_without_wake_word": _frames(speech[: int(seconds * 16000)]),
    }
    positives = [_frames(clip) for clip in _positives(audio)]
    loops = {
        "daemon": daemon_listener(gated=True),
        "daemon-ungated": daemon_listener(gated=False),
        "reference": reference_loop(),
    }
    results: dict[str, object] = {}
    for loop_name, loop in loops.items():
        entry: dict[str, object] = {name: _cost(loop, frames) for name, frames in inputs.items()}
        detected = sum(1 for frames in positives if loop(frames) >= 1)
        entry["wake_phrases_detected"] = f"{detected}/{len(positives)}"
        entry["false_accepts_in_speech"] = entry["speech_without_wake_word"]["wake_detections"]  # type: ignore[index]
        results[loop_name] = entry
    return results
