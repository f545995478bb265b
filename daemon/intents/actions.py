"""The commands carried out, and what the box says about it: one code path for the local
intents (a transcript parsed here) and the LLM's tools (arguments from the model).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from daemon.audio.gain import Volume
from daemon.intents import phrases
from daemon.intents.clocktime import ClockTime, next_moment
from daemon.intents.commands import (
    Cancel,
    Command,
    Kind,
    SetAlarm,
    SetTimer,
    SetVolume,
    is_stop_ringing,
    parse,
)
from daemon.intents.ringer import Ringer
from daemon.intents.store import Reminder

log = logging.getLogger(__name__)

MAX_TIMER_SECONDS = 24 * 3600.0
MAX_NAME_CHARS = 40


@dataclass(frozen=True, slots=True)
class Outcome:
    intent: str  # "timer" | "alarm" | "volume": the reply source is f"intent:{intent}"
    text: str


def _say(language: str, en: str, zh: str) -> str:
    return zh if language == "zh" else en


def clean_name(name: str) -> str:
    """A timer name from a person or a model: one short line."""
    return " ".join(name.split())[:MAX_NAME_CHARS]


class Actions:
    def __init__(self, ringer: Ringer, volume: Volume) -> None:
        self.ringer = ringer
        self.store = ringer.store
        self.volume = volume

    def answer(self, text: str, language: str) -> Outcome | None:
        """The local answer to a transcript, or None when it is not about these actions.

        While something rings, "stop" / 停 (and the like) stops it: source intent:stop, silent.
        """
        if self.ringer.is_ringing and is_stop_ringing(text):
            self.ringer.stop_ringing()
            return Outcome("stop", "")
        command = parse(text)
        return None if command is None else self.run(command, language)

    def run(self, command: Command, language: str) -> Outcome:
        if isinstance(command, SetTimer):
            return Outcome("timer", self.set_timer(command.seconds, command.name, language))
        if isinstance(command, SetAlarm):
            return Outcome("alarm", self.set_alarm(command.when, command.name, language))
        if isinstance(command, SetVolume):
            return Outcome("volume", self.set_volume(command.level, command.step, language))
        intent = command.kind or "timer"
        if isinstance(command, Cancel):
            return Outcome(intent, self.cancel(command.kind, command.name, language))
        return Outcome(intent, self.query(command.kind, command.name, language))

    def set_timer(self, seconds: float, name: str, language: str) -> str:
        if not 0 < seconds <= MAX_TIMER_SECONDS:
            return _say(
                language, "I can set timers from 1 second to 24 hours.", "计时器只能设1秒到24小时。"
            )
        now, name = self.ringer.clock(), clean_name(name)
        reminder = self.store.add("timer", now + seconds, now, name, seconds)
        self.ringer.changed()
        log.info("timer %d %r set for %.1f s", reminder.id, name, seconds)
        length = phrases.duration(seconds, language)
        if language == "zh":
            return f"好的，{name}计时器，{length}。" if name else f"好的，{length}的计时器开始了。"
        return f"OK, {name} timer for {length}." if name else f"OK, timer set for {length}."

    def set_alarm(self, when: ClockTime, name: str, language: str) -> str:
        now = self.ringer.clock()
        moment = next_moment(when, self.ringer.local(now))
        reminder = self.store.add("alarm", moment.timestamp(), now, clean_name(name))
        self.ringer.changed()
        log.info(
            "alarm %d %r set for %s", reminder.id, reminder.name, moment.isoformat(" ", "minutes")
        )
        today = self.ringer.local(now)
        if language == "zh":
            return (
                f"好的，闹钟定在{phrases.day(moment, today, 'zh')}{phrases.clock(moment, 'zh')}。"
            )
        return (
            f"OK, alarm set for {phrases.clock(moment, 'en')} {phrases.day(moment, today, 'en')}."
        )

    def cancel(self, kind: Kind | None, name: str, language: str) -> str:
        if self.ringer.is_ringing and not name:  # "stop the timer" while it rings
            stopped = self.ringer.stop_ringing(why="cancelled")
            return _say(language, "OK.", "好的。") if stopped else ""
        found = self._find(kind, name)
        if not found:
            return self._none_of(kind, name, language)
        for reminder in found:
            self.store.set_state(reminder.id, "cancelled")
            self.ringer.forget(reminder.id)
            log.info("%s %d %r cancelled", reminder.kind, reminder.id, reminder.name)
        self.ringer.changed()
        what = self._labels(found, language)
        return _say(language, f"OK, cancelled {what}.", f"好的，已取消{what}。")

    def query(self, kind: Kind | None, name: str, language: str) -> str:
        found = self._find(kind, name)
        if not found:
            return self._none_of(kind, name, language)
        now = self.ringer.clock()
        lines = [self._status(reminder, now, language) for reminder in found]
        return ("；" if language == "zh" else " ").join(lines)

    def set_volume(self, level: int | None, step: int, language: str) -> str:
        before = self.volume.level
        after = self.volume.set(level) if level is not None else self.volume.step(step)
        if level is None and after == before:
            loudest = step > 0
            return _say(
                language,
                "That's as loud as I go." if loudest else "That's as quiet as I go.",
                "已经是最大音量了。" if loudest else "已经是最小音量了。",
            )
        return _say(language, f"Volume {after}.", f"音量{after}。")

    # --- helpers ---------------------------------------------------------------------------

    def _find(self, kind: Kind | None, name: str) -> list[Reminder]:
        found = self.store.open(kind, clean_name(name))
        if not found and name:  # "the pasta timer" when it was set as "pasta sauce"
            found = [
                r for r in self.store.open(kind) if name in r.name or r.name in name and r.name
            ]
        return found

    def _labels(self, found: list[Reminder], language: str) -> str:
        now = self.ringer.local(self.ringer.clock())
        labels = [phrases.label(r, self.ringer.local(r.due), now, language) for r in found]
        return "、".join(labels) if language == "zh" else " and ".join(labels)

    def _status(self, reminder: Reminder, now: float, language: str) -> str:
        moment, today = self.ringer.local(reminder.due), self.ringer.local(now)
        label = phrases.label(reminder, moment, today, language)
        if reminder.kind == "alarm":
            return _say(language, f"You have {label}.", f"{label}。")
        if reminder.state == "ringing" or reminder.due <= now:
            return _say(
                language, f"{label[0].upper()}{label[1:]} is done.", f"{label}已经到时间了。"
            )
        left = phrases.duration(reminder.due - now, language)
        return _say(
            language, f"{label[0].upper()}{label[1:]} has {left} left.", f"{label}还剩{left}。"
        )

    def _none_of(self, kind: Kind | None, name: str, language: str) -> str:
        if language == "zh":
            what = {"timer": "计时器", "alarm": "闹钟"}.get(kind or "", "计时器或闹钟")
            return f"没有叫{name}的{what}。" if name else f"现在没有{what}。"
        what = {"timer": "timer", "alarm": "alarm"}.get(kind or "", "timer or alarm")
        return f"There's no {name} {what}." if name else f"There's no {what} set."
