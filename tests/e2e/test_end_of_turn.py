"""End of turn in smart-turn mode on real audio: real Silero VAD, the real Smart Turn model, fed
frame by frame through Recording as the listener does. Times are audio time (the endpointer's
own clock), never the wall clock.

The streaming ASR is scripted (what a streaming recognizer would have heard by then), because the
zero-download ASR (pocketsphinx) mishears espeak's "for" as "far" and no Mandarin streaming ASR
ships offline; the judge, the VAD and the audio are real.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from daemon.audio.frames import FRAME_SAMPLES, AudioFrame, Reframer
from daemon.config import EndpointSettings, VadSettings
from daemon.synth.espeak import espeak_speech
from daemon.synth.gcin import mandarin_speech
from daemon.turn.recording import Recording
from daemon.vad import make_vad
from daemon.vad.endpoint import Decision
from daemon.vad.judge import make_judge
from tests.fixtures.paused_speech import Clip, clip_of, pause_span, stretch_longest_gap

SMART = EndpointSettings(mode="smart-turn")
Partial = Callable[[float], str]  # audio time -> what the streaming ASR has said so far


def run(clip: Clip, models_dir: Path, partial: Partial) -> tuple[Decision, float, int]:
    """(decision, audio time of the endpoint, how many times speech restarted after a verdict)."""
    recording = Recording(make_vad(VadSettings(), models_dir), SMART, 0.5, make_judge(models_dir))
    resumed, judged = 0, False
    for frame in Reframer(FRAME_SAMPLES).push(clip.audio):
        decision = recording.feed(AudioFrame(frame.samples, frame.start), partial(frame.start))
        if decision is not Decision.CONTINUE:
            return decision, recording.endpointer.elapsed, resumed
        resumed += judged and recording.verdict is None
        judged = recording.verdict is not None
    return Decision.CONTINUE, recording.endpointer.elapsed, resumed


def heard(first: str, whole: str, first_at: float, whole_at: float) -> Partial:
    """A streaming recognizer: nothing, then the first stretch, then the whole request."""
    return lambda at: "" if at < first_at else first if at < whole_at else whole


@pytest.mark.slow
def test_a_paused_timer_request_is_one_recording(models_dir: Path) -> None:
    speech = espeak_speech("set a timer for, five minutes", "en-us", rate=165)
    clip = clip_of(stretch_longest_gap(speech, 0.8), "en", "en-us", 0.8)
    start, end = pause_span(clip)
    assert end - start == pytest.approx(0.8, abs=0.03)
    # a streaming recognizer names new words ~0.3 s after it hears them
    partial = heard("set a timer for", "set a timer for five minutes", start + 0.3, end + 0.3)

    decision, at, resumed = run(clip, models_dir, partial)

    assert decision is Decision.END_OF_SPEECH
    assert at > clip.speech_end  # the whole sentence is inside the one recording
    assert resumed == 1  # the judge was asked in the pause, and speech came back


@pytest.mark.slow
def test_a_finished_question_ends_within_about_250_ms_of_silence(models_dir: Path) -> None:
    clip = clip_of(espeak_speech("what time is it", "en-us", rate=165), "en", "en-us", None)
    decision, at, _ = run(clip, models_dir, heard("", "what time is it", 0, clip.speech_end + 0.1))
    assert decision is Decision.END_OF_SPEECH
    # the judge is asked at 0.2 s of VAD silence, which starts ~50-80 ms after the last loud
    # sample: 0.28 s here (0.23 s with judge_silence_seconds 0.15, see scripts/bench endpointing)
    assert 0.15 <= at - clip.speech_end <= 0.30


@pytest.mark.slow
def test_mandarin_pause_after_bang_wo_is_one_recording_with_the_judge_alone(
    models_dir: Path,
) -> None:
    speech = mandarin_speech("帮我，定一个五分钟的闹钟", speaker=3)
    clip = clip_of(stretch_longest_gap(speech, 0.8), "zh", "gcin-3", 0.8)
    decision, at, resumed = run(clip, models_dir, lambda _: "")
    assert decision is Decision.END_OF_SPEECH
    assert at > clip.speech_end
    assert resumed >= 1


@pytest.mark.slow
def test_a_finished_mandarin_question_ends_early(models_dir: Path) -> None:
    speech = mandarin_speech("现在几点", speaker=3)
    clip = clip_of(speech, "zh", "gcin-3", None)
    decision, at, _ = run(clip, models_dir, heard("", "现在几点", 0, clip.speech_end + 0.1))
    assert decision is Decision.END_OF_SPEECH
    assert at - clip.speech_end <= 0.5  # the judge doubts gcin's flat syllables: text alone
