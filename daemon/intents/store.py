"""Timers, alarms and the volume in SQLite (standard library, WAL) in the state directory.

One row per timer or alarm; nothing is deleted, a row only changes state, so a crash between
two writes can lose at most the last change. Times are wall-clock seconds since the epoch: a
timer set before a reboot still rings at the right moment after it.
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

State = Literal["pending", "ringing", "done", "missed", "cancelled"]
Kind = Literal["timer", "alarm"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS reminders (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('timer', 'alarm')),
    name TEXT NOT NULL DEFAULT '',
    due REAL NOT NULL,
    seconds REAL,
    created REAL NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending'
);
CREATE INDEX IF NOT EXISTS reminders_open ON reminders (state, due);
CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""
OPEN: tuple[State, ...] = ("pending", "ringing")


@dataclass(frozen=True, slots=True)
class Reminder:
    id: int
    kind: Kind
    name: str
    due: float  # epoch seconds
    seconds: float | None  # a timer's length as asked
    created: float
    state: State


def state_dir() -> Path:
    """$STATE_DIRECTORY (systemd), else $XDG_STATE_HOME/voiced, else ~/.local/state/voiced."""
    if state := os.environ.get("STATE_DIRECTORY"):
        return Path(state.split(":")[0])
    root = os.environ.get("XDG_STATE_HOME")
    return (Path(root) if root else Path.home() / ".local" / "state") / "voiced"


class Store:
    """The reminders table. Used from the event loop's thread only; each write commits."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._db = sqlite3.connect(path, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)

    @classmethod
    def in_state_dir(cls) -> Store:
        return cls(state_dir() / "reminders.sqlite3")

    def close(self) -> None:
        self._db.close()

    def add(
        self, kind: Kind, due: float, now: float, name: str = "", seconds: float | None = None
    ) -> Reminder:
        cursor = self._db.execute(
            "INSERT INTO reminders (kind, name, due, seconds, created) VALUES (?, ?, ?, ?, ?)",
            (kind, name, due, seconds, now),
        )
        return Reminder(int(cursor.lastrowid or 0), kind, name, due, seconds, now, "pending")

    def open(self, kind: Kind | None = None, name: str = "") -> list[Reminder]:
        """Pending and ringing reminders, soonest first, optionally of one kind and name."""
        query = "SELECT * FROM reminders WHERE state IN ('pending', 'ringing')"
        args: list[object] = []
        if kind:
            query, args = query + " AND kind = ?", [*args, kind]
        if name:
            query, args = query + " AND name = ?", [*args, name]
        return [_row(r) for r in self._db.execute(query + " ORDER BY due, id", args)]

    def due(self, now: float) -> list[Reminder]:
        rows = self._db.execute(
            "SELECT * FROM reminders WHERE state = 'pending' AND due <= ? ORDER BY due, id", (now,)
        )
        return [_row(r) for r in rows]

    def set_state(self, reminder_id: int, state: State) -> None:
        self._db.execute("UPDATE reminders SET state = ? WHERE id = ?", (state, reminder_id))

    def get_setting(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def put_setting(self, key: str, value: str) -> None:
        self._db.execute(
            "INSERT INTO settings (key, value) VALUES (?, ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, value),
        )


def _row(row: tuple[object, ...]) -> Reminder:
    id_, kind, name, due, seconds, created, state = row
    return Reminder(
        int(id_),  # type: ignore[call-overload]
        kind,  # type: ignore[arg-type]
        str(name),
        float(due),  # type: ignore[arg-type]
        None if seconds is None else float(seconds),  # type: ignore[arg-type]
        float(created),  # type: ignore[arg-type]
        state,  # type: ignore[arg-type]
    )
