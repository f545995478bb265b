"""Whole turns through the real state machine, with scripted backends of fixed behaviour."""

from __future__ import annotations

import threading
import time

from daemon.errors import ErrorCode, StageError
from daemon.turn.machine import State
from tests.fixtures.fakes import Rig, ScriptedAsr, ScriptedChat, ScriptedTts, Timeline, request

FULL_TURN = [State.RECORDING, State.TRANSCRIBING, State.THINKING, State.SPEAKING, State.IDLE]


def test_a_turn_goes_through_every_state_and_speaks_each_sentence() -> None:
    rig = Rig().run(request())
    assert rig.states == FULL_TURN
    [turn] = rig.turns
    assert turn.outcome == "ok" and turn.reply_source == "llm:scripted"
    assert rig.tts.texts == ["Why did the robot cross the road?", "To recharge."]
    assert turn.reply_text == rig.tts.texts
    assert rig.sink.seconds > 0.4
    assert 1.5 <= turn.recording_seconds <= 2.5  # 0.3 s pause + 1.5 s speech + 0.6 s hangover
    messages = rig.chat.requests[0]  # type: ignore[union-attr]
    assert messages[0] == {"role": "system", "content": "You are Testy."}
    assert messages[-1] == {"role": "user", "content": "tell me a joke"}


def test_the_recording_includes_the_preroll_and_ends_after_the_hangover() -> None:
    rig = Rig().run(request(speech=1.0))
    [turn] = rig.turns
    pause, speech, hangover, preroll = 0.3, 1.0, 0.6, 0.3
    expected = pause + speech + hangover
    assert abs(turn.recording_seconds - expected) < 0.1
    fed = rig.asr.fed_samples / 16000
    assert fed >= expected + preroll - 0.1


def test_playback_starts_before_the_llm_has_finished() -> None:
    chat = ScriptedChat(pieces=["First sentence here. ", "Second ", "one."], interval=0.3)
    rig = Rig(chat=chat).run(request())
    assert rig.turns[0].outcome == "ok"
    assert chat.finished_at is not None
    assert rig.sink.played_at[0] < chat.finished_at - 0.3


def test_nobody_speaks_after_the_wake_word() -> None:
    rig = Rig().run(Timeline().silence(0.5).wake().silence(6))
    assert rig.states == [State.RECORDING, State.IDLE]
    assert rig.turns[0].outcome == "no-speech" and rig.sink.chunks == []


def test_empty_transcript_is_answered_with_not_heard() -> None:
    rig = Rig(asr=ScriptedAsr(text="")).run(request())
    assert rig.turns[0].outcome == "not-heard"
    assert rig.tts.texts == ["Sorry, I didn't catch that."]


def test_asr_failure_is_spoken_and_the_next_turn_works() -> None:
    asr = ScriptedAsr(error=RuntimeError("decoder exploded"))
    rig = Rig(asr=asr)
    timeline = request()
    rig.run(timeline)
    asr.error = None
    rig.run(timeline)
    assert [t.outcome for t in rig.turns] == [ErrorCode.ASR_FAILED, "ok"]
    assert rig.tts.texts[0] == "Sorry, my speech recognition failed."


def test_asr_that_hangs_hits_its_deadline() -> None:
    hang = threading.Event()
    rig = Rig(asr=ScriptedAsr(hang=hang))
    started = time.monotonic()
    rig.run(request())
    hang.set()
    assert rig.turns[0].outcome == ErrorCode.ASR_TIMEOUT
    assert time.monotonic() - started < 3


def test_without_an_llm_a_question_gets_the_cant_reach_message() -> None:
    rig = Rig(chat=None).run(request())
    assert rig.turns[0].outcome == ErrorCode.LLM_NOT_CONFIGURED
    assert "I can't reach my language model" in rig.tts.texts[0]


def test_without_an_llm_the_time_intent_still_answers() -> None:
    rig = Rig(chat=None, asr=ScriptedAsr(text="what time is it")).run(request())
    assert rig.turns[0].outcome == "ok" and rig.turns[0].reply_source == "intent:time"
    assert rig.tts.texts[0].startswith("It's ")


def test_stop_intent_says_nothing() -> None:
    rig = Rig(asr=ScriptedAsr(text="stop")).run(request())
    assert rig.turns[0].outcome == "ok" and rig.sink.chunks == []


def test_llm_failure_mid_stream_keeps_what_was_said_then_says_the_error() -> None:
    chat = ScriptedChat(
        pieces=["Here is the first part. ", "And then"],
        error=StageError(ErrorCode.LLM_UNREACHABLE, "reset"),
    )
    rig = Rig(chat=chat).run(request())
    assert rig.turns[0].outcome == ErrorCode.LLM_UNREACHABLE
    assert rig.tts.texts == [
        "Here is the first part.",
        "I can't reach my language model right now.",
    ]


def test_llm_silent_past_first_token_deadline() -> None:
    rig = Rig(chat=ScriptedChat(first_delay=5))
    started = time.monotonic()
    rig.run(request())
    elapsed = time.monotonic() - started
    assert rig.turns[0].outcome == ErrorCode.LLM_TIMEOUT
    assert 1.0 <= elapsed < 2.5  # first_token_seconds=1 in the rig
    assert "taking too long" in " ".join(rig.tts.texts)


def test_tts_failure_plays_the_error_earcon() -> None:
    rig = Rig(tts=ScriptedTts(fail_on="robot")).run(request())
    assert rig.turns[0].outcome == ErrorCode.TTS_FAILED
    assert abs(rig.sink.seconds - 0.45) < 0.01  # the error earcon, and nothing else


def test_tts_that_hangs_hits_its_deadline_and_the_next_turn_works() -> None:
    tts = ScriptedTts(hang_on="robot")
    rig = Rig(tts=tts)
    rig.run(request())
    tts.release.set()
    tts.hang_on = None
    rig.run(request())
    assert [t.outcome for t in rig.turns] == [ErrorCode.TTS_TIMEOUT, "ok"]


def test_refractory_period_ignores_a_second_wake_right_after_the_first() -> None:
    timeline = Timeline().silence(0.5).wake().wake().silence(6)
    rig = Rig().run(timeline)
    assert len(rig.turns) == 1


def test_every_turn_ends_idle_and_resets_the_wake_word() -> None:
    rig = Rig()
    rig.run(request().silence(3).wake().silence(0.2).speech(1).silence(1))
    assert len(rig.turns) == 2 and rig.states[-1] is State.IDLE
    assert rig.wake.resets >= 2
