"""`voiced serve` throughput and latency at 1, 4 and 16 concurrent clients, beside the same work
called in process.

The server is the real app on uvicorn (127.0.0.1, a thread of this process) with the tiny
random-weight FunASR (paraformer-zh) and ChatTTS models the tests build, so the figures show the
serving machinery's cost (HTTP, multipart, WAV checks, the worker hop, streaming), not the
released models' speed. Each model serves one request at a time, so at higher concurrency the
latency grows with the queue while requests/s stays near the single-client figure.

transcription: a 2 s utterance (espeak-ng, Mandarin), latency to the JSON transcript.
speech: one short sentence, latency to the last byte of the streamed PCM.
in_process: the same calls on the same engines from the same number of threads, no HTTP.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import requests

from daemon.asr.remote import wav_bytes
from daemon.config import Settings
from daemon.serve.app import Engines, create_app, load_engines
from daemon.serve.server import BackgroundServer
from tests.bench.funasr_bench import utterance
from tests.e2e.test_remote import KEY, KEY_ENV, ZH, server_settings, tiny_models
from tests.fixtures.audio import AudioBuilder

CONCURRENCY = (1, 4, 16)
REQUESTS_PER_CLIENT = 4
SENTENCE = "你好。"
AUTH = {"Authorization": f"Bearer {KEY}"}


def _measure(call: Callable[[], None], clients: int) -> dict[str, float]:
    """`clients` threads each making REQUESTS_PER_CLIENT calls back to back."""
    latencies: list[float] = []
    lock = threading.Lock()

    def client() -> None:
        for _ in range(REQUESTS_PER_CLIENT):
            started = time.perf_counter()
            call()
            with lock:
                latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    cuts = statistics.quantiles(latencies, n=20) if len(latencies) > 1 else latencies * 19
    return {
        "requests_per_s": round(len(latencies) / wall, 2),
        "p50_s": round(statistics.median(latencies), 4),
        "p95_s": round(cuts[18], 4),
        "requests": len(latencies),
    }


def _served_calls(url: str, samples: np.ndarray) -> dict[str, Callable[[], None]]:
    upload = wav_bytes(samples)
    http = threading.local()

    def session() -> requests.Session:
        if not hasattr(http, "session"):
            http.session = requests.Session()
        return http.session  # type: ignore[no-any-return]

    def transcribe() -> None:
        files = {"file": ("u.wav", upload, "audio/wav")}
        response = session().post(
            url + "/v1/audio/transcriptions", files=files, headers=AUTH, timeout=60
        )
        response.raise_for_status()

    def speak() -> None:
        body = {"input": SENTENCE, "voice": "seed-0", "response_format": "pcm"}
        with session().post(
            url + "/v1/audio/speech", json=body, headers=AUTH, stream=True, timeout=60
        ) as response:
            response.raise_for_status()
            for _ in response.iter_content(None):
                pass

    return {"transcription": transcribe, "speech": speak}


def _local_calls(engines: Engines, samples: np.ndarray) -> dict[str, Callable[[], None]]:
    def transcribe() -> None:
        with engines.asr_lock:
            session = engines.transcriber.start()
            session.feed(samples)
            session.finish()

    def speak() -> None:
        with engines.tts_lock:
            for _ in engines.synthesizer.synthesize(SENTENCE, ZH):
                pass

    return {"transcription": transcribe, "speech": speak}


def with_capacity(settings: Settings, capacity: int) -> Settings:
    """The test server's settings with room for every bench client at once."""
    assert settings.daemon.serve is not None
    serve = settings.daemon.serve.model_copy(update={"capacity": capacity})
    daemon = settings.daemon.model_copy(update={"serve": serve})
    return settings.model_copy(update={"daemon": daemon})


def run(audio: AudioBuilder) -> dict[str, object]:
    import torch

    torch.set_num_threads(1)
    os.environ[KEY_ENV] = KEY
    samples = utterance(audio, 2.0)
    results: dict[str, object] = {
        "note": "tiny random-weight models: the serving machinery's cost, not the models'",
        "requests_per_client": REQUESTS_PER_CLIENT,
    }
    with tempfile.TemporaryDirectory(prefix="voiced-serve-bench-") as tmp:
        models = tiny_models(Path(tmp))
        settings = with_capacity(server_settings(Path(tmp) / "config", models), 64)
        engines = load_engines(settings)
        local = _local_calls(engines, samples)
        with BackgroundServer(create_app(settings, engines)) as server:
            served = _served_calls(server.url, samples)
            for work in ("transcription", "speech"):
                local[work]()  # warm both paths once
                served[work]()
                results[work] = {
                    f"{clients}_clients": {
                        "served": _measure(served[work], clients),
                        "in_process": _measure(local[work], clients),
                    }
                    for clients in CONCURRENCY
                }
    return results
