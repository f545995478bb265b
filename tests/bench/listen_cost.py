"""Idle listening cost: CPU seconds per second of audio while waiting for the wake word.

Runs the daemon's real listener (Assistant.on_frame in IDLE: pre-roll, executor hop, wake model)
and, on the same frames and models, openWakeWord's own reference loop (Model.predict per frame),
over silence and over continuous speech that never says the wake word.
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
from daemon.turn import Assistant
from tests.fixtures.audio import LONG_TEXT, AudioBuilder, read

REPO = Path(__file__).resolve().parents[2]


Loop = Callable[[list[AudioFrame]], int]


def _frames(samples: np.ndarray) -> list[AudioFrame]:
    return list(Reframer(FRAME_SAMPLES).push(samples))


def daemon_listener() -> Loop:
    """The daemon's IDLE path with the zero-download profile's real models."""
    config = REPO / "config" / "voiced.yaml"
    settings = load_settings(config, find_profiles(config, ["zero-download"]))
    stages = build_stages(settings, NullSink())

    def process(frames: list[AudioFrame]) -> int:
        assistant = Assistant(stages, turn_settings(settings), PersonaHolder(settings))
        stages.wake.reset()

        async def go() -> int:
            try:
                for frame in frames:
                    await assistant.on_frame(frame)
                    if assistant.state != "idle":
                        return 1  # a false accept on audio without the wake word
                return 0
            finally:
                await assistant.close()

        return asyncio.run(go())

    return process


def reference_loop() -> Loop:
    """openWakeWord's own loop: Model.predict on every 80 ms frame, same models."""
    from openwakeword.model import Model

    from daemon.config import WakeSettings, default_models_dir
    from daemon.wake.openwakeword import feature_models, resolve_model, use_litert_as_tflite_runtime

    use_litert_as_tflite_runtime()
    models = default_models_dir()
    model = Model(
        wakeword_models=[str(resolve_model("hey_jarvis", models))],
        inference_framework="tflite",
        **feature_models("tflite", models),
    )
    threshold = WakeSettings().threshold

    def process(frames: list[AudioFrame]) -> int:
        model.reset()
        return int(any(max(model.predict(f.samples).values()) >= threshold for f in frames))

    return process


def run(audio: AudioBuilder, seconds: float = 60.0) -> dict[str, object]:
    speech = np.concatenate([read(audio.speech(LONG_TEXT, v)) for v in ("en-us", "en-gb")])
    inputs = {
        "silence": np.zeros(int(seconds * 16000), dtype=np.int16),
        "speech": speech[: int(seconds * 16000)],
    }
    loops = {"daemon": daemon_listener(), "reference": reference_loop()}
    results: dict[str, object] = {}
    for name, samples in inputs.items():
        frames = _frames(samples)
        audio_seconds = len(frames) * FRAME_SAMPLES / 16000
        for loop_name, loop in loops.items():
            wall, cpu = time.perf_counter(), time.process_time()
            false_accepts = loop(frames)
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
            results[f"{name}/{loop_name}"] = {
                "audio_seconds": round(audio_seconds, 2),
                "cpu_seconds_per_audio_second": round(cpu / audio_seconds, 5),
                "realtime_factor_wall": round(wall / audio_seconds, 5),
                "false_accepts": false_accepts,
            }
    return results
