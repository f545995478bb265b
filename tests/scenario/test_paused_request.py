"""A request with a pause in it ("set a timer for ... five minutes", 0.8 s pause) is one turn
with the whole sentence, from a file and in real time, in smart-turn mode with a judge that
hears the pause as finished (as Smart Turn does on synthetic voices): the partial transcript,
which ends on "for", keeps the recording open. A finished request ends at the judge's first
question."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pytest

from daemon.asr.base import UNSURE_MARK, Transcript
from daemon.audio.frames import SAMPLE_RATE
from daemon.config import Deadlines, EndpointSettings
from daemon.turn.machine import TurnSettings
from tests.fixtures.fakes import Rig, Timeline

FIRST, WHOLE = "set a timer for", "set a timer for five minutes"
SPEECH_1, PAUSE, SPEECH_2 = 1.04, 0.8, 0.8  # seconds (80 ms frames)


@dataclass
class StretchAsr:
    """A streaming recognizer that names each stretch of speech once it has been fed: `texts[i]`
    once `at[i]` seconds of audio have arrived (like Whisper's fast final at a pause)."""

    at: list[float]
    texts: list[str]
    fed: int = 0
    heard: list[int] = field(default_factory=list)
    name: str = "stretches"

    def start(self) -> StretchAsr:
        self.fed = 0
        return self

    def feed(self, samples: np.ndarray) -> None:
        self.fed += len(samples)

    @property
    def partial(self) -> str:
        pairs = zip(self.at, self.texts, strict=True)
        done = [text for at, text in pairs if self.fed >= at * SAMPLE_RATE]
        return done[-1] if done else ""

    def finish(self) -> Transcript:
        self.heard.append(self.fed)
        return Transcript(self.partial, "en")


class SureJudge:
    """Hears every silence as the end of a turn (P = 0.95)."""

    def __init__(self) -> None:
        self.asked = 0

    def probability(self, audio: np.ndarray) -> float:
        self.asked += 1
        return 0.95


SMART = TurnSettings(
    endpoint=EndpointSettings(mode="smart-turn"), deadlines=Deadlines(asr=2, tts_chunk=2)
)


def paused_request() -> Timeline:
    timeline = Timeline().silence(1).wake().silence(0.32).speech(SPEECH_1).silence(PAUSE)
    return timeline.speech(SPEECH_2).silence(2.0)


def stretch_asr() -> StretchAsr:
    # the request's audio starts ~0.3 s before its speech (the pre-roll); a stretch is named
    # 0.3 s into the pause after it
    first = 0.3 + SPEECH_1 + 0.3
    return StretchAsr(at=[first, first + PAUSE + SPEECH_2], texts=[FIRST, WHOLE])


@pytest.mark.parametrize("realtime", [False, True], ids=["file", "realtime"])
def test_a_paused_timer_request_is_one_turn(realtime: bool) -> None:
    asr = stretch_asr()
    judge = SureJudge()
    rig = Rig(asr=asr, settings=SMART, judge=judge)  # type: ignore[arg-type]
    rig.run(paused_request(), realtime=realtime)
    [turn] = rig.turns
    assert turn.outcome == "ok"
    assert turn.asr_text == WHOLE
    assert turn.recording_seconds > 0.3 + SPEECH_1 + PAUSE + SPEECH_2
    assert judge.asked >= 1  # asked in the final silence (not in the pause: "for")


def test_the_pause_is_not_judged_while_the_text_ends_on_for() -> None:
    asr = stretch_asr()
    rig = Rig(asr=asr, settings=SMART, judge=SureJudge())  # type: ignore[arg-type]
    rig.run(paused_request())
    [turn] = rig.turns
    # the judge's yes + finished text end the turn at its first question (0.2 s of silence)
    assert turn.endpoint_delay == pytest.approx(0.224, abs=0.04)


def test_a_finished_request_ends_at_the_first_question() -> None:
    timeline = Timeline().silence(1).wake().silence(0.32).speech(1.04).silence(2.0)
    asr = StretchAsr(at=[0.3 + 1.04 + 0.1], texts=["what time is it"])
    rig = Rig(asr=asr, settings=SMART, judge=SureJudge())  # type: ignore[arg-type]
    rig.run(timeline)
    [turn] = rig.turns
    assert turn.asr_text == "what time is it"
    assert turn.endpoint_delay <= 0.25


def slow_stretch_asr(decode_seconds: float) -> StretchAsr:
    """Like `stretch_asr`, but the first stretch takes `decode_seconds` to decode, and meanwhile
    the partial is the unsure mark (as Whisper's session says while it decodes)."""
    start = 0.3 + SPEECH_1 + 0.3
    done = start + decode_seconds
    return StretchAsr(at=[start, done, done + PAUSE + SPEECH_2], texts=[UNSURE_MARK, FIRST, WHOLE])


@pytest.mark.parametrize("realtime", [False, True], ids=["file", "realtime"])
def test_a_slow_decode_in_the_pause_does_not_let_the_judge_alone_end_the_turn(
    realtime: bool,
) -> None:
    # the pause's text ("... for") comes 1.2 s into it, long after the judge's yes alone would
    # have ended the turn (silence_seconds) had the partial said nothing meanwhile
    asr = slow_stretch_asr(decode_seconds=0.9)
    rig = Rig(asr=asr, settings=SMART, judge=SureJudge())  # type: ignore[arg-type]
    rig.run(paused_request(), realtime=realtime)
    [turn] = rig.turns
    assert turn.asr_text == WHOLE
    assert turn.recording_seconds > 0.3 + SPEECH_1 + PAUSE + SPEECH_2
