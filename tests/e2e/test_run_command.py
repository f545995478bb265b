"""The real `voiced run` as a subprocess: WAV in -> log line -> reply WAV out."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from daemon.config import default_models_dir
from daemon.vad.silero import SileroVad
from tests.conftest import CONFIG, run_voiced
from tests.fixtures.audio import PLAIN_VOICE, AudioBuilder, duration, read
from tests.fixtures.llm_server import LLMServer, Script
from tests.fixtures.scoring import words

pytestmark = pytest.mark.slow


def speech_seconds(wav: Path) -> float:
    """Seconds of speech Silero hears in `wav` (any rate; read as 16 kHz by the sink's rate)."""
    vad = SileroVad(default_models_dir())
    samples = read(wav)
    chunks = [samples[i : i + 512] for i in range(0, len(samples) - 511, 512)]
    return sum(0.032 for c in chunks if vad.probability(c) > 0.5)


def heard(line: str) -> list[str]:
    """The words of a turn line's transcript (asr="..."), without case or punctuation."""
    match = re.search(r'asr="([^"]*)"', line)
    assert match, line
    return words(match[1])


def llm_profile(tmp_path: Path, base_url: str) -> Path:
    path = tmp_path / "llm.yaml"
    path.write_text(
        "llm:\n  active: test\n  endpoints:\n    test:\n"
        f"      base_url: {base_url}\n      model: test-model\n      api_key_env: VOICED_TEST_KEY\n"
        "  timeouts: {connect_seconds: 1, first_token_seconds: 2, total_seconds: 5}\n"
    )
    return path


def run_file(wav: Path, out: Path, *extra: str, env: dict[str, str] | None = None):
    return run_voiced(
        "run",
        "--config",
        str(CONFIG),
        "--profile",
        "zero-download",
        *extra,
        "--input",
        str(wav),
        "--output",
        str(out),
        env=env,
    )


def test_time_request_answered_by_local_intent_without_llm(
    audio: AudioBuilder, models_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "reply.wav"
    run = run_file(audio.request("what time is it", voice=PLAIN_VOICE), out)
    assert run.returncode == 0, run.stderr
    [line] = run.turn_lines()
    assert heard(line) == ["what", "time", "is", "it"], line  # Whisper adds case and a "?"
    assert "source=intent:time" in line and "outcome=ok" in line
    assert re.search(r'reply="It\'s \d{1,2}:\d\d [AP]M\."', line), line
    assert speech_seconds(out) > 0.5


def test_reply_comes_from_the_llm_server(
    audio: AudioBuilder, models_dir: Path, tmp_path: Path
) -> None:
    text = "Here is one. Why did the robot cross the road? To recharge."
    with LLMServer(default=Script("stream", text=text)) as server:
        out = tmp_path / "reply.wav"
        run = run_file(
            audio.request("tell me a joke"),
            out,
            "--profile",
            str(llm_profile(tmp_path, server.base_url)),
            env={"VOICED_TEST_KEY": "sk-test-secret-123"},
        )
    assert run.returncode == 0, run.stderr
    [line] = run.turn_lines()
    assert "source=llm:test-model" in line and "outcome=ok" in line, line
    assert "Why did the robot cross the road?" in line
    [request] = server.requests
    assert request["messages"][0]["role"] == "system"
    assert "Jarvis" in request["messages"][0]["content"]
    assert request["stream"] is True
    assert server.headers[0]["authorization"] == "Bearer sk-test-secret-123"
    assert "sk-test-secret-123" not in run.stderr
    assert speech_seconds(out) > 2.0  # three sentences spoken


def test_unreachable_llm_is_said_out_loud_and_the_run_succeeds(
    audio: AudioBuilder, models_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "reply.wav"
    dead = llm_profile(tmp_path, "http://127.0.0.1:9/v1")  # discard port: connection refused
    run = run_file(audio.request("tell me a joke"), out, "--profile", str(dead))
    assert run.returncode == 0, run.stderr
    [line] = run.turn_lines()
    assert "outcome=llm-unreachable" in line
    assert "I can't reach my language model" in line
    assert speech_seconds(out) > 0.5


def test_speech_without_the_wake_word_starts_no_turn(
    audio: AudioBuilder, models_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "reply.wav"
    clip = audio.concat(
        audio.silence(0.5), audio.speech("what time is it, tell me the date"), audio.silence(0.5)
    )
    run = run_file(clip, out)
    assert run.returncode == 0, run.stderr
    assert run.turn_lines() == []
    assert duration(out) == 0.0


def test_two_requests_in_one_file_give_two_turns(
    audio: AudioBuilder, models_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "reply.wav"
    clip = audio.concat(
        audio.request("what time is it", tail=2.5, voice=PLAIN_VOICE),
        audio.request("what time is it", wake_voice="en-us", voice=PLAIN_VOICE),
    )
    run = run_file(clip, out)
    assert run.returncode == 0, run.stderr
    lines = run.turn_lines()
    assert [re.search(r"\bturn (\d+) outcome", line).group(1) for line in lines] == ["1", "2"]
    assert all("source=intent:time" in line for line in lines)


def test_wake_word_in_noise(audio: AudioBuilder, models_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "reply.wav"
    run = run_file(audio.with_noise(audio.request("what time is it"), snr_db=15), out)
    assert run.returncode == 0, run.stderr
    [line] = run.turn_lines()
    assert "end=end-of-speech" in line  # the endpointer still found the end in noise
    assert float(np.asarray(re.findall(r"rec=([\d.]+)s", line), dtype=float)[0]) < 4.0


def test_shipped_default_without_funasr_models_exits_78_with_the_fetch_command(
    models_dir: Path, tmp_path: Path
) -> None:
    for folder in ("openwakeword", "silero", "smart-turn"):
        (tmp_path / folder).symlink_to(models_dir / folder)
    run = run_voiced("check", "--config", str(CONFIG), env={"VOICED_MODELS_DIR": str(tmp_path)})
    assert run.returncode == 78, run.stderr
    assert "voiced models fetch funasr" in run.stderr and str(tmp_path / "funasr") in run.stderr


def test_the_same_file_gives_the_same_turn_lines_every_time(
    audio: AudioBuilder, models_dir: Path, tmp_path: Path
) -> None:
    """File mode is deterministic: endpoint, transcript, timings (audio time) and reply."""
    clip = audio.concat(
        audio.request("tell me a joke", tail=2.5),
        audio.request("what is the weather like", wake_voice="en-us"),
    )
    text = "Here is one. Why did the robot cross the road? To recharge."
    lines = []
    with LLMServer(default=Script("stream", text=text)) as server:
        profile = llm_profile(tmp_path, server.base_url)
        for i in range(3):
            run = run_file(clip, tmp_path / f"reply{i}.wav", "--profile", str(profile))
            assert run.returncode == 0, run.stderr
            lines.append([line.split(": ", 1)[1] for line in run.turn_lines()])
    assert len(lines[0]) == 2, lines[0]
    assert lines[0] == lines[1] == lines[2]
