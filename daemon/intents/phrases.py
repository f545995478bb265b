"""What the box says about timers, alarms and the volume, in the persona's language.

Numbers stay digits: the TTS normalizer reads them in either language.
"""

from __future__ import annotations

from datetime import datetime

from daemon.intents.store import Reminder

_EN_UNITS = (("hour", 3600), ("minute", 60), ("second", 1))
_ZH_UNITS = (("小时", 3600), ("分钟", 60), ("秒", 1))


def _parts(seconds: float, units: tuple[tuple[str, int], ...]) -> list[tuple[str, int]]:
    left = round(seconds) if seconds < 600 else round(seconds / 60) * 60  # long: whole minutes
    parts = []
    for unit, size in units:
        count, left = divmod(left, size)
        if count:
            parts.append((unit, int(count)))
    return parts or [(units[-1][0], 0)]


def duration(seconds: float, language: str) -> str:
    """3725 -> "1 hour and 2 minutes" / "1小时2分钟" (seconds dropped past 10 minutes)."""
    if language == "zh":
        parts = _parts(seconds, _ZH_UNITS)
        if len(parts) == 2 and parts[0][0] == "分钟":
            return f"{parts[0][1]}分{parts[1][1]}秒"  # 1分30秒, as people say it
        return "".join(f"{n}{unit}" for unit, n in parts)
    words = [f"{n} {unit}{'' if n == 1 else 's'}" for unit, n in _parts(seconds, _EN_UNITS)]
    return " and ".join(words) if len(words) < 3 else f"{', '.join(words[:-1])} and {words[-1]}"


def _zh_period(hour: int) -> str:
    for until, name in ((5, "凌晨"), (9, "早上"), (12, "上午"), (13, "中午"), (18, "下午")):
        if hour < until:
            return name
    return "晚上"


def clock(moment: datetime, language: str) -> str:
    """7:00 -> "7:00 AM" / "早上7点"; 18:05 -> "6:05 PM" / "晚上6点05分"."""
    if language == "zh":
        hour = moment.hour if moment.hour <= 12 else moment.hour - 12
        minutes = f"{moment.minute:02d}分" if moment.minute else ""
        return f"{_zh_period(moment.hour)}{hour}点{minutes}"
    return moment.strftime("%I:%M %p").lstrip("0")


def day(moment: datetime, now: datetime, language: str) -> str:
    """ "today" / "tomorrow" / "on Friday"; 今天 / 明天 / 后天 / 11月27日."""
    days = (moment.date() - now.date()).days
    if language == "zh":
        return {0: "今天", 1: "明天", 2: "后天"}.get(days, f"{moment.month}月{moment.day}日")
    return {0: "today", 1: "tomorrow"}.get(days, f"on {moment.strftime('%A')}")


def timer_label(reminder: Reminder, language: str) -> str:
    """ "the pasta timer" / "the 5 minute timer"; 意面计时器 / 5分钟的计时器."""
    if language == "zh":
        if reminder.name:
            return f"{reminder.name}计时器"
        return f"{duration(reminder.seconds or 0, 'zh')}的计时器"
    if reminder.name:
        return f"the {reminder.name} timer"
    length = duration(reminder.seconds or 0, "en").replace("s and", " and")
    return f"the {length.removesuffix('s')} timer"


def alarm_label(reminder: Reminder, moment: datetime, now: datetime, language: str) -> str:
    if language == "zh":
        return f"{reminder.name or ''}闹钟（{day(moment, now, 'zh')}{clock(moment, 'zh')}）"
    name = f"{reminder.name} alarm" if reminder.name else "alarm"
    return f"the {name} for {clock(moment, 'en')} {day(moment, now, 'en')}"


def label(reminder: Reminder, moment: datetime, now: datetime, language: str) -> str:
    if reminder.kind == "timer":
        return timer_label(reminder, language)
    return alarm_label(reminder, moment, now, language)


def ring_text(reminder: Reminder, moment: datetime, late: bool, language: str) -> str:
    """What is said while it rings (after the earcon)."""
    zh = language == "zh"
    if late:
        what = (
            timer_label(reminder, language)
            if reminder.kind == "timer"
            else (
                f"{reminder.name}闹钟"
                if zh
                else f"your {reminder.name + ' ' if reminder.name else ''}alarm"
            )
        )
        if zh:
            return f"我刚才不在线，{what}在{clock(moment, 'zh')}已经到时间了。"
        return f"While I was off, {what} went off at {clock(moment, 'en')}."
    if reminder.kind == "timer":
        if zh:
            return f"{timer_label(reminder, 'zh')}时间到了。"
        return f"{timer_label(reminder, 'en')[0].upper()}{timer_label(reminder, 'en')[1:]} is done."
    if zh:
        return f"{reminder.name}闹钟响了，现在是{clock(moment, 'zh')}。"
    name = f"Your {reminder.name} alarm" if reminder.name else "Your alarm"
    return f"{name}: it's {clock(moment, 'en')}."
