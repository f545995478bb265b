"""Talking like a person: interrupting the box, follow-ups without the wake word, overlap."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from daemon.config import Deadlines, EndpointSettings
from daemon.turn.machine import State, TurnSettings
from daemon.turn.speaking import CUT_MARK
from tests.fixtures.fakes import Rig, ScriptedAsr, ScriptedChat, Timeline, request

LONG_REPLY = ["This reply is long enough to be interrupted. " * 4, "It goes on and on. " * 4]
SETTINGS = TurnSettings(endpoint=EndpointSettings(), deadlines=Deadlines(asr=1, tts_chunk=1))


def reply_audio_times(rig: Rig) -> list[float]:
    """Audio times of the slices of scripted TTS audio (constant 0.1) the sink was handed."""
    return [
        at
        for chunk, at in zip(rig.sink.chunks, rig.sink.audio_times, strict=True)
        if len(chunk.samples) and np.allclose(chunk.samples, 0.1)
    ]


def test_wake_word_over_the_reply_stops_it_within_200_ms_and_starts_a_new_request() -> None:
    asr = ScriptedAsr(script=["tell me a long story", "a shorter one please"])
    rig = Rig(asr=asr, chat=ScriptedChat(pieces=LONG_REPLY), settings=SETTINGS)
    timeline = (
        Timeline()
        .silence(1)
        .wake()
        .silence(0.3)
        .speech(1.5)
        .silence(1.6)
        .wake()  # about one second into the reply
        .silence(0.3)
        .speech(1.0)
        .silence(3)
    )
    barge_at = 1.04 + 0.32 + 1.52 + 1.6 + 0.08  # end of the second wake frame
    rig.run(timeline)
    first, second = rig.turns
    assert first.outcome == "interrupted"
    times = reply_audio_times(rig)
    assert min(times) < barge_at - 0.5  # the reply was playing ...
    assert max(t for t in times if t < barge_at + 1.5) <= barge_at + 0.2  # ... and stopped
    assert second.outcome == "ok" and second.asr_text == "a shorter one please"
    assert second.wake_model == "fake_wake"
    assert first.reply_text and first.reply_text[-1].endswith(CUT_MARK)
    remembered = rig.chat.requests[1][2]["content"]  # type: ignore[union-attr]
    assert remembered == " ".join(first.reply_text)  # memory holds what was heard


def test_without_barge_in_the_wake_word_over_the_reply_is_ignored() -> None:
    rig = Rig(chat=ScriptedChat(pieces=LONG_REPLY), settings=replace(SETTINGS, barge_in=False))
    rig.run(request().silence(0.1).wake().silence(8))
    assert [t.outcome for t in rig.turns] == ["ok"]


def test_a_follow_up_needs_no_wake_word_but_only_within_the_window() -> None:
    settings = replace(SETTINGS, follow_up_seconds=3.0, echo_tail_seconds=0.3)
    asr = ScriptedAsr(script=["tell me a joke", "another one", "and again"])
    rig = Rig(asr=asr, settings=settings)
    timeline = (
        request()  # reply plays in the trailing silence
        .silence(2)
        .speech(1.0)
        .silence(2.5)  # inside the window: a follow-up
        .silence(6)
        .speech(1.0)
        .silence(2)  # long after: no wake word, so nothing
    )
    rig.run(timeline)
    assert [t.wake_model for t in rig.turns] == ["fake_wake", "follow-up"]
    assert [t.asr_text for t in rig.turns] == ["tell me a joke", "another one"]
    assert State.FOLLOW_UP in rig.states and rig.states[-1] is State.IDLE


def test_a_follow_up_window_that_passes_in_silence_returns_to_idle() -> None:
    rig = Rig(settings=replace(SETTINGS, follow_up_seconds=2.0)).run(request().silence(5))
    assert len(rig.turns) == 1
    assert rig.states[-2:] == [State.FOLLOW_UP, State.IDLE]


def test_first_reply_sample_is_played_before_the_llm_has_finished() -> None:
    chat = ScriptedChat(pieces=["First sentence here. ", "Second ", "one."], interval=0.3)
    rig = Rig(chat=chat).run(request(), realtime=True)  # marks in wall time
    turn = rig.turns[0]
    assert turn.first_audio_at is not None and chat.finished_at is not None
    assert turn.first_audio_at < chat.finished_at - 0.3
    timings = turn.timings()
    assert timings["voice_to_voice_ms"] is not None and timings["first_sample_ms"] is not None
    assert 500 <= timings["endpoint_ms"] <= 700  # the 0.6 s hangover, counted in audio time
