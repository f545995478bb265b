"""The endpoint modes, driven by floats: 32 ms VAD chunks, speech probabilities, and a scripted
end-of-turn judge. Chunk indexes are 0-based; with HOP = 0.032 s and the defaults:
  judge first asked  at 0.2 s of silence  -> the 7th silent chunk (0.224 s)
  asked again every 0.3 s                 -> 0.512, 0.800, 1.12 s (16th, 25th, 35th silent chunk)
  unfinished hangover 1.3 s               -> the 41st silent chunk (1.312 s)
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from daemon.audio.frames import AudioFrame
from daemon.config import EndpointSettings
from daemon.turn.recording import Recording
from daemon.vad.endpoint import Decision, Endpointer
from daemon.vad.judge import TurnAudio

HOP = 0.032
SPEECH, SILENCE = 0.9, 0.05
SMART = EndpointSettings(mode="smart-turn", judge_silence_seconds=0.2, judge_interval_seconds=0.3)


class ScriptedJudge:
    """Answers from a script (the last answer repeats), noting the silence at each question."""

    def __init__(self, answers: Iterable[float]) -> None:
        self.answers = list(answers)
        self.asked = 0

    def __call__(self) -> float:
        answer = self.answers[min(self.asked, len(self.answers) - 1)]
        self.asked += 1
        return answer


def n(count: int, prob: float) -> list[float]:
    return [prob] * count


def end_index(
    ep: Endpointer, probs: list[float], hangover: float | None = None, partial: str | None = None
) -> int | None:
    for i, p in enumerate(probs):
        if ep.process(HOP, p, hangover, partial) is not Decision.CONTINUE:
            return i
    return None


FINISHED = "what time is it"  # a partial transcript that reads as a finished request


def test_a_finished_turn_ends_at_the_first_question() -> None:
    judge = ScriptedJudge([0.9])
    ep = Endpointer(SMART, judge=judge)
    assert end_index(ep, n(10, SPEECH) + n(60, SILENCE), partial=FINISHED) == 10 + 6
    assert judge.asked == 1
    assert ep.verdict is not None
    assert ep.verdict.silence == pytest.approx(7 * HOP)
    assert ep.verdict.at == pytest.approx(17 * HOP)
    assert ep.verdict.probability == 0.9


def test_an_unfinished_turn_is_asked_again_and_ends_at_the_long_hangover() -> None:
    judge = ScriptedJudge([0.1])
    ep = Endpointer(SMART, judge=judge)
    assert end_index(ep, n(10, SPEECH) + n(60, SILENCE)) == 10 + 40
    assert judge.asked == 4  # at 0.224, 0.512, 0.800, 1.12 s of silence


def test_no_then_yes_without_text_ends_at_the_plain_hangover() -> None:
    """An offline ASR gives no partial: a yes alone waits `silence_seconds` (0.6 s)."""
    judge = ScriptedJudge([0.2, 0.8])
    ep = Endpointer(SMART, judge=judge)
    assert end_index(ep, n(10, SPEECH) + n(60, SILENCE)) == 10 + 18  # 19 * 0.032 = 0.608 s
    assert judge.asked == 2


@pytest.mark.parametrize("pause_chunks", [16, 25, 31, 37])  # 0.5 / 0.8 / 1.0 / 1.2 s
def test_a_pause_judged_unfinished_stays_inside_one_recording(pause_chunks: int) -> None:
    judge = ScriptedJudge([0.1])
    ep = Endpointer(SMART, judge=judge)
    probs = n(20, SPEECH) + n(pause_chunks, SILENCE) + n(20, SPEECH)
    assert end_index(ep, probs) is None
    assert ep.verdict is None  # speech came back: the verdict is gone
    assert end_index(ep, n(7, SILENCE)) is None  # ...and the new silence is judged afresh
    assert ep.verdict is not None and ep.verdict.silence == pytest.approx(7 * HOP)


def test_threshold_is_inclusive_and_configurable() -> None:
    at = SMART.model_copy(update={"complete_threshold": 0.7})
    probs = n(10, SPEECH) + n(9, SILENCE)  # short of the finished hangover (0.3 s)
    assert end_index(Endpointer(at, judge=ScriptedJudge([0.7])), probs, partial=FINISHED) == 16
    assert end_index(Endpointer(at, judge=ScriptedJudge([0.69])), probs, partial=FINISHED) is None


def test_an_unfinished_partial_vetoes_the_judge() -> None:
    judge = ScriptedJudge([0.99])
    ep = Endpointer(SMART, judge=judge)
    probs = n(10, SPEECH) + n(60, SILENCE)
    assert end_index(ep, probs, partial="set a timer for") == 10 + 40
    assert judge.asked == 0  # the text settles it: the model is not even run


def test_a_finished_partial_that_the_judge_doubts_ends_at_the_finished_hangover() -> None:
    judge = ScriptedJudge([0.1])
    ep = Endpointer(SMART, judge=judge)
    probs = n(10, SPEECH) + n(60, SILENCE)
    assert end_index(ep, probs, partial=FINISHED) == 10 + 9  # 10 * 0.032 = 0.32 s >= 0.3 s


def test_the_judge_is_not_asked_before_speech_has_started() -> None:
    judge = ScriptedJudge([0.9])
    ep = Endpointer(SMART, judge=judge)
    probs = n(3, SPEECH) + n(200, SILENCE)  # a click, then nobody
    assert end_index(ep, probs) == 156
    assert judge.asked == 0


@pytest.mark.parametrize("mode", ["fixed", "adaptive"])
def test_other_modes_never_ask(mode: str) -> None:
    judge = ScriptedJudge([0.99])
    ep = Endpointer(EndpointSettings(mode=mode), judge=judge)  # type: ignore[arg-type]
    assert end_index(ep, n(10, SPEECH) + n(60, SILENCE)) == 10 + 18  # the 0.6 s default
    assert judge.asked == 0 and ep.verdict is None


def test_smart_turn_without_a_judge_is_adaptive() -> None:
    ep = Endpointer(SMART)
    assert end_index(ep, n(10, SPEECH) + n(60, SILENCE), hangover=0.45) == 10 + 14


@settings(max_examples=60, deadline=None)
@given(
    speech=st.integers(7, 60),
    silence=st.integers(0, 80),
    answers=st.lists(st.floats(0, 1), min_size=1, max_size=6),
)
def test_smart_turn_never_ends_before_the_first_question_nor_after_the_long_hangover(
    speech: int, silence: int, answers: list[float]
) -> None:
    ep = Endpointer(SMART, judge=ScriptedJudge(answers))
    end = end_index(ep, n(speech, SPEECH) + n(silence, SILENCE))
    if end is not None:
        silent = end - speech + 1
        assert 7 <= silent <= 41


# --- Recording: the judge hears exactly the audio up to the current VAD chunk ------------------


class StepVad:
    """Speech probability from the chunk's own loudness (a stand-in with Silero's interface)."""

    chunk_samples = 512

    def probability(self, samples: np.ndarray) -> float:
        return 0.9 if np.abs(samples).max() > 1000 else 0.0

    def reset(self) -> None:
        pass


class RecordingJudge:
    def __init__(self, answer: float = 0.9, error: Exception | None = None) -> None:
        self.heard: list[int] = []
        self.answer, self.error = answer, error

    def probability(self, audio: np.ndarray) -> float:
        self.heard.append(len(audio))
        assert audio.dtype == np.float32 and np.abs(audio).max() <= 1.0
        if self.error is not None:
            raise self.error
        return self.answer


def feed_all(
    recording: Recording, audio: np.ndarray, partial: str = FINISHED
) -> tuple[Decision, float]:
    for start in range(0, len(audio), 1280):
        frame = AudioFrame(audio[start : start + 1280], start / 16000)
        decision = recording.feed(frame, partial)
        if decision is not Decision.CONTINUE:
            return decision, recording.endpointer.elapsed
    return Decision.CONTINUE, recording.endpointer.elapsed


def loud(seconds: float) -> np.ndarray:
    return np.full(round(seconds * 16000), 8000, dtype=np.int16)


def quiet(seconds: float) -> np.ndarray:
    return np.zeros(round(seconds * 16000), dtype=np.int16)


def test_recording_asks_on_the_audio_up_to_the_current_chunk_only() -> None:
    judge = RecordingJudge(0.9)
    recording = Recording(StepVad(), SMART, 0.5, judge)
    recording.warm(AudioFrame(quiet(0.16), 0.0))  # 2560 samples of pre-roll: 5 chunks
    decision, at = feed_all(recording, np.concatenate([loud(1.024), quiet(3.0)]))
    assert decision is Decision.END_OF_SPEECH
    assert at == pytest.approx(1.024 + 7 * HOP)
    assert judge.heard == [2560 + round(at * 16000)]  # pre-roll + every chunk fed so far
    assert recording.verdict is not None and recording.verdict.probability == 0.9


def test_the_judge_hears_half_a_second_before_the_speech_not_the_wake_phrase() -> None:
    judge = RecordingJudge(0.9)
    recording = Recording(StepVad(), SMART, 0.5, judge)
    recording.warm(AudioFrame(np.concatenate([loud(0.8), quiet(1.248)]), 0.0))  # "hey jarvis"
    audio = np.concatenate([quiet(1.024), loud(1.024), quiet(3.0)])
    for start in range(0, len(audio), 1280):  # the ASR hears the request once it is spoken
        partial = FINISHED if start >= 1.5 * 16000 else ""
        if recording.feed(AudioFrame(audio[start : start + 1280], start / 16000), partial) is not (
            Decision.CONTINUE
        ):
            break
    assert judge.heard == [round((0.5 + 1.024 + 7 * HOP) * 16000)]


def test_recording_keeps_only_the_last_eight_seconds_for_the_judge() -> None:
    judge = RecordingJudge(0.9)
    long_turns = SMART.model_copy(update={"max_utterance_seconds": 20})
    recording = Recording(StepVad(), long_turns, 0.5, judge)
    feed_all(recording, np.concatenate([loud(10.0), quiet(1.0)]))
    assert judge.heard == [8 * 16000]


def test_a_failing_judge_falls_back_to_the_long_hangover() -> None:
    judge = RecordingJudge(error=RuntimeError("onnx exploded"))
    recording = Recording(StepVad(), SMART, 0.5, judge)
    decision, at = feed_all(recording, np.concatenate([loud(0.512), quiet(3.0)]), "")
    assert decision is Decision.END_OF_SPEECH
    assert at - 0.512 == pytest.approx(41 * HOP)
    assert len(judge.heard) == 4


def test_fixed_mode_ignores_the_partial_transcript() -> None:
    fixed = EndpointSettings(mode="fixed", silence_seconds=0.6)
    adaptive = EndpointSettings(mode="adaptive")
    audio = np.concatenate([loud(0.512), quiet(2.0)])
    ends = {}
    for name, endpoint in (("fixed", fixed), ("adaptive", adaptive)):
        recording = Recording(StepVad(), endpoint, 0.5)
        for start in range(0, len(audio), 1280):
            frame = AudioFrame(audio[start : start + 1280], start / 16000)
            if recording.feed(frame, "set a timer for") is not Decision.CONTINUE:
                break
        ends[name] = recording.endpointer.elapsed - 0.512
    assert ends["fixed"] == pytest.approx(19 * HOP)
    assert ends["adaptive"] == pytest.approx(41 * HOP)


@settings(max_examples=80, deadline=None)
@given(blocks=st.lists(st.integers(0, 3000), max_size=40), seconds=st.sampled_from([0.05, 0.1]))
def test_turn_audio_is_the_last_window_of_what_was_appended(
    blocks: list[int], seconds: float
) -> None:
    audio = TurnAudio(seconds)
    everything = np.zeros(0, dtype=np.int16)
    for i, size in enumerate(blocks):
        block = (np.arange(size) + 7 * i).astype(np.int16)
        audio.append(block)
        everything = np.concatenate([everything, block])
    expected = everything[-round(seconds * 16000) :].astype(np.float32) / 32768
    np.testing.assert_array_equal(audio.samples(), expected)
