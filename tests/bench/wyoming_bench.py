"""`voiced wyoming` round trips beside the same work called in process.

The server is the real one (tests/fixtures/wyoming.py: its own thread and event loop, 127.0.0.1)
on the zero-download models: pocketsphinx, espeak-ng, openWakeWord. The client is the wyoming
package's own, as Home Assistant uses it, one request per connection as Home Assistant does.

transcription: a spoken 2 s command (espeak-ng), sent in 1024-sample chunks as fast as the socket
takes them; latency from the first event sent to the transcript. In process: start, feed, finish.
synthesis: one sentence; latency to audio-stop (all audio received) and to the first audio-chunk.
In process: the same synthesizer, to the last and to the first chunk.
describe: describe -> info.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable

import numpy as np
from wyoming.asr import Transcribe
from wyoming.info import Describe
from wyoming.tts import Synthesize

from daemon.audio.wavfile import read_wav_16k
from daemon.config import load_settings
from daemon.wyoming.engines import Engines, load_engines
from tests.conftest import CONFIG
from tests.fixtures.audio import AudioBuilder
from tests.fixtures.wyoming import ServerThread, audio_events, client

ROUNDS = 10
SENTENCE = "The weather today is sunny and warm, with a light breeze."
PROFILE = CONFIG.parent / "profiles" / "zero-download.yaml"


def _stats(seconds: list[float]) -> dict[str, float]:
    cuts = statistics.quantiles(seconds, n=20)
    return {
        "p50_ms": round(statistics.median(seconds) * 1000, 2),
        "p95_ms": round(cuts[18] * 1000, 2),
    }


async def _timed(call: Callable[[], Awaitable[float | None]]) -> tuple[float, float | None]:
    started = time.perf_counter()
    first = await call()
    return time.perf_counter() - started, (first - started) if first else None


def _transcribe_here(engines: Engines, samples: np.ndarray) -> float:
    assert engines.transcriber is not None
    started = time.perf_counter()
    session = engines.transcriber.start()
    session.feed(samples)
    session.finish()
    return time.perf_counter() - started


def _synthesize_here(engines: Engines) -> tuple[float, float]:
    assert engines.synthesizer is not None
    started, first = time.perf_counter(), 0.0
    for i, _chunk in enumerate(engines.synthesizer.synthesize(SENTENCE, engines.persona)):
        if i == 0:
            first = time.perf_counter() - started
    return time.perf_counter() - started, first


async def _compare(
    port: int, engines: Engines, samples: np.ndarray
) -> dict[str, dict[str, dict[str, float]]]:
    """Each round runs every call here and over Wyoming back to back, so the load of the
    shared machine falls on both alike."""
    request = [Transcribe(language="en").event(), *audio_events(samples)]

    async def transcribe() -> None:
        async with client(port) as conn:
            for event in request:
                await conn.write_event(event)
            while (event := await conn.read_event()) is not None and event.type != "transcript":
                pass

    async def synthesize() -> float | None:
        first = None
        async with client(port) as conn:
            await conn.write_event(Synthesize(text=SENTENCE).event())
            while (event := await conn.read_event()) is not None and event.type != "audio-stop":
                if event.type == "audio-chunk" and first is None:
                    first = time.perf_counter()
        return first

    async def describe() -> None:
        async with client(port) as conn:
            await conn.write_event(Describe().event())
            await conn.read_event()

    wire: dict[str, list[float]] = {"transcription": [], "synthesis": [], "first_audio": []}
    here: dict[str, list[float]] = {"transcription": [], "synthesis": [], "first_audio": []}
    info: list[float] = []
    for _ in range(ROUNDS):
        here["transcription"].append(_transcribe_here(engines, samples))
        wire["transcription"].append((await _timed(transcribe))[0])
        total, to_first = _synthesize_here(engines)
        here["synthesis"].append(total)
        here["first_audio"].append(to_first)
        total, first = await _timed(synthesize)
        wire["synthesis"].append(total)
        wire["first_audio"].append(first or total)
        info.append((await _timed(describe))[0])
    return {
        "in_process": {name: _stats(values) for name, values in here.items()},
        "over_wyoming": {
            **{name: _stats(values) for name, values in wire.items()},
            "describe": _stats(info),
        },
    }


def run(audio: AudioBuilder) -> dict[str, object]:
    samples = read_wav_16k(audio.speech("what time is it, and what is the weather like"))
    engines = load_engines(load_settings(CONFIG, [PROFILE]), ["asr", "tts"])
    results: dict[str, object] = {
        "note": "zero-download models (pocketsphinx, espeak-ng) on a shared 2-core machine",
        "utterance_s": round(len(samples) / 16000, 2),
        "sentence": SENTENCE,
        "rounds": ROUNDS,
    }
    with ServerThread(engines) as server:
        results.update(asyncio.run(_compare(server.port, engines, samples)))
    return results
