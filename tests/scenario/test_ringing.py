"""Timers by voice in whole turns (file mode, audio time): set, ring, stop, restart.

The Assistant reaches the ringer as `stages.responder.actions.ringer` and asks it, frame by
frame, what has come due; a ring plays the ring earcon and its words between turns; while it
rings, "stop" needs no wake word (a ring window). The tests give the ringer an audio-time clock
from ORIGIN themselves (the daemon does it with `Ringer.use_clock` for a file).
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

from daemon.audio.clock import slices
from daemon.audio.earcons import ring_earcon
from daemon.audio.frames import AudioChunk
from daemon.audio.gain import Volume
from daemon.intents.actions import Actions
from daemon.intents.ringer import Ringer, RingSettings
from daemon.intents.store import Store
from daemon.llm.responder import Responder
from tests.fixtures.fakes import PERSONA, Rig, ScriptedAsr, Timeline, request

ORIGIN = 1_800_000_000.0  # wall-clock seconds at audio time 0


def rig_with_timers(state: Path, texts: list[str], origin: float = ORIGIN) -> Rig:
    rig = Rig(asr=ScriptedAsr(script=list(texts)))

    def audio_wall_clock() -> float:  # what audio_wall_clock(assistant.clock) gives the daemon
        return origin + (rig.sink.clock.now if rig.sink.clock is not None else 0.0)

    store = Store(state / "reminders.sqlite3")
    ringer = Ringer(store, audio_wall_clock, lambda: "en", RingSettings(max_ringing_seconds=8))
    actions = Actions(ringer, Volume(store))
    rig.responder = Responder(rig.chat, rig.timeouts, PERSONA, actions=actions)
    return rig


def actions_of(rig: Rig) -> Actions:
    assert rig.responder is not None and rig.responder.actions is not None
    return rig.responder.actions


def played(rig: Rig) -> np.ndarray:
    return np.concatenate([c.samples for c in rig.sink.chunks]) if rig.sink.chunks else np.zeros(0)


def contains(audio: np.ndarray, part: np.ndarray) -> bool:
    """`part` occurs in `audio` sample for sample (at any offset, however it was sliced)."""
    peak = int(np.argmax(np.abs(part)))
    starts = np.flatnonzero(np.isclose(audio, part[peak], atol=1e-6)) - peak
    return any(
        0 <= i <= len(audio) - len(part) and np.allclose(audio[i : i + len(part)], part, atol=1e-6)
        for i in starts
    )


def rang(rig: Rig) -> bool:
    """The ring earcon's first beep is in what the box played."""
    return contains(played(rig), ring_earcon().samples[:1440])


def test_the_ring_detector_finds_a_sliced_earcon() -> None:
    rig = Rig()
    earcon = ring_earcon()
    rig.sink.chunks = [AudioChunk(np.zeros(333, np.float32), 16000), *slices(earcon)]
    assert rang(rig)
    rig.sink.chunks = slices(AudioChunk(earcon.samples * 0.5, 16000))
    assert not rang(rig)


def test_a_timer_is_set_by_voice_at_audio_time(tmp_path: Path) -> None:
    rig = rig_with_timers(tmp_path, ["set a timer for five seconds"]).run(request())
    (turn,) = rig.turns
    assert turn.reply_source == "intent:timer"
    assert rig.tts.texts == ["OK, timer set for 5 seconds."]
    (timer,) = actions_of(rig).store.open()
    # set when the request was answered: 1 s silence + wake + 0.3 s + 1.5 s speech + endpoint
    assert ORIGIN + 3 < timer.due - 5 < ORIGIN + 5


def test_the_timer_is_still_there_after_a_restart(tmp_path: Path) -> None:
    rig_with_timers(tmp_path, ["set a pasta timer for ten minutes"]).run(request())
    later = rig_with_timers(tmp_path, ["how long is left on the pasta timer"], ORIGIN + 60)
    later.run(request())
    assert later.tts.texts[-1].startswith("The pasta timer has 9 minutes")
    assert later.turns[-1].reply_source == "intent:timer"


def test_the_timer_rings_at_its_audio_time(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "daemon.intents.ringer")
    timeline = request().silence(10)
    rig = rig_with_timers(tmp_path, ["set a timer for five seconds"]).run(timeline)
    assert rang(rig)
    assert "The 5 second timer is done." in rig.tts.texts
    assert any("rings" in r.getMessage() for r in caplog.records)
    (timer,) = [r for r in actions_of(rig).store.open()] or [None]
    assert timer is None or timer.state == "ringing"


def test_stop_without_the_wake_word_stops_the_ring(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "daemon.intents.ringer")
    timeline = request().silence(6).speech(0.5).silence(3)  # "stop", no wake word
    rig = rig_with_timers(tmp_path, ["set a timer for five seconds", "stop"]).run(timeline)
    assert rang(rig)
    assert not actions_of(rig).ringer.is_ringing
    assert any(
        "stopped after ringing" in r.getMessage() and "(stopped)" in r.getMessage()
        for r in caplog.records
    )
    assert actions_of(rig).store.open() == []


def test_an_unanswered_ring_ends_after_the_maximum(tmp_path: Path) -> None:
    timeline = request().silence(20)
    rig = rig_with_timers(tmp_path, ["set a timer for five seconds"]).run(timeline)
    assert rang(rig)
    assert not actions_of(rig).ringer.is_ringing
    # rounds of earcon (about 1.5 s) + words + 2 s gap within 8 s of ringing
    assert 1 <= rig.tts.texts.count("The 5 second timer is done.") <= 3


def test_stop_without_the_wake_word_does_nothing_when_nothing_rings(tmp_path: Path) -> None:
    timeline = Timeline().silence(1).speech(0.5).silence(2)
    rig = rig_with_timers(tmp_path, ["stop"]).run(timeline)
    assert rig.turns == [] and rig.tts.texts == []
