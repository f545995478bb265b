"""What echo cancellation buys: barge-in over replies of rising loudness, and self-wakes.

A room feeds the box's reply back into its microphone at `gain` (1.0 = as loud as the person).
For each gain, with and without AEC: does the person's wake word said ~2 s into a long reply
interrupt it? And how many of 20 replies that say "hey Jarvis" wake the box (expected: 0, the
self-trigger guard works either way)?
"""

from __future__ import annotations

import numpy as np

from tests.e2e.test_self_trigger import LONG_REPLY, SELF_MENTION, person_requests, run_room
from tests.fixtures.audio import AudioBuilder, read
from tests.fixtures.fakes import ScriptedChat
from tests.fixtures.loopback import Room

GAINS = (0.05, 0.1, 0.3, 1.0)


def _interrupted(audio: AudioBuilder, gain: float, aec: bool) -> bool:
    first = read(audio.request("tell me something", wake_voice="en-us", tail=2.0))
    second = read(audio.request("tell me something", wake_voice="en-gb", tail=8.0))
    room = Room(np.concatenate([first, second]), gain=gain)
    chat = ScriptedChat(pieces=[LONG_REPLY])
    turns = run_room(room, chat, aec=aec)
    return bool(turns) and turns[0].outcome == "interrupted"


def _self_wakes(audio: AudioBuilder, aec: bool, replies: int = 20) -> int:
    room = Room(person_requests(audio, replies, gap=6.0), gain=1.0)
    chat = ScriptedChat(pieces=[SELF_MENTION])
    turns = run_room(room, chat, requests=replies, aec=aec)
    return sum(1 for t in turns if t.outcome == "interrupted") + max(0, len(turns) - replies)


def run(audio: AudioBuilder) -> dict[str, object]:
    return {
        "barge_in_by_echo_gain": {
            f"gain {gain}": {
                "without_aec": _interrupted(audio, gain, False),
                "with_aec": _interrupted(audio, gain, True),
            }
            for gain in GAINS
        },
        "self_wakes_in_20_replies_saying_hey_jarvis_gain_1.0": {
            "without_aec": _self_wakes(audio, False),
            "with_aec": _self_wakes(audio, True),
        },
    }
