"""Wiring: the store, ringer, volume and actions from voiced.yaml's timers and volume sections."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

from daemon.audio.gain import Volume
from daemon.config import TimerSettings, VolumeSettings
from daemon.errors import ConfigError
from daemon.intents.actions import Actions
from daemon.intents.ringer import Clock, Ringer, RingSettings
from daemon.intents.store import Store, state_dir


def state_file(timers: TimerSettings, config_dir: Path) -> Path:
    if timers.state_file:
        return (config_dir / timers.state_file).expanduser()
    return state_dir() / "reminders.sqlite3"


def make_actions(
    timers: TimerSettings,
    volume: VolumeSettings,
    config_dir: Path,
    clock: Clock,
    language: Callable[[], str],
) -> Actions:
    """Opens (or creates) the state file; a file that cannot be opened is a config error."""
    path = state_file(timers, config_dir)
    try:
        store = Store(path)
    except (OSError, sqlite3.Error) as exc:
        raise ConfigError(str(path), "timers.state_file", f"cannot open: {exc}") from None
    ring = RingSettings(timers.max_ringing_seconds, timers.grace_seconds, timers.repeat_gap_seconds)
    return Actions(Ringer(store, clock, language, ring), Volume(store, volume.default))
