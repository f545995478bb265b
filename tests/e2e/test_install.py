"""scripts/install and scripts/uninstall for real, into a throw-away home (no systemctl here)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from daemon.host.installer import layout
from tests.conftest import REPO

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]


def script(name: str, *args: str, home: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(REPO / "scripts" / name), "--user", "--no-enable", "--home", str(home), *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=540,
    )


def verify_unit(unit: Path, tmp_path: Path) -> None:
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze missing (Debian package: systemd)")
    runtime = tmp_path / "xdg"
    runtime.mkdir(mode=0o700, exist_ok=True)
    done = subprocess.run(
        ["systemd-analyze", "--user", "verify", "--man=no", str(unit)],
        capture_output=True,
        text=True,
        env={**os.environ, "XDG_RUNTIME_DIR": str(runtime)},
    )
    assert done.returncode == 0, done.stderr


def build_outputs() -> dict[str, int]:
    """build/ and *.egg-info in the checkout (an editable dev install has one), by mtime."""
    return {
        p.name: p.stat().st_mtime_ns
        for p in REPO.iterdir()
        if p.name == "build" or p.name.endswith(".egg-info")
    }


def test_user_install_keeps_an_edited_persona_and_uninstall_cleans_up(tmp_path: Path) -> None:
    home = tmp_path / "home"
    lay = layout("user", home)
    before = build_outputs()
    first = script("install", home=home)
    assert first.returncode == 0, first.stdout + first.stderr
    assert (lay.venv / "bin" / "voiced").exists()
    assert (lay.models / "silero" / "silero_vad.onnx").exists()
    assert (lay.config / "persona.yaml").read_text() == (REPO / "config/persona.yaml").read_text()
    exec_start = f"ExecStart={lay.venv}/bin/voiced run --config {lay.config}/voiced.yaml"
    assert exec_start + " --profile zero-download\n" in lay.unit.read_text()
    verify_unit(lay.unit, tmp_path)
    assert build_outputs() == before, "the install left build outputs in the checkout"

    edited = "name: Mine\nlanguage: en\nsystem_prompt: my own words\n"
    (lay.config / "persona.yaml").write_text(edited)
    again = script("install", home=home)
    assert again.returncode == 0, again.stdout + again.stderr
    assert (lay.config / "persona.yaml").read_text() == edited
    assert (lay.config / "persona.yaml.dist").exists()
    assert "kept your" in again.stdout

    gone = subprocess.run(
        [str(REPO / "scripts" / "uninstall"), "--user", "--no-enable", "--home", str(home)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert gone.returncode == 0, gone.stderr
    assert not lay.unit.exists() and not lay.venv.exists()
    assert (lay.config / "persona.yaml").read_text() == edited  # config survives uninstall
