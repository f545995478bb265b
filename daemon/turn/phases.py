"""Where the assistant is: each phase a small type that carries its own data.

    IDLE ──wake──► RECORDING ──endpoint──► TRANSCRIBING ─► THINKING ─► SPEAKING ─► FOLLOW_UP
      ▲              │ no speech                │ barge-in (wake word, or speech with AEC)  │
      └──────────────┴───────── any failure: spoken error, then FOLLOW_UP or IDLE ◄─────────┘

A recording cannot exist without its turn, VAD and ASR session, and a reply without its task:
a phase holds exactly the objects that are alive in it, so "RECORDING without a recording"
cannot be written down. Every change of phase goes through `check_transition`.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from enum import StrEnum

from daemon.turn.record import TurnRecord
from daemon.turn.recording import Recording as Listening
from daemon.turn.recording import Utterance


class State(StrEnum):
    """The name of a phase, for logs, STATUS= and tests."""

    IDLE = "idle"
    RECORDING = "recording"
    TRANSCRIBING = "transcribing"
    THINKING = "thinking"
    SPEAKING = "speaking"
    FOLLOW_UP = "follow-up"


REPLY_STEPS = (State.TRANSCRIBING, State.THINKING, State.SPEAKING)

TRANSITIONS: dict[State, frozenset[State]] = {
    # wake word; an announcement (a spoken error of the listener) is a reply with no request;
    # something rings: speech may stop it without the wake word (a ring window)
    State.IDLE: frozenset({State.RECORDING, State.SPEAKING, State.FOLLOW_UP}),
    # endpoint; nobody spoke; the wake word early in a follow-up restarts the request; the
    # request cannot be recorded (its VAD or ASR failed): the error is said
    State.RECORDING: frozenset({State.TRANSCRIBING, State.IDLE, State.RECORDING, State.SPEAKING}),
    # the reply goes on, ends (follow-up or not), or a barge-in starts a new request
    State.TRANSCRIBING: frozenset(
        {State.THINKING, State.SPEAKING, State.FOLLOW_UP, State.IDLE, State.RECORDING}
    ),
    State.THINKING: frozenset({State.SPEAKING, State.FOLLOW_UP, State.IDLE, State.RECORDING}),
    State.SPEAKING: frozenset({State.FOLLOW_UP, State.IDLE, State.RECORDING}),
    # speech (or the wake word) starts a request; the window passes; an announcement
    State.FOLLOW_UP: frozenset({State.RECORDING, State.IDLE, State.SPEAKING}),
}


class IllegalTransition(RuntimeError):
    """A bug: a phase change that is not in TRANSITIONS."""


def check_transition(old: State, new: State) -> None:
    if new not in TRANSITIONS[old]:
        raise IllegalTransition(f"{old} -> {new} is not an allowed transition")


@dataclass(frozen=True, eq=False)
class Idle:
    """Listening for the wake word only."""

    state = State.IDLE


@dataclass(frozen=True, eq=False)
class Recording:
    """A request is being recorded: VAD + endpointer (`listening`) and the ASR (`utterance`)."""

    turn: TurnRecord
    listening: Listening
    utterance: Utterance
    state = State.RECORDING

    @property
    def from_follow_up(self) -> bool:
        return self.turn.wake_model == FOLLOW_UP_WAKE


@dataclass(frozen=True, eq=False)
class Replying:
    """The reply to a request (or an announcement) runs as `task`; `step` names how far it got.

    `over_reply`: with echo cancellation and speech barge-in, the VAD hearing the room while
    the box talks (a person starting to speak interrupts it), from audio time `since` (the echo
    canceller needs a moment to adapt to each new reply)."""

    turn: TurnRecord
    task: asyncio.Task[None]
    step: State
    over_reply: Listening | None = None
    since: float = float("inf")

    @property
    def state(self) -> State:
        return self.step


@dataclass(frozen=True, eq=False)
class FollowUp:
    """After a reply: speech from audio time `since` on starts a request with no wake word.

    `ring`: the window is open because a timer or alarm rings; what is said in it can only
    stop the ring ("stop", 停), nothing else is answered."""

    listening: Listening
    since: float
    ring: bool = False
    state = State.FOLLOW_UP


Phase = Idle | Recording | Replying | FollowUp

FOLLOW_UP_WAKE = "follow-up"  # the wake_model of a turn that needed no wake word
RING_WAKE = "ring"  # ... of speech in a ring window (it may only stop the ring)
