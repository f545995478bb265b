"""Property test: random timelines and backend behaviour never break the turn machine.

Whatever people say and whatever the backends do (slow, failing, hanging briefly), the listener
keeps running to the end of the audio, every turn that starts ends with an outcome, the machine
ends where it started (idle), and every phase change is in the transition table (an illegal one
raises inside the machine and fails the run).
"""

from __future__ import annotations

from dataclasses import replace

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from daemon.config import Deadlines, EndpointSettings
from daemon.errors import ErrorCode, StageError
from daemon.turn.machine import State, TurnSettings
from daemon.turn.phases import TRANSITIONS
from daemon.turn.record import Outcome
from tests.fixtures.fakes import Rig, ScriptedAsr, ScriptedChat, ScriptedTts, Timeline

SETTINGS = TurnSettings(
    endpoint=EndpointSettings(no_speech_timeout_seconds=1.0, max_utterance_seconds=4.0),
    deadlines=Deadlines(asr=0.3, tts_chunk=0.3, reply=2.0),
)

segment = st.one_of(
    st.just(("wake", 0.0)),
    st.tuples(st.just("speech"), st.floats(0.1, 2.0)),
    st.tuples(st.just("silence"), st.floats(0.1, 2.5)),
)


def build(segments: list[tuple[str, float]]) -> Timeline:
    timeline = Timeline()
    for kind, seconds in segments:
        if kind == "wake":
            timeline.wake()
        elif kind == "speech":
            timeline.speech(seconds)
        else:
            timeline.silence(seconds)
    return timeline.silence(1.0)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    segments=st.lists(segment, min_size=1, max_size=10),
    asr_delay=st.sampled_from([0.0, 0.05, 0.5]),
    asr_fails=st.booleans(),
    asr_text=st.sampled_from(["tell me a joke", "", "stop", "what time is it"]),
    llm_fails=st.booleans(),
    tts_fails=st.booleans(),
    follow_up=st.sampled_from([0.0, 1.5]),
)
def test_any_timeline_ends_every_turn_and_keeps_listening(
    segments: list[tuple[str, float]],
    asr_delay: float,
    asr_fails: bool,
    asr_text: str,
    llm_fails: bool,
    tts_fails: bool,
    follow_up: float,
) -> None:
    asr = ScriptedAsr(
        text=asr_text,
        finish_delay=asr_delay,
        error=RuntimeError("decoder exploded") if asr_fails else None,
    )
    chat = ScriptedChat(error=StageError(ErrorCode.LLM_FAILED, "boom") if llm_fails else None)
    tts = ScriptedTts(fail_on="robot" if tts_fails else None)
    rig = Rig(asr=asr, chat=chat, tts=tts, settings=replace(SETTINGS, follow_up_seconds=follow_up))
    rig.run(build(segments))  # raises if the listener died or a transition was illegal
    wakes = sum(1 for kind, _ in segments if kind == "wake")
    assert len(rig.turns) <= wakes + len(segments)
    assert all(isinstance(turn.outcome, Outcome) for turn in rig.turns)
    assert all(turn.ended_at is not None for turn in rig.turns)
    recordings = rig.states.count(State.RECORDING)
    assert len({t.turn_id for t in rig.turns}) >= min(1, recordings)
    assert not rig.states or rig.states[-1] is State.IDLE
    for old, new in zip([State.IDLE, *rig.states], rig.states, strict=False):
        assert new in TRANSITIONS[old] or old is new


def test_every_error_code_has_an_outcome() -> None:
    for code in ErrorCode:
        assert Outcome.of(code) == code.value
