"""The shipped unit files are valid systemd units and carry the settings the service relies on."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from daemon.host.installer import layout, render_unit
from tests.conftest import REPO

ANALYZE = shutil.which("systemd-analyze")
needs_analyze = pytest.mark.skipif(ANALYZE is None, reason="systemd-analyze missing (systemd)")


def rendered(flavour: str, tmp_path: Path) -> Path:
    """The unit as the installer writes it, with ExecStart pointing at this checkout's venv."""
    lay = layout(flavour, tmp_path / "home", tmp_path / "root")
    venv_bin = lay.venv / "bin"
    venv_bin.mkdir(parents=True)
    (venv_bin / "voiced").symlink_to(Path(sys.executable).parent / "voiced")
    unit = tmp_path / "voiced.service"
    unit.write_text(render_unit(lay))
    return unit


@needs_analyze
@pytest.mark.parametrize("flavour", ["system", "user"])
def test_units_pass_systemd_analyze_verify(flavour: str, tmp_path: Path) -> None:
    runtime = tmp_path / "xdg"
    runtime.mkdir(mode=0o700)
    cmd = [ANALYZE, *(["--user"] if flavour == "user" else []), "verify", "--man=no"]
    done = subprocess.run(
        [*cmd, str(rendered(flavour, tmp_path))],
        capture_output=True,
        text=True,
        env={**os.environ, "XDG_RUNTIME_DIR": str(runtime)},
    )
    assert done.returncode == 0, done.stderr


@needs_analyze
def test_system_unit_exposure_stays_low(tmp_path: Path) -> None:
    done = subprocess.run(
        [ANALYZE, "security", "--offline=true", str(rendered("system", tmp_path))],
        capture_output=True,
        text=True,
    )
    score = float(done.stdout.split("Overall exposure level for voiced.service:")[1].split()[0])
    assert score <= 2.0, done.stdout[-2000:]


@pytest.mark.parametrize("flavour", ["system", "user"])
def test_units_declare_notify_watchdog_and_no_restart_on_config_errors(flavour: str) -> None:
    text = (REPO / "systemd" / flavour / "voiced.service").read_text()
    for line in (
        "Type=notify",
        "WatchdogSec=",
        "Restart=always",
        "RestartPreventExitStatus=78",
        "TimeoutStartSec=10min",
        "MemoryMax=",
        "ExecReload=/bin/kill -HUP $MAINPID",
    ):
        assert line in text, line


@needs_analyze
def test_user_unit_exposure_is_what_a_user_manager_can_do(tmp_path: Path) -> None:
    """9.1 before the seccomp-based settings; the rest needs the system manager (README)."""
    runtime = tmp_path / "xdg"
    runtime.mkdir(mode=0o700)
    done = subprocess.run(
        [ANALYZE, "--user", "security", "--offline=true", str(rendered("user", tmp_path))],
        capture_output=True,
        text=True,
        env={**os.environ, "XDG_RUNTIME_DIR": str(runtime)},
    )
    score = float(done.stdout.split("Overall exposure level for voiced.service:")[1].split()[0])
    assert score <= 6.5, done.stdout[-2000:]


@pytest.mark.parametrize(
    "unit",
    [
        "system/voiced.service",
        "user/voiced.service",
        "system/voiced-serve.service",
        "system/voiced-wyoming.service",
    ],
)
def test_units_bound_open_files(unit: str) -> None:
    assert "\nLimitNOFILE=" in (REPO / "systemd" / unit).read_text()


def wyoming_unit(tmp_path: Path) -> Path:
    """The Wyoming unit with ExecStart pointing at this checkout's `voiced`."""
    text = (REPO / "systemd" / "system" / "voiced-wyoming.service").read_text()
    voiced = Path(sys.executable).parent / "voiced"
    unit = tmp_path / "voiced-wyoming.service"
    unit.write_text(text.replace("/opt/voiced/venv/bin/voiced", str(voiced)))
    return unit


@needs_analyze
def test_wyoming_unit_passes_verify_and_keeps_exposure_low(tmp_path: Path) -> None:
    unit = wyoming_unit(tmp_path)
    done = subprocess.run(
        [ANALYZE, "verify", "--man=no", str(unit)], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    done = subprocess.run(
        [ANALYZE, "security", "--offline=true", str(unit)], capture_output=True, text=True
    )
    marker = "Overall exposure level for voiced-wyoming.service:"
    assert float(done.stdout.split(marker)[1].split()[0]) <= 2.0, done.stdout[-2000:]


def test_wyoming_unit_runs_the_wyoming_command_and_stops_on_config_errors() -> None:
    text = (REPO / "systemd" / "system" / "voiced-wyoming.service").read_text()
    for line in (
        "ExecStart=/opt/voiced/venv/bin/voiced wyoming --config /etc/voiced/voiced.yaml",
        "Restart=always",
        "RestartPreventExitStatus=78",
        "User=voiced",
        "PrivateDevices=yes",
    ):
        assert line in text, line
