"""audio.noise_suppression through the real `voiced run`: a noisy request still gets its turn
with a suppressor on, and a suppressor whose package is broken stops start-up with exit 78."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.conftest import CONFIG, run_voiced
from tests.fixtures.audio import PLAIN_VOICE, AudioBuilder
from tests.fixtures.scoring import words

pytestmark = pytest.mark.slow


def overlay(tmp_path: Path, kind: str) -> Path:
    path = tmp_path / f"denoise-{kind}.yaml"
    path.write_text(f"audio:\n  noise_suppression: {kind}\n", encoding="utf-8")
    return path


def run(wav: Path, tmp_path: Path, kind: str, env: dict[str, str] | None = None):  # noqa: ANN201
    return run_voiced(
        *("run", "--config", str(CONFIG), "--profile", "zero-download"),
        *("--profile", str(overlay(tmp_path, kind))),
        *("--input", str(wav), "--output", str(tmp_path / "reply.wav")),
        env=env,
    )


def test_a_noisy_request_is_answered_through_webrtc_noise_suppression(
    audio: AudioBuilder, models_dir: Path, tmp_path: Path
) -> None:
    request = audio.with_noise(audio.request("what time is it", voice=PLAIN_VOICE), snr_db=20)
    done = run(request, tmp_path, "webrtc")
    assert done.returncode == 0, done.stderr
    [line] = done.turn_lines()
    assert "source=intent:time" in line and "outcome=ok" in line, line
    assert words(line.split('asr="')[1].split('"')[0]) == ["what", "time", "is", "it"]


def test_a_broken_suppressor_package_stops_start_up_with_78(
    audio: AudioBuilder, models_dir: Path, tmp_path: Path
) -> None:
    """A `pyrnnoise` without its C library (a broken install) is named, with the field."""
    broken = tmp_path / "site" / "pyrnnoise"
    broken.mkdir(parents=True)
    (broken / "__init__.py").write_text("")
    path = os.pathsep.join([str(broken.parent), os.environ.get("PYTHONPATH", "")])
    done = run(audio.silence(0.5), tmp_path, "rnnoise", env={"PYTHONPATH": path})
    assert done.returncode == 78, done.stderr
    assert "audio.noise_suppression: rnnoise needs the pyrnnoise package" in done.stderr
    assert "Traceback" not in done.stderr
