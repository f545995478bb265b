"""Playing a ring: the ring earcon, then what rings in words, a pause, again, until it stops.

The turn machine runs `ring_until_stopped` as a task when `Ringer.due()` starts a ring, with
its own ways to play audio, speak and wait (audio time in file mode), and cancels nothing: the
loop ends when `stop_ringing()` is called (the person said "stop" / 停) or the ring has rung for
max_ringing_seconds.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from daemon.audio.earcons import ring_earcon
from daemon.audio.frames import AudioChunk
from daemon.intents.ringer import Ringer


async def ring_until_stopped(
    ringer: Ringer,
    play: Callable[[AudioChunk], Awaitable[None]],
    say: Callable[[str], Awaitable[None]],
    pause: Callable[[float], Awaitable[None]],
) -> int:
    """Rings while anything rings; returns how many rounds were played."""
    rounds = 0
    while ringer.is_ringing:
        await play(ring_earcon())
        for ring in ringer.ringing:
            if ringer.is_ringing:
                await say(ring.text)
        rounds += 1
        await pause(ringer.settings.repeat_gap_seconds)
        ringer.due()  # stops what rang too long, starts what came due meanwhile
    return rounds
