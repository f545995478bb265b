"""scripts/install and scripts/uninstall where no systemd manager can be reached (issue 15): a
container, `su` without a login session, a box without systemd. Files are placed or removed all
the same, and the installer says how to enable the unit later. systemctl and loginctl here are
scripted stand-ins on PATH, so the test does not depend on the machine's own systemd."""

from __future__ import annotations

import argparse
import os
import stat
from pathlib import Path

import pytest

from daemon.host import installer
from daemon.host.installer import enable, layout, manager_running, uninstall

NO_BUS = "Failed to connect to bus: No medium found"


def stand_ins(folder: Path, manager: bool) -> Path:
    """systemctl/loginctl that log their arguments and fail like a missing manager (or work)."""
    folder.mkdir(parents=True, exist_ok=True)
    calls = folder / "calls.log"
    for tool in ("systemctl", "loginctl"):
        script = folder / tool
        failing = f'echo "{NO_BUS}" >&2; exit 1' if not manager else "exit 0"
        script.write_text(f'#!/bin/sh\necho "{tool} $*" >> "{calls}"\n{failing}\n')
        script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return calls


@pytest.fixture
def no_manager(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    calls = stand_ins(tmp_path / "bin", manager=False)
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    return calls


@pytest.fixture
def with_manager(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    calls = stand_ins(tmp_path / "bin", manager=True)
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    return calls


def installed(home: Path) -> installer.Layout:
    lay = layout("user", home)
    lay.unit_dir.mkdir(parents=True)
    lay.unit.write_text("[Service]\nExecStart=/bin/true\n")
    wants = lay.unit_dir / "default.target.wants"
    wants.mkdir()
    (wants / "voiced.service").symlink_to(lay.unit)
    (lay.venv / "bin").mkdir(parents=True)
    (lay.config).mkdir(parents=True)
    (lay.config / "persona.yaml").write_text("name: Mine\n")
    return lay


def args(**overrides: object) -> argparse.Namespace:
    base = {"enable": True, "dry_run": False, "purge": False}
    return argparse.Namespace(**{**base, **overrides})


def test_enable_without_a_manager_says_how_to_do_it_later(
    no_manager: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert manager_running("user") is False
    assert enable(layout("user", tmp_path), dry_run=False) is False
    out = capsys.readouterr().out
    assert "installed but not enabled" in out
    assert "systemctl --user daemon-reload && systemctl --user enable --now voiced" in out
    assert "loginctl enable-linger" in out
    assert "daemon-reload" not in no_manager.read_text()  # not even tried


def test_enable_with_a_manager_reloads_enables_and_lingers(
    with_manager: Path, tmp_path: Path
) -> None:
    assert enable(layout("user", tmp_path), dry_run=False) is True
    calls = with_manager.read_text().splitlines()
    assert "systemctl --user daemon-reload" in calls
    assert "systemctl --user enable voiced.service" in calls
    assert any(call.startswith("loginctl enable-linger ") for call in calls)


def test_uninstall_without_a_manager_removes_what_it_installed(
    no_manager: Path, tmp_path: Path
) -> None:
    lay = installed(tmp_path / "home")
    assert uninstall(args(), lay) == 0
    assert not lay.unit.exists() and not lay.venv.exists()
    assert not (lay.unit_dir / "default.target.wants" / "voiced.service").is_symlink()
    assert (lay.config / "persona.yaml").read_text() == "name: Mine\n"


def test_uninstall_with_a_manager_disables_first(with_manager: Path, tmp_path: Path) -> None:
    lay = installed(tmp_path / "home")
    assert uninstall(args(), lay) == 0
    calls = with_manager.read_text().splitlines()
    assert calls.index("systemctl --user disable --now voiced.service") < calls.index(
        "systemctl --user daemon-reload"
    )
    assert not lay.unit.exists()


def test_a_refusing_manager_is_reported_not_raised(
    with_manager: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The manager answers, but enabling fails (a broken unit, say): a message, no traceback."""
    systemctl = tmp_path / "bin" / "systemctl"
    systemctl.write_text(
        '#!/bin/sh\ncase "$*" in *show-environment*) exit 0;; esac\n'
        'echo "Failed to enable unit: bad setting" >&2; exit 1\n'
    )
    assert enable(layout("user", tmp_path), dry_run=False) is False
    out = capsys.readouterr().out
    assert "failed (exit 1): Failed to enable unit: bad setting" in out
    assert "enable it by hand" in out
