"""A box's remote ASR and TTS against the real `voiced serve` app on 127.0.0.1.

The server runs uvicorn on a thread (daemon/serve/server.py) with the tiny FunASR and ChatTTS
models of tests/fixtures, loaded through the product's own factories; the box side is the real
RemoteTranscriber and the remote TTS as make_synthesizer builds it (espeak fallback included).
The helpers at the top are shared with tests/faults/test_serve_limits.py.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import requests

from daemon.asr.remote import RemoteTranscriber, wav_bytes
from daemon.config import (
    Deadlines,
    EndpointSettings,
    Persona,
    RemoteAsrSettings,
    RemoteTtsSettings,
    Settings,
    TtsSettings,
    load_settings,
)
from daemon.errors import ErrorCode, StageError
from daemon.serve.app import Engines, create_app, load_engines, wav_header
from daemon.serve.server import BackgroundServer
from daemon.tts import make_synthesizer
from daemon.tts.remote import PcmDecoder, RemoteSynthesizer
from daemon.turn.machine import TurnSettings
from tests.conftest import REPO, run_voiced
from tests.fixtures import chattts_assets, funasr_models
from tests.fixtures.audio import COMMAND_VOICE, AudioBuilder, duration, read
from tests.fixtures.fakes import Rig, ScriptedChat, request

pytestmark = [
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore::FutureWarning"),
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
]

KEY_ENV = "VOICED_TEST_SERVE_KEYS"
KEY = "test-key-0123456789"
ZH = Persona(name="小智", language="zh", system_prompt="你是小智。")


# --- shared helpers ----------------------------------------------------------------------------


def tiny_models(base: Path) -> Path:
    """The tiny paraformer-zh and ChatTTS models, built once per test session under `base`."""
    models = base / "serve-models"
    funasr_models.build(models, ("paraformer-zh",))
    if not (models / "chattts" / "voiced-chattts.json").is_file():
        chattts_assets.build(models)
    return models


def server_settings(folder: Path, models: Path, serve: str = "") -> Settings:
    """A voiced.yaml for `voiced serve` on the tiny models; `serve` adds keys to serve:."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "persona.yaml").write_text("name: 小智\nlanguage: zh\nsystem_prompt: 你是小智。\n")
    (folder / "voiced.yaml").write_text(
        f"models_dir: {models}\n"
        "asr: {backend: funasr, funasr: {model: paraformer-zh, punctuation: false}}\n"
        "tts: {backend: chattts, fallback: espeak, chattts: {refine_text: false}}\n"
        f"serve: {{api_keys_env: {KEY_ENV}, capacity: 3{', ' + serve if serve else ''}}}\n"
    )
    return load_settings(folder / "voiced.yaml")


@pytest.fixture(scope="module", autouse=True)
def one_torch_thread() -> Iterator[None]:
    """Tiny networks run fastest on one thread (see tests/e2e/test_chattts.py)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[BackgroundServer, Engines]]:
    os.environ[KEY_ENV] = KEY
    models = tiny_models(tmp_path_factory.getbasetemp())
    settings = server_settings(tmp_path_factory.mktemp("serve"), models)
    engines = load_engines(settings)
    with BackgroundServer(create_app(settings, engines)) as server:
        yield server, engines


def speechlike(seconds: float = 1.5, seed: int = 1) -> np.ndarray:
    """Noise shaped into syllables: enough for the tiny models to say something."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * 16000)) / 16000
    envelope = 0.5 + 0.5 * np.sin(2 * np.pi * 4 * t)
    return (rng.standard_normal(len(t)) * 4000 * envelope).astype(np.int16)


def remote_asr(url: str, timeout: float = 10) -> RemoteTranscriber:
    os.environ[KEY_ENV] = KEY
    return RemoteTranscriber(
        RemoteAsrSettings(base_url=url + "/v1", api_key_env=KEY_ENV), timeout_seconds=timeout
    )


def remote_tts_settings(url: str, **extra: object) -> RemoteTtsSettings:
    return RemoteTtsSettings(base_url=url + "/v1", api_key_env=KEY_ENV, **extra)  # type: ignore[arg-type]


def transcribe_in_process(engines: Engines, samples: np.ndarray) -> str:
    session = engines.transcriber.start()
    session.feed(samples)
    return session.finish().text


def unused_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- ASR ---------------------------------------------------------------------------------------


def test_remote_asr_gives_what_the_model_gives_in_process(served) -> None:
    server, engines = served
    audio = speechlike()
    session = remote_asr(server.url).start()
    for block in np.array_split(audio, 10):
        session.feed(block)
    remote = session.finish()
    assert remote.text and remote.text == transcribe_in_process(engines, audio)


