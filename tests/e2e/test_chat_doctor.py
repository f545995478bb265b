"""`voiced chat` and `voiced doctor`, the real command as a subprocess, against the local
OpenAI-compatible test server: up, down, 404 (with the server's own text) and 401."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import CONFIG, REPO, Run, run_voiced
from tests.fixtures.llm_server import LLMServer, Script

pytestmark = pytest.mark.slow

KEY = "sk-doctor-test-9876"
OLLAMA_404 = '{"error": {"message": "model \\"qwen2.5\\" not found, try pulling it first"}}'


def profile(tmp_path: Path, base_url: str, model: str = "test-model") -> Path:
    path = tmp_path / "llm.yaml"
    path.write_text(
        "llm:\n  active: test\n  endpoints:\n    test:\n"
        f"      base_url: {base_url}\n      model: {model}\n      api_key_env: VOICED_TEST_KEY\n"
        "  timeouts: {connect_seconds: 1, first_token_seconds: 3, total_seconds: 5}\n"
    )
    return path


def voiced(command: str, llm: Path, *args: str) -> Run:
    return run_voiced(
        command,
        "--config",
        str(CONFIG),
        "--profile",
        "zero-download",
        "--profile",
        str(llm),
        *args,
        env={"VOICED_TEST_KEY": KEY},
    )


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


def doctor_line(run: Run, name: str) -> str:
    [line] = [line for line in run.stdout.splitlines() if line.split(":")[0].endswith(name)]
    return line


# --- voiced chat -------------------------------------------------------------------------------


def test_chat_one_shot_through_the_llm_with_the_persona(tmp_path: Path) -> None:
    with LLMServer([Script("stream", text="Hello from the model.")]) as server:
        run = voiced("chat", profile(tmp_path, server.base_url), "tell me something")
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "Hello from the model."
    [request] = server.requests
    assert (
        request["messages"][0]["role"] == "system" and "Jarvis" in request["messages"][0]["content"]
    )
    assert request["messages"][-1] == {"role": "user", "content": "tell me something"}
    assert server.headers[0]["authorization"] == f"Bearer {KEY}"


def test_chat_intent_needs_no_llm_and_mandarin_works(tmp_path: Path) -> None:
    run = run_voiced("chat", "--config", str(CONFIG), "现在几点")
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("现在是") and "点" in run.stdout


def test_chat_repl_keeps_memory_and_answers_intents_locally(tmp_path: Path) -> None:
    scripts = [Script("stream", text="I am Jarvis."), Script("stream", text="You asked who.")]
    with LLMServer(scripts) as server:
        llm = profile(tmp_path, server.base_url)
        done = subprocess.run(
            [sys.executable, "-m", "daemon", "chat", "--config", str(CONFIG)]
            + ["--profile", "zero-download", "--profile", str(llm)],
            input="who are you\nwhat time is it\nwhat did I ask\n",
            capture_output=True,
            text=True,
            cwd=REPO,
            timeout=60,
            env={**os.environ, "VOICED_TEST_KEY": KEY},
            check=False,
        )
    assert done.returncode == 0, done.stderr
    replies = done.stdout.split("> ")
    assert "Jarvis: I am Jarvis." in replies[1]
    assert "Jarvis: It's " in replies[2]
    assert "Jarvis: You asked who." in replies[3]
    assert len(server.requests) == 2, "the time is a local intent"
    history = server.requests[1]["messages"]
    assert {"role": "user", "content": "who are you"} in history
    assert {"role": "assistant", "content": "I am Jarvis."} in history


def test_chat_speak_writes_the_reply_audio(tmp_path: Path) -> None:
    out = tmp_path / "reply.wav"
    run = run_voiced(
        "chat",
        "--config",
        str(CONFIG),
        "--profile",
        "zero-download",
        "what time is it",
        "--speak",
        str(out),
    )
    assert run.returncode == 0, run.stderr
    import soundfile as sf

    samples, rate = sf.read(out)
    assert len(samples) / rate > 0.5 and abs(samples).max() > 0.05


@pytest.mark.parametrize(
    ("script", "code", "words"),
    [
        (Script("status", status=404, body=OLLAMA_404), "llm-rejected", "try pulling it first"),
        (Script("status", status=401), "llm-unauthorized", "HTTP 401"),
    ],
    ids=["404", "401"],
)
def test_chat_refused_says_so_and_shows_the_server_text(
    tmp_path: Path, script: Script, code: str, words: str
) -> None:
    with LLMServer([script]) as server:
        run = voiced("chat", profile(tmp_path, server.base_url), "tell me something")
    assert run.returncode == 1
    assert "language model" in run.stdout
    [line] = run.stderr.strip().splitlines()
    assert line.startswith(f"voiced: {code}: ") and words in line
    assert server.base_url in line and KEY not in run.stderr + run.stdout


def test_chat_server_down_names_the_url(tmp_path: Path) -> None:
    url = closed_port_url()
    run = voiced("chat", profile(tmp_path, url), "tell me something")
    assert run.returncode == 1
    assert run.stderr.strip() == f"voiced: llm-unreachable: cannot reach the LLM server at {url}"
    assert "can't reach my language model" in run.stdout


# --- voiced doctor -----------------------------------------------------------------------------


def test_doctor_all_good_with_the_llm_up(tmp_path: Path) -> None:
    with LLMServer() as server:
        run = voiced("doctor", profile(tmp_path, server.base_url), "--no-audio")
    assert run.returncode == 0, run.stdout + run.stderr
    lines = run.stdout.splitlines()
    assert all(line.split()[0] in ("OK", "WARN") for line in lines), run.stdout
    names = [line.split(":")[0].split(None, 1)[1] for line in lines]
    for name in ("config", "wake word", "vad", "asr", "tts", "llm", "espeak-ng", "disk (state)"):
        assert name in names
    assert "test-model at " in doctor_line(run, "llm")
    assert server.requests[0]["max_tokens"] == 1


@pytest.mark.parametrize(
    ("script", "expected"),
    [
        (Script("status", status=404, body=OLLAMA_404), "llm-rejected: HTTP 404 from the LLM"),
        (Script("status", status=401), "llm-unauthorized: HTTP 401 from the LLM"),
    ],
    ids=["404", "401"],
)
def test_doctor_llm_refusal_fails_with_the_server_text(
    tmp_path: Path, script: Script, expected: str
) -> None:
    with LLMServer([script]) as server:
        run = voiced("doctor", profile(tmp_path, server.base_url), "--no-audio")
    assert run.returncode == 1
    line = doctor_line(run, "llm")
    assert line.startswith("FAIL") and expected in line and server.base_url in line
    if script.status == 404:
        assert 'model "qwen2.5" not found, try pulling it first' in line
    assert KEY not in run.stdout


def test_doctor_llm_down_and_model_absent(tmp_path: Path) -> None:
    url = closed_port_url()
    down = voiced("doctor", profile(tmp_path, url), "--no-audio")
    assert down.returncode == 1
    assert (
        doctor_line(down, "llm")
        == f"FAIL  llm: llm-unreachable: cannot reach the LLM server at {url}"
    )
    with LLMServer() as server:
        absent = voiced("doctor", profile(tmp_path, server.base_url, "qwen2.5:7b"), "--no-audio")
    assert absent.returncode == 1
    assert "model 'qwen2.5:7b' is not on the server" in doctor_line(absent, "llm")
    assert "(it has: test-model)" in doctor_line(absent, "llm")
    assert not server.requests, "no completion is asked of a server without the model"


def test_doctor_reports_every_missing_model_and_exit_78_on_config(tmp_path: Path) -> None:
    empty = tmp_path / "models"
    empty.mkdir()
    overlay = tmp_path / "models.yaml"
    overlay.write_text(f"models_dir: {empty}\n")
    run = voiced("doctor", overlay, "--no-audio")
    assert run.returncode == 1
    failed = {
        line.split(":")[0].split(None, 1)[1]
        for line in run.stdout.splitlines()
        if line.startswith("FAIL")
    }
    assert {"wake word", "vad"} <= failed, run.stdout
    bad = tmp_path / "bad.yaml"
    bad.write_text("wake:\n  treshold: 0.5\n")
    config = voiced("doctor", bad, "--no-audio")
    assert config.returncode == 78
    assert "wake.treshold: unknown setting" in config.stderr and not config.stdout
