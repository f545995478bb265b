"""Timers, alarms and volume as tools: the same Actions the local intents use.

The results are the sentences the box would have said itself, in the persona's language; the
LLM reads them and answers in its own words.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from daemon.intents.actions import Actions
from daemon.intents.clocktime import ClockTime
from daemon.tools.base import Tool, ToolError

_HH_MM = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*$")
_NAME = {"type": "string", "description": "Optional short label, e.g. pasta."}
_KIND = {"type": "string", "enum": ["timer", "alarm"]}
_DAYS = {"today": 0, "tomorrow": 1}


def _text(arguments: dict[str, Any], key: str) -> str:
    value = arguments.get(key) or ""
    if not isinstance(value, str):
        raise ToolError(f"{key} must be a string")
    return value


def _kind(arguments: dict[str, Any]) -> Any:
    kind = arguments.get("kind")
    if kind not in (None, "timer", "alarm"):
        raise ToolError("kind must be 'timer' or 'alarm'")
    return kind


def _seconds(arguments: dict[str, Any]) -> float:
    seconds = arguments.get("seconds")
    if isinstance(seconds, bool) or not isinstance(seconds, int | float):
        raise ToolError("seconds must be a number")
    return float(seconds)


def _clock(arguments: dict[str, Any]) -> ClockTime:
    match = _HH_MM.match(_text(arguments, "time"))
    if match is None or int(match[1]) > 23 or int(match[2]) > 59:
        raise ToolError("time must be HH:MM on a 24-hour clock, e.g. 07:30")
    day = _text(arguments, "day") or None
    if day is not None and day not in _DAYS:
        raise ToolError("day must be 'today' or 'tomorrow'")
    hour = int(match[1])
    return ClockTime(hour, int(match[2]), "am" if hour < 12 else "pm", _DAYS.get(day or ""))


def _volume(arguments: dict[str, Any]) -> tuple[int | None, int]:
    level, change = arguments.get("level"), arguments.get("change")
    if isinstance(level, int) and not isinstance(level, bool) and 0 <= level <= 10:
        return level, 0
    if change in ("up", "down"):
        return None, 1 if change == "up" else -1
    raise ToolError("give level (0-10) or change ('up' or 'down')")


def local_tools(actions: Actions, language: Callable[[], str], timeout: float) -> list[Tool]:
    async def set_timer(a: dict[str, Any]) -> str:
        return actions.set_timer(_seconds(a), _text(a, "name"), language())

    async def set_alarm(a: dict[str, Any]) -> str:
        return actions.set_alarm(_clock(a), _text(a, "name"), language())

    async def cancel(a: dict[str, Any]) -> str:
        return actions.cancel(_kind(a), _text(a, "name"), language())

    async def list_timers(a: dict[str, Any]) -> str:
        return actions.query(_kind(a), _text(a, "name"), language())

    async def set_volume(a: dict[str, Any]) -> str:
        return actions.set_volume(*_volume(a), language())

    def obj(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
        return {"type": "object", "properties": properties, "required": required}

    return [
        Tool(
            "set_timer",
            "Start a countdown timer that rings when it ends.",
            obj(
                {"seconds": {"type": "number", "description": "Length in seconds."}, "name": _NAME},
                ["seconds"],
            ),
            set_timer,
            timeout,
        ),
        Tool(
            "set_alarm",
            "Set an alarm at a clock time (the next such time, or on the given day).",
            obj(
                {
                    "time": {"type": "string", "description": "HH:MM, 24-hour clock."},
                    "day": {"type": "string", "enum": ["today", "tomorrow"]},
                    "name": _NAME,
                },
                ["time"],
            ),
            set_alarm,
            timeout,
        ),
        Tool(
            "cancel_timer",
            "Cancel timers or alarms (all of a kind, or the one with this name); also stops "
            "one that is ringing.",
            obj({"kind": _KIND, "name": _NAME}, []),
            cancel,
            timeout,
        ),
        Tool(
            "list_timers",
            "Say which timers and alarms are set and how long each has left.",
            obj({"kind": _KIND, "name": _NAME}, []),
            list_timers,
            timeout,
        ),
        Tool(
            "set_volume",
            "Change the speaker volume: a level from 0 to 10, or one step up or down.",
            obj(
                {
                    "level": {"type": "integer", "minimum": 0, "maximum": 10},
                    "change": {"type": "string", "enum": ["up", "down"]},
                },
                [],
            ),
            set_volume,
            timeout,
        ),
    ]