def test_remote_asr_maps_a_down_server_and_a_silent_one_to_stage_errors() -> None:
    session = remote_asr(f"http://127.0.0.1:{unused_port()}").start()
    session.feed(speechlike(0.5))
    with pytest.raises(StageError) as down:
        session.finish()
    assert down.value.code == ErrorCode.ASR_FAILED
    with socket.socket() as mute:  # accepts connections (backlog) but never answers
        mute.bind(("127.0.0.1", 0))
        mute.listen(4)
        session = remote_asr(f"http://127.0.0.1:{mute.getsockname()[1]}", timeout=0.5).start()
        session.feed(speechlike(0.5))
        started = time.monotonic()
        with pytest.raises(StageError) as slow:
            session.finish()
    assert slow.value.code == ErrorCode.ASR_TIMEOUT and time.monotonic() - started < 3


def test_remote_asr_reports_a_wrong_key_as_asr_failed(served) -> None:
    server, _ = served
    settings = RemoteAsrSettings(base_url=server.url + "/v1", api_key_env="VOICED_TEST_NO_SUCH")
    session = RemoteTranscriber(settings, 5).start()
    session.feed(speechlike(0.5))
    with pytest.raises(StageError) as err:
        session.finish()
    assert err.value.code == ErrorCode.ASR_FAILED and "401" in err.value.detail


# --- TTS ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("form", ["pcm", "wav"])
def test_remote_tts_streams_the_servers_voice(served, form: str) -> None:
    server, engines = served
    tts = RemoteSynthesizer(remote_tts_settings(server.url, response_format=form), 10)
    chunks = list(tts.synthesize("你好。", ZH))
    assert chunks and {c.sample_rate for c in chunks} == {24000}
    remote = np.concatenate([c.samples for c in chunks])
    local = np.concatenate([c.samples for c in engines.synthesizer.synthesize("你好。", ZH)])
    assert len(remote) == len(local)  # same seed, same text: the same sentence
    assert np.abs(remote - np.clip(local, -1, 1)).max() < 1e-3  # 16-bit on the wire


def test_the_pcm_decoder_joins_samples_split_between_pieces() -> None:
    pcm = (np.arange(-50, 50, dtype="<i2") * 300).tobytes()
    for wav in (False, True):
        data = (wav_header(22050) if wav else b"") + pcm
        decoder = PcmDecoder(16000, wav=wav)
        chunks = [c for i in range(0, len(data), 7) if (c := decoder.feed(data[i : i + 7]))]
        samples = np.concatenate([c.samples for c in chunks])
        assert np.array_equal(np.round(samples * 32768).astype(np.int16), np.frombuffer(pcm, "<i2"))
        assert {c.sample_rate for c in chunks} == {22050 if wav else 16000}


def test_cancel_ends_a_remote_sentence_at_once(served) -> None:
    server, _ = served
    tts = RemoteSynthesizer(remote_tts_settings(server.url), 10)
    stream = tts.synthesize("你好，今天天气怎么样？我是你的语音助手。", ZH)
    next(stream)
    started = time.monotonic()
    tts.cancel()
    rest = list(stream)  # ends without an error
    assert time.monotonic() - started < 1 and len(rest) < 50


def test_a_down_tts_server_still_gives_speech_through_the_espeak_fallback() -> None:
    settings = TtsSettings(
        backend="remote",
        remote=remote_tts_settings(f"http://127.0.0.1:{unused_port()}"),
        timeout_seconds=2,
    )
    tts = make_synthesizer(settings, Path("/nonexistent"))
    chunks = list(tts.synthesize("你好。", ZH))
    assert sum(c.duration for c in chunks) > 0.2


# --- a whole turn ------------------------------------------------------------------------------


def test_a_whole_turn_hears_and_speaks_through_the_server(served) -> None:
    server, engines = served
    tts_settings = TtsSettings(
        backend="remote", remote=remote_tts_settings(server.url), timeout_seconds=10
    )
    rig = Rig(
        asr=remote_asr(server.url),  # type: ignore[arg-type]
        chat=ScriptedChat(pieces=["好的。"]),
        tts=make_synthesizer(tts_settings, Path("/nonexistent")),  # type: ignore[arg-type]
        settings=TurnSettings(
            endpoint=EndpointSettings(), deadlines=Deadlines(asr=10, tts_chunk=10)
        ),
        persona=lambda: ZH,
    )
    rig.run(request())
    [turn] = rig.turns
    assert turn.outcome == "ok", turn
    assert turn.asr_text and turn.reply_text == ["好的。"]
    assert rig.sink.seconds > 0.1
    assert {c.sample_rate for c in rig.sink.chunks} == {24000}  # ChatTTS's, not espeak's


