"""`voiced serve` runs its models on one named Worker per model kind (daemon/worker.py), on the
real app and hardened uvicorn with scripted engines: which thread ran each call, that a request
whose client left before its turn never reaches the model, that a client reading its speech
slowly does not hold the voice, and that the workers end with the server."""

from __future__ import annotations

import contextlib
import io
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import requests
import soundfile as sf

from daemon.audio.frames import AudioChunk
from daemon.config import Persona, Settings, load_settings
from daemon.serve.app import Engines, create_app
from daemon.serve.server import BackgroundServer
from tests.fixtures.fakes import ScriptedAsr, ScriptedTts

KEY = "worker-test-key"
AUTH = {"Authorization": f"Bearer {KEY}"}


class ThreadNotingAsr(ScriptedAsr):
    def __init__(self) -> None:
        super().__init__(text="hello")
        self.threads: list[str] = []

    def finish(self) -> Any:
        self.threads.append(threading.current_thread().name)
        return super().finish()


class ThreadNotingTts(ScriptedTts):
    """Many chunks for a long text (a client can fall behind), each call's thread noted."""

    def __init__(self) -> None:
        super().__init__()
        self.threads: list[str] = []

    def synthesize(self, text: str, persona: Persona) -> Iterator[AudioChunk]:
        self.threads.append(threading.current_thread().name)
        for _ in range(max(1, len(text) // 10)):
            yield AudioChunk(np.full(16000, 0.1, dtype=np.float32), 16000)  # 1 s each
        self.texts.append(text)


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    (tmp_path / "persona.yaml").write_text("name: Jarvis\nlanguage: en\nsystem_prompt: hi\n")
    limits = "{api_keys_env: VOICED_WORKER_KEY, capacity: 4, max_text_chars: 5000}"
    (tmp_path / "voiced.yaml").write_text(f"models_dir: {tmp_path / 'models'}\nserve: {limits}\n")
    monkeypatch.setenv("VOICED_WORKER_KEY", KEY)
    return load_settings(tmp_path / "voiced.yaml")


def wav(seconds: float = 0.5) -> bytes:
    out = io.BytesIO()
    sf.write(out, np.zeros(int(seconds * 16000), np.int16), 16000, format="WAV")
    return out.getvalue()


def transcribe(url: str) -> requests.Response:
    files = {"file": ("a.wav", wav(), "audio/wav")}
    return requests.post(url + "/v1/audio/transcriptions", files=files, headers=AUTH, timeout=10)


def speak(url: str, text: str, **kwargs: Any) -> requests.Response:
    body = json.dumps({"input": text}).encode()
    headers = {**AUTH, "Content-Type": "application/json"}
    return requests.post(url + "/v1/audio/speech", data=body, headers=headers, **kwargs)


def test_each_model_runs_on_its_own_named_thread(settings: Settings) -> None:
    asr, tts = ThreadNotingAsr(), ThreadNotingTts()
    app = create_app(settings, Engines(asr, tts, settings.persona))
    with BackgroundServer(app) as server:
        for _ in range(3):
            assert transcribe(server.url).status_code == 200
            assert speak(server.url, "hello there", timeout=10).status_code == 200
    assert asr.threads == ["serve-asr"] * 3 and tts.threads == ["serve-tts"] * 3
    service = app.state.service
    assert not service.workers.asr.alive and not service.workers.tts.alive  # ended with it


def test_a_request_whose_client_left_while_queued_never_reaches_the_model(
    settings: Settings,
) -> None:
    tts = ThreadNotingTts()
    engines = Engines(ThreadNotingAsr(), tts, settings.persona)
    with BackgroundServer(create_app(settings, engines)) as server:
        with engines.tts_lock:  # the voice is busy: the next request waits in its queue
            gone = threading.Thread(target=_give_up, args=(server.url, "left early"))
            gone.start()
            gone.join()
            waiting = threading.Thread(target=speak, args=(server.url, "stayed"), daemon=True)
            waiting.start()
            time.sleep(0.3)
        waiting.join(10)
        assert speak(server.url, "after", timeout=10).status_code == 200
    assert "left early" not in tts.texts and tts.texts[-1] == "after"


def _give_up(url: str, text: str) -> None:
    with contextlib.suppress(requests.exceptions.ReadTimeout):
        speak(url, text, timeout=0.3)


def test_a_slow_reader_does_not_hold_the_voice(settings: Settings) -> None:
    """A client that reads none of a 30 s reply: the next request is spoken at once."""
    tts = ThreadNotingTts()
    with BackgroundServer(create_app(settings, Engines(ScriptedAsr(), tts, settings.persona))) as s:
        slow = speak(s.url, "a long reply. " * 22, stream=True, timeout=10)
        next(slow.iter_content(4096))  # started; then it stops reading
        started = time.monotonic()
        assert speak(s.url, "quick", timeout=10).status_code == 200
        assert time.monotonic() - started < 5
        slow.close()
