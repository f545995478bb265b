"""Whole turns with a real-time source: frames keep arriving while slow backends work.

Lock-step file runs hide races (the listener waits for the turn there); a microphone does not
wait. These run in wall time, so they are kept short.
"""

from __future__ import annotations

from dataclasses import replace

from daemon.config import Deadlines, EndpointSettings
from daemon.turn.machine import State, TurnSettings
from tests.fixtures.fakes import Rig, ScriptedAsr, ScriptedChat, ScriptedTts, Timeline, request

FAST_ENDPOINT = EndpointSettings(no_speech_timeout_seconds=1.5)
SETTINGS = TurnSettings(
    endpoint=FAST_ENDPOINT, deadlines=Deadlines(asr=2, tts_chunk=2), follow_up_seconds=2.0
)


def test_wake_then_silence_with_a_slow_asr_keeps_listening() -> None:
    """The repro: ASR finish() slower than a frame used to kill the listener."""
    rig = Rig(asr=ScriptedAsr(finish_delay=0.5), settings=SETTINGS)
    timeline = Timeline().silence(0.3).wake().silence(2.5).wake().silence(0.3).speech(0.8)
    rig.run(timeline.silence(1.2), realtime=True)
    assert [t.outcome for t in rig.turns] == ["no-speech", "ok"]
    assert rig.states[:2] == [State.RECORDING, State.IDLE]


def test_slow_llm_and_tts_while_frames_keep_coming() -> None:
    chat = ScriptedChat(pieces=["One moment. ", "Here it is."], first_delay=0.7, interval=0.3)
    rig = Rig(asr=ScriptedAsr(finish_delay=0.5), chat=chat, settings=SETTINGS)
    rig.run(request(speech=0.8).silence(2.5), realtime=True)
    [turn] = rig.turns
    assert turn.outcome == "ok" and turn.reply_text == ["One moment.", "Here it is."]
    assert rig.states[:4] == [State.RECORDING, State.TRANSCRIBING, State.THINKING, State.SPEAKING]
    assert turn.first_token_at - turn.request_at >= 0.7  # wall-clock marks, live


def test_barge_in_over_a_slow_reply_goes_straight_to_recording() -> None:
    chat = ScriptedChat(pieces=["A very long answer that goes on and on. " * 4], first_delay=0.3)
    rig = Rig(chat=chat, settings=SETTINGS)
    rig.run(request(speech=0.8).silence(0.6).wake().silence(0.3).speech(0.8).silence(1.5), True)
    assert [t.outcome for t in rig.turns][:2] == ["interrupted", "ok"]
    speaking = rig.states.index(State.SPEAKING)
    assert rig.states[speaking + 1] is State.RECORDING  # no IDLE in between


def test_a_request_cut_at_a_pause_is_finished_in_the_follow_up_window() -> None:
    """"set a timer for ... five minutes": the first half is not heard as a request; the
    second half, said after the reply, is a new request without the wake word."""
    asr = ScriptedAsr(script=["", "set a timer for five minutes"], finish_delay=0.3)
    rig = Rig(asr=asr, tts=ScriptedTts(), settings=SETTINGS)
    rig.run(request(speech=0.8).silence(1.0).speech(0.8).silence(1.5), realtime=True)
    assert [t.outcome for t in rig.turns] == ["not-heard", "ok"]
    assert rig.turns[1].wake_model == "follow-up"


def test_follow_up_after_a_slow_reply() -> None:
    rig = Rig(asr=ScriptedAsr(finish_delay=0.3), settings=replace(SETTINGS, follow_up_seconds=3))
    rig.run(request(speech=0.8).silence(1.5).speech(0.8).silence(1.5), realtime=True)
    assert [t.wake_model for t in rig.turns] == ["fake_wake", "follow-up"]
    assert all(t.outcome == "ok" for t in rig.turns)