def test_the_real_voiced_run_box_hears_and_speaks_through_the_server(
    served, models_dir: Path, audio: AudioBuilder, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """`voiced run` (a box: wake word and VAD local, ASR and TTS remote) for one whole turn."""
    server, _ = served
    caplog.set_level(logging.INFO, logger="daemon.serve")
    turn = np.concatenate(
        [np.zeros(8000, np.int16), read(audio.speech("hey jarvis", COMMAND_VOICE))]
        + [
            np.zeros(6400, np.int16),
            read(audio.speech("what time is it")),
            np.zeros(32000, np.int16),
        ]
    )
    wav = tmp_path / "turn.wav"
    wav.write_bytes(wav_bytes(turn))
    remote = f"{{base_url: '{server.url}/v1', api_key_env: {KEY_ENV}}}"
    config = tmp_path / "voiced.yaml"
    config.write_text(
        f"persona: {REPO / 'config' / 'personas' / 'en.yaml'}\n"
        f"models_dir: {models_dir}\n"
        f"asr: {{backend: remote, remote: {remote}}}\n"
        f"tts: {{backend: remote, fallback: espeak, remote: {remote}}}\n"
    )
    out = tmp_path / "reply.wav"
    run = run_voiced("run", "--config", str(config), "--input", str(wav), "--output", str(out))
    assert run.returncode == 0, run.stderr
    [line] = run.turn_lines()
    assert "outcome=llm-not-configured" in line and 'asr=""' not in line, line
    assert KEY not in run.stderr
    assert "POST /v1/audio/transcriptions 200" in caplog.text
    assert "POST /v1/audio/speech 200" in caplog.text  # the error was spoken by the server
    assert duration(out) > 0.3


# --- the real command --------------------------------------------------------------------------


def test_voiced_serve_command_answers_health_and_transcribes(tmp_path_factory) -> None:
    models = tiny_models(tmp_path_factory.getbasetemp())
    settings = server_settings(tmp_path_factory.mktemp("serve-cmd"), models)
    port = unused_port()
    voiced = str(Path(sys.executable).parent / "voiced")
    env = {**os.environ, KEY_ENV: KEY, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(
        [voiced, "serve", "--config", str(settings.config_path), "--port", str(port)],
        cwd=REPO,
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        health = _wait_for_health(url, proc)
        assert health["status"] == "ok" and health["asr"] == "funasr"
        transcript = remote_asr(url).start()
        transcript.feed(speechlike())
        assert transcript.finish().text
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=20)
    # uvicorn shuts down gracefully, then re-raises SIGTERM: systemd counts that as clean.
    assert proc.returncode in (0, -signal.SIGTERM), err[-2000:]
    assert "POST /v1/audio/transcriptions 200" in err and KEY not in err


def _wait_for_health(url: str, proc: subprocess.Popen[str], seconds: float = 90) -> dict:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"voiced serve exited with {proc.returncode}")
        try:
            return dict(requests.get(url + "/health", timeout=1).json())
        except requests.RequestException:
            time.sleep(0.2)
    raise AssertionError("voiced serve did not come up")


def test_the_upload_is_a_16k_wav() -> None:
    assert wav_bytes(np.zeros(160, dtype=np.int16))[:4] == b"RIFF"


def test_keys_come_from_the_environment_and_files(tmp_path: Path, monkeypatch) -> None:
    from daemon.config import ServeSettings

    (tmp_path / "box.key").write_text("box-secret\n")
    (tmp_path / "keys").write_text("one\n\n two \n")
    monkeypatch.setenv("VOICED_TEST_KEYS", "three, four")
    box = RemoteAsrSettings(base_url="http://x/v1", api_key_file=str(tmp_path / "box.key"))
    assert box.api_key() == "box-secret"
    assert RemoteAsrSettings(base_url="http://x/v1").api_key() is None
    serve = ServeSettings(api_keys_env="VOICED_TEST_KEYS", api_keys_file=str(tmp_path / "keys"))
    assert serve.api_keys() == {"one", "two", "three", "four"}


def test_serve_refuses_a_config_whose_models_are_remote(tmp_path: Path) -> None:
    from daemon.cli import main

    (tmp_path / "persona.yaml").write_text("name: A\nlanguage: en\nsystem_prompt: You are A.\n")
    (tmp_path / "voiced.yaml").write_text(
        "asr: {backend: remote, remote: {base_url: 'http://127.0.0.1:9/v1'}}\n"
    )
    assert main(["serve", "--config", str(tmp_path / "voiced.yaml")]) == 78
