"""The second-stage wake check (wake.verify) through the real turn machine, with a scripted check:
accepted fires give a turn, rejected ones end silently, and a check that fails or is slow never
leaves the box deaf."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field

import numpy as np
import pytest

from daemon.audio.earcons import wake_earcon
from daemon.config import Deadlines, EndpointSettings
from daemon.turn import machine
from daemon.turn.listener import HEARD_SECONDS
from daemon.turn.machine import State, TurnSettings
from daemon.wake.base import CheckVerdict
from tests.fixtures.fakes import Rig, ScriptedAsr, Timeline, request


@dataclass
class ScriptedCheck:
    """Answers with `scores` in turn (then `score`); may raise, or take `delay` seconds."""

    score: float = -1.0
    scores: list[float] = field(default_factory=list)
    error: Exception | None = None
    delay: float = 0.0
    checked_models: frozenset[str] = frozenset({"fake_wake"})
    threshold: float = -4.0
    heard: list[np.ndarray] = field(default_factory=list)
    threads: list[str] = field(default_factory=list)

    def applies(self, wake_model: str) -> bool:
        return wake_model in self.checked_models

    def check(self, audio: np.ndarray, wake_model: str) -> CheckVerdict:
        self.heard.append(audio)
        self.threads.append(threading.current_thread().name)
        time.sleep(self.delay)
        if self.error is not None:
            raise self.error
        score = self.scores.pop(0) if self.scores else self.score
        return CheckVerdict(score >= self.threshold, score, "你好小智")


def _with_earcon() -> TurnSettings:
    return TurnSettings(
        endpoint=EndpointSettings(),
        deadlines=Deadlines(asr=1, tts_chunk=1),
        earcons=frozenset({"wake"}),
    )


def test_an_accepted_fire_gives_a_turn_and_the_check_hears_the_audio_before_it() -> None:
    check = ScriptedCheck(score=-1.0)
    rig = Rig(wake_check=check).run(Timeline().speech(1.5).extend(request()))
    [turn] = rig.turns
    assert turn.outcome == "ok" and rig.tts.texts
    [audio] = check.heard
    assert audio.dtype == np.float32 and len(audio) == HEARD_SECONDS * 16000
    assert check.threads == ["voiced-asr"]  # the ASR worker: never the loop or the listener


def test_a_rejected_fire_ends_the_recording_silently_with_one_info_line(
    caplog: pytest.LogCaptureFixture,
) -> None:
    rig = Rig(wake_check=ScriptedCheck(score=-6.5), settings=_with_earcon())
    with caplog.at_level(logging.INFO, logger="daemon.turn.machine"):
        rig.run(request())
    assert rig.turns == [] and rig.tts.texts == [] and rig.sink.chunks == []
    assert rig.states == [State.RECORDING, State.IDLE]
    lines = [r for r in caplog.records if "rejected" in r.getMessage()]
    assert len(lines) == 1 and lines[0].levelno == logging.INFO
    assert "-6.50" in lines[0].getMessage() and "fake_wake" in lines[0].getMessage()


def test_after_a_rejected_fire_the_next_wake_word_is_answered() -> None:
    check = ScriptedCheck(scores=[-9.0, -0.5])
    rig = Rig(wake_check=check, asr=ScriptedAsr(script=["(discarded)"]))
    rig.run(request().extend(request()))
    [turn] = rig.turns
    assert turn.outcome == "ok" and turn.asr_text == "tell me a joke"
    assert len(check.heard) == 2


def test_the_wake_earcon_plays_only_once_the_check_accepts() -> None:
    accepted = Rig(wake_check=ScriptedCheck(score=-1.0), settings=_with_earcon()).run(request())
    rejected = Rig(wake_check=ScriptedCheck(score=-8.0), settings=_with_earcon()).run(request())
    no_earcon = Rig(wake_check=ScriptedCheck(score=-1.0)).run(request())
    earcon = wake_earcon().duration
    assert accepted.sink.seconds == pytest.approx(no_earcon.sink.seconds + earcon, abs=0.01)
    assert rejected.sink.chunks == []


def test_a_failing_check_lets_the_wake_word_through(caplog: pytest.LogCaptureFixture) -> None:
    check = ScriptedCheck(error=RuntimeError("model exploded"))
    with caplog.at_level(logging.WARNING, logger="daemon.turn.machine"):
        rig = Rig(wake_check=check).run(request())
    assert [t.outcome for t in rig.turns] == ["ok"]
    assert any("model exploded" in r.getMessage() for r in caplog.records)


def test_a_slow_check_lets_the_wake_word_through(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(machine, "WAKE_CHECK_TIMEOUT", 0.1)
    with caplog.at_level(logging.WARNING, logger="daemon.turn.machine"):
        rig = Rig(wake_check=ScriptedCheck(score=-9.0, delay=0.4)).run(request())
    assert [t.outcome for t in rig.turns] == ["ok"]  # the late "reject" is not waited for
    assert any("took too long" in r.getMessage() for r in caplog.records)


def test_wake_words_it_does_not_know_are_not_checked() -> None:
    check = ScriptedCheck(score=-9.0, checked_models=frozenset({"ni_hao_xiao_zhi"}))
    rig = Rig(wake_check=check).run(request())
    assert [t.outcome for t in rig.turns] == ["ok"] and check.heard == []


def test_live_a_rejected_fire_leaves_the_box_listening() -> None:
    """Real time (frames keep coming while the check runs): reject, then a real request."""
    check = ScriptedCheck(scores=[-9.0, -0.5], delay=0.2)
    rig = Rig(wake_check=check, asr=ScriptedAsr(script=["(discarded)"]))
    rig.run(request().extend(request()), realtime=True)
    assert [t.outcome for t in rig.turns] == ["ok"]
    assert rig.states.count(State.RECORDING) == 2 and rig.states[-1] == State.IDLE


@pytest.mark.parametrize(("score", "outcomes"), [(-9.0, []), (-1.0, ["ok"])])
def test_live_a_request_that_ends_before_the_check_waits_for_it(
    score: float, outcomes: list[str]
) -> None:
    """A short request ends (endpoint) while the check still runs: the reply waits for the
    check's answer, and a rejected fire still gives no turn."""
    check = ScriptedCheck(score=score, delay=1.5)
    rig = Rig(wake_check=check).run(request(speech=0.3).silence(2.0), realtime=True)
    assert [t.outcome for t in rig.turns] == outcomes
    assert bool(rig.tts.texts) == bool(outcomes)
