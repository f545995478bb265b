"""Timers and alarms kept in SQLite, rung on an injected clock, stopped, kept across restarts."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from daemon.audio.frames import AudioChunk
from daemon.audio.gain import GainSink, Volume, gain_of
from daemon.intents.actions import Actions
from daemon.intents.ringer import Ringer, RingSettings
from daemon.intents.store import Store
from tests.fixtures.fakes import RecordingSink

START = datetime(2026, 11, 24, 15, 5, tzinfo=UTC).timestamp()


class FakeClock:
    def __init__(self, now: float = START) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def make(path: Path, clock: FakeClock, language: str = "en", **ring: float) -> Actions:
    store = Store(path / "reminders.sqlite3")
    ringer = Ringer(store, clock, lambda: language, RingSettings(**ring), tz=UTC)
    return Actions(ringer, Volume(store))


def test_a_timer_rings_at_its_time_and_stops(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    clock = FakeClock()
    actions = make(tmp_path, clock)
    assert actions.answer("set a timer for five seconds", "en") is not None
    assert actions.ringer.due(START + 4.9) == []
    caplog.set_level(logging.INFO, "daemon.intents.ringer")
    caplog.clear()  # an earlier test may have left the logger at INFO: "set" was captured then
    (ring,) = actions.ringer.due(START + 5.0)
    assert ring.text == "The 5 second timer is done."
    assert actions.ringer.is_ringing
    assert actions.ringer.due(START + 6) == []  # rings once, not on every call
    assert actions.ringer.stop_ringing(START + 8) == [ring]
    assert not actions.ringer.is_ringing
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 2 and "rings" in lines[0] and "stopped after ringing 3.0 s" in lines[1]


def test_stop_word_stops_only_while_ringing(tmp_path: Path) -> None:
    clock = FakeClock()
    actions = make(tmp_path, clock, "zh")
    assert actions.answer("停", "zh") is None  # nothing rings: the usual stop intent answers
    actions.answer("三十秒的计时器", "zh")
    clock.now = START + 30
    (ring,) = actions.ringer.due()
    assert ring.text == "30秒的计时器时间到了。"
    outcome = actions.answer("停！", "zh")
    assert outcome is not None and outcome.intent == "stop" and outcome.text == ""
    assert not actions.ringer.is_ringing


def test_a_ring_nobody_stops_ends_after_the_maximum(tmp_path: Path) -> None:
    clock = FakeClock()
    actions = make(tmp_path, clock, max_ringing_seconds=60)
    actions.answer("set a timer for ten seconds", "en")
    actions.ringer.due(START + 10)
    assert actions.ringer.due(START + 69.9) == [] and actions.ringer.is_ringing
    actions.ringer.due(START + 70)
    assert not actions.ringer.is_ringing
    assert actions.store.open() == []


def test_timers_survive_a_restart(tmp_path: Path) -> None:
    clock = FakeClock()
    first = make(tmp_path, clock)
    first.answer("set a pasta timer for ten minutes", "en")
    first.store.close()
    clock.now = START + 60  # the daemon restarts a minute later
    second = make(tmp_path, clock)
    outcome = second.answer("how long is left on the pasta timer", "en")
    assert outcome is not None and outcome.text == "The pasta timer has 9 minutes left."
    (ring,) = second.ringer.due(START + 600)
    assert not ring.late and ring.text == "The pasta timer is done."


def test_due_while_down_is_announced_within_the_grace_window(tmp_path: Path) -> None:
    clock = FakeClock()
    first = make(tmp_path, clock)
    first.answer("set a timer for one minute", "en")
    first.store.close()
    clock.now = START + 300  # down for 5 minutes, the timer came due after 1
    second = make(tmp_path, clock, grace_seconds=600)
    (ring,) = second.ringer.due()
    assert ring.late and ring.text == "While I was off, the 1 minute timer went off at 3:06 PM."


def test_due_long_before_start_is_only_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    clock = FakeClock()
    make(tmp_path, clock).answer("set a timer for one minute", "en")
    clock.now = START + 3600
    caplog.set_level(logging.INFO, "daemon.intents.ringer")
    second = make(tmp_path, clock, grace_seconds=600)
    assert second.ringer.due() == []
    assert "too long ago to announce" in caplog.text
    assert second.store.open() == []


def test_ringing_at_a_crash_rings_again(tmp_path: Path) -> None:
    clock = FakeClock()
    first = make(tmp_path, clock)
    first.answer("set a timer for 5 seconds", "en")
    first.ringer.due(START + 5)  # rings, then the process dies
    clock.now = START + 20
    second = make(tmp_path, clock)
    (ring,) = second.ringer.due()
    assert ring.late


def test_alarm_tomorrow_morning_in_chinese(tmp_path: Path) -> None:
    clock = FakeClock()
    actions = make(tmp_path, clock, "zh")
    outcome = actions.answer("明天早上七点叫我", "zh")
    assert outcome is not None and outcome.intent == "alarm"
    assert outcome.text == "好的，闹钟定在明天早上7点。"
    due = datetime(2026, 11, 25, 7, 0, tzinfo=UTC).timestamp()
    assert actions.ringer.due(due - 1) == []
    (ring,) = actions.ringer.due(due)
    assert ring.text == "闹钟响了，现在是早上7点。"


@pytest.mark.parametrize(
    ("language", "said", "reply"),
    [
        ("en", "set a timer for a minute and a half", "OK, timer set for 1 minute and 30 seconds."),
        ("en", "set a pasta timer for ten minutes", "OK, pasta timer for 10 minutes."),
        ("en", "wake me up at seven a.m.", "OK, alarm set for 7:00 AM tomorrow."),
        ("en", "cancel the timer", "There's no timer set."),
        ("en", "what timers do i have", "There's no timer set."),
        ("zh", "定一个一个半小时的计时器", "好的，1小时30分钟的计时器开始了。"),
        ("zh", "定一个五分钟的意面计时器", "好的，意面计时器，5分钟。"),
        ("zh", "取消计时器", "现在没有计时器。"),
        ("zh", "set a timer for 90 seconds", "好的，1分30秒的计时器开始了。"),  # persona's language
    ],
)
def test_replies(tmp_path: Path, language: str, said: str, reply: str) -> None:
    outcome = make(tmp_path, FakeClock(), language).answer(said, language)
    assert outcome is not None and outcome.text == reply


def test_cancel_and_list(tmp_path: Path) -> None:
    actions = make(tmp_path, FakeClock())
    actions.answer("set a pasta timer for ten minutes", "en")
    actions.answer("set a timer for 5 minutes", "en")
    listed = actions.answer("what timers do i have", "en")
    assert listed is not None
    assert (
        listed.text == "The 5 minute timer has 5 minutes left. The pasta timer has 10 minutes left."
    )
    cancelled = actions.answer("cancel the pasta timer", "en")
    assert cancelled is not None and cancelled.text == "OK, cancelled the pasta timer."
    assert [r.name for r in actions.store.open()] == [""]
    assert actions.set_timer(0, "", "en") == "I can set timers from 1 second to 24 hours."


def test_volume_is_remembered_and_bounded(tmp_path: Path) -> None:
    actions = make(tmp_path, FakeClock())
    assert actions.volume.level == 7
    reply = actions.answer("set the volume to 3", "en")
    assert reply is not None and (reply.intent, reply.text) == ("volume", "Volume 3.")
    actions.store.close()
    again = make(tmp_path, FakeClock(), "zh")
    assert again.volume.level == 3
    again.answer("音量调到最大", "zh")
    louder = again.answer("大声一点", "zh")
    assert louder is not None and louder.text == "已经是最大音量了。"


def test_gain_sink_scales_and_clips() -> None:
    volume, inner = Volume(default=7), RecordingSink()
    sink = GainSink(inner, volume)
    chunk = AudioChunk(np.array([0.5, -0.5, 0.9], dtype=np.float32), 16000)
    asyncio.run(sink.play(chunk))
    volume.set(4)
    asyncio.run(sink.play(chunk))
    volume.set(10)
    asyncio.run(sink.play(chunk))
    volume.set(0)
    asyncio.run(sink.play(chunk))
    unity, quieter, louder, silent = (c.samples for c in inner.chunks)
    assert np.array_equal(unity, chunk.samples)
    assert np.allclose(quieter, chunk.samples * gain_of(4)) and gain_of(4) < 0.4
    assert louder.max() == 1.0 and louder.min() == -1.0
    assert not silent.any()


def test_the_bell_rings_until_stopped_or_expired(tmp_path: Path) -> None:
    from daemon.intents.bell import ring_until_stopped

    clock = FakeClock()
    actions = make(tmp_path, clock, max_ringing_seconds=10, repeat_gap_seconds=2)
    actions.answer("set a timer for five seconds", "en")
    clock.now = START + 5
    actions.ringer.due()
    heard: list[str] = []

    async def play(chunk: AudioChunk) -> None:
        heard.append(f"earcon {chunk.duration:.2f}")
        clock.now += chunk.duration

    async def say(text: str) -> None:
        heard.append(text)
        clock.now += 1.5

    async def pause(seconds: float) -> None:
        clock.now += seconds

    rounds = asyncio.run(ring_until_stopped(actions.ringer, play, say, pause))
    assert rounds == 3  # each round: 1.44 s earcon + 1.5 s words + 2 s gap; 10 s is in the 3rd
    assert heard.count("The 5 second timer is done.") == 3
    assert heard[0] == "earcon 1.44"
    assert not actions.ringer.is_ringing


def test_make_toolbox_offers_local_tools_and_nothing_when_disabled(tmp_path: Path) -> None:
    from daemon.config import ToolSettings
    from daemon.tools.build import make_toolbox

    actions = make(tmp_path, FakeClock())
    toolbox = make_toolbox(ToolSettings(), actions, lambda: "en")
    assert toolbox is not None
    names = [s["function"]["name"] for s in toolbox.schemas()]
    assert names == ["set_timer", "set_alarm", "cancel_timer", "list_timers", "set_volume"]
    assert make_toolbox(ToolSettings(enabled=False), actions, lambda: "en") is None


def test_audio_time_drives_the_ringer_in_file_mode(tmp_path: Path) -> None:
    from daemon.audio.clock import AudioClock
    from daemon.intents.ringer import audio_wall_clock

    audio = AudioClock()
    actions = make(tmp_path, FakeClock(0.0))
    actions.ringer.use_clock(audio_wall_clock(audio, started=START))
    actions.answer("set a timer for five seconds", "en")
    audio.advance_to(4.96)
    assert actions.ringer.due() == []
    audio.advance_to(5.04)
    (ring,) = actions.ringer.due()
    assert ring.started == START + 5.04 and not ring.late


def test_due_reads_the_store_only_when_something_can_be_due(tmp_path: Path) -> None:
    clock = FakeClock()
    actions = make(tmp_path, clock)
    actions.answer("set a timer for ten seconds", "en")
    reads = 0
    store_due = actions.store.due

    def counting(now: float) -> list[object]:
        nonlocal reads
        reads += 1
        return store_due(now)  # type: ignore[return-value]

    actions.store.due = counting  # type: ignore[method-assign]
    for tick in range(1, 100):  # 80 ms frames for 8 s
        actions.ringer.due(START + tick * 0.08)
    assert reads == 1  # the first call learns the next due time
    actions.answer("set a timer for one second", "en")  # a sooner one: read again
    (ring,) = actions.ringer.due(START + 9.0)
    assert ring.reminder.seconds == 1 and reads == 2
